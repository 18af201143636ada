"""Published latency tables as (space, architectures, device matrix) for predictor work."""

from __future__ import annotations

import json
from collections.abc import Sequence
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from raynas.errors import DataNotFoundError, UnknownNameError


@dataclass
class SpaceTable:
    """Every architecture of a published table with its latency on every device column.

    ``latency`` is ``[n_archs, n_devices]`` (ms), ``devices`` the column names in table order,
    ``archs`` op-index tuples of ``space``, ``reference`` row positions of the hardware-embedding
    reference architectures (empty when the data directory has none)."""

    space_name: str
    space: object
    archs: list
    devices: list[str]
    latency: np.ndarray
    reference: list[int] = field(default_factory=list)

    def column(self, device: str) -> np.ndarray:
        if device not in self.devices:
            raise UnknownNameError(
                f"device {device!r} is not a column of the {self.space_name} table; known: {', '.join(self.devices)}"
            )
        return self.latency[:, self.devices.index(device)]

    def take(self, rows) -> SpaceTable:
        """The table restricted to ``rows`` (positions, in the order given), e.g. a sample to
        try a predictor on before building every network's features::

            >>> small = load_space_table("fbnet").take(range(300))
        """
        rows = np.asarray(list(rows), dtype=np.int64)
        if rows.size and (rows.min() < 0 or rows.max() >= len(self.archs)):
            raise IndexError(f"rows outside the {self.space_name} table (0..{len(self.archs) - 1})")
        ref = {r: i for i, r in enumerate(rows.tolist())}
        return SpaceTable(self.space_name, self.space, [self.archs[r] for r in rows], list(self.devices),
                          self.latency[rows], [ref[r] for r in self.reference if r in ref])

    def features(self, cache_dir: str | os.PathLike | None = None, progress: bool = False,
                 workers: int | None = None) -> np.ndarray:
        """Analytic cost features ``[n_archs, len(FEATURE_NAMES)]`` of every architecture, built once
        in ``workers`` processes and cached (:func:`raynas.predictors.features.space_features`)."""
        from raynas.predictors.features import space_features

        return space_features(self.space, self.archs, key=self.space_name, cache_dir=cache_dir, progress=progress,
                              workers=workers)

    def zcp(self, names=None, compute: bool = False, workers: int = 1, **table_kwargs) -> np.ndarray:
        """Raw zero-cost proxy values ``[n_archs, len(names)]`` from the ZCP cache
        (:mod:`raynas.predictors.zcp`); architectures not computed yet are NaN unless ``compute``."""
        from raynas.predictors.zcp import ZCP_PROXIES, zcp_values

        return zcp_values(self.space, self.archs, names or ZCP_PROXIES, compute=compute, workers=workers,
                          **table_kwargs)

    def family(self, device: str) -> str:
        """The hardware family of a device column (:func:`raynas.hardware.device_family`)."""
        from raynas.hardware.base import device_family

        self.column(device)  # unknown names raise here
        return device_family(device)

    def sources(self, target: str, holdout: str = "family", exclude: Sequence[str] = (),
                only: Sequence[str] | None = None,
                twin_rho: float = 0.95) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """Sources for a transfer to ``target``: ``(latency of the source columns, the target column,
        their names)``.

        ``holdout="family"`` (default) leaves out the target's whole family (the same hardware at
        other batch sizes), as a really new device has no such twin; ``"twins"`` also leaves out
        every other column that ranks the architectures like the target (Spearman >= ``twin_rho``
        over all of them: e.g. three GPUs at batch 256), the strictest simulation of new hardware;
        ``"device"`` leaves out the target column only (the optimistic protocol of earlier papers).
        ``exclude`` drops more columns or whole families by name; ``only`` restricts the sources."""
        from raynas.hardware.base import device_family

        if holdout not in ("family", "twins", "device"):
            raise ValueError(f"holdout must be 'family', 'twins' or 'device', got {holdout!r}")
        y = self.column(target)
        fam = self.family(target)
        dropped = set(exclude)
        for d in list(dropped) + list(only or ()):
            if d not in self.devices and d not in {device_family(x) for x in self.devices}:
                raise UnknownNameError(f"{d!r} is neither a device nor a family of the {self.space_name} table")
        if holdout == "twins":
            from raynas.predictors.models import rank_correlations

            rho = rank_correlations(self.latency)[self.devices.index(target)]
            dropped |= {d for d, r in zip(self.devices, rho) if d != target and r >= twin_rho}
        names = [d for d in self.devices
                 if d != target and not (holdout != "device" and device_family(d) == fam)
                 and d not in dropped and device_family(d) not in dropped and (only is None or d in only)]
        if not names:
            raise ValueError(f"no source devices left for {target!r} ({holdout} held out, excluded {sorted(dropped)})")
        return self.latency[:, [self.devices.index(d) for d in names]], y, names

    def onehot(self) -> np.ndarray:
        n_ops = len(self.space.ops)
        a = np.asarray(self.archs)
        out = np.zeros((len(a), a.shape[1] * n_ops), dtype=np.float32)
        rows = np.arange(len(a))[:, None]
        out[rows, np.arange(a.shape[1])[None, :] * n_ops + a] = 1.0
        return out


def load_space_table(space_name: str, data_dir: str | os.PathLike | None = None) -> SpaceTable:
    """Read ``{data_dir}/{space_name}/latency_ms.csv`` (and ``archs.csv`` / ``reference_archs.json``
    where present) for a space registered in :data:`raynas.spaces.SPACES`."""
    from raynas.paths import data_dir as _data_dir
    from raynas.hardware.table import ID_COLUMNS, fetch_hint, latency_table
    from raynas.spaces import get_space

    d = _data_dir(data_dir)
    space = get_space(space_name)
    table = latency_table(space_name, d)
    devices = [c for c in table.columns if c not in ID_COLUMNS]
    layer_cols = [f"layer{i}" for i in range(space.num_decisions)]
    archs_csv = d / space_name / "archs.csv"
    if archs_csv.is_file() and set(layer_cols) <= set(pd.read_csv(archs_csv, nrows=1).columns):
        arch_df = pd.read_csv(archs_csv)
        archs = [tuple(int(v) for v in r) for r in arch_df[layer_cols].to_numpy()]
    elif "arch_str" in table.columns:
        archs = [space.parse(s) for s in table["arch_str"]]
    else:
        raise DataNotFoundError(f"{space_name}: no architectures found for the table in {str(d / space_name)!r}; "
                                f"{fetch_hint(space_name)}")
    if len(archs) != len(table):
        raise DataNotFoundError(f"{space_name}: {len(archs)} architectures but {len(table)} latency rows; "
                                f"{fetch_hint(space_name, again=True)}")
    reference: list[int] = []
    ref_file = d / space_name / "reference_archs.json"
    if ref_file.is_file():
        ref = json.loads(ref_file.read_text())
        ids = ref.get("reference_arch_indices", ref.get("reference_arch_ids", []))
        id_col = next((c for c in ("arch_index", "arch_id") if c in table.columns), None)
        if id_col is not None:
            pos = {int(v): i for i, v in enumerate(table[id_col])}
            reference = [pos[int(i)] for i in ids if int(i) in pos]
        else:
            reference = [int(i) for i in ids]
    return SpaceTable(space_name, space, archs, devices, table[devices].to_numpy(dtype=float), reference)
