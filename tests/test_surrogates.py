"""raynas.predictors.surrogates: the output warp, the architecture GP and the ridge surrogate."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import spearmanr, yeojohnson

from raynas import moo
from raynas.errors import InvalidConfigError
from raynas.spaces import NB201Space
from raynas.predictors.surrogates import ArchGP, OutputWarp, RidgeSurrogate

SPACE = NB201Space()


def toy_error(archs: np.ndarray) -> np.ndarray:
    """An 'error' with a long tail of failures and interactions between decisions: 'none' (0) on
    the input edges is catastrophic, conv3x3 (3) helps, most where two edges in a row have it."""
    a = np.asarray(archs)
    base = 10.0 - 0.8 * np.sum(a == 3, 1) - 1.5 * ((a[:, 0] == 3) & (a[:, 3] == 3))
    return base + 60.0 * ((a[:, 0] == 0) & (a[:, 1] == 0))


def toy_latency(archs: np.ndarray) -> np.ndarray:
    """Additive in the decisions (as layer latencies are), few ties."""
    a = np.asarray(archs)
    return np.sum(np.where(a == 3, 3.0, np.where(a == 2, 1.0, 0.2)) * (1 + 0.1 * np.arange(a.shape[1])), 1)


def features(archs: np.ndarray) -> np.ndarray:
    """One-hot encoding and one 'zero-cost score' (the number of convolutions)."""
    onehot = np.stack([SPACE.encode_onehot(tuple(a)) for a in archs])
    return np.hstack([onehot, np.sum(np.isin(archs, (2, 3)), 1, keepdims=True).astype(float)])


def sample_archs(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.unique(np.stack([SPACE.sample(rng) for _ in range(n)]), axis=0)


def test_warp_round_trips_and_matches_scipy_on_its_grid():
    rng = np.random.default_rng(0)
    y = rng.lognormal(2.0, 0.5, 300)
    w = OutputWarp(3.0).fit(y)
    np.testing.assert_allclose(w.inverse(w.transform(y)), y, rtol=1e-9)
    u = (y - y.min()) / (3.0 * y.std())
    _, lam = yeojohnson(u)
    assert abs(w.lam - lam) <= 0.051  # the grid's step is 0.1
    z = w.transform(y)
    assert abs(z.mean()) < 1e-9 and z.std() == pytest.approx(1.0)
    # a right-skewed target (a tail of failures) is compressed: lambda below 1
    assert w.lam < 1.0


def test_warp_is_the_same_for_an_error_and_a_negated_accuracy():
    """Measured from the best told value: reporting accuracy (maximised, so negated) instead of
    error, or another unit, warps identically."""
    rng = np.random.default_rng(1)
    error = np.concatenate([rng.normal(9.0, 1.0, 80), rng.uniform(20.0, 90.0, 20)])
    neg_accuracy = error - 100.0  # -(100 - error)
    for other in (neg_accuracy, 0.01 * error, 5.0 * error + 3.0):
        np.testing.assert_allclose(OutputWarp().fit(other).transform(other), OutputWarp().fit(error).transform(error),
                                   atol=1e-9)


def test_warp_inverse_stays_finite_beyond_the_transform_bounds():
    y = np.array([1.0, 1.1, 1.2, 5.0, 40.0, 90.0])
    w = OutputWarp(0.1).fit(y)
    back = w.inverse(np.array([-50.0, 0.0, 50.0]))
    assert np.all(np.isfinite(back))
    assert back[0] < y.min() and back[2] > y.max()
    assert np.all(np.diff(w.inverse(np.linspace(-3, 3, 50))) >= 0)  # monotone


def test_gp_interpolates_told_points_and_is_unsure_far_from_them():
    told = sample_archs(80, 0)
    y = toy_error(told)[:, None]
    gp = ArchGP(n_scores=1).fit(told, features(told), y)
    mean, std = gp.predict(told, features(told))
    assert spearmanr(mean[:, 0], y[:, 0])[0] > 0.95
    others = np.array([a for a in sample_archs(400, 1) if not (told == a).all(1).any()])
    far = others[np.min((others[:, None, :] != told[None]).sum(-1), 1) >= 3]
    near = others[np.min((others[:, None, :] != told[None]).sum(-1), 1) == 1]
    assert len(far) and len(near)
    _, sd_far = gp.predict(far, features(far))
    _, sd_near = gp.predict(near, features(near))
    _, sd_told = gp.predict(told, features(told))
    assert np.median(sd_told) < np.median(sd_near) < np.median(sd_far)


def test_gp_ranks_unseen_architectures_better_than_the_ridge():
    """The interactions between decisions and the tail of failures are what the ridge misses."""
    told = sample_archs(60, 2)
    test = np.array([a for a in sample_archs(600, 3) if not (told == a).all(1).any()])
    truth = toy_error(test)
    good = truth < np.quantile(truth, 0.5)  # the half a search cares about
    y = toy_error(told)[:, None]
    rho = {}
    for name, model in (("gp", ArchGP(n_scores=1)), ("ridge", RidgeSurrogate(n_scores=1))):
        pred = model.fit(told, features(told), y).predict(test, features(test))[0][:, 0]
        rho[name] = spearmanr(pred[good], truth[good])[0]
    assert rho["gp"] > rho["ridge"] + 0.1, rho


def test_gp_samples_follow_the_predictive_distribution_in_the_targets_units():
    told = sample_archs(50, 4)
    y = np.stack([toy_error(told), toy_latency(told)], axis=1)
    gp = ArchGP(n_scores=1).fit(told, features(told), y)
    cand = sample_archs(20, 5)
    draws = gp.sample(cand, features(cand), 400, np.random.default_rng(0))
    assert draws.shape == (400, len(cand), 2)
    mean, _ = gp.predict(cand, features(cand))
    # the predictive median is the inverse-warped latent mean
    np.testing.assert_allclose(np.median(draws, axis=0), mean, rtol=0.1, atol=0.3)


@pytest.mark.parametrize("model", [ArchGP(n_scores=1), RidgeSurrogate(n_scores=1)], ids=["gp", "ridge"])
def test_posterior_cdf_matches_the_samples(model):
    """``cdf`` inverts the output warp: the probability it gives for a value is the fraction of
    draws at or below it, in the targets' units."""
    told = sample_archs(50, 4)
    y = np.stack([toy_error(told), toy_latency(told)], axis=1)
    model.fit(told, features(told), y)
    cand = sample_archs(10, 5)
    post = model.posterior(cand, features(cand))
    draws = post.sample(4000, np.random.default_rng(0))
    values = np.quantile(draws.reshape(-1, 2), [0.1, 0.3, 0.5, 0.7, 0.9], axis=0)  # [5, 2]
    empirical = np.mean(draws[:, :, None, :] <= values[None, None], axis=0)
    np.testing.assert_allclose(post.cdf(values), empirical, atol=0.03)


