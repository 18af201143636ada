"""A finished search as an Optuna study, so ``optuna-dashboard`` and ``optuna.visualization`` read it.

:func:`export_to_optuna` writes one study per search into an Optuna storage (an SQLite file by
default): a trial per Tune trial, in the results' row order, with

* ``params``: the config (``config/<key>`` columns; nested keys stay ``a/b``), each with an Optuna
  distribution -- the ones you give (Optuna distributions, or the Tune ``param_space`` the search
  ran, converted as Tune's ``OptunaSearch`` converts it), else inferred from the values seen;
* ``values``: the metrics in ``metric`` order, the study's directions from ``mode``;
* ``state``: ``COMPLETE`` for complete trials, ``PRUNED`` for trials a scheduler stopped early
  (with their last values; with one objective also as the intermediate value at the step they
  reached, as Optuna records a pruned trial), ``FAIL`` for trials that raised or have no finite
  value for some metric (:func:`searchers.results.trial_status`);
* ``user_attrs``: every other reported column (latencies on other devices, ``arch``, ``epoch``,
  ``outcome``, ``explanation``, ``trial_id``, ...) except Tune's bookkeeping;
* start and end times from Tune's ``timestamp`` and ``time_total_s`` when the results have them.

So ``study.best_trials`` is the Pareto front :func:`searchers.results.pareto_front` computes.

Example::

    from searchers.export import export_to_optuna
    study = export_to_optuna(outcome.results, ["accuracy", "latency_ms"], ["max", "min"],
                             storage="sqlite:///search.db", study_name="nb201-zc")
    # then, in a shell:  optuna-dashboard sqlite:///search.db   (pip install "raynas[dashboard]")
"""

from __future__ import annotations

import datetime as dt
import json
import math
import numbers
import os
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from raynas import moo
from raynas.errors import InvalidConfigError
from raynas.logs import Progress, get_logger
from searchers.results import COMPLETE, FAILED, metric_unit, results_dataframe, trial_status

logger = get_logger("export")

#: Tune bookkeeping columns that do not become user attributes.
BOOKKEEPING = frozenset({
    "date", "timestamp", "pid", "hostname", "node_ip", "time_this_iter_s", "time_since_restore",
    "iterations_since_restore", "checkpoint_dir_name", "done", "experiment_tag", "logdir",
    "should_checkpoint", "config", "complete",
})

CONFIG = "config/"


def storage_url(storage: str | os.PathLike) -> str:
    """An Optuna storage URL: a URL (``sqlite:///search.db``, ``postgresql://...``) as given, a
    file path as ``sqlite:///<absolute path>``."""
    text = os.fspath(storage)
    if not isinstance(text, str) or not text:
        raise InvalidConfigError(f"storage must be a URL such as 'sqlite:///search.db' or a file path, got {storage!r}")
    if "://" in text:
        return text
    return f"sqlite:///{Path(text).expanduser().resolve()}"


