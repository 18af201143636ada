"""PredictorStrategy (ask/tell) and its Tune adapter PredictorSearch on NB201 tabular ground truth."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from sklearn.linear_model import Ridge

from raynas import moo
from raynas.errors import InvalidConfigError
from raynas.predictors import NNLSTransfer
from raynas.strategies.predictor import ObjectiveModel, PredictorStrategy, expected_hvi


@pytest.fixture(scope="module")
def bench(data_dir):
    from raynas.benchmarks import NB201Benchmark

    return NB201Benchmark(data_dir)


def make_strategy(bench, device, seed=0, acquisition="ehvi"):
    """Latency: NNLS over the other devices' published latencies (prior: their median, i.e. a transfer
    with no target sample); accuracy: ridge on the one-hot encoding, no prior."""
    sources = np.stack([bench.all_latency(d) for d in bench.devices if d != device], 1)
    onehot = np.stack([bench.space.encode_onehot(a) for a in bench.archs])

    def rows(archs):
        return [bench.index(a) for a in archs]

    lat = ObjectiveModel(lambda A: sources[rows(A)], NNLSTransfer(relative=True),
                         prior=lambda A: np.median(sources[rows(A)], 1), min_fit=5, n_boot=3)
    acc = ObjectiveModel(lambda A: onehot[rows(A)], Ridge(alpha=3.0), min_fit=8, n_boot=3)
    return PredictorStrategy(bench.space, [acc, lat], signs=[-1, 1], candidates=bench.archs, pool_size=128,
                             acquisition=acquisition, seed=seed)


def run(strategy, bench, device, budget):
    for _ in range(budget):
        a = strategy.ask()
        strategy.tell(a, bench.objectives(a, device))
    return strategy


def normalised_hv(bench, device, y):
    allp = np.stack([100 - bench.all_accuracy(), bench.all_latency(device)], 1)
    return moo.normalised_hypervolume(y, allp)


def test_beats_random_search_at_equal_budget(bench):
    from raynas.strategies import RandomStrategy

    device = bench.devices[-1]
    hv_pred, hv_rand = [], []
    for seed in range(2):
        s = run(make_strategy(bench, device, seed), bench, device, 25)
        hv_pred.append(normalised_hv(bench, device, s.front()[1]))
        r = run(RandomStrategy(bench.space, seed=seed), bench, device, 25)
        hv_rand.append(normalised_hv(bench, device, r.front()[1]))
    assert np.mean(hv_pred) > np.mean(hv_rand) + 0.03, (hv_pred, hv_rand)
    assert len(set(s.history.archs)) == 25  # never proposes an architecture twice


def test_models_refit_as_trials_complete(bench):
    device = bench.devices[0]
    s = make_strategy(bench, device, acquisition="nondominated")
    lat = s.models[1]
    probe = bench.archs[:50]
    prior_mean, _ = lat.predict(probe)
    run(s, bench, device, 12)
    assert lat.fitted and len(lat.values) == 12
    mean, spread = lat.predict(probe)
    truth = np.array([bench.latency(a, device) for a in probe])
    assert moo.pareto_mask(np.stack([mean, spread], 1)).any()
    # refitted on the told target latencies, the model is closer than the source-median prior
    assert np.mean(np.abs(np.log(mean / truth))) < np.mean(np.abs(np.log(prior_mean / truth)))


def test_state_round_trip_asks_the_same(bench):
    device = bench.devices[3]
    s = run(make_strategy(bench, device, seed=5), bench, device, 9)
    state = pickle.loads(pickle.dumps(s.state_dict()))
    restored = make_strategy(bench, device, seed=123)
    restored.load_state_dict(state)
    for _ in range(3):
        a, b = s.ask(), restored.ask()
        assert a == b
        s.tell(a, bench.objectives(a, device))
        restored.tell(b, bench.objectives(b, device))


def test_expected_hvi_prefers_improving_candidates():
    front = np.array([[0.2, 0.8], [0.5, 0.5], [0.8, 0.2]])
    mean = np.array([[0.3, 0.3], [0.9, 0.9], [0.5, 0.5]])
    e = expected_hvi(front, mean, np.full_like(mean, 0.01), np.array([1.1, 1.1]))
    assert e[0] > 0.05 and e[1] < 1e-9 and e[0] > 20 * e[2]
    # uncertainty gives a dominated mean some chance to improve
    e2 = expected_hvi(front, mean[1:2], np.full((1, 2), 0.5), np.array([1.1, 1.1]))
    assert e2[0] > 0


@pytest.mark.parametrize("m", [2, 3])
def test_expected_hvi_is_exact(m):
    """The integral, not a sample, for two objectives and more (a 100,000-draw average agrees; a
    failed estimate gains nothing; a zero spread is the plain improvement)."""
    rng = np.random.default_rng(3)
    front, ref = rng.random((6, m)), np.full(m, 1.1)
    mean, spread = rng.random((8, m)), rng.random((8, m)) * 0.2
    spread[0] = 0.0
    mean[1, 0] = np.nan
    exact = expected_hvi(front, mean, spread, ref)
    draws = mean[None] + spread[None] * rng.standard_normal((100_000, *mean.shape))
    mc = moo.hypervolume_improvement(front, draws.reshape(-1, m), ref).reshape(100_000, -1).mean(0)
    assert exact[1] == 0.0
    keep = np.arange(len(mean)) != 1
    np.testing.assert_allclose(exact[keep], mc[keep], rtol=0.03, atol=3e-3 * exact.max())
    assert exact[0] == pytest.approx(moo.hypervolume_improvement(front, mean[:1], ref)[0], abs=3e-3)


def test_proposals_come_from_candidates_whose_features_are_in_and_the_rest_start_in_the_background(bench):
    from raynas.strategies.predictor import CachedFeatures

    cands = bench.archs[:40]
    ready, asked = set(cands[:10]), []
    onehot = CachedFeatures(lambda A: np.stack([bench.space.encode_onehot(a) for a in A]),
                            ready=lambda A: [a in ready for a in A], prefetch=asked.extend)
    acc = ObjectiveModel(onehot, Ridge(), prior=lambda A: np.arange(len(A), dtype=float), min_fit=3, n_boot=2)
    strategy = PredictorStrategy(bench.space, [acc], signs=[-1], candidates=cands, pool_size=40, seed=0)
    for _ in range(6):
        a = strategy.ask()
        assert a in ready
        strategy.tell(a, (-bench.accuracy(a),))
    assert set(asked) == set(cands[10:])  # every other candidate was handed to the background

    computed = []  # nothing in yet: a random candidate, nothing computed now

    def encode(A):
        computed.extend(A)
        return np.stack([bench.space.encode_onehot(a) for a in A])

    none_ready = CachedFeatures(encode, ready=lambda A: [False] * len(A), prefetch=lambda A: None)
    acc = ObjectiveModel(none_ready, Ridge(), prior=lambda A: none_ready(A)[:, 0])  # a prior reading the features
    a = PredictorStrategy(bench.space, [acc], signs=[-1], candidates=cands, pool_size=40, seed=0).ask()
    assert computed == [] and a in cands


def test_bad_arguments_are_clear(bench):
    m = ObjectiveModel(lambda A: np.zeros((len(A), 1)), Ridge())
    with pytest.raises(InvalidConfigError, match="acquisition"):
        PredictorStrategy(bench.space, [m], acquisition="greedy")
    with pytest.raises(InvalidConfigError, match="signs"):
        PredictorStrategy(bench.space, [m, m], signs=[1, 0])
    with pytest.raises(InvalidConfigError, match="min_fit"):
        ObjectiveModel(lambda A: A, Ridge(), min_fit=1)


def test_predictor_search_in_tune(bench, ray_local, tmp_path):
    from searchers.experiment import run_search
    from searchers.predictor import PredictorSearch
    from searchers.spaces import tune_param_space
    from searchers.trainables import tabular_trainable

    device = bench.devices[2]
    strategy = make_strategy(bench, device, seed=1)
    metric, mode = ["accuracy", "latency_ms"], ["max", "min"]
    with pytest.raises(InvalidConfigError, match="signs"):
        PredictorSearch(bench.space, metric, ["min", "min"], strategy=strategy)
    search = PredictorSearch(bench.space, metric, mode, strategy=strategy)
    out = run_search(tabular_trainable([device], str(bench.data_dir)), tune_param_space(bench.space), search,
                     metric=metric, mode=mode, num_samples=4, output_dir=tmp_path, plot=False)
    assert len(out.results) == 4 and len(strategy.history) == 4
    # the strategy saw the trials' real objectives, minimised
    a = strategy.history.archs[0]
    acc, lat = bench.accuracy(a), bench.latency(a, device)
    assert strategy.history.values[0] == pytest.approx((-acc, lat))
    # Tune-style save/restore continues the same search
    search.save(str(tmp_path / "searcher.pkl"))
    other = PredictorSearch(bench.space, metric, mode, strategy=make_strategy(bench, device, seed=9))
    other.restore(str(tmp_path / "searcher.pkl"))
    assert other.suggest("t-next") == search.suggest("t-next")


def test_transferred_latency_model_from_reference_samples(data_dir, tmp_path):
    """Prior = RaynasTransfer fitted on the target's 10 reference architectures (its hardware embedding)."""
    from raynas.errors import UnknownNameError
    from raynas.predictors import load_space_table, spearman
    from raynas.predictors.tables import SpaceTable
    from raynas.strategies.predictor import transferred_latency_model

    tab = load_space_table("fbnet", data_dir)
    rows = list(range(0, len(tab.archs), 50))  # a 100-architecture slice: its features are built here

    small = SpaceTable("fbnet", tab.space, [tab.archs[i] for i in rows], tab.devices, tab.latency[rows])
    target = small.devices[-1]
    y = small.column(target)
    ref = {small.archs[i]: y[i] for i in range(0, 100, 10)}
    m = transferred_latency_model(small, target, samples=ref, n_boot=2, cache_dir=tmp_path)
    mean, spread = m.predict(small.archs)
    assert spearman(mean, y) > 0.85 and (spread > 0).all()
    with pytest.raises(UnknownNameError, match="no_such_device"):
        transferred_latency_model(small, target, sources=["no_such_device"], cache_dir=tmp_path)


