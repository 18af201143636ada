"""Multi-objective mechanics used everywhere in raynas: one implementation of each.

Conventions (documented once, here)
-----------------------------------
* Every routine here **minimises**. Metric/mode lists (as in Tune's ``OptunaSearch``) become a
  minimisation matrix with :func:`minimisation_signs` / :func:`to_minimisation`: ``max`` metrics
  are negated.
* **Normalised hypervolume** (the number every benchmark reports): each objective is min-max
  normalised over *all* architectures of the device (:class:`Normaliser`, fitted on the whole
  table), the reference point is ``(1, ..., 1)``, and
  ``normalised HV = HV(evaluated set) / HV(all architectures)``. A value of 1 means the evaluated
  set contains the true front; points with a normalised objective of exactly 1 (the worst
  architecture of the table in that objective) contribute nothing.
* :func:`hypervolume` is exact: an O(n log n) sweep in 2-D, and slicing along the last objective
  (exact, O(n^2 log n) in 3-D) above that.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from raynas.errors import InvalidConfigError

MODES = ("min", "max")


# --- metric/mode lists -------------------------------------------------------------------------
def validate_metric_mode(metric: Sequence[str] | str, mode: Sequence[str] | str) -> tuple[list[str], list[str]]:
    """Check ``metric``/``mode`` (strings, or lists of equal length: any number of objectives);
    return them as lists. The error names the offending value (:func:`raynas.objectives.make_objectives`
    is the one definition)."""
    from raynas.objectives import make_objectives

    objectives = make_objectives(metric, mode)
    return [o.metric for o in objectives], [o.mode for o in objectives]


def minimisation_signs(metric: Sequence[str], mode: Sequence[str]) -> np.ndarray:
    """``+1`` for ``min`` and ``-1`` for ``max`` per metric, after validating both lists."""
    _, mode = validate_metric_mode(metric, mode)
    return np.array([1.0 if m == "min" else -1.0 for m in mode])


def to_minimisation(results, metric: Sequence[str], mode: Sequence[str]) -> np.ndarray:
    """A ``[n, k]`` matrix of minimised objectives from results.

    ``results`` is a sequence of dicts (Tune results), a pandas DataFrame, or an ``[n, k]`` array
    already in ``metric`` order. Missing or non-numeric values become NaN."""
    signs = minimisation_signs(metric, mode)
    metric = list(metric)
    if hasattr(results, "columns"):  # DataFrame
        missing = [m for m in metric if m not in results.columns]
        if missing:
            raise InvalidConfigError(f"results lack metric column(s) {missing}; have {list(results.columns)}")
        values = results[metric].to_numpy(dtype=float)
    elif isinstance(results, np.ndarray):
        values = np.asarray(results, dtype=float).reshape(-1, len(metric))
    else:
        rows = []
        for r in results:
            if isinstance(r, Mapping):
                row = []
                for m in metric:
                    try:
                        row.append(float(r.get(m)))
                    except (TypeError, ValueError):
                        row.append(np.nan)
                rows.append(row)
            else:
                rows.append([float(v) for v in r])
        values = np.asarray(rows, dtype=float).reshape(-1, len(metric))
    return values * signs


# --- dominance ---------------------------------------------------------------------------------
def _as_points(points) -> np.ndarray:
    y = np.asarray(points, dtype=float)
    if y.ndim == 1:
        y = y.reshape(-1, 1) if y.size else y.reshape(0, 1)
    return y


def dominates(a, b) -> bool:
    """``a`` dominates ``b`` (minimisation): no worse in every objective, better in one."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    return bool(np.all(a <= b) and np.any(a < b))


def _pareto_mask_2d(y: np.ndarray) -> np.ndarray:
    n = len(y)
    order = np.lexsort((y[:, 1], y[:, 0]))  # by y0, ties by y1
    ys = y[order]
    prev_min = np.minimum.accumulate(np.concatenate([[np.inf], ys[:-1, 1]]))
    # index (in sorted order) of the earliest point attaining the running minimum of y1 before i:
    # it has the smallest y0 among the points attaining that minimum
    new_min = ys[:, 1] < prev_min
    first = np.maximum.accumulate(np.where(new_min, np.arange(n), 0))
    first_prev = np.concatenate([[0], first[:-1]])
    dominated = (ys[:, 1] > prev_min) | ((ys[:, 1] == prev_min) & (ys[first_prev, 0] < ys[:, 0]))
    mask = np.empty(n, dtype=bool)
    mask[order] = ~dominated
    return mask