def test_gp_fits_on_the_best_rows_only_past_max_points():
    told = sample_archs(300, 6)
    y = np.stack([toy_error(told), toy_latency(told)], axis=1)
    gp = ArchGP(n_scores=1, max_points=40).fit(told, features(told), y)
    kept = gp.targets[0]["a"]
    assert len(kept) == 40
    front = told[moo.pareto_mask(y)]
    assert all((kept == f).all(1).any() for f in front)  # the front is always kept
    with pytest.raises(InvalidConfigError, match="max_points"):
        ArchGP(n_scores=1, max_points=2)


def test_gp_leaves_failed_values_out_and_reselects_as_rows_grow():
    told = sample_archs(60, 7)
    y = np.stack([toy_error(told), toy_latency(told)], axis=1)
    y[::7, 0] = np.nan  # failed trials: no accuracy
    gp = ArchGP(n_scores=1, reselect_growth=1.5)
    gp.fit(told[:30], features(told[:30]), y[:30])
    first = list(gp._selected_at)
    gp.fit(told[:40], features(told[:40]), y[:40])
    assert gp._selected_at == first  # 40 < 1.5 x 30: hyperparameters kept
    gp.fit(told, features(told), y)
    assert gp._selected_at[1] == len(told) and gp._selected_at[0] == int(np.isfinite(y[:, 0]).sum())
    assert len(gp.targets[0]["a"]) == np.isfinite(y[:, 0]).sum()
    assert np.all(np.isfinite(gp.predict(told, features(told))[0]))


def test_nondominated_ranks_can_stop_early():
    rng = np.random.default_rng(0)
    y = rng.random((500, 2))
    full = moo.nondominated_ranks(y)
    part = moo.nondominated_ranks(y, until=50)
    r = part.max()
    assert np.sum(part < r) >= 50
    np.testing.assert_array_equal(part[full < r], full[full < r])
    assert np.all(full[part == r] >= r)


def _mixed(rng, n):
    """Three categorical columns (3 choices) and two numeric ones on a unit scale."""
    a = np.zeros((n, 5))
    a[:, :3] = rng.integers(0, 3, (n, 3))
    a[:, 3:] = rng.random((n, 2))
    return a


def _learning_rate_like(a, rng):
    """Column 3 dominates, unimodally (a learning rate); column 0 matters a little, the rest not."""
    return 12 * (a[:, 3] - 0.6) ** 2 + 0.3 * (a[:, 0] == 1) + 0.05 * rng.standard_normal(len(a))


def test_gp_learns_which_columns_matter_in_a_mixed_space():
    rng = np.random.default_rng(0)
    cat = [True, True, True, False, False]
    train, test = _mixed(rng, 20), _mixed(rng, 400)
    y, truth = _learning_rate_like(train, rng), _learning_rate_like(test, rng)
    x, xt = np.zeros((20, 0)), np.zeros((400, 0))
    rho = {}
    for relevance in (False, True):
        gp = ArchGP(0, categorical=cat, relevance=relevance).fit(train, x, y[:, None])
        rho[relevance] = spearmanr(gp.predict(test, xt)[0][:, 0], truth).statistic
    weights = gp.hyper[0][4]
    assert weights[3] == max(weights) and weights[3] > weights[1] and weights[3] > weights[2]
    assert rho[True] > 0.95 and rho[True] > rho[False] + 0.1, rho


def test_gp_relevance_defaults_to_mixed_spaces_and_round_trips_its_state():
    assert ArchGP(1, categorical=[True, False]).relevance
    assert not ArchGP(1, categorical=[True, True]).relevance and not ArchGP(1).relevance
    rng = np.random.default_rng(1)
    a = _mixed(rng, 30)
    y = _learning_rate_like(a, rng)[:, None]
    gp = ArchGP(0, categorical=[True, True, True, False, False]).fit(a, np.zeros((30, 0)), y)
    other = ArchGP(0, categorical=[True, True, True, False, False])
    other.load_state_dict(gp.state_dict())
    assert other.hyper == gp.hyper and len(gp.hyper[0]) == 5
    # refitted on the same rows with the loaded hyperparameters: the same predictions
    other.fit(a, np.zeros((30, 0)), y)
    np.testing.assert_allclose(other.predict(a, np.zeros((30, 0)))[0], gp.predict(a, np.zeros((30, 0)))[0])
