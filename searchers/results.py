"""Multi-objective results the way Tune users ask for them (ray#47358, ray#8018, ray#35909).

``pareto_front(results, metric=[...], mode=[...])`` takes a ``ResultGrid`` or a results DataFrame and
returns the Pareto-optimal trials. Trials a scheduler stopped early carry their fidelity and never
enter the front as if they were complete.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from raynas import moo
from raynas.errors import InvalidConfigError


def results_dataframe(results) -> pd.DataFrame:
    """The last reported result of every trial, from a ``ResultGrid`` or a DataFrame.

    A ``ResultGrid`` is read from its in-memory results (``Result.metrics``), not from the trial
    directories: with ``TUNE_DISABLE_AUTO_CALLBACK_LOGGERS=1`` (raynas's fast setting) Tune writes no
    ``result.json`` and ``ResultGrid.get_dataframe()`` is empty. Config values appear as
    ``config/<key>`` columns, as in Tune's own dataframes; a trial that raised has its ``error``."""
    if isinstance(results, pd.DataFrame):
        return results.copy()
    if hasattr(results, "get_dataframe"):
        rows = []
        for r in (results[i] for i in range(len(results))):
            metrics = dict(r.metrics or {})
            config = metrics.pop("config", None) or r.config or {}
            row = {**metrics, **{f"config/{k}": v for k, v in config.items()}}
            if r.error is not None:
                row["error"] = f"{type(r.error).__name__}: {r.error}"
            rows.append(row)
        return pd.DataFrame(rows)
    raise InvalidConfigError(f"expected a ResultGrid or a DataFrame, got {type(results).__name__}")


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
