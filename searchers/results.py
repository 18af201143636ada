"""Multi-objective results the way Tune users ask for them (ray#47358, ray#8018, ray#35909).

``pareto_front(results, metric=[...], mode=[...])`` takes a ``ResultGrid`` or a results DataFrame and
returns the Pareto-optimal trials. Trials a scheduler stopped early carry their fidelity and never
enter the front as if they were complete.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from raynas import moo
from raynas.errors import InvalidConfigError


def results_dataframe(results) -> pd.DataFrame:
    """The last reported result of every trial, from a ``ResultGrid`` or a DataFrame.

    A ``ResultGrid`` is read from its in-memory results (``Result.metrics``), not from the trial
    directories: with ``TUNE_DISABLE_AUTO_CALLBACK_LOGGERS=1`` (raynas's fast setting) Tune writes no
    ``result.json`` and ``ResultGrid.get_dataframe()`` is empty. Config values appear as
    ``config/<key>`` columns, as in Tune's own dataframes; a trial that raised has its exception in
    ``trial_error`` (not ``error``: raynas's tabular trainables report an ``error`` metric, 100 - accuracy)."""
    if isinstance(results, pd.DataFrame):
        return results.copy()
    if hasattr(results, "get_dataframe"):
        rows = []
        for r in (results[i] for i in range(len(results))):
            metrics = dict(r.metrics or {})
            config = metrics.pop("config", None) or r.config or {}
            row = {**metrics, **{f"config/{k}": v for k, v in config.items()}}
            if r.error is not None:
                row["trial_error"] = f"{type(r.error).__name__}: {r.error}"
            rows.append(row)
        return pd.DataFrame(rows)
    raise InvalidConfigError(f"expected a ResultGrid or a DataFrame, got {type(results).__name__}")


#: Tune's per-result bookkeeping: kept in ``tune_results.csv``, left out of ``results.csv``
TUNE_BOOKKEEPING = ("timestamp", "checkpoint_dir_name", "done", "date", "time_this_iter_s", "pid", "hostname",
                    "node_ip", "time_since_restore", "iterations_since_restore", "experiment_tag", "logdir",
                    "should_checkpoint")


def readable_results(results, metric: Sequence[str], fidelity: str = "training_iteration",
                     full_fidelity: float | None = None) -> pd.DataFrame:
    """One row per trial for people: ``trial_id``, ``status`` (complete / stopped early / failed),
    the objectives, the other reported values, the fidelity columns, then the ``config/*`` columns;
    Tune's bookkeeping (:data:`TUNE_BOOKKEEPING`) left out."""
    df = results_dataframe(results)
    df.insert(0, "status", trial_status(df, metric, fidelity, full_fidelity).to_numpy())
    config = [c for c in df.columns if c.startswith("config/")]
    first = [c for c in ("trial_id", "status", *metric, "outcome", "explanation") if c in df.columns]
    fid = [c for c in ("epoch", "max_epochs", fidelity, "time_total_s") if c in df.columns and c not in first]
    rest = [c for c in df.columns if c not in {*first, *fid, *config, *TUNE_BOOKKEEPING}]
    return df[first + rest + fid + config]


def is_complete(result: dict, fidelity: str = "epoch", full_fidelity: str = "max_epochs") -> bool:
    """Whether one result (a dict) is a complete evaluation: it is, unless it carries its fidelity
    and the full fidelity (raynas trainables report ``epoch`` and ``max_epochs``) and the former is
    below the latter -- a trial a scheduler stopped early."""
    t, full = result.get(fidelity), result.get(full_fidelity)
    try:
        return t is None or full is None or float(t) >= float(full)
    except (TypeError, ValueError):
        return True


def mark_complete(df: pd.DataFrame, fidelity: str = "training_iteration",
                  full_fidelity: float | None = None) -> pd.Series:
    """True for trials whose last result reached full fidelity. ``full_fidelity`` defaults to the
    ``max_epochs`` column when results carry one (raynas trainables do), else to the largest
    fidelity any trial reached."""
    if full_fidelity is None and "max_epochs" in df.columns and "epoch" in df.columns:
        return df["epoch"] >= df["max_epochs"]
    if fidelity not in df.columns:
        return pd.Series(True, index=df.index)
    target = df[fidelity].max() if full_fidelity is None else full_fidelity
    return df[fidelity] >= target


#: The outcome of a trial, as :func:`trial_status` names it.
COMPLETE, STOPPED, FAILED = "complete", "stopped early", "failed"


def trial_status(results, metric: Sequence[str], fidelity: str = "training_iteration",
                 full_fidelity: float | None = None) -> pd.Series:
    """``"complete"``, ``"stopped early"`` or ``"failed"`` for every trial (row) of the results.

    A trial failed if it raised (``trial_error``) or has no finite value for some metric (the
    explained failures of :mod:`searchers.trainables` report NaN metrics); otherwise it was stopped
    early if it did not reach full fidelity (:func:`mark_complete`), else it is complete. Only
    complete trials enter Pareto fronts and hypervolumes."""
    df = results_dataframe(results)
    missing = [m for m in metric if m not in df.columns]
    if missing:
        raise InvalidConfigError(f"metric(s) {missing} not in the results; columns are {sorted(map(str, df.columns))}")
    values = df[list(metric)].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    failed = ~np.isfinite(values).all(axis=1)
    if "trial_error" in df.columns:
        failed |= df["trial_error"].notna().to_numpy()
    complete = mark_complete(df, fidelity, full_fidelity).to_numpy(dtype=bool)
    status = np.where(failed, FAILED, np.where(complete, COMPLETE, STOPPED))
    return pd.Series(status, index=df.index, name="status")


def pareto_front(results, metric: Sequence[str], mode: Sequence[str], fidelity: str = "training_iteration",
                 full_fidelity: float | None = None, include_incomplete: bool = False) -> pd.DataFrame:
    """Pareto-optimal trials, sorted by the first metric.

    The returned frame keeps every column of the results plus ``complete`` (reached full fidelity).
    Failed trials (:func:`trial_status`: raised, or a non-finite metric value) never enter the
    front; trials stopped early only with ``include_incomplete``."""
    df = results_dataframe(results)
    signs = moo.minimisation_signs(metric, mode)
    status = trial_status(df, metric, fidelity, full_fidelity)
    df = df.assign(complete=mark_complete(df, fidelity, full_fidelity))
    values = df[list(metric)].to_numpy(dtype=float) * signs
    usable = (status == COMPLETE).to_numpy() | (include_incomplete & (status == STOPPED).to_numpy())
    front_mask = np.zeros(len(df), dtype=bool)
    if usable.any():
        front_mask[np.flatnonzero(usable)] = moo.pareto_mask(values[usable])
    front = df[front_mask]
    return front.sort_values(metric[0], ascending=mode[0] == "min").reset_index(drop=True)


def front_hypervolume(front: pd.DataFrame, metric: Sequence[str], mode: Sequence[str],
                      reference: Sequence[float]) -> float:
    """Hypervolume of ``front`` against ``reference`` (given in the metrics' own units)."""
    signs = moo.minimisation_signs(metric, mode)
    values = front[list(metric)].to_numpy(dtype=float) * signs
    return float(moo.hypervolume(values, np.asarray(reference, dtype=float) * signs))


@dataclass(frozen=True)
class ParetoSummary:
    """The Pareto-optimal complete trials and their hypervolume (``reference`` in metric units)."""

    front: pd.DataFrame
    hypervolume: float
    reference: tuple[float, ...]
    n_trials: int
    n_complete: int


def pareto_summary(results, metric: Sequence[str], mode: Sequence[str], reference: Sequence[float] | None = None,
                   fidelity: str = "training_iteration", full_fidelity: float | None = None) -> ParetoSummary:
    """Pareto front of a ``ResultGrid`` or DataFrame (complete trials only) and its hypervolume.

    ``reference`` defaults to the worst value of each metric over the complete trials (their nadir),
    so the number compares runs only when they share a reference: pass one for that."""
    df = results_dataframe(results)
    front = pareto_front(df, metric, mode, fidelity, full_fidelity)
    complete = df[mark_complete(df, fidelity, full_fidelity)]
    if reference is None:
        signs = moo.minimisation_signs(metric, mode)
        values = complete[list(metric)].to_numpy(dtype=float) * signs
        values = values[np.isfinite(values).all(axis=1)]
        reference = tuple(float(v) for v in (values.max(axis=0) * signs)) if len(values) else (np.nan,) * len(metric)
    reference = tuple(float(r) for r in reference)
    if len(reference) != len(metric):
        raise InvalidConfigError(f"reference {list(reference)} must give one value per metric {list(metric)}")
    hv = front_hypervolume(front, metric, mode, reference) if len(front) and np.all(np.isfinite(reference)) else 0.0
    return ParetoSummary(front, hv, reference, len(df), len(complete))


# --- units and labels ------------------------------------------------------------------------------
#: Units of the metrics raynas's trainables report. A name ``<base>/<device>`` (``latency_ms/raspi4``)
#: takes its base's unit; a name ending in ``_ms``, ``_s``, ``_mj`` or ``_mb`` takes that unit.
UNITS: dict[str, str] = {
    "accuracy": "%", "error": "%", "test_accuracy": "%", "val_accuracy": "%", "train_accuracy": "%",
    "latency_ms": "ms", "latency_iqr_ms": "ms", "params": "M", "flops": "M MACs", "energy_mj": "mJ",
    "time_total_s": "s",
}
_SUFFIX_UNITS = (("_ms", "ms"), ("_s", "s"), ("_mj", "mJ"), ("_mb", "MB"))
ARROWS = {"max": "\u2191", "min": "\u2193"}  # up: larger is better; down: smaller is better


def metric_unit(name: str, units: Mapping[str, str] | None = None) -> str:
    """The unit of metric ``name`` ('' if unknown): ``units`` (yours) first, then :data:`UNITS`,
    then the base of ``<base>/<device>``, then a unit suffix of the name (``_ms`` -> ``ms``)."""
    table = {**UNITS, **(units or {})}
    base = name.split("/", 1)[0]
    for key in (name, base):
        if key in table:
            return table[key]
    for suffix, unit in _SUFFIX_UNITS:
        if base.endswith(suffix):
            return unit
    return ""


def metric_label(name: str, mode: str | None = None, units: Mapping[str, str] | None = None) -> str:
    """An axis label: ``"accuracy (%) \u2191"``, ``"latency (ms) \u2193"``, ``"latency on raspi4 (ms) \u2193"``.

    A unit suffix the name carries (``latency_ms``) moves into the brackets; the arrow says which
    way is better (``mode`` ``"max"``: up, ``"min"``: down; none without a mode)."""
    unit = metric_unit(name, units)
    base, _, device = name.partition("/")
    for suffix, suffix_unit in _SUFFIX_UNITS:
        if unit == suffix_unit and base.endswith(suffix) and base != suffix and (units or {}).get(name) is None:
            base = base[: -len(suffix)]
            break
    text = f"{base} on {device}" if device else base
    if unit:
        text += f" ({unit})"
    if mode is not None:
        if mode not in ARROWS:
            raise InvalidConfigError(f"mode {mode!r} must be 'min' or 'max'")
        text += f" {ARROWS[mode]}"
    return text


def format_value(value: float, name: str, units: Mapping[str, str] | None = None) -> str:
    """``93.4 %``, ``2.31 ms``: a metric value with 4 significant digits and its unit."""
    unit = metric_unit(name, units)
    text = f"{float(value):.4g}"
    return f"{text} {unit}" if unit else text


# --- normalised hypervolume ------------------------------------------------------------------------
@dataclass(frozen=True)
class NormalisedHypervolume:
    """A hypervolume normalised to [0, 1] and the box it is normalised to.

    ``value`` is the hypervolume of the complete trials' front inside the box from ``ideal`` to
    ``reference`` (both in metric units) divided by the box's volume: 1 would be one trial at the
    ideal point, 0 no trial better than the reference in every metric; NaN for a box without
    volume (fewer than two distinct complete trials). ``str()`` says it in one line with the box;
    ``float()`` and format specs (``f"{hv:.3f}"``) give the number."""

    value: float
    ideal: tuple[float, ...]
    reference: tuple[float, ...]
    metric: tuple[str, ...]
    mode: tuple[str, ...]
    n_complete: int
    box: str  # where ideal and reference come from, in words

    def __float__(self) -> float:
        return float(self.value)

    def __format__(self, spec: str) -> str:
        return format(self.value, spec) if spec else str(self)

    def describe(self, units: Mapping[str, str] | None = None) -> str:
        """One line: the value and the box it is normalised to."""
        def point(values):
            return ", ".join(f"{m} {format_value(v, m, units)}" for m, v in zip(self.metric, values))
        return (f"normalised hypervolume {self.value:.3f} of the box from ideal [{point(self.ideal)}] "
                f"to reference [{point(self.reference)}] ({self.box})")

    def __str__(self) -> str:
        return self.describe()


def hypervolume_box(results, metric: Sequence[str], mode: Sequence[str], fidelity: str = "training_iteration",
                    full_fidelity: float | None = None,
                    margin: float = 0.0) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """``(ideal, nadir)`` in metric units: the best and the worst value of each metric over the
    complete trials, the nadir moved ``margin`` of the range further (``margin=MARGIN`` gives the
    default reference of :func:`normalised_hypervolume`). ``results`` may be a list of results (a
    ``ResultGrid`` or DataFrame each) to put several searches into one box, so that their
    normalised hypervolumes compare::

        ideal, reference = hypervolume_box([zc, nsga2], metric, mode, margin=MARGIN)
        for r in (zc, nsga2):
            print(normalised_hypervolume(r, metric, mode, ideal=ideal, reference=reference))
    """
    if not isinstance(margin, (int, float)) or isinstance(margin, bool) or not 0 <= margin < math.inf:
        raise InvalidConfigError(f"margin must be a number >= 0, got {margin!r}")
    frames = results if isinstance(results, (list, tuple)) else [results]
    signs = moo.minimisation_signs(metric, mode)
    rows = []
    for r in frames:
        df = results_dataframe(r)
        rows.append(df.loc[(trial_status(df, metric, fidelity, full_fidelity) == COMPLETE).to_numpy(), list(metric)])
    values = pd.concat(rows).to_numpy(dtype=float) * signs if rows else np.empty((0, len(metric)))
    if not len(values):
        nan = (math.nan,) * len(metric)
        return nan, nan
    best, worst = values.min(axis=0), values.max(axis=0)
    worst = worst + margin * (worst - best)
    return tuple(map(float, best * signs)), tuple(map(float, worst * signs))


#: How far beyond the worst complete trial the default reference point lies, as a fraction of the
#: trials' range in each metric: with the reference at the worst value itself, the trials at the
#: extremes of the front would add nothing.
MARGIN = 0.1


def _box(df, metric, mode, ideal, reference, fidelity, full_fidelity, margin=MARGIN):
    """The box (ideal, reference) in metric units, the words for it, and a Normaliser in minimisation space."""
    n_complete = int((trial_status(df, metric, fidelity, full_fidelity) == COMPLETE).sum())
    best, worst = hypervolume_box(df, metric, mode, fidelity, full_fidelity, margin)
    given = [name for name, v in (("ideal", ideal), ("reference", reference)) if v is not None]
    ideal = best if ideal is None else tuple(float(v) for v in ideal)
    reference = tuple(float(v) for v in (worst if reference is None else reference))
    for label, point in (("ideal", ideal), ("reference", reference)):
        if len(point) != len(metric):
            raise InvalidConfigError(f"{label} {list(point)} must give one value per metric {list(metric)}")
    beyond = f"worst + {margin:.0%} of their range"
    if not given:
        words = f"best of {n_complete} complete trials; {beyond}"
    elif len(given) == 2:
        words = "both given"
    elif given == ["ideal"]:
        words = f"ideal given; reference: {n_complete} complete trials' {beyond}"
    else:
        words = f"reference given; ideal: best of {n_complete} complete trials"
    signs = moo.minimisation_signs(metric, mode)
    normaliser = moo.Normaliser(np.asarray(ideal) * signs, np.asarray(reference) * signs)
    if given and np.all(np.isfinite(normaliser.low)) and not np.all(normaliser.high > normaliser.low):
        raise InvalidConfigError(f"reference {list(reference)} must be worse than ideal {list(ideal)} in every "
                                 f"metric {list(metric)} (modes {list(mode)})")
    return ideal, reference, words, normaliser, n_complete


def _normalised_points(df, metric, mode, normaliser, fidelity, full_fidelity) -> np.ndarray:
    """Complete trials' objectives in box coordinates (ideal 0, reference 1; clipped at the ideal);
    other trials as NaN rows, so row positions stay those of the results."""
    signs = moo.minimisation_signs(metric, mode)
    y = normaliser(df[list(metric)].to_numpy(dtype=float) * signs)
    y[(trial_status(df, metric, fidelity, full_fidelity) != COMPLETE).to_numpy()] = np.nan
    return np.maximum(y, 0.0)


def normalised_hypervolume(results, metric: Sequence[str], mode: Sequence[str], *,
                           ideal: Sequence[float] | None = None, reference: Sequence[float] | None = None,
                           margin: float = MARGIN, fidelity: str = "training_iteration",
                           full_fidelity: float | None = None) -> NormalisedHypervolume:
    """Hypervolume of the complete trials' Pareto front, normalised to [0, 1], and what it is
    normalised to.

    The box runs from ``ideal`` to ``reference`` (metric units; by default the best value of each
    metric over the complete trials, and their worst moved ``margin`` of their range further, so
    that the trials at the ends of the front count; see :func:`hypervolume_box`); objectives are
    min-max scaled into it (:class:`raynas.moo.Normaliser`) and the hypervolume is taken against
    the corner ``(1, ..., 1)`` (:func:`raynas.moo.hypervolume`). Trials better than a given ideal
    count as at the ideal. To compare searches, give them the same box (e.g. from
    ``hypervolume_box([results_a, results_b], ...)``): a default box is each search's own. Not the
    same number as :func:`raynas.moo.normalised_hypervolume`, which divides by the hypervolume of
    the true front of a tabular benchmark.

    Example::

        hv = normalised_hypervolume(results, ["accuracy", "latency_ms"], ["max", "min"])
        print(hv)            # normalised hypervolume 0.612 (1 = a trial at the ideal point; box ...)
        print(f"{hv:.3f}")   # 0.612
    """
    df = results_dataframe(results)
    ideal, reference, words, normaliser, n_complete = _box(df, metric, mode, ideal, reference, fidelity,
                                                           full_fidelity, margin)
    y = _normalised_points(df, metric, mode, normaliser, fidelity, full_fidelity)
    if not (np.all(np.isfinite(normaliser.low)) and np.all(normaliser.high > normaliser.low)):
        value = math.nan  # an empty or flat box: no volume to normalise by
    else:
        value = moo.hypervolume(y, np.ones(len(metric)))
    return NormalisedHypervolume(float(value), ideal, reference, tuple(metric), tuple(mode), n_complete, words)


def hypervolume_history(results, metric: Sequence[str], mode: Sequence[str], *,
                        ideal: Sequence[float] | None = None, reference: Sequence[float] | None = None,
                        margin: float = MARGIN, fidelity: str = "training_iteration",
                        full_fidelity: float | None = None) -> tuple[pd.DataFrame, NormalisedHypervolume]:
    """The normalised hypervolume of the complete trials' front after each trial, in the order of
    the results' rows (trial number, as Optuna's history plots count), in one box for the whole
    history (see :func:`normalised_hypervolume`, whose result comes second).

    Returns a frame with columns ``trial`` (0, 1, ...), ``status`` (:func:`trial_status`) and
    ``hypervolume``, and the final :class:`NormalisedHypervolume`."""
    df = results_dataframe(results)
    final = normalised_hypervolume(df, metric, mode, ideal=ideal, reference=reference, margin=margin,
                                   fidelity=fidelity, full_fidelity=full_fidelity)
    _, _, _, normaliser, _ = _box(df, metric, mode, ideal, reference, fidelity, full_fidelity, margin)
    y = _normalised_points(df, metric, mode, normaliser, fidelity, full_fidelity)
    k = len(metric)
    if math.isnan(final.value):
        hv = np.full(len(df), math.nan)
    else:
        hv = moo.hv_trajectory(y, normaliser=moo.Normaliser(np.zeros(k), np.ones(k)), true_hv=1.0)
    status = trial_status(df, metric, fidelity, full_fidelity).to_numpy()
    return pd.DataFrame({"trial": np.arange(len(df)), "status": status, "hypervolume": hv}), final
