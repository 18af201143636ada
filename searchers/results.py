"""Multi-objective results the way Tune users ask for them (ray#47358, ray#8018, ray#35909).

``pareto_front(results, metric=[...], mode=[...])`` takes a ``ResultGrid`` or a results DataFrame and
returns the Pareto-optimal trials. Trials a scheduler stopped early carry their fidelity and never
enter the front as if they were complete.
"""

from __future__ import annotations

from collections.abc import Sequence
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
    if fidelity not in df.columns:
        return pd.Series(True, index=df.index)
    if full_fidelity is None and "max_epochs" in df.columns and "epoch" in df.columns:
        return df["epoch"] >= df["max_epochs"]
    target = df[fidelity].max() if full_fidelity is None else full_fidelity
    return df[fidelity] >= target


def pareto_front(results, metric: Sequence[str], mode: Sequence[str], fidelity: str = "training_iteration",
                 full_fidelity: float | None = None, include_incomplete: bool = False) -> pd.DataFrame:
    """Pareto-optimal trials, sorted by the first metric.

    The returned frame keeps every column of the results plus ``complete`` (reached full fidelity).
    Trials with non-finite metric values never enter the front."""
    df = results_dataframe(results)
    signs = moo.minimisation_signs(metric, mode)
    missing = [m for m in metric if m not in df.columns]
    if missing:
        raise InvalidConfigError(f"metric(s) {missing} not in the results; columns are {sorted(map(str, df.columns))}")
    df = df.assign(complete=mark_complete(df, fidelity, full_fidelity))
    values = df[list(metric)].to_numpy(dtype=float) * signs
    usable = np.isfinite(values).all(axis=1) & (df["complete"].to_numpy() | include_incomplete)
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
