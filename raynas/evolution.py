"""Evolution mechanics shared by every raynas strategy: small parts, composed by the strategies.

* :class:`History` — every told ``(arch, objectives)`` in order, with lookup of seen architectures.
* :class:`AgingPopulation` — regularised (aging) evolution's queue: the newest ``size`` members.
* :func:`tournament` — pick the best of ``k`` random members under a key (scalar or
  ``(rank, -crowding)``), as in Real et al. (2019) and NSGA-II.
* :func:`nsga2_survivors` — NSGA-II survival: fill by non-dominated rank, break the last front by
  crowding distance.
* :func:`scalarised_keys` — a random-preference Chebyshev / weighted-sum key over normalised
  objectives, for scalarised multi-objective evolution.
* :func:`make_child` — mutation (and optional uniform crossover) through the space.
* :func:`propose_unseen` — duplicate handling: retry a proposal until it is new, else fall back to
  a random unseen architecture.

All randomness comes from the ``numpy.random.Generator`` passed in, so a strategy that owns one
generator (and saves its state) is deterministic and resumable.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Sequence

import numpy as np

from raynas import moo

Arch = tuple[int, ...]


class History:
    """Told architectures and their minimised objectives, in tell order."""

    def __init__(self):
        self.archs: list[Arch] = []
        self.values: list[tuple[float, ...]] = []
        self._best: dict[Arch, int] = {}
        self._front: tuple[int, list[Arch], np.ndarray] | None = None  # (told when computed, front)

    def add(self, arch: Sequence, objectives: Sequence[float]) -> None:
        a = tuple(x.item() if isinstance(x, np.generic) else x for x in arch)
        self.archs.append(a)
        self.values.append(tuple(float(v) for v in objectives))
        self._best.setdefault(a, len(self.archs) - 1)

    def __len__(self) -> int:
        return len(self.archs)

    def __contains__(self, arch) -> bool:
        return tuple(arch) in self._best

    def lookup(self, arch) -> tuple[float, ...] | None:
        i = self._best.get(tuple(arch))
        return None if i is None else self.values[i]

    def matrix(self) -> np.ndarray:
        """``[n, k]`` objectives (non-finite values kept)."""
        return np.asarray(self.values, dtype=float).reshape(len(self.values), -1)

    def unique(self) -> tuple[list[Arch], np.ndarray]:
        """First occurrence of each architecture and its objectives."""
        idx = sorted(self._best.values())
        y = self.matrix()
        return [self.archs[i] for i in idx], y[idx] if len(idx) else y

    def front(self) -> tuple[list[Arch], np.ndarray]:
        """Non-dominated unique architectures (rows with non-finite values excluded); computed once
        per told result (the history only grows)."""
        if self._front is None or self._front[0] != len(self.archs):
            self._front = (len(self.archs), *self._compute_front())
        return list(self._front[1]), self._front[2].copy()

    def _compute_front(self) -> tuple[list[Arch], np.ndarray]:
        archs, y = self.unique()
        if not archs:
            return [], y
        ok = np.all(np.isfinite(y), axis=1)
        archs = [a for a, o in zip(archs, ok) if o]
        y = y[ok]
        m = moo.pareto_mask(y) if len(y) else np.zeros(0, bool)
        return [a for a, keep in zip(archs, m) if keep], y[m]

    def state_dict(self) -> dict:
        return {"archs": [list(a) for a in self.archs], "values": [list(v) for v in self.values]}

    @classmethod
    def from_state(cls, state: dict) -> History:
        h = cls()
        for a, v in zip(state["archs"], state["values"]):
            h.add(a, v)
        return h


class AgingPopulation:
    """Aging evolution's population: a FIFO of the newest ``size`` ``(arch, objectives)`` pairs."""

    def __init__(self, size: int):
        if size < 2:
            raise ValueError(f"population size must be >= 2, got {size}")
        self.size = size
        self.members: deque[tuple[Arch, tuple[float, ...]]] = deque(maxlen=size)

    def add(self, arch: Arch, objectives: Sequence[float]) -> None:
        self.members.append((tuple(arch), tuple(float(v) for v in objectives)))

    def __len__(self) -> int:
        return len(self.members)

    @property
    def full(self) -> bool:
        return len(self.members) >= self.size

    def archs(self) -> list[Arch]:
        return [a for a, _ in self.members]

    def matrix(self) -> np.ndarray:
        return np.asarray([v for _, v in self.members], dtype=float)