def pareto_mask(points) -> np.ndarray:
    """Boolean mask of the non-dominated rows of ``points`` (minimisation; duplicates all kept)."""
    y = _as_points(points)
    n = len(y)
    if n == 0:
        return np.ones(0, dtype=bool)
    if y.shape[1] == 1:
        return y[:, 0] == y[:, 0].min()
    if y.shape[1] == 2:
        return _pareto_mask_2d(y)
    if n <= 100:  # all pairs at once: cheaper than the sweep's loop for few rows
        le = np.all(y[:, None, :] <= y[None, :, :], axis=2)
        lt = np.any(y[:, None, :] < y[None, :, :], axis=2)
        return ~np.any(le & lt, axis=0)  # column j dominated by some row i
    return _pareto_mask_3d(y) if y.shape[1] == 3 else _pareto_mask_sweep(y)


def _pareto_mask_3d(y: np.ndarray) -> np.ndarray:
    """Three objectives in ``O(n log n)``-ish time: the distinct rows in lexicographic order (a
    dominating row sorts earlier) against a staircase of the kept rows' last two objectives; a row is
    dominated when a kept row is no worse in both (it is already no worse in the first)."""
    import bisect

    nan = np.isnan(y).any(axis=1)
    if nan.any():  # a row with a NaN neither dominates nor is dominated (every comparison is false)
        mask = np.ones(len(y), dtype=bool)
        mask[~nan] = _pareto_mask_3d(y[~nan])
        return mask
    rows, inverse = np.unique(y, axis=0, return_inverse=True)
    keep = np.zeros(len(rows), dtype=bool)
    ys: list[float] = []  # the staircase: second objective ascending, third strictly descending
    zs: list[float] = []
    for i, (_, a, b) in enumerate(rows.tolist()):
        k = bisect.bisect_right(ys, a)
        if k and zs[k - 1] <= b:  # the smallest third objective among rows with second <= a
            continue
        keep[i] = True
        j = k
        while j < len(ys) and zs[j] >= b:  # steps the new row covers
            j += 1
        ys[k:j], zs[k:j] = [a], [b]
    return keep[inverse.reshape(-1)]


def _pareto_mask_sweep(y: np.ndarray, block: int = 128) -> np.ndarray:
    """Any number of objectives: the distinct rows in lexicographic order (a dominating row sorts
    earlier), each block of rows compared at once with the non-dominated rows before it and with the
    earlier rows of its own block (dominance is transitive, so a row dominated by a dominated row is
    caught by the one that dominates both)."""
    rows, inverse = np.unique(y, axis=0, return_inverse=True)  # sorted lexicographically
    keep = np.ones(len(rows), dtype=bool)
    best = rows[:0]
    for start in range(0, len(rows), block):
        b = rows[start:start + block]
        below = np.all(b[:, None, :] <= b[None, :, :], axis=2)  # below[i, k]: row i <= row k everywhere
        dominated = np.any(np.triu(below, k=1), axis=0)  # by an earlier (distinct) row of the block
        if len(best):
            dominated |= np.any(np.all(best[:, None, :] <= b[None, :, :], axis=2), axis=0)
        keep[start:start + block] = ~dominated
        best = np.vstack([best, b[~dominated]])
    return keep[inverse.reshape(-1)]


def nondominated_ranks(points, until: int | None = None) -> np.ndarray:
    """Front number of every row (0 = non-dominated), by repeated peeling of the front.

    With ``until``, peeling stops once at least that many rows are ranked; the rest share the
    next rank (enough to pick the best ``until`` rows without sorting them all)."""
    y = _as_points(points)
    ranks = np.full(len(y), -1, dtype=int)
    remaining = np.arange(len(y))
    r = 0
    while remaining.size:
        if until is not None and len(y) - remaining.size >= until:
            ranks[remaining] = r
            break
        m = pareto_mask(y[remaining])
        ranks[remaining[m]] = r
        remaining = remaining[~m]
        r += 1
    return ranks


