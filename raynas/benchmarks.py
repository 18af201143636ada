"""Tabular ground truth as objective functions: NAS-Bench-201 accuracy and published device latencies.

:class:`NB201Benchmark` reads two files of a data directory (:func:`raynas.paths.data_dir`)::

    nb201/accuracy_<dataset>_200ep.csv   arch_index, arch_str, train/valid/test-accuracy (%), ...
    nb201/latency_ms.csv                 arch_index, arch_str, one column per device setting

Every column of the latency file other than the identifiers is a device: the benchmark takes
whatever columns the file has and never assumes their names.

Official index <-> architecture: NAS-Bench-201's ``arch_index`` order is a fixed random permutation
chosen by its authors, not the mixed-radix order of :meth:`NB201Space.enumerate`, so it cannot be
derived from the space; the mapping is built by parsing each row's official ``arch_str`` with
:class:`~raynas.spaces.NB201Space`.

Objectives are ``(error, latency)`` with ``error = 100 - accuracy`` (%), both minimised; the
normalised-hypervolume convention is :mod:`raynas.moo`'s.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from raynas import moo
from raynas import paths
from raynas.errors import DataNotFoundError, InvalidArchitectureError, InvalidConfigError, UnknownNameError
from raynas.spaces.nb201 import NB201Space

ID_COLUMNS = ("arch_index", "arch_id", "arch_str")
SPLITS = ("train", "valid", "test")


@lru_cache(maxsize=8)
def _read_csv(path: str, mtime: float) -> pd.DataFrame:
    return pd.read_csv(path)


def _fetch_command(path: Path) -> str:
    """The command that fetches (or replaces a damaged) ``path`` of ``nb201/``."""
    return paths.fetch_hint("nb201-latency" if path.name == "latency_ms.csv" else "nb201")


def _load(path: Path, directory: Path) -> pd.DataFrame:
    if not path.is_file():
        raise DataNotFoundError(
            f"NAS-Bench-201 file {path.name!r} not found in data directory {str(directory)!r} "
            f"(fetch it with {_fetch_command(path)}, "
            f"set RAYNAS_DATA or pass data_dir)")
    try:
        return _read_csv(str(path.resolve()), path.stat().st_mtime)
    except (ValueError, UnicodeDecodeError) as exc:  # pandas' EmptyDataError/ParserError are ValueErrors
        raise DataNotFoundError(f"{str(path)!r} is not a readable CSV table ({type(exc).__name__}: "
                                f"{str(exc).splitlines()[0] if str(exc) else ''}); "
                                f"fetch it again with {_fetch_command(path)}") from None


class NB201Benchmark:
    """NAS-Bench-201 objectives from the published tables (15,625 architectures).

    Architectures may be given as tuples of op indices (:class:`NB201Space`), official strings,
    or official ``arch_index`` integers."""

    def __init__(self, data_dir: str | os.PathLike | None = None, dataset: str = "cifar10-valid"):
        self.data_dir = paths.data_dir(data_dir)
        self.dataset = dataset
        self.space = NB201Space()
        d = self.data_dir / "nb201"
        acc = _load(d / f"accuracy_{dataset}_200ep.csv", d)
        lat = _load(d / "latency_ms.csv", d)
        for col in ("arch_index", "arch_str", "valid-accuracy", "test-accuracy"):
            if col not in acc.columns:
                raise DataNotFoundError(f"{d / f'accuracy_{dataset}_200ep.csv'} lacks column {col!r}; "
                                        f"fetch it again with {paths.fetch_hint('nb201')}")
        if "arch_str" not in lat.columns:
            raise DataNotFoundError(f"{d / 'latency_ms.csv'} lacks column 'arch_str'; "
                                    f"fetch it again with {paths.fetch_hint('nb201-latency')}")
        acc = acc.sort_values("arch_index").reset_index(drop=True)
        if not np.array_equal(acc["arch_index"].to_numpy(), np.arange(len(acc))):
            raise DataNotFoundError(f"arch_index of the accuracy table in {str(d)!r} is not 0..{len(acc) - 1}; "
                                    f"fetch it again with {paths.fetch_hint('nb201')}")
        self.arch_strs: list[str] = list(acc["arch_str"])
        self.archs: list[tuple[int, ...]] = [self.space.parse(s) for s in self.arch_strs]
        self._index: dict[tuple[int, ...], int] = {a: i for i, a in enumerate(self.archs)}
        self._str_index: dict[str, int] = {s: i for i, s in enumerate(self.arch_strs)}
        if len(self._index) != len(self.archs):
            raise DataNotFoundError(f"the accuracy table in {str(d)!r} lists an architecture twice; "
                                    f"fetch it again with {paths.fetch_hint('nb201')}")
        self._acc = {s: acc[f"{s}-accuracy"].to_numpy(float) for s in SPLITS if f"{s}-accuracy" in acc.columns}
        self._train_s = acc["train-all-time"].to_numpy(float) if "train-all-time" in acc.columns else None
        # latency rows are matched by architecture string, whatever their order
        rows = np.array([self._str_index.get(s, -1) for s in lat["arch_str"]])
        if (rows < 0).any():
            bad = lat["arch_str"][rows < 0].iloc[0]
            raise DataNotFoundError(
                f"latency table in {str(d)!r} has architecture {bad!r} missing from the accuracy table")
        self.devices: list[str] = [c for c in lat.columns if c not in ID_COLUMNS]
        self._lat = np.full((len(self.archs), len(self.devices)), np.nan)
        self._lat[rows] = lat[self.devices].to_numpy(float)
        self._col = {name: j for j, name in enumerate(self.devices)}
        self._fronts: dict[str, tuple[moo.Normaliser, float, np.ndarray]] = {}

    # --- lookups -----------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.archs)

    def index(self, arch) -> int:
        """Official ``arch_index`` of an architecture (tuple, string or index)."""
        if isinstance(arch, (int, np.integer)) and not isinstance(arch, bool):
            if not 0 <= int(arch) < len(self.archs):
                raise InvalidArchitectureError(f"nb201: arch_index {arch} outside 0..{len(self.archs) - 1}")
            return int(arch)
        if isinstance(arch, str):
            arch = self.space.parse(arch)
        a = self.space.validate(arch)
        return self._index[a]

    def arch(self, index: int) -> tuple[int, ...]:
        return self.archs[self.index(index)]

    def _device(self, device: str) -> int:
        try:
            return self._col[device]
        except (KeyError, TypeError):
            raise UnknownNameError(
                f"unknown device {device!r}; the latency table in {str(self.data_dir / 'nb201')!r} has: "
                f"{', '.join(self.devices)}") from None

    def accuracy(self, arch, split: str = "valid") -> float:
        """Accuracy (%) after 200 epochs, averaged over the published seeds."""
        if split not in self._acc:
            raise InvalidConfigError(f"split must be one of {sorted(self._acc)}, got {split!r}")
        return float(self._acc[split][self.index(arch)])

    def error(self, arch, split: str = "valid") -> float:
        return 100.0 - self.accuracy(arch, split)

    def latency(self, arch, device: str) -> float:
        """Published latency (ms) of ``arch`` on ``device``."""
        j = self._device(device)
        return float(self._lat[self.index(arch), j])

    def train_time(self, arch) -> float:
        """Seconds NAS-Bench-201's own training of ``arch`` took (``train-all-time``: all 200
        epochs, averaged over the published seeds): a trial's duration in a simulated cluster."""
        if self._train_s is None:
            raise DataNotFoundError(f"the accuracy table in {str(self.data_dir / 'nb201')!r} has no "
                                    f"'train-all-time' column; fetch it again with {paths.fetch_hint('nb201')}")
        return float(self._train_s[self.index(arch)])

    def objectives(self, arch, device: str, split: str = "valid") -> tuple[float, float]:
        """``(error %, latency ms)``, both minimised."""
        i, j = self.index(arch), self._device(device)
        return 100.0 - float(self._acc[split][i]), float(self._lat[i, j])

    # --- whole-table views -----------------------------------------------------------------------
    def all_accuracy(self, split: str = "valid") -> np.ndarray:
        """Accuracies of every architecture in official index order."""
        self.accuracy(0, split)
        return self._acc[split].copy()

    def all_latency(self, device: str) -> np.ndarray:
        return self._lat[:, self._device(device)].copy()

    def all_objectives(self, device: str, split: str = "valid") -> np.ndarray:
        """``[15625, 2]`` array of ``(error, latency)`` in official index order."""
        j = self._device(device)
        return np.stack([100.0 - self._acc[split], self._lat[:, j]], axis=1)

    def _front(self, device: str) -> tuple[moo.Normaliser, float, np.ndarray]:
        if device not in self._fronts:
            pts = self.all_objectives(device)
            norm = moo.Normaliser.fit(pts)
            idx = np.flatnonzero(moo.pareto_mask(pts))
            hv = moo.hypervolume(norm(pts[idx]), np.ones(2))
            self._fronts[device] = (norm, hv, idx)
        return self._fronts[device]

    def normaliser(self, device: str) -> moo.Normaliser:
        """Min-max normaliser of ``(error, latency)`` over all architectures of ``device``."""
        return self._front(device)[0]

    def true_hv(self, device: str) -> float:
        """Hypervolume of all architectures, normalised, reference (1, 1)."""
        return self._front(device)[1]

    def true_front(self, device: str) -> list[int]:
        """Official indices of the Pareto-optimal architectures of ``device`` (error vs latency)."""
        return [int(i) for i in self._front(device)[2]]

    def normalised_hv(self, archs, device: str) -> float:
        """Normalised HV of a set of architectures on ``device`` (:mod:`raynas.moo` convention)."""
        archs = list(archs)
        if not archs:
            return 0.0
        pts = np.array([self.objectives(a, device) for a in archs])
        norm, hv, _ = self._front(device)
        return moo.normalised_hypervolume(pts, normaliser=norm, true_hv=hv)

    def hv_trajectory(self, archs, device: str) -> np.ndarray:
        """Normalised HV after each prefix of ``archs`` (evaluation order; duplicates included)."""
        pts = np.array([self.objectives(a, device) for a in archs]).reshape(-1, 2)
        norm, hv, _ = self._front(device)
        return moo.hv_trajectory(pts, normaliser=norm, true_hv=hv)

    def __repr__(self) -> str:
        return f"NB201Benchmark({len(self.archs)} archs, {len(self.devices)} devices, {self.dataset!r})"


__all__ = ["NB201Benchmark", "ID_COLUMNS"]