def _finite(y: np.ndarray) -> np.ndarray:
    """Replace non-finite objectives by a value worse than every finite one (per column)."""
    y = np.array(y, dtype=float)
    for j in range(y.shape[1]):
        col = y[:, j]
        bad = ~np.isfinite(col)
        if bad.any():
            worst = col[~bad].max() if (~bad).any() else 0.0
            col[bad] = worst + abs(worst) + 1.0
    return y


def rank_crowding_keys(y: np.ndarray) -> np.ndarray:
    """Sort keys (lower is better) combining non-dominated rank and crowding distance."""
    y = _finite(y)
    ranks, crowd = moo.rank_and_crowding(y)
    # crowding in [0, inf]; map to (-1, 0] so rank dominates
    c = np.ones_like(crowd)
    fin = np.isfinite(crowd)
    c[fin] = crowd[fin] / (1.0 + crowd[fin])
    return ranks - c


def scalarised_keys(y: np.ndarray, weights: np.ndarray, method: str = "chebyshev") -> np.ndarray:
    """Keys (lower is better) for one preference vector over min-max normalised objectives."""
    y = _finite(y)
    lo, hi = y.min(axis=0), y.max(axis=0)
    z = (y - lo) / np.where(hi > lo, hi - lo, 1.0)
    if method == "chebyshev":
        return moo.chebyshev(z, weights) + 1e-3 * moo.weighted_sum(z, weights)
    if method == "weighted_sum":
        return moo.weighted_sum(z, weights)
    raise ValueError(f"scalarisation must be 'chebyshev' or 'weighted_sum', got {method!r}")


def tournament(rng: np.random.Generator, keys: np.ndarray, k: int) -> int:
    """Index of the best (lowest key) of ``k`` members drawn without replacement."""
    n = len(keys)
    idx = rng.choice(n, size=min(k, n), replace=False)
    return int(idx[np.argmin(np.asarray(keys)[idx])])


def nsga2_survivors(y: np.ndarray, n: int) -> np.ndarray:
    """Indices of the ``n`` survivors of NSGA-II's elitist selection (rank, then crowding)."""
    y = _finite(y)
    if len(y) <= n:
        return np.arange(len(y))
    ranks = moo.nondominated_ranks(y)
    chosen: list[int] = []
    for r in range(ranks.max() + 1):
        front = np.flatnonzero(ranks == r)
        if len(chosen) + len(front) <= n:
            chosen.extend(front.tolist())
        else:
            crowd = moo.crowding_distance(y[front])
            chosen.extend(front[np.argsort(-crowd, kind="stable")][: n - len(chosen)].tolist())
        if len(chosen) >= n:
            break
    return np.array(sorted(chosen))


def make_child(space, parent: Arch, rng: np.random.Generator, other: Arch | None = None,
               crossover_prob: float = 0.0) -> Arch:
    """Mutate ``parent`` by one decision (after uniform crossover with ``other``, if drawn)."""
    if other is not None and crossover_prob > 0 and rng.random() < crossover_prob:
        child = space.crossover(parent, other, rng)
        if child != tuple(parent) and child != tuple(other):
            return tuple(child)
    return tuple(space.mutate(parent, rng))


#: a finite space at most this large is enumerated to find its last unseen configurations
ENUMERATE_LIMIT = 2_000_000


def propose_unseen(propose: Callable[[], Arch], seen: Callable[[Arch], bool], space,
                   rng: np.random.Generator, tries: int = 20) -> Arch:
    """Call ``propose`` until it returns an architecture not ``seen``; after ``tries`` failures,
    sample uniformly among unseen ones -- near exhaustion of a finite space by enumerating it, so
    every configuration is proposed before any repeats. Only when everything was seen does it
    return a seen one."""
    arch = propose()
    for _ in range(tries):
        if not seen(arch):
            return arch
        arch = propose()
    for _ in range(10 * tries):
        arch = space.sample(rng)
        if not seen(arch):
            return arch
    from raynas.spaces.params import space_size

    if space_size(space) <= ENUMERATE_LIMIT and hasattr(space, "enumerate"):
        left = [a for a in space.enumerate() if not seen(tuple(a))]
        if left:
            return tuple(left[int(rng.integers(len(left)))])
    return arch


def unseen(archs: Iterable[Arch], seen: Callable[[Arch], bool]) -> list[Arch]:
    """The architectures not yet ``seen``, order kept, duplicates dropped."""
    out, got = [], set()
    for a in archs:
        a = tuple(a)
        if a not in got and not seen(a):
            got.add(a)
            out.append(a)
    return out


__all__ = ["History", "AgingPopulation", "rank_crowding_keys", "scalarised_keys", "tournament",
           "nsga2_survivors", "make_child", "propose_unseen", "unseen"]