def export_to_optuna(results, metric: Sequence[str], mode: Sequence[str],
                     storage: str | os.PathLike | Any = "sqlite:///raynas_search.db",
                     study_name: str = "raynas-search", *, distributions: Mapping[str, Any] | None = None,
                     fidelity: str = "training_iteration", full_fidelity: float | None = None,
                     overwrite: bool = False):
    """Write a finished search into an Optuna storage as one study; return the ``optuna.Study``.

    Args:
        results: a ``ResultGrid`` or the results DataFrame (``run_search(...).results``, or
            ``results.csv`` read with pandas).
        metric, mode: the search's objectives, e.g. ``["accuracy", "latency_ms"]``, ``["max", "min"]``.
        storage: an Optuna storage URL, a file path (an SQLite file), or an Optuna storage object.
        study_name: the study to create; an existing study of that name is an error unless
            ``overwrite`` (then it is deleted first).
        distributions: per parameter, an Optuna distribution or a Tune domain (the search's
            ``param_space`` works as it is); parameters not named are inferred from their values
            (integers: ``IntDistribution`` over the range seen, other numbers ``FloatDistribution``,
            anything else ``CategoricalDistribution`` of the values seen).
        fidelity, full_fidelity: what marks a trial complete (see
            :func:`searchers.results.mark_complete`).

    Example::

        study = export_to_optuna(df, ["accuracy", "latency_ms"], ["max", "min"], "search.db", "zc-run")
        study.best_trials          # the Pareto front of the complete trials
    """
    import optuna

    metric, mode = moo.validate_metric_mode(metric, mode)
    if not isinstance(study_name, str) or not study_name:
        raise InvalidConfigError(f"study_name must be a non-empty string, got {study_name!r}")
    df = results_dataframe(results).reset_index(drop=True)
    status = trial_status(df, metric, fidelity, full_fidelity)
    dists = _distributions(df, distributions)
    store = storage if isinstance(storage, optuna.storages.BaseStorage) else storage_url(storage)
    study = _create_study(optuna, store, study_name, mode, overwrite)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        study.set_metric_names(list(metric))
    study.set_user_attr("metric", list(metric))
    study.set_user_attr("mode", list(mode))
    study.set_user_attr("units", {m: metric_unit(m) for m in metric})
    study.set_user_attr("source", "raynas")
    trials = [_trial(optuna, row, metric, status.iloc[i], dists, fidelity)
              for i, row in enumerate(df.to_dict("records"))]
    with Progress(len(trials), f"exporting trials to Optuna study {study_name!r}", unit="trial") as bar:
        for trial in trials:  # one by one: ~50 ms each into SQLite, Optuna writes every attribute apart
            study.add_trial(trial)
            bar.update()
    counts = status.value_counts().to_dict()
    where = store if isinstance(store, str) else type(store).__name__
    logger.info("exported %d trials (%s) to study %r in %s%s", len(trials),
                ", ".join(f"{n} {s}" for s, n in counts.items()), study_name, where,
                f"; open it with: optuna-dashboard {where}" if isinstance(store, str) else "")
    return study


def _create_study(optuna, storage, study_name: str, mode: Sequence[str], overwrite: bool):
    directions = ["maximize" if m == "max" else "minimize" for m in mode]
    try:
        return optuna.create_study(storage=storage, study_name=study_name, directions=directions)
    except optuna.exceptions.DuplicatedStudyError:
        if not overwrite:
            raise InvalidConfigError(f"study {study_name!r} already exists in {storage}; pass overwrite=True "
                                     "or another study_name") from None
    optuna.delete_study(study_name=study_name, storage=storage)
    return optuna.create_study(storage=storage, study_name=study_name, directions=directions)


# --- distributions ---------------------------------------------------------------------------------
def _distributions(df: pd.DataFrame, given: Mapping[str, Any] | None) -> dict[str, Any]:
    """An Optuna distribution per config column present in ``df`` (keyed by parameter name)."""
    from optuna.distributions import BaseDistribution

    given = dict(given or {})
    domains = {k: v for k, v in given.items() if not isinstance(v, BaseDistribution)}
    converted = _convert_tune_space(domains) if domains else {}
    out = {}
    for col in df.columns:
        if not isinstance(col, str) or not col.startswith(CONFIG):
            continue
        name = col[len(CONFIG):]
        values = df[col]
        if values.isna().all():
            continue
        dist = given.get(name) if isinstance(given.get(name), BaseDistribution) else converted.get(name)
        out[name] = dist if dist is not None else infer_distribution(values)
    return out


def _convert_tune_space(space: Mapping[str, Any]) -> dict[str, Any]:
    """Tune domains (a ``param_space``, possibly nested) as Optuna distributions keyed ``a/b``;
    constants are left out (their parameters are inferred)."""
    try:
        from ray.tune.search.optuna import OptunaSearch
    except ImportError as exc:  # pragma: no cover - ray is a dependency
        raise InvalidConfigError(f"distributions hold Tune domains but Ray Tune is not importable: {exc}") from None
    try:
        return OptunaSearch.convert_search_space(dict(space))
    except (ValueError, TypeError, AttributeError) as exc:
        raise InvalidConfigError(f"cannot convert the given param_space to Optuna distributions: {exc}") from None


def _is_number(v) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_))