def nondominated_sort(points) -> list[np.ndarray]:
    """Fronts as lists of row indices, best first (NSGA-II's fast non-dominated sorting)."""
    ranks = nondominated_ranks(points)
    return [np.flatnonzero(ranks == r) for r in range(ranks.max() + 1)] if ranks.size else []


def crowding_distance(points) -> np.ndarray:
    """NSGA-II crowding distance of each row within the given set (boundary points: inf)."""
    y = _as_points(points)
    n, k = y.shape
    dist = np.zeros(n)
    if n <= 2:
        return np.full(n, np.inf)
    for j in range(k):
        order = np.argsort(y[:, j], kind="stable")
        span = y[order[-1], j] - y[order[0], j]
        dist[order[0]] = dist[order[-1]] = np.inf
        if span > 0 and np.isfinite(span):
            dist[order[1:-1]] += (y[order[2:], j] - y[order[:-2], j]) / span
    return dist


def rank_and_crowding(points) -> tuple[np.ndarray, np.ndarray]:
    """Non-dominated rank and within-front crowding distance of every row."""
    y = _as_points(points)
    ranks = nondominated_ranks(y)
    crowd = np.zeros(len(y))
    for r in np.unique(ranks):
        idx = np.flatnonzero(ranks == r)
        crowd[idx] = crowding_distance(y[idx])
    return ranks, crowd


def nsga2_order(points) -> np.ndarray:
    """Indices sorted best first: by non-dominated rank, then by larger crowding distance."""
    ranks, crowd = rank_and_crowding(points)
    return np.lexsort((-crowd, ranks))


# --- hypervolume -------------------------------------------------------------------------------
def hypervolume(points, reference) -> float:
    """Exact hypervolume dominated by ``points`` (minimisation) and bounded by ``reference``.

    Points not strictly better than the reference in every objective contribute nothing;
    non-finite rows are ignored."""
    y = _as_points(points)
    ref = np.asarray(reference, dtype=float).reshape(-1)
    if y.size == 0:
        return 0.0
    if y.shape[1] != ref.size:
        raise InvalidConfigError(f"reference point has {ref.size} values, points have {y.shape[1]} objectives")
    y = y[np.all(np.isfinite(y), axis=1) & np.all(y < ref, axis=1)]
    if len(y) == 0:
        return 0.0
    y = np.unique(y[pareto_mask(y)], axis=0)
    return _hv(y, ref)


def _hv2(y: np.ndarray, ref: np.ndarray) -> float:
    """2-D sweep over a non-dominated set: sorted by y0 ascending, y1 is descending."""
    y = y[np.argsort(y[:, 0], kind="stable")]
    right = np.append(y[1:, 0], ref[0])
    return float(np.sum((right - y[:, 0]) * (ref[1] - y[:, 1])))


def _hv(y: np.ndarray, ref: np.ndarray) -> float:
    if y.shape[1] == 1:
        return float(ref[0] - y[:, 0].min())
    if y.shape[1] == 2:
        return _hv2(y, ref)
    # slice along the last objective: between consecutive levels the dominated region is the
    # (k-1)-D hypervolume of the points at or below the level
    y = y[np.argsort(y[:, -1], kind="stable")]
    levels = np.append(y[:, -1], ref[-1])
    hv = 0.0
    for i in range(len(y)):
        height = levels[i + 1] - levels[i]
        if height > 0:
            slab = y[: i + 1, :-1]
            slab = np.unique(slab[pareto_mask(slab)], axis=0)
            hv += height * _hv(slab, ref[:-1])
    return float(hv)


def hypervolume_contributions(points, reference) -> np.ndarray:
    """Exclusive hypervolume contribution of each row (0 for dominated or duplicate rows)."""
    y = _as_points(points)
    total = hypervolume(y, reference)
    out = np.zeros(len(y))
    mask = pareto_mask(y)
    for i in np.flatnonzero(mask):
        out[i] = total - hypervolume(np.delete(y, i, axis=0), reference)
    return out