def test_forest_spread_comes_from_its_trees_in_one_fit():
    from raynas.predictors import ForestPredictor

    rng = np.random.default_rng(0)
    X = rng.uniform(0, 1, size=(60, 3))
    y = 3 * X[:, 0] + 0.05 * rng.normal(size=60)
    model = ObjectiveModel(lambda archs: np.asarray(archs, dtype=float), ForestPredictor(), n_boot=1)
    for x, v in zip(X, y):
        model.update(tuple(x), v)
    inside = [tuple(x) for x in X[:5]]
    mean, spread = model.predict(inside + [(5.0, 5.0, 5.0)])
    assert len(model.members) == 1  # one fit: the trees are the ensemble
    assert np.corrcoef(mean[:5], y[:5])[0, 1] > 0.9
    assert np.all(spread >= 0) and spread.max() > 0


def test_one_forest_estimates_several_objectives_each_on_its_own_scale():
    """A joint model fits its columns standardised (a large-valued one does not take every split)
    and answers in each column's own units; a result with one failed value is left out."""
    from raynas.predictors import ForestPredictor

    rng = np.random.default_rng(0)
    X = rng.uniform(0, 1, size=(80, 3))
    Y = np.column_stack([X[:, 0], 1e4 * X[:, 1]])  # the second column's values are 10^4 times larger
    model = ObjectiveModel(lambda archs: np.asarray(archs, dtype=float), ForestPredictor(), n_boot=1, outputs=2)
    for x, v in zip(X, Y):
        model.update(tuple(x), v)
    model.update((0.5, 0.5, 0.5), (np.nan, 1.0))
    assert len(model.values) == 80
    with pytest.raises(InvalidConfigError, match="estimates 2 objectives, got 1"):
        model.update((0.5, 0.5, 0.5), 1.0)
    test = rng.uniform(0, 1, size=(40, 3))
    mean, spread = model.predict([tuple(x) for x in test])
    assert mean.shape == spread.shape == (40, 2)
    assert np.corrcoef(mean[:, 0], test[:, 0])[0, 1] > 0.85  # not crowded out by the larger column
    assert np.corrcoef(mean[:, 1], test[:, 1])[0, 1] > 0.85
    assert 0 <= mean[:, 0].min() and mean[:, 0].max() <= 1 and 1e3 < mean[:, 1].max() <= 1e4
    assert spread[:, 1].mean() > 100 * spread[:, 0].mean()  # spreads in each column's units too


