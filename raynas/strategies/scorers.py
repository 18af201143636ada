"""Cheap scores computed on the real networks a space builds, cached per architecture.

A *scorer* is any callable ``Arch -> float`` (or an object with ``score_many(archs) -> ndarray``).
Strategies take scorers as arguments, so zero-cost proxies from :mod:`raynas.proxies` (synflow,
...) plug in the same way as the built-in ones here:

* ``params``, ``flops``, ``path_params``: the data-free cost proxies of :mod:`raynas.proxies.cost`
  (millions of parameters, of multiply-accumulates, of parameters on an input-output path).

All are measured on the built ``nn.Module``, never read from a benchmark table. :class:`CachedScorer`
memoises any scorer per architecture and can persist to a JSON file (``benchmarks/cache/``).
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
                self.cache = {tuple(int(c) for c in k.split(",")): float(v) for k, v in json.load(f).items()}

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
        a = tuple(int(x) for x in arch)
        v = self.cache.get(a)
        if v is None:
            v = float(self.fn(a))
            self.cache[a] = v
            self.evaluations += 1
        return v

    def score_many(self, archs: Iterable[Sequence[int]]) -> np.ndarray:
        archs = [tuple(int(x) for x in a) for a in archs]
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
            json.dump({",".join(map(str, k)): v for k, v in self.cache.items()}, f)
        os.replace(tmp, self.path)


def network_scorer(space, name: str = "params", cache_dir: str | os.PathLike | None = None,
                   **kwargs) -> CachedScorer:
    """A cached built-in scorer (``params``, ``flops`` or ``path_params``) over ``space``'s networks.

    With ``cache_dir``, values persist in ``<cache_dir>/<space>_<name>.json``."""
    if name not in BUILTIN:
        raise UnknownNameError(f"unknown built-in scorer {name!r}; known: {', '.join(BUILTIN)}")
    path = Path(cache_dir) / f"{space.name}_{name}.json" if cache_dir is not None else None
    return CachedScorer(lambda a: network_measures(space, a, (name,), **kwargs)[name], name, path)


def score_all(scorer, archs: Sequence[Arch]) -> np.ndarray:
    """Scores of many architectures with a per-arch callable or a batch ``score_many``."""
    if hasattr(scorer, "score_many"):
        return np.asarray(scorer.score_many(archs), dtype=float)
    return np.array([float(scorer(a)) for a in archs], dtype=float)