def greedy_hypervolume_subset(points, size: int, reference) -> np.ndarray:
    """Indices of up to ``size`` rows of ``points`` (minimisation), in the order a greedy pick
    takes them: each adds the most hypervolume (bounded by ``reference``) to the rows taken before.
    The knee of a front comes first, then the largest gaps; a row that adds nothing is never taken.

    Example::

        >>> greedy_hypervolume_subset([[0, 1], [0.5, 0.5], [1, 0]], 2, [1.1, 1.1])
        array([1, 0])
    """
    y = _as_points(points)
    taken: list[int] = []
    for _ in range(min(int(size), len(y))):
        gain = hypervolume_improvement(y[taken], y, reference)
        gain[taken] = 0.0
        best = int(np.argmax(gain))
        if gain[best] <= 0:
            break
        taken.append(best)
    return np.asarray(taken, dtype=int)


def hypervolume_improvement(front, candidates, reference) -> np.ndarray:
    """Hypervolume each candidate row would add to ``front`` on its own (minimisation, bounded by
    ``reference``): ``HV(front + {c}) - HV(front)``. Vectorised exactly in 2-D (the staircase of the
    front integrated against every candidate at once); one exact HV per candidate above that."""
    f = _as_points(front)
    c = _as_points(candidates)
    ref = np.asarray(reference, dtype=float).reshape(-1)
    if c.size == 0:
        return np.zeros(0)
    if c.shape[1] != ref.size or (f.size and f.shape[1] != ref.size):
        raise InvalidConfigError(f"reference point has {ref.size} values; front/candidates have "
                                 f"{f.shape[1] if f.size else c.shape[1]} objectives")
    f = f[np.all(np.isfinite(f), axis=1) & np.all(f < ref, axis=1)] if f.size else np.empty((0, ref.size))
    if ref.size != 2:  # sum over the boxes of the non-dominated region of their part above each candidate
        finite = np.all(np.isfinite(c), axis=1)
        lower = np.minimum(np.min(np.where(finite[:, None], c, np.inf), axis=0), ref)
        lb, ub = nondominated_boxes(f, ref, np.where(np.isfinite(lower), lower, ref - 1.0))
        gain = np.prod(np.clip(ub[None] - np.maximum(lb[None], c[:, None, :]), 0.0, None), axis=2).sum(axis=1)
        gain[~finite] = 0.0
        return gain
    if len(f):
        f = np.unique(f[pareto_mask(f)], axis=0)
        f = f[np.argsort(f[:, 0], kind="stable")]
    # the front's attainment height h(x) is a step function: ref_y before the first point, then y_i
    # from x_i on; intervals [edges_k, edges_{k+1}) with height heights_k
    edges = np.concatenate([[-np.inf], f[:, 0], [ref[0]]])
    heights = np.concatenate([[ref[1]], f[:, 1]])
    a = np.minimum(c[:, :1], ref[0])  # a candidate's region starts at its own x
    b = c[:, 1:2]
    lo = np.maximum(edges[None, :-1], a)
    width = np.clip(edges[None, 1:] - lo, 0.0, None)
    gain = np.sum(width * np.clip(heights[None, :] - b, 0.0, None), axis=1)
    gain[~np.all(np.isfinite(c), axis=1)] = 0.0
    return gain


def nondominated_boxes(front, reference, lower) -> tuple[np.ndarray, np.ndarray]:
    """Disjoint boxes ``[lb, ub)`` whose union is the part of ``[lower, reference)`` that no point
    of ``front`` dominates (minimisation): where a new point would add hypervolume.

    Built by slicing along the last objective: between consecutive front levels the region is the
    ``m-1``-dimensional region left by the points at or below the level (a slab whose projected
    front does not change is merged with the previous one). ``hypervolume_improvement`` of a point
    ``p`` is then ``sum over boxes of prod_j max(0, ub_j - max(lb_j, p_j))``."""
    ref = np.asarray(reference, dtype=float).reshape(-1)
    low = np.minimum(np.asarray(lower, dtype=float).reshape(-1), ref)
    m = ref.size
    f = _as_points(front).reshape(-1, m) if np.size(front) else np.empty((0, m))
    f = f[np.all(np.isfinite(f), axis=1) & np.all(f < ref, axis=1)]
    if len(f):
        f = np.unique(f[pareto_mask(f)], axis=0)
        low = np.minimum(low, f.min(0))
    # The boxes depend on the front's order only: computed (and memoised) on each coordinate's rank
    # among the front's values (the reference ranks last), then read back as the values themselves.
    # A search normalises one told front differently for every candidate batch; its ranks stay.
    levels = [np.unique(f[:, j], return_inverse=True) for j in range(m)]
    ranks = np.column_stack([inv.reshape(-1) for _, inv in levels]).astype(float) if len(f) else np.empty((0, m))
    top = np.array([len(v) for v, _ in levels], dtype=float)
    rlb, rub = _open_boxes(ranks.tobytes(), len(f), top.tobytes())
    values = [np.append(v, ref[j]) for j, (v, _) in enumerate(levels)]
    lb, ub = np.empty(rlb.shape), np.empty(rub.shape)
    for j in range(m):
        below = np.isneginf(rlb[:, j])  # every lower edge that is not a front coordinate is ``low``
        lb[:, j] = np.where(below, low[j], values[j][np.where(below, 0, rlb[:, j]).astype(int)])
        ub[:, j] = values[j][rub[:, j].astype(int)]
    keep = np.all(ub > lb, axis=1)
    return lb[keep], ub[keep]