def test_a_joint_model_with_a_column_without_prior_reads_it_as_no_information(bench):
    joint = ObjectiveModel(lambda A: np.zeros((len(A), 1)), Ridge(), outputs=2,
                           prior=lambda A: np.column_stack([np.arange(len(A), dtype=float), np.full(len(A), np.nan)]))
    strategy = PredictorStrategy(bench.space, [joint], signs=[-1, 1], seed=0)
    assert strategy.n_objectives == 2
    archs = [bench.space.sample(np.random.default_rng(i)) for i in range(4)]
    mean, spread = strategy.estimates(archs)
    np.testing.assert_array_equal(mean[:, 0], -np.arange(4.0))  # the prior, minimised
    np.testing.assert_array_equal(mean[:, 1], 0.0)  # no prior: every candidate equal
    np.testing.assert_array_equal(spread[:, 1], 1.0)


@pytest.mark.parametrize("seed", [0, 3])
def test_forest_is_scikit_learns_random_forest_built_directly(seed):
    """The same trees as ``RandomForestRegressor(random_state=seed)`` (its per-tree seeds and
    bootstrap), so figures measured with either hold for both."""
    from sklearn.ensemble import RandomForestRegressor

    from raynas.predictors import ForestPredictor

    rng = np.random.default_rng(seed)
    X, Xt = rng.normal(size=(70, 6)), rng.normal(size=(40, 6))
    y = X[:, 0] - 2 * X[:, 1] ** 2 + 0.1 * rng.normal(size=70)
    ours = ForestPredictor(n_estimators=12, seed=seed).fit(X, y)
    theirs = RandomForestRegressor(n_estimators=12, min_samples_leaf=2, max_features=0.5, random_state=seed).fit(X, y)
    np.testing.assert_allclose(ours.predict_members(Xt), np.stack([t.predict(Xt) for t in theirs.estimators_]))
    np.testing.assert_allclose(ours.predict(Xt), theirs.predict(Xt))
    with pytest.raises(InvalidConfigError, match="5 features"):
        ours.predict(Xt[:, :5])


@pytest.mark.parametrize("setting, message", [({"n_estimators": 0}, "n_estimators must be an int >= 1, got 0"),
                                              ({"max_features": 5.0}, "max_features"),
                                              ({"min_samples_leaf": 0}, "min_samples_leaf")])
def test_forest_refuses_bad_settings_naming_them(setting, message):
    """Trees after the first skip scikit-learn's parameter checks; the first still makes them."""
    from raynas.predictors import ForestPredictor

    X = np.random.default_rng(0).normal(size=(20, 3))
    with pytest.raises(ValueError, match=message):
        ForestPredictor(**setting).fit(X, X[:, 0])
