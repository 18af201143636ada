"""raynas.moo: dominance, hypervolume (by hand, vs Monte Carlo / inclusion-exclusion), preferences."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from raynas import moo
from raynas.errors import InvalidConfigError


def brute_mask(y):
    n = len(y)
    return np.array([not any(np.all(y[j] <= y[i]) and np.any(y[j] < y[i]) for j in range(n)) for i in range(n)])


def brute_ranks(y):
    ranks = np.full(len(y), -1)
    left = list(range(len(y)))
    r = 0
    while left:
        m = brute_mask(y[left])
        for i, keep in zip(list(left), m):
            if keep:
                ranks[i] = r
        left = [i for i, keep in zip(left, m) if not keep]
        r += 1
    return ranks


@pytest.mark.parametrize("k", [2, 3, 4])
def test_pareto_mask_and_ranks_match_brute_force(k):
    rng = np.random.default_rng(k)
    for trial in range(20):
        # integer grid: many ties and duplicates
        y = rng.integers(0, 6, size=(int(rng.integers(1, 60)), k)).astype(float)
        assert np.array_equal(moo.pareto_mask(y), brute_mask(y)), y
        assert np.array_equal(moo.nondominated_ranks(y), brute_ranks(y))
    fronts = moo.nondominated_sort(y)
    assert sorted(np.concatenate(fronts).tolist()) == list(range(len(y)))


@pytest.mark.parametrize("k", [3, 4])
def test_pareto_mask_of_many_rows_matches_brute_force(k):
    """Past 100 rows three objectives take the staircase, four or more the block sweep: ties,
    duplicates, infinities."""
    rng = np.random.default_rng(10 + k)
    for rows, high in ((150, 5), (400, 50), (700, 1000)):
        y = rng.integers(0, high, size=(rows, k)).astype(float)
        y[rng.random(y.shape) < 0.05] = np.inf
        assert np.array_equal(moo.pareto_mask(y), brute_mask(y))
    anti = np.c_[np.linspace(0, 1, 300), np.linspace(1, 0, 300), rng.random((300, k - 2))]
    assert np.array_equal(moo.pareto_mask(anti), brute_mask(anti))
    holes = rng.normal(size=(300, k))
    holes[rng.random(300) < 0.1, 1] = np.nan  # a NaN row neither dominates nor is dominated
    assert np.array_equal(moo.pareto_mask(holes), brute_mask(holes))


def test_pareto_mask_large_2d_with_ties():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 40, size=(3000, 2)).astype(float)
    m = moo.pareto_mask(y)
    sub = rng.choice(len(y), 300, replace=False)
    full = brute_mask(y[m])  # the front is mutually non-dominated
    assert full.all()
    for i in sub:  # every excluded point is dominated by a front point
        if not m[i]:
            assert np.any(np.all(y[m] <= y[i], 1) & np.any(y[m] < y[i], 1))


def test_hypervolume_2d_by_hand():
    pts = [(0.2, 0.8), (0.5, 0.5), (0.8, 0.2)]
    # staircase: 0.8*0.2 + 0.5*0.3 + 0.2*0.3 = 0.16 + 0.15 + 0.06
    assert moo.hypervolume(pts, (1, 1)) == pytest.approx(0.37)
    assert moo.hypervolume(pts + [(0.6, 0.6), (0.2, 0.8)], (1, 1)) == pytest.approx(0.37)  # dominated, duplicate
    assert moo.hypervolume([(1.0, 0.0)], (1, 1)) == 0.0  # on the reference boundary
    assert moo.hypervolume([(0.0, 0.0)], (1, 1)) == 1.0
    assert moo.hypervolume(np.empty((0, 2)), (1, 1)) == 0.0
    assert moo.hypervolume([(0.5, np.inf)], (1, 1)) == 0.0


def test_hypervolume_3d_by_hand_and_inclusion_exclusion():
    pts = np.array([(0.0, 0.5, 0.5), (0.5, 0.0, 0.5), (0.5, 0.5, 0.0)])
    # each box 1 x .5 x .5 = .25; pairwise overlaps .5 x .5 x .5 = .125; triple .125
    assert moo.hypervolume(pts, (1, 1, 1)) == pytest.approx(3 * 0.25 - 3 * 0.125 + 0.125)
    rng = np.random.default_rng(1)
    for _ in range(5):
        y = rng.random((7, 3))
        ref = np.ones(3)
        ie = 0.0  # inclusion-exclusion over boxes [y_i, ref]
        for r in range(1, len(y) + 1):
            for sub in itertools.combinations(range(len(y)), r):
                ie += (-1) ** (r + 1) * np.prod(ref - y[list(sub)].max(axis=0))
        assert moo.hypervolume(y, ref) == pytest.approx(ie)


def test_hypervolume_3d_vs_monte_carlo():
    rng = np.random.default_rng(2)
    y = rng.random((40, 3)) * 0.9
    samples = rng.random((200_000, 3))
    dominated = np.zeros(len(samples), bool)
    for p in y:
        dominated |= np.all(samples >= p, axis=1)
    assert moo.hypervolume(y, (1, 1, 1)) == pytest.approx(dominated.mean(), abs=0.005)


def test_normalised_hypervolume_and_trajectory():
    rng = np.random.default_rng(3)
    allp = rng.random((500, 2)) * [10, 100]
    assert moo.normalised_hypervolume(allp, allp) == pytest.approx(1.0)
    norm = moo.Normaliser.fit(allp)
    true = moo.hypervolume(norm(allp), (1, 1))
    sub = allp[:50]
    v = moo.normalised_hypervolume(sub, normaliser=norm, true_hv=true)
    assert 0 < v < 1
    front = allp[moo.pareto_mask(allp)]
    assert moo.normalised_hypervolume(front, normaliser=norm, true_hv=true) == pytest.approx(1.0)
    traj = moo.hv_trajectory(sub, normaliser=norm, true_hv=true)
    assert np.all(np.diff(traj) >= -1e-12)
    assert traj[-1] == pytest.approx(v)
    assert traj[9] == pytest.approx(moo.normalised_hypervolume(sub[:10], normaliser=norm, true_hv=true))


def test_hypervolume_contributions():
    pts = [(0.2, 0.8), (0.5, 0.5), (0.8, 0.2), (0.9, 0.9)]
    c = moo.hypervolume_contributions(pts, (1, 1))
    assert c[1] == pytest.approx(0.3 * 0.3)
    assert c[3] == 0.0


def test_crowding_distance():
    y = np.array([[0, 3], [1, 2], [2, 1], [3, 0]], float)
    d = moo.crowding_distance(y)
    assert np.isinf(d[0]) and np.isinf(d[3])
    assert d[1] == pytest.approx(2 / 3 + 2 / 3)
    order = moo.nsga2_order(np.vstack([y, [[3, 3]]]))
    assert order[-1] == 4


def test_preferences():
    g = moo.das_dennis(3, 4)
    assert len(g) == 15 and np.allclose(g.sum(1), 1) and (g >= 0).all()
    q = moo.quarter_circle_preferences(24)
    assert q.shape == (24, 2) and np.allclose(q.sum(1), 1)
    assert np.allclose(q[0], [1, 0]) and np.allclose(q[-1], [0, 1])
    angles = np.arctan2(q[:, 1], q[:, 0])
    assert np.allclose(np.diff(np.arctan(np.tan(angles))), np.pi / 2 / 23)
    d = moo.dirichlet_preferences(np.random.default_rng(0), 100, 3)
    assert d.shape == (100, 3) and np.allclose(d.sum(1), 1)


def test_scalarisations():
    y = np.array([[0.2, 0.6], [0.5, 0.5]])
    w = np.array([0.5, 0.5])
    assert np.allclose(moo.weighted_sum(y, w), [0.4, 0.5])
    assert np.allclose(moo.chebyshev(y, w), [0.3, 0.25])
    assert np.allclose(moo.chebyshev(y, w, ideal=[0.2, 0.5]), [0.05, 0.15])


def test_metric_mode_validation_and_minimisation():
    assert moo.minimisation_signs(["acc", "lat"], ["max", "min"]).tolist() == [-1, 1]
    with pytest.raises(InvalidConfigError, match="'maximise'"):
        moo.minimisation_signs(["acc", "lat"], ["maximise", "min"])
    with pytest.raises(InvalidConfigError, match="same length"):
        moo.minimisation_signs(["acc", "lat"], ["max"])
    assert moo.minimisation_signs("acc", "max").tolist() == [-1]  # one objective is a front too
    with pytest.raises(InvalidConfigError, match="both be lists or both strings"):
        moo.minimisation_signs("acc", ["max"])
    m = moo.to_minimisation([{"acc": 90, "lat": 3}, {"acc": 80, "lat": None}], ["acc", "lat"], ["max", "min"])
    assert m[0].tolist() == [-90, 3] and np.isnan(m[1, 1])
    import pandas as pd

    df = pd.DataFrame({"acc": [90.0], "lat": [3.0]})
    assert moo.to_minimisation(df, ["acc", "lat"], ["max", "min"]).tolist() == [[-90, 3]]


def test_hypervolume_improvement_matches_the_definition():
    rng = np.random.default_rng(0)
    for n_front, k in [(0, 2), (1, 2), (6, 2), (5, 3)]:
        front = rng.random((n_front, k))
        cands = rng.random((40, k)) * 1.2 - 0.1  # some beyond the reference, some dominating everything
        ref = np.ones(k)
        base = moo.hypervolume(front, ref) if n_front else 0.0
        expected = [moo.hypervolume(np.vstack([front, c]), ref) - base for c in cands]
        np.testing.assert_allclose(moo.hypervolume_improvement(front, cands, ref), expected, atol=1e-12)
    # a dominated candidate adds nothing; one beating the whole front adds its exclusive box
    front = np.array([[0.2, 0.6], [0.5, 0.3]])
    assert moo.hypervolume_improvement(front, [[0.6, 0.7]], [1, 1])[0] == 0.0
    assert moo.hypervolume_improvement(front, [[0.1, 0.1]], [1, 1])[0] == pytest.approx(
        0.9 * 0.9 - moo.hypervolume(front, [1, 1]))


def _gaussian_ehvi(front, mean, std, ref):
    """Closed form for independent Gaussians (the psi function of Emmerich et al.), for reference."""
    from scipy.stats import norm

    def integral(t, mu, sd):  # integral of the Gaussian CDF from -inf to t
        u = (t - mu) / sd
        return sd * (u * norm.cdf(u) + norm.pdf(u))

    f = np.unique(front[moo.pareto_mask(front)], axis=0)
    heights = np.r_[ref[1], f[:, 1]]
    out = []
    for m, s in zip(mean, std):
        edges = np.r_[m[0] - 40 * s[0], f[:, 0], ref[0]]  # the first box starts where the CDF is 0
        out.append(np.sum(np.diff(integral(edges, m[0], s[0])) * integral(heights, m[1], s[1])))
    return np.array(out)


def test_greedy_hypervolume_subset_takes_the_knee_first_and_never_a_row_adding_nothing():
    # a convex front: the knee adds most alone; the ends add least once it is taken
    front = np.array([[0.0, 1.0], [0.1, 0.5], [0.3, 0.3], [0.5, 0.1], [1.0, 0.0]])
    ref = [1.1, 1.1]
    got = moo.greedy_hypervolume_subset(front, 3, ref)
    assert got[0] == 2
    # each pick adds the most hypervolume to those before it (checked by brute force)
    for i in range(1, len(got)):
        before = front[got[:i]]
        gains = [moo.hypervolume(np.vstack([before, r]), ref) - moo.hypervolume(before, ref) for r in front]
        assert gains[got[i]] == pytest.approx(max(gains))
    # duplicates, dominated rows and rows beyond the reference are never taken
    rows = np.array([[0.2, 0.2], [0.2, 0.2], [0.5, 0.5], [2.0, 0.0]])
    assert moo.greedy_hypervolume_subset(rows, 4, [1, 1]).tolist() == [0]
    assert moo.greedy_hypervolume_subset(np.zeros((0, 2)), 3, [1, 1]).tolist() == []
    # three objectives
    cube = np.array([[0.1, 0.9, 0.9], [0.5, 0.5, 0.5], [0.9, 0.9, 0.1]])
    assert moo.greedy_hypervolume_subset(cube, 1, [1, 1, 1]).tolist() == [1]


def test_expected_hypervolume_improvement_is_exact_for_gaussians_and_point_masses():
    from scipy.special import ndtr

    rng = np.random.default_rng(0)
    front, ref = rng.random((8, 2)), np.array([1.1, 1.1])
    mean, std = rng.random((6, 2)) * 0.8, rng.random((6, 2)) * 0.2 + 0.01
    lower = mean.min(0) - 8 * std.max(0)
    got = moo.expected_hypervolume_improvement(front, lambda g: ndtr((g[None] - mean[:, None]) / std[:, None]),
                                               ref, lower, n_grid=4096)
    np.testing.assert_allclose(got, _gaussian_ehvi(front, mean, std, ref), rtol=1e-3, atol=1e-9)
    # point masses: the EHVI is the plain hypervolume improvement (up to one grid cell)
    step = lambda g: (mean[:, None] <= g[None]).astype(float)  # noqa: E731
    for f in (front, np.zeros((0, 2))):
        np.testing.assert_allclose(moo.expected_hypervolume_improvement(f, step, ref, [0, 0], n_grid=8192),
                                   moo.hypervolume_improvement(f, mean, ref), atol=1e-3)


def test_expected_hypervolume_improvement_rejects_bad_arguments():
    with pytest.raises(InvalidConfigError, match="lower"):
        moo.expected_hypervolume_improvement(np.zeros((0, 3)), lambda g: g[None], np.ones(3), np.zeros(2))
    with pytest.raises(InvalidConfigError, match="n_grid"):
        moo.expected_hypervolume_improvement(np.zeros((0, 2)), lambda g: g[None], np.ones(2), np.zeros(2), n_grid=1)


@pytest.mark.parametrize("m", [1, 3, 4])
def test_nondominated_boxes_tile_what_the_front_leaves_open(m):
    rng = np.random.default_rng(m)
    front = rng.random((15, m))
    ref, low = np.full(m, 1.2), np.full(m, -0.1)
    lb, ub = moo.nondominated_boxes(front, ref, low)
    open_volume = np.prod(ub - lb, axis=1).sum()
    assert open_volume == pytest.approx(np.prod(ref - low) - moo.hypervolume(front, ref), rel=1e-9)
    # disjoint: random points fall in at most one box, and in one exactly when no front point dominates them
    z = low + rng.random((2000, m)) * (ref - low)
    inside = np.all((z[:, None] >= lb[None]) & (z[:, None] < ub[None]), axis=2).sum(1)
    dominated = np.array([np.any(np.all(front <= p, axis=1)) for p in z])
    assert inside.max() <= 1 and np.array_equal(inside == 1, ~dominated)


def test_nondominated_boxes_of_one_front_with_other_lower_bounds_each_tile_their_own_region():
    """The boxes of a front are remembered between calls; each lower bound still gets its own."""
    rng = np.random.default_rng(7)
    front, ref = rng.random((10, 3)), np.full(3, 1.1)
    for low in (np.full(3, -0.5), np.zeros(3), np.array([-0.2, 0.0, -1.0])):
        lb, ub = moo.nondominated_boxes(front.copy(), ref, low)
        assert lb.min(0) == pytest.approx(np.minimum(low, front.min(0)))
        box = np.prod(ref - np.minimum(low, front.min(0)))
        assert np.prod(ub - lb, axis=1).sum() == pytest.approx(box - moo.hypervolume(front, ref), rel=1e-9)
        lb[:] = 0.0  # what a caller does with its arrays does not reach the next call


def test_nondominated_boxes_of_a_rescaled_front_are_its_own_values():
    """Boxes are memoised by the front's order: a front normalised another way (as a search does for
    every candidate batch) reuses them, and every edge is still that front's own value, bit for bit."""
    rng = np.random.default_rng(3)
    raw = np.round(rng.random((12, 3)) * 6) / 6  # ties
    raw = raw[moo.pareto_mask(raw)]
    ref = np.full(3, 1.1)
    hits = moo._open_boxes.cache_info().hits
    for scale in (1.0, 0.7, 0.9):
        front = (raw - 0.05) * scale
        lb, ub = moo.nondominated_boxes(front, ref, np.full(3, -1.0))
        direct_lb, direct_ub = moo._boxes(np.unique(front, axis=0), np.full(3, -np.inf), ref)
        direct_lb = np.where(np.isneginf(direct_lb), np.minimum(-1.0, front.min(0)), direct_lb)
        keep = np.all(direct_ub > direct_lb, axis=1)
        np.testing.assert_array_equal(lb, direct_lb[keep])
        np.testing.assert_array_equal(ub, direct_ub[keep])
        assert set(np.unique(ub)) <= set(front.ravel()) | {1.1}
    assert moo._open_boxes.cache_info().hits == hits + 2  # computed once for the three scales


