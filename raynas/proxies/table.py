"""Proxy values of many architectures, computed once and kept in a CSV file.

A :class:`ProxyTable` is keyed by what determines a value: the space, the batch (its source, size,
image size and seed), the number of classes and the initialisation seed. The file is long
(``arch_str,proxy,value`` rows; ``failed`` for a proxy that failed on that network) and only ever
appended to, under a file lock, so runs in several processes can share it and an interrupted run
keeps everything it computed. :meth:`ProxyTable.table` shows it wide (rows: architecture strings,
columns: proxies). :meth:`ProxyTable.get` computes only the missing cells and
:meth:`ProxyTable.fill` spreads the work over worker processes. Benchmarks and predictors (the
Multi-Predict ZCP encoding) share the files. A file in the earlier wide layout (one column per
proxy) is read as it is and rewritten long once, on the first append.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from raynas.logs import Progress
from raynas.paths import DEFAULT_CACHE, resolve_cache


@dataclass(frozen=True)
class BatchSpec:
    """Which stand-in batch the proxies see (see :func:`raynas.data.stand_in_batch`)."""

    source: str = "fashion-mnist"
    size: int = 64
    image_size: int = 32
    channels: int = 3
    seed: int = 0

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return (self.channels, self.image_size, self.image_size)

    def tag(self) -> str:
        return f"{self.source}-b{self.size}-{self.image_size}px-s{self.seed}"

    def load(self, num_classes: int, data_dir: str | os.PathLike | None = None):
        from raynas.data import stand_in_batch

        fm = None if data_dir is None else Path(data_dir) / "fashion-mnist"
        return stand_in_batch(self.source, self.size, self.seed, self.image_size, self.channels, num_classes, fm)


class ProxyTable:
    """A file-backed table of proxy values for architectures of ``space``.

    Args:
        space: a search space (``space.name`` names the file).
        batch: the :class:`BatchSpec` every network is scored on.
        num_classes: classifier width of the built networks.
        init_seed: ``torch.manual_seed`` before building each network.
        cache_dir: where the CSV lives (default: the raynas cache directory, :mod:`raynas.paths`);
            ``None`` keeps it in memory.
    """

    def __init__(self, space, batch: BatchSpec = BatchSpec(), num_classes: int = 10, init_seed: int = 0,
                 cache_dir: str | os.PathLike | None = DEFAULT_CACHE, data_dir: str | os.PathLike | None = None):
        self.space = space
        self.batch = batch
        self.num_classes = num_classes
        self.init_seed = init_seed
        self.data_dir = data_dir
        directory = resolve_cache(cache_dir)
        self.path = (directory / f"proxies_{space.name}_{batch.tag()}_c{num_classes}_i{init_seed}.csv"
                     if directory is not None else None)
        self._table = self._read()

    def _read(self) -> pd.DataFrame:
        if self.path is None or not self.path.is_file():
            return pd.DataFrame()
        df = pd.read_csv(self.path, dtype=str, keep_default_na=False)
        if list(df.columns[:3]) == list(LONG_COLUMNS):
            df = df[df["arch_str"] != "arch_str"]  # a header repeated by a concurrent first write
            df = df.drop_duplicates(["arch_str", "proxy"], keep="last")
            wide = df.pivot(index="arch_str", columns="proxy", values="value")
            wide.columns.name = None
        else:  # the earlier wide layout
            wide = df.set_index(df.columns[0])
            wide = wide[~wide.index.duplicated(keep="last")]
        wide.index.name = None
        return wide.astype(object).apply(lambda col: col.map(_cell))

    @property
    def table(self) -> pd.DataFrame:
        """Everything computed so far (rows: architecture strings)."""
        return self._table.copy()

    def missing(self, archs: Sequence, names: Sequence[str]) -> list:
        """Architectures lacking any of ``names``."""
        out = []
        for a in archs:
            key = self.space.arch_str(a)
            if key not in self._table.index or any(
                    n not in self._table.columns or _absent(self._table.at[key, n]) for n in names):
                out.append(tuple(a))
        return out

    def _batch(self, names: Sequence[str]):
        """The stand-in batch, or ``None`` when every proxy in ``names`` is data-free (no data read)."""
        from raynas.proxies import get_proxy

        if all(get_proxy(n).data_free for n in names):
            return None
        return self.batch.load(self.num_classes, self.data_dir)

    def get(self, archs: Iterable, names: Sequence[str], progress: Callable[[int, int], None] | bool | None = None,
            flush_every: int = 25) -> pd.DataFrame:
        """Values of ``names`` for ``archs`` (rows in the given order), computing what is missing.

        A proxy that failed on an architecture is NaN here and is not computed again (the file
        records it as ``failed``)."""
        from raynas.proxies.compute import resolve_names, score_architectures

        archs = [tuple(a) for a in archs]
        names = resolve_names(names)
        todo = self.missing(archs, names)
        if todo:
            batch = self._batch(names)
            with Progress(len(todo), f"proxies {', '.join(names)} of {self.space.name}", unit="networks",
                          bar=False if progress is False else None) as bar:
                for start in range(0, len(todo), flush_every):
                    chunk = todo[start:start + flush_every]
                    part = score_architectures(self.space, chunk, names, batch, num_classes=self.num_classes,
                                               seed=self.init_seed, input_shape=self.batch.input_shape)
                    self._merge(part)
                    bar.update(len(chunk))
                    if callable(progress):
                        progress(min(start + flush_every, len(todo)), len(todo))
        keys = [self.space.arch_str(a) for a in archs]
        return self._table.loc[keys, list(names)].apply(pd.to_numeric, errors="coerce").astype(float)

    def _merge(self, part: pd.DataFrame) -> None:
        # NaN is a measured failure; the file says "failed" to keep it apart from "not computed".
        part = part.astype(float).astype(object).where(part.notna(), other="failed")
        if self._table.empty:
            self._table = part
        else:
            self._table = part.combine_first(self._table)
            self._table.update(part)
        if self.path is not None:
            self._append(part)

    def _append(self, part: pd.DataFrame) -> None:
        """Append ``part``'s cells to the file (long rows), converting a wide file first."""
        import csv

        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_suffix(".csv.lock"), "a") as lock:
            _lock(lock)
            if self.path.is_file() and self.path.stat().st_size:
                with open(self.path) as f:
                    header = f.readline().strip().split(",")
                if header[:3] != list(LONG_COLUMNS):
                    self._rewrite_long()
            new = not self.path.is_file() or self.path.stat().st_size == 0
            with open(self.path, "a", newline="") as f:
                w = csv.writer(f)
                if new:
                    w.writerow(LONG_COLUMNS)
                for key, row in part.iterrows():
                    for name, value in row.items():
                        w.writerow([key, name, value])
                f.flush()
                os.fsync(f.fileno())

    def _rewrite_long(self) -> None:
        """Rewrite a file in the earlier wide layout as long rows (once, under the lock)."""
        old = pd.read_csv(self.path, dtype=str, keep_default_na=False, index_col=0)
        long = old.stack().reset_index()
        long.columns = list(LONG_COLUMNS)
        long = long[long["value"] != ""]
        tmp = self.path.with_suffix(".tmp")
        long.to_csv(tmp, index=False)
        os.replace(tmp, self.path)

    def values(self, archs: Iterable, names: Sequence[str], **kwargs) -> np.ndarray:
        """:meth:`get` as a float matrix (failed values as NaN)."""
        return self.get(archs, names, **kwargs).to_numpy(dtype=float)

    def fill(self, archs: Iterable, names: Sequence[str], workers: int = 2, threads: int = 1,
             progress: bool = True) -> pd.DataFrame:
        """Compute missing values in ``workers`` processes (each with ``threads`` torch threads)."""
        from contextlib import closing

        from raynas.parallel import ordered_results, worker_pool
        from raynas.proxies.compute import resolve_names

        archs = [tuple(a) for a in archs]
        names = resolve_names(names)
        todo = self.missing(archs, names)
        if workers <= 1 or len(todo) < 2 * workers:
            return self.get(archs, names, progress=None if progress else False)
        chunks = [todo[i::workers] for i in range(workers)]
        tasks = [(self.space, chunk[start:start + 25], list(names), self.batch, self.num_classes, self.init_seed,
                  self.data_dir) for chunk in chunks for start in range(0, len(chunk), 25)]
        with Progress(len(todo), f"proxies {', '.join(names)} of {self.space.name} ({workers} workers)",
                      unit="networks", bar=None if progress else False) as bar, \
                worker_pool(workers, threads) as pool, \
                closing(ordered_results(pool, _score_chunk, tasks, window=2 * workers)) as parts:
            for part in parts:
                self._merge(part)
                bar.update(len(part))
        return self.get(archs, names)


LONG_COLUMNS = ("arch_str", "proxy", "value")


def _cell(v):
    """A file cell: a float, ``"failed"`` (a measured failure), or ``None`` (not computed)."""
    if v is None or v == "" or (isinstance(v, float) and math.isnan(v)):
        return None
    if v == "failed":
        return "failed"
    return float(v)


def _lock(f) -> None:
    """An exclusive lock on ``f`` until it is closed (advisory; none where fcntl is missing)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        return
    fcntl.flock(f.fileno(), fcntl.LOCK_EX)


def _absent(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def _score_chunk(space, archs, names, batch: BatchSpec, num_classes: int, init_seed: int, data_dir):
    from raynas.proxies import get_proxy
    from raynas.proxies.compute import score_architectures

    data = None if all(get_proxy(n).data_free for n in names) else batch.load(num_classes, data_dir)
    return score_architectures(space, archs, names, data, num_classes=num_classes, seed=init_seed,
                               input_shape=batch.input_shape)