@functools.lru_cache(maxsize=32)
def _open_boxes(front: bytes, n: int, reference: bytes) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_boxes` unbounded below, memoised: a search asks for the same front's boxes for every
    candidate batch until a result is told (the lower bound, which varies, is put in afterwards)."""
    ref = np.frombuffer(reference, dtype=float)
    f = np.frombuffer(front, dtype=float).reshape(n, ref.size)
    lb, ub = _boxes(f, np.full(ref.size, -np.inf), ref)
    lb.flags.writeable = ub.flags.writeable = False
    return lb, ub


def _boxes(f: np.ndarray, low: np.ndarray, ref: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Boxes left open by ``f``, a non-dominated set without repeats sorted lexicographically (as
    ``np.unique`` returns it)."""
    m = ref.size
    if m == 1:
        top = min(ref[0], f[:, 0].min()) if len(f) else ref[0]
        return np.array([[low[0]]]), np.array([[top]])
    if m == 2:  # the staircase: [x_k, x_{k+1}) x [low_2, y_k), f sorted by x (y falling)
        edges = np.concatenate([[low[0]], f[:, 0], [ref[0]]])
        tops = np.concatenate([[ref[1]], f[:, 1]])
        return (np.column_stack([edges[:-1], np.full(len(tops), low[1])]),
                np.column_stack([edges[1:], tops]))
    f = f[np.argsort(f[:, -1], kind="stable")]
    levels = np.concatenate([[low[-1]], f[:, -1], [ref[-1]]])
    lbs, ubs = [], []
    prev: tuple[np.ndarray, np.ndarray] | None = None
    prev_start = levels[0]
    for i in range(len(f) + 1):  # slab i: points 0..i-1 are at or below it
        proj = f[:i, :-1]
        if len(proj):
            proj = proj[pareto_mask(proj)]
        key = np.unique(proj, axis=0) if len(proj) else proj
        if prev is not None and key.shape == prev[0].shape and np.array_equal(key, prev[0]):
            continue  # same projected front: the previous slab extends upwards
        if prev is not None:
            _emit(prev[1], prev_start, levels[i], lbs, ubs)
        prev, prev_start = (key, _boxes(key, low[:-1], ref[:-1])), levels[i]
    _emit(prev[1], prev_start, levels[-1], lbs, ubs)
    if not lbs:
        return np.empty((0, m)), np.empty((0, m))
    return np.vstack(lbs), np.vstack(ubs)


def _emit(boxes, start: float, stop: float, lbs: list, ubs: list) -> None:
    if stop <= start or not len(boxes[0]):
        return
    lb, ub = boxes
    lbs.append(np.hstack([lb, np.full((len(lb), 1), start)]))
    ubs.append(np.hstack([ub, np.full((len(ub), 1), stop)]))


def expected_hypervolume_improvement(front, cdf, reference, lower, n_grid: int = 512) -> np.ndarray:
    """Expected hypervolume improvement over ``front`` of candidates whose objectives are
    independent random variables, given by their marginal distribution functions (minimisation,
    bounded by ``reference``); any number of objectives (one: expected improvement).

    ``EHVI = integral over the region the front does not dominate (below the reference) of
    prod_j P(Y_j <= z_j) dz``: the region is a union of disjoint boxes (the front's staircase in 2-D,
    :func:`nondominated_boxes` in general), and each box's integral is a product of one-dimensional
    integrals of the distribution functions, taken by the trapezoid rule on a grid of ``n_grid``
    points from ``lower`` to the reference plus every front coordinate. So any monotone warping of a
    Gaussian (or a point mass) is exact up to the quadrature, with no Monte-Carlo noise; with three
    or more objectives the number of boxes grows with the front (quadratically in 3-D).

    Args:
        front: ``[p, m]`` told points (any; only the non-dominated ones below the reference count).
        cdf: ``grid [G, m] -> [n, G, m]``: ``P(Y_ij <= grid[g, j])`` of every candidate ``i``.
        reference: the reference point.
        lower: per objective, a value below which every candidate's distribution has (almost) no
            mass; the integrals start there, or lower at the front's minimum (a ``lower`` that is
            not finite -- every candidate failed and gains nothing -- starts at the front).
    """
    ref = np.asarray(reference, dtype=float).reshape(-1)
    low = np.asarray(lower, dtype=float).reshape(-1)
    m = ref.size
    if low.size != m:
        raise InvalidConfigError(f"reference has {m} values but lower has {low.size}")
    if n_grid < 2:
        raise InvalidConfigError(f"n_grid must be >= 2, got {n_grid!r}")
    f = _as_points(front).reshape(-1, m) if np.size(front) else np.empty((0, m))
    f = f[np.all(np.isfinite(f), axis=1) & np.all(f < ref, axis=1)]
    if len(f):
        f = np.unique(f[pareto_mask(f)], axis=0)  # in 2-D: sorted by the first objective, the second falling
    if len(f):
        low = np.minimum(low, f.min(0))
    low = np.where(np.isfinite(low), low, ref - 1.0)
    grid = np.sort(np.vstack([np.linspace(low, ref, n_grid), f]), axis=0)
    prob = np.asarray(cdf(grid), dtype=float)
    # cumulative integral of each distribution function from ``low`` to every grid point
    area = np.concatenate([np.zeros((prob.shape[0], 1, m)),
                           np.cumsum(0.5 * (prob[:, 1:] + prob[:, :-1]) * np.diff(grid, axis=0)[None], axis=1)],
                          axis=1)

    def integral(j: int, values: np.ndarray) -> np.ndarray:
        return area[:, np.searchsorted(grid[:, j], values), j]  # every value is a grid point

    if m == 2:  # boxes: [x_k, x_{k+1}) x [low_2, h_k), x = (low_1, front x..., ref_1), h = (ref_2, front y...)
        edges = np.concatenate([[low[0]], f[:, 0], [ref[0]]])
        heights = np.concatenate([[ref[1]], f[:, 1]])
        widths = np.diff(integral(0, edges), axis=1)
        return np.clip(np.sum(widths * integral(1, heights), axis=1), 0.0, None)
    lb, ub = nondominated_boxes(f, ref, low)
    total = np.ones((prob.shape[0], len(lb)))
    for j in range(m):  # box edges are grid points: low, front coordinates or the reference
        total *= np.clip(integral(j, ub[:, j]) - integral(j, lb[:, j]), 0.0, None)
    return np.clip(total.sum(axis=1), 0.0, None)


@dataclass(frozen=True)
class Normaliser:
    """Min-max normalisation of each objective over a reference population (all archs of a device)."""

    low: np.ndarray
    high: np.ndarray

    @classmethod
    def fit(cls, points) -> Normaliser:
        y = _as_points(points)
        return cls(np.nanmin(y, axis=0), np.nanmax(y, axis=0))

    def __call__(self, points) -> np.ndarray:
        span = np.where(self.high > self.low, self.high - self.low, 1.0)
        return (_as_points(points) - self.low) / span


def normalised_hypervolume(points, all_points=None, *, normaliser: Normaliser | None = None,
                           true_hv: float | None = None) -> float:
    """HV of ``points`` over HV of all architectures, both min-max normalised, reference (1, ..., 1).

    Give ``all_points`` (every architecture's objectives, or just the true front together with a
    ``normaliser`` fitted on all architectures), or a precomputed ``normaliser`` and ``true_hv``
    to avoid recomputing them in a loop."""
    if normaliser is None or true_hv is None:
        if all_points is None:
            raise InvalidConfigError("normalised_hypervolume needs all_points, or normaliser and true_hv")
        normaliser = normaliser or Normaliser.fit(all_points)
        allp = normaliser(all_points)
        true_hv = hypervolume(allp[pareto_mask(allp)], np.ones(allp.shape[1]))
    y = normaliser(points)
    return hypervolume(y, np.ones(y.shape[1])) / true_hv if true_hv > 0 else 0.0


def hv_trajectory(points, *, normaliser: Normaliser, true_hv: float) -> np.ndarray:
    """Normalised HV after each prefix of ``points`` (rows in evaluation order), in one pass."""
    y = normaliser(points)
    ref = np.ones(y.shape[1])
    out = np.zeros(len(y))
    front = np.empty((0, y.shape[1]))
    hv = 0.0
    for i, p in enumerate(y):
        if np.all(np.isfinite(p)) and np.all(p < ref) and not (
                len(front) and np.any(np.all(front <= p, axis=1))):
            front = np.vstack([front[~np.all(p <= front, axis=1)], p])
            hv = hypervolume(front, ref)
        out[i] = hv / true_hv if true_hv > 0 else 0.0
    return out


# --- preferences and scalarisations --------------------------------------------------------------
def simplex_grid(n_objectives: int, divisions: int) -> np.ndarray:
    """Das-Dennis grid: all preference vectors with coordinates in multiples of 1/divisions
    (``C(divisions + k - 1, k - 1)`` vectors)."""
    if n_objectives < 1 or divisions < 1:
        raise InvalidConfigError(f"need n_objectives >= 1 and divisions >= 1, got {n_objectives}, {divisions}")

    def rec(k, left):
        if k == 1:
            return [[left]]
        return [[i] + rest for i in range(left + 1) for rest in rec(k - 1, left - i)]

    return np.array(rec(n_objectives, divisions), dtype=float) / divisions


das_dennis = simplex_grid


def quarter_circle_preferences(n: int = 24) -> np.ndarray:
    """``n`` two-objective preference vectors evenly spaced in angle on the quarter circle
    (MODNAS's evaluation grid), rescaled to sum to one."""
    if n < 1:
        raise InvalidConfigError(f"need n >= 1 preference vectors, got {n}")
    angles = np.linspace(0.0, np.pi / 2, n)
    v = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    return v / v.sum(axis=1, keepdims=True)


def sample_preferences(rng: np.random.Generator, n: int, n_objectives: int = 2, alpha: float = 1.0) -> np.ndarray:
    """``n`` preference vectors from Dirichlet(alpha, ..., alpha) (uniform on the simplex for alpha=1)."""
    return rng.dirichlet(np.full(n_objectives, alpha), size=n)


dirichlet_preferences = sample_preferences


def weighted_sum(points, weights) -> np.ndarray:
    """``sum_j w_j y_j`` per row."""
    return _as_points(points) @ np.asarray(weights, dtype=float)


def chebyshev(points, weights, ideal=None) -> np.ndarray:
    """Weighted Chebyshev scalarisation ``max_j w_j |y_j - z_j|`` (``z`` the ideal point, default 0)."""
    y = _as_points(points)
    z = np.zeros(y.shape[1]) if ideal is None else np.asarray(ideal, dtype=float)
    return np.max(np.asarray(weights, dtype=float) * np.abs(y - z), axis=1)


__all__ = [
    "MODES", "validate_metric_mode", "minimisation_signs", "to_minimisation", "dominates", "pareto_mask",
    "nondominated_ranks", "nondominated_sort", "crowding_distance", "rank_and_crowding", "nsga2_order",
    "hypervolume", "hypervolume_contributions", "hypervolume_improvement", "greedy_hypervolume_subset",
    "expected_hypervolume_improvement",
    "Normaliser", "normalised_hypervolume", "hv_trajectory",
    "simplex_grid", "das_dennis", "quarter_circle_preferences", "sample_preferences", "dirichlet_preferences",
    "weighted_sum", "chebyshev",
]