@pytest.mark.parametrize("m", [1, 3, 4])
def test_hypervolume_improvement_beyond_two_objectives_is_exact(m):
    rng = np.random.default_rng(10 + m)
    front, cands, ref = rng.random((12, m)), rng.random((40, m)) * 1.1, np.full(m, 1.2)
    base = moo.hypervolume(front, ref)
    exact = [moo.hypervolume(np.vstack([front, c]), ref) - base for c in cands]
    np.testing.assert_allclose(moo.hypervolume_improvement(front, cands, ref), exact, atol=1e-12)


@pytest.mark.parametrize("m", [1, 3])
def test_expected_hypervolume_improvement_beyond_two_objectives(m):
    """Point masses give the plain improvement (to the trapezoid rule's half step at each jump of the
    distribution function); Gaussians agree with a large Monte-Carlo average within its standard
    error (the quadrature's own error is far smaller)."""
    from scipy.special import ndtr

    rng = np.random.default_rng(m)
    front, ref = rng.random((10, m)), np.full(m, 1.1)
    grid_values = np.linspace(0.0, 1.1, 12)  # candidates on grid points: the trapezoid rule is exact
    cands = grid_values[rng.integers(0, 11, (30, m))]
    point = moo.expected_hypervolume_improvement(front, lambda g: (cands[:, None, :] <= g[None]).astype(float),
                                                 ref, np.zeros(m), n_grid=2201)
    np.testing.assert_allclose(point, moo.hypervolume_improvement(front, cands, ref), atol=m * 1.1 / 2200)
    mu, sd = rng.random((8, m)) * 0.8, 0.02 + 0.1 * rng.random((8, m))
    ehvi = moo.expected_hypervolume_improvement(front, lambda g: ndtr((g[None] - mu[:, None]) / sd[:, None]), ref,
                                                (mu - 6 * sd).min(0), n_grid=256)
    draws = mu[:, None] + sd[:, None] * rng.standard_normal((8, 20000, m))
    hvi = moo.hypervolume_improvement(front, draws.reshape(-1, m), ref).reshape(8, -1)
    se = hvi.std(1) / np.sqrt(hvi.shape[1])
    assert np.all(np.abs(ehvi - hvi.mean(1)) <= 4 * se + 1e-4)
