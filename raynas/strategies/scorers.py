"""Cheap scores computed on the real networks a space builds, cached per architecture.

A *scorer* is any callable ``Arch -> float`` (or an object with ``score_many(archs) -> ndarray``).
Strategies take scorers as arguments, so zero-cost proxies from :mod:`raynas.proxies` (synflow,
...) plug in the same way as the built-in ones here:

* ``params``, ``flops``, ``path_params``: the data-free cost proxies of :mod:`raynas.proxies.cost`
  (millions of parameters, of multiply-accumulates, of parameters on an input-output path).

All are measured on the built ``nn.Module``, never read from a benchmark table. :class:`CachedScorer`
memoises any scorer per architecture and can persist to a JSON file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np

from raynas.errors import UnknownNameError

Arch = tuple[int, ...]
BUILTIN = ("params", "flops", "path_params")


def _key(arch) -> tuple:
    """A configuration as a tuple of Python numbers (a cache key)."""
    return tuple(x.item() if isinstance(x, np.generic) else x for x in arch)


def key_text(arch) -> str:
    """A configuration as text for JSON state (``repr`` of floats round-trips exactly)."""
    return ",".join(map(str, _key(arch)))


def parse_key(text: str) -> tuple:
    """Inverse of :func:`key_text`: integers stay integers, the rest are floats."""
    out = []
    for c in text.split(","):
        try:
            out.append(int(c))
        except ValueError:
            out.append(float(c))
    return tuple(out)


def network_measures(space, arch: Arch, names: Sequence[str] = BUILTIN, input_shape=(3, 32, 32),
                     num_classes: int = 10) -> dict[str, float]:
    """Data-free measures of one architecture's network, built with seed 0 (see the module docstring)."""
    import torch

    from raynas.proxies import compute_proxies

    for n in names:
        if n not in BUILTIN:
            raise UnknownNameError(f"unknown built-in scorer {n!r}; known: {', '.join(BUILTIN)}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = space.build(tuple(arch), num_classes=num_classes, in_channels=input_shape[0])
    return compute_proxies(model, None, list(names), input_shape=tuple(input_shape))


class CachedScorer:
    """Memoise ``fn(arch) -> float`` per architecture; ``path`` persists the cache as JSON.

    ``evaluations`` counts real (uncached) calls: the proxy/hardware-cost budget a search spent."""

    def __init__(self, fn: Callable[[Arch], float], name: str = "score", path: str | os.PathLike | None = None):
        self.fn = fn
        self.name = name
        self.path = Path(path) if path is not None else None
        self.cache: dict[Arch, float] = {}
        self.evaluations = 0
        if self.path is not None and self.path.is_file():
            with open(self.path) as f:
                self.cache = {parse_key(k): float(v) for k, v in json.load(f).items()}

    @classmethod
    def from_batch(cls, fn: Callable[[list[Arch]], Sequence[float]], name: str = "score",
                   path: str | os.PathLike | None = None) -> CachedScorer:
        """Cache a batch scorer ``list[Arch] -> array`` (e.g. a wrapper of
        ``raynas.proxies.score_architectures``); uncached architectures are scored in one call."""
        scorer = cls(lambda a: float(np.asarray(fn([a]), dtype=float).reshape(-1)[0]), name, path)
        scorer.batch_fn = fn
        return scorer

    batch_fn: Callable[[list[Arch]], Sequence[float]] | None = None

    def __call__(self, arch: Sequence[int]) -> float:
        a = _key(arch)
        v = self.cache.get(a)
        if v is None:
            v = float(self.fn(a))
            self.cache[a] = v
            self.evaluations += 1
        return v

    def score_many(self, archs: Iterable[Sequence[int]]) -> np.ndarray:
        archs = [_key(a) for a in archs]
        if self.batch_fn is not None:
            todo = list(dict.fromkeys(a for a in archs if a not in self.cache))
            if todo:
                for a, v in zip(todo, np.asarray(self.batch_fn(todo), dtype=float).reshape(-1)):
                    self.cache[a] = float(v)
                self.evaluations += len(todo)
        return np.array([self(a) for a in archs], dtype=float)

    def save(self) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        with open(tmp, "w") as f:
            json.dump({key_text(k): v for k, v in self.cache.items()}, f)
        os.replace(tmp, self.path)


def network_scorer(space, name: str = "params", cache_dir: str | os.PathLike | None = None,
                   **kwargs) -> CachedScorer:
    """A cached built-in scorer (``params``, ``flops`` or ``path_params``) over ``space``'s networks.

    With ``cache_dir``, values persist in ``<cache_dir>/<space>_<name>.json``."""
    if name not in BUILTIN:
        raise UnknownNameError(f"unknown built-in scorer {name!r}; known: {', '.join(BUILTIN)}")
    path = Path(cache_dir) / f"{space.name}_{name}.json" if cache_dir is not None else None
    return CachedScorer(lambda a: network_measures(space, a, (name,), **kwargs)[name], name, path)


class ProxyScores:
    """Registered zero-cost proxies (:mod:`raynas.proxies`) of ``space``'s networks, cached per architecture.

    All ``names`` are computed together on one build of each network (one shared pass serves
    synflow and path_params; FLOPs and params read the model), so a proxy and a hardware cost cost
    one network between them. Names are checked at construction: an unknown one raises
    :class:`~raynas.errors.UnknownNameError` naming it and the known proxies.

    Args:
        space: the search space that builds the networks.
        names: registered proxy names (``synflow``, ``path_params``, ``flops``, ``snip``, ...).
        batch: the :class:`~raynas.proxies.BatchSpec` data proxies see (default: a Fashion-MNIST
            stand-in batch of 64 CIFAR-shaped images); data-free proxies ignore it.
        num_classes, init_seed, input_shape: how each network is built (``torch.manual_seed(init_seed)``).
        cache_dir: keep values in a :class:`~raynas.proxies.ProxyTable` CSV there (shared across runs).
        mapper: ``mapper(chunks) -> list of DataFrames`` computing chunks of architectures elsewhere
            (``searchers.zero_cost`` passes one running Ray tasks); default: on this process.
        chunk_size: architectures per chunk handed to ``mapper``.

    ``evaluations`` counts networks actually computed (not found in a cache): the proxy budget.
    """

    def __init__(self, space, names: Sequence[str], *, batch=None, num_classes: int = 10, init_seed: int = 0,
                 input_shape: Sequence[int] = (3, 32, 32), cache_dir: str | os.PathLike | None = None,
                 data_dir: str | os.PathLike | None = None, mapper: Callable | None = None, chunk_size: int = 25):
        from raynas.proxies import BatchSpec, resolve_names

        self.space = space
        self.names = resolve_names(list(names))
        self.batch = batch if batch is not None else BatchSpec(image_size=int(input_shape[-1]),
                                                                 channels=int(input_shape[0]))
        self.num_classes = num_classes
        self.init_seed = init_seed
        self.input_shape = tuple(int(v) for v in input_shape)
        self.cache_dir = cache_dir
        self.data_dir = data_dir
        self.mapper = mapper
        self.chunk_size = max(1, int(chunk_size))
        self.cache: dict[Arch, np.ndarray] = {}
        self.evaluations = 0
        self._table = None

    @property
    def data_free(self) -> bool:
        from raynas.proxies import get_proxy

        return all(get_proxy(n).data_free for n in self.names)

    def _compute(self, archs: list[Arch]):
        """Values of ``archs`` (all uncached here) as a DataFrame with one row per architecture."""
        import pandas as pd

        from raynas.proxies import ProxyTable, score_architectures

        if self.cache_dir is not None:
            if self._table is None:
                self._table = ProxyTable(self.space, self.batch, self.num_classes, self.init_seed,
                                         cache_dir=self.cache_dir, data_dir=self.data_dir)
            missing = len(self._table.missing(archs, self.names))
            self.evaluations += missing
            return self._table.get(archs, self.names)
        chunks = [archs[i:i + self.chunk_size] for i in range(0, len(archs), self.chunk_size)]
        self.evaluations += len(archs)
        if self.mapper is not None:
            return pd.concat(list(self.mapper(chunks)))
        batch = None if self.data_free else self.batch.load(self.num_classes, self.data_dir)
        return score_architectures(self.space, archs, self.names, batch, num_classes=self.num_classes,
                                   seed=self.init_seed, input_shape=self.input_shape)

    def values(self, archs: Iterable[Sequence[int]]) -> np.ndarray:
        """``[n, len(names)]`` values (NaN where a proxy failed), computing the uncached ones."""
        archs = [_key(a) for a in archs]
        todo = list(dict.fromkeys(a for a in archs if a not in self.cache))
        if todo:
            df = self._compute(todo)
            vals = df[self.names].apply(lambda c: c.astype(float)).to_numpy(dtype=float)
            for a, v in zip(todo, vals):
                self.cache[a] = v
        return np.array([self.cache[a] for a in archs], dtype=float).reshape(len(archs), len(self.names))

    def scorer(self, name: str, transform: str = "none") -> ProxyColumn:
        """A scorer (``__call__``/``score_many``) of one of the names; ``transform="log"`` gives
        ``sign(v) log(1 + |v|)``, for proxies spanning many orders of magnitude (synflow)."""
        if name not in self.names:
            raise UnknownNameError(f"proxy {name!r} is not among this table's proxies {self.names}")
        return ProxyColumn(self, self.names.index(name), transform)

    def state_dict(self) -> dict:
        return {"names": list(self.names), "evaluations": self.evaluations,
                "cache": {key_text(a): [float(x) for x in v] for a, v in self.cache.items()}}

    def load_state_dict(self, state: dict) -> None:
        if list(state["names"]) != list(self.names):
            raise UnknownNameError(f"cached proxies {state['names']} differ from this table's {self.names}")
        self.evaluations = int(state["evaluations"])
        self.cache = {parse_key(k): np.asarray(v, dtype=float)
                      for k, v in state["cache"].items()}

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_table"] = None  # reopened from its file on demand
        return state


TRANSFORMS = ("none", "log")


class ProxyColumn:
    """One proxy of a :class:`ProxyScores`, as a scorer; ``evaluations`` are the table's."""

    def __init__(self, table: ProxyScores, column: int, transform: str = "none"):
        if transform not in TRANSFORMS:
            raise UnknownNameError(f"unknown transform {transform!r}; known: {', '.join(TRANSFORMS)}")
        self.table = table
        self.column = column
        self.transform = transform
        self.name = table.names[column]

    @property
    def evaluations(self) -> int:
        return self.table.evaluations

    def score_many(self, archs: Iterable[Sequence[int]]) -> np.ndarray:
        v = self.table.values(archs)[:, self.column]
        if self.transform == "log":
            v = np.sign(v) * np.log1p(np.abs(v))
        return v

    def __call__(self, arch: Sequence[int]) -> float:
        return float(self.score_many([arch])[0])


def proxy_scorer(space, name: str, **kwargs) -> ProxyColumn:
    """A cached scorer of one registered proxy (see :class:`ProxyScores` for ``kwargs``)."""
    return ProxyScores(space, [name], **kwargs).scorer(name, "log" if name in LOG_PROXIES else "none")


#: Proxies whose values span tens of orders of magnitude across a space: scored on a log scale.
LOG_PROXIES = frozenset({"synflow"})


def score_all(scorer, archs: Sequence[Arch]) -> np.ndarray:
    """Scores of many architectures with a per-arch callable or a batch ``score_many``."""
    if hasattr(scorer, "score_many"):
        return np.asarray(scorer.score_many(archs), dtype=float)
    return np.array([float(scorer(a)) for a in archs], dtype=float)