def _choice(v):
    """A value Optuna accepts as a categorical choice (None, bool, int, float, str)."""
    if v is None or isinstance(v, (bool, str)):
        return v
    if isinstance(v, np.bool_):
        return bool(v)
    if isinstance(v, numbers.Integral):
        return int(v)
    if isinstance(v, numbers.Real):
        return float(v)
    return str(v)


def infer_distribution(values: pd.Series):
    """The Optuna distribution of one parameter from the values its trials took: integers (an
    integer column) give ``IntDistribution(min, max)``, other numbers ``FloatDistribution(min,
    max)``, anything else (strings, booleans, mixed, lists) ``CategoricalDistribution`` of the
    distinct values (non-scalar values as their ``str``)."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    seen = [v for v in values.tolist() if not _missing(v)]
    if seen and all(_is_number(v) for v in seen):
        if pd.api.types.is_integer_dtype(values.dtype) or all(isinstance(v, numbers.Integral) for v in seen):
            return IntDistribution(int(min(seen)), int(max(seen)))
        return FloatDistribution(float(min(seen)), float(max(seen)))
    choices = {_choice(v) for v in seen}
    return CategoricalDistribution(sorted(choices, key=lambda c: (type(c).__name__, str(c))))


def _missing(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def _param(value, dist):
    from optuna.distributions import CategoricalDistribution, IntDistribution

    if isinstance(dist, CategoricalDistribution):
        return _choice(value)
    if isinstance(dist, IntDistribution):
        return int(value)
    return float(value)


# --- trials ----------------------------------------------------------------------------------------
def _trial(optuna, row: dict, metric: Sequence[str], status: str, dists: dict, fidelity: str):
    from optuna.trial import TrialState

    params, used = {}, {}
    for name, dist in dists.items():
        value = row.get(CONFIG + name)
        if _missing(value):
            continue
        params[name], used[name] = _param(value, dist), dist
    values = [_float(row.get(m)) for m in metric]
    finite = all(math.isfinite(v) for v in values)
    user_attrs = _user_attrs(row, metric)
    intermediate = None
    if status == COMPLETE:
        state = TrialState.COMPLETE
    elif status == FAILED:
        state, values = TrialState.FAIL, None
        if not finite:
            bad = [m for m, v in zip(metric, [_float(row.get(m)) for m in metric]) if not math.isfinite(v)]
            user_attrs.setdefault("fail_reason", f"no finite value for {', '.join(bad)}")
    else:
        state = TrialState.PRUNED
        values = values if finite else None
        step = _float(row.get(fidelity))
        if values is not None and len(metric) == 1 and math.isfinite(step):
            intermediate = {int(step): values[0]}
    try:
        trial = optuna.trial.create_trial(state=state, values=values, params=params, distributions=used,
                                          user_attrs=user_attrs, intermediate_values=intermediate)
    except ValueError as exc:
        raise InvalidConfigError(f"trial {row.get('trial_id', '?')}: {exc}") from None
    _set_times(trial, row)
    return trial


def _float(v) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def _user_attrs(row: dict, metric: Sequence[str]) -> dict[str, Any]:
    attrs = {}
    for key, value in row.items():
        if not isinstance(key, str) or key in metric or key in BOOKKEEPING or key.startswith(CONFIG):
            continue
        value = _json_value(value)
        if value is not None:
            attrs[key] = value
    return attrs


def _json_value(v):
    """A JSON-safe value for a user attribute; None (left out) for missing or non-finite numbers."""
    if isinstance(v, np.generic):
        v = v.item()
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return None
    if isinstance(v, (bool, int, float, str)):
        return v
    try:
        json.dumps(v, allow_nan=False)
        return v
    except (TypeError, ValueError):
        return str(v)


def _set_times(trial, row: dict) -> None:
    """Start and end times from Tune's ``timestamp`` (end, Unix seconds) and ``time_total_s``."""
    end, total = _float(row.get("timestamp")), _float(row.get("time_total_s"))
    if not math.isfinite(end):
        return
    trial.datetime_complete = dt.datetime.fromtimestamp(end)
    trial.datetime_start = dt.datetime.fromtimestamp(end - total if math.isfinite(total) and total >= 0 else end)


__all__ = ["export_to_optuna", "infer_distribution", "storage_url", "BOOKKEEPING"]
