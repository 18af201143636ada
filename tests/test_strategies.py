"""raynas.strategies and raynas.evolution: determinism, checkpoint round trips, search quality."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest

from raynas import evolution, moo
from raynas.errors import InvalidConfigError
from raynas.spaces import NB201Space
from raynas.strategies import (AgingEvolutionStrategy, OptunaStrategy, RandomStrategy, ZeroCostStrategy,
                               network_measures)
from raynas.strategies.parts import Model, Moves, Warmup
from raynas.strategies.scorers import CachedScorer


def static(strategy, archs):
    """The zero-cost estimates of ``archs`` (before any model)."""
    return strategy.scores.static(strategy.scores.scores(archs))

SPACE = NB201Space()


def conv_params(arch) -> float:
    """A cheap stand-in for a network-computed proxy in unit tests (relative conv parameters)."""
    return float(sum({2: 1.0, 3: 9.0}.get(o, 0.0) for o in arch))


def toy_objectives(arch):
    """Deterministic two-objective function of an architecture (no data needed)."""
    a = np.asarray(arch)
    return (float(np.sum(a == 0) + 0.1 * np.sum(a == 4)), float(np.sum((a == 3) * 3 + (a == 2))))


def make(kind, seed=0):
    if kind == "random":
        return RandomStrategy(SPACE, seed=seed)
    if kind == "aging":
        return AgingEvolutionStrategy(SPACE, population_size=10, sample_size=3, seed=seed)
    if kind == "aging-scalar":
        return AgingEvolutionStrategy(SPACE, population_size=10, sample_size=3, selection="scalarised",
                                      crossover_prob=0.5, seed=seed)
    if kind == "nsga2":
        return OptunaStrategy(SPACE, "nsga2", seed=seed, population_size=8)
    if kind == "tpe":
        return OptunaStrategy(SPACE, "tpe", seed=seed, n_startup_trials=5)
    if kind == "zc":
        return ZeroCostStrategy(SPACE, CachedScorer(conv_params), CachedScorer(conv_params), model=Model(learn=(1,)),
                                warmup=Warmup(300, 5), moves=Moves(population_size=10, sample_size=3), seed=seed)
    if kind in ("zc-gp", "zc-ridge"):  # both objectives learned: the model's state crosses the checkpoint
        return ZeroCostStrategy(SPACE, CachedScorer(conv_params), CachedScorer(conv_params),
                                model=Model(kind[3:], min_fit=5), warmup=Warmup(300, 5),
                                moves=Moves(population_size=10, sample_size=3), seed=seed)
    if kind == "zc-random":
        return ZeroCostStrategy(SPACE, conv_params, conv_params, engine="random", acquisition="preference",
                                warmup=Warmup(200, 4), seed=seed)
    if kind == "zc-tpe":
        return ZeroCostStrategy(SPACE, CachedScorer(conv_params), CachedScorer(conv_params),
                                engine=OptunaStrategy(SPACE, "tpe", seed=seed, n_startup_trials=5),
                                warmup=Warmup(300, 5), seed=seed)
    raise ValueError(kind)


KINDS = ["random", "aging", "aging-scalar", "nsga2", "tpe", "zc", "zc-gp", "zc-ridge", "zc-random", "zc-tpe"]


def drive(strategy, n, start=0):
    out = []
    for _ in range(n):
        a = strategy.ask()
        strategy.tell(a, toy_objectives(a))
        out.append(a)
    return out


@pytest.mark.parametrize("kind", KINDS)
def test_deterministic_given_seed(kind):
    assert drive(make(kind, 3), 25) == drive(make(kind, 3), 25)


@pytest.mark.parametrize("kind", KINDS)
def test_state_dict_round_trip_gives_identical_asks(kind):
    ref = make(kind, 1)
    full = drive(ref, 30)
    s = make(kind, 1)
    first = drive(s, 18)
    pending = s.ask()  # an ask in flight at checkpoint time
    state = pickle.loads(pickle.dumps(s.state_dict()))
    if kind in ("random", "aging", "aging-scalar", "zc", "zc-gp", "zc-ridge", "zc-random"):
        state = json.loads(json.dumps(state))  # plain JSON for the pure-raynas strategies
    r = make(kind, 99)  # a different seed: everything must come from the state
    r.load_state_dict(state)
    r.tell(pending, toy_objectives(pending))
    rest = drive(r, 11)
    assert first + [pending] + rest == full


def test_no_duplicates_for_raynas_strategies():
    for kind in ("random", "aging", "zc"):
        archs = drive(make(kind), 80)
        assert len(set(archs)) == 80, kind


def test_inf_objectives_are_accepted():
    for kind in ("aging", "nsga2", "zc"):
        s = make(kind)
        for i in range(15):
            a = s.ask()
            s.tell(a, (np.inf, np.inf) if i % 3 == 0 else toy_objectives(a))
        s.ask()


def test_tell_validates_objective_count():
    s = make("random")
    a = s.ask()
    s.tell(a, (1.0, 2.0))
    with pytest.raises(InvalidConfigError, match="expects 2 objectives"):
        s.tell(s.ask(), (1.0,))


def test_zero_cost_rejects_bad_settings():
    with pytest.raises(InvalidConfigError, match="engine"):
        ZeroCostStrategy(SPACE, conv_params, conv_params, engine="bayes")
    with pytest.raises(InvalidConfigError, match="random_prob"):
        ZeroCostStrategy(SPACE, conv_params, conv_params, moves=Moves(random_prob=2.0))
    assert ZeroCostStrategy(SPACE, conv_params, conv_params, moves={"random_prob": 0.1}).moves.random_prob == 0.1
    with pytest.raises(InvalidConfigError, match="moves.*random_prop"):
        ZeroCostStrategy(SPACE, conv_params, conv_params, moves={"random_prop": 0.1})
    with pytest.raises(InvalidConfigError, match="moves must be"):
        ZeroCostStrategy(SPACE, conv_params, conv_params, moves=0.1)


def test_zero_cost_warmup_starts_from_non_dominated_estimates():
    s = ZeroCostStrategy(SPACE, CachedScorer(conv_params), CachedScorer(lambda a: float(np.sum(np.asarray(a) != 0))),
                         warmup=Warmup(len(SPACE), 6, networks=None), seed=0)
    warm = [s.ask() for _ in range(6)]
    est = static(s, warm)
    allc = static(s, [tuple(a) for a in SPACE.enumerate()])
    front = allc[moo.pareto_mask(allc)]
    for e in est:  # all candidates scored: every warm-up arch is non-dominated
        assert not np.any(np.all(front <= e, 1) & np.any(front < e, 1))
    assert s.estimate_evaluations["proxy"] >= 6


def test_zero_cost_warmup_scores_few_networks_and_predicts_the_rest():
    """Default warm-up: ``warmup_networks`` candidates scored, the others' scores predicted from the
    encoding. Both stand-in scores here are additive in the one-hot encoding, so the prediction is
    nearly exact and the warm-up lands on (or, where predictions break ties, next to) the
    non-dominated estimates of all 15,625 candidates."""
    proxy, cost = CachedScorer(conv_params), CachedScorer(lambda a: float(np.sum(np.asarray(a) != 0)))
    s = ZeroCostStrategy(SPACE, proxy, cost, warmup=Warmup(len(SPACE), 6, networks=60), seed=0)
    warm = [s.ask() for _ in range(6)]
    assert proxy.evaluations == 60 and cost.evaluations == 60  # not 15,625
    est = static(s, warm)
    allc = static(s, [tuple(a) for a in SPACE.enumerate()])
    front = allc[moo.pareto_mask(allc)]
    on_front = [not np.any(np.all(front <= e, 1) & np.any(front < e, 1)) for e in est]
    assert sum(on_front) >= 4
    for e in est:  # never beaten on both estimates by a clear margin (a random architecture is)
        assert not np.any(np.all(front <= e - 0.5, 1))
    rand = static(s, [tuple(SPACE.sample(np.random.default_rng(i))) for i in range(6)])
    assert sum(np.any(np.all(front <= e - 0.5, 1)) for e in rand) >= 3


def test_zero_cost_warmup_spread_by_hypervolume_asks_the_knee_first():
    """``Warmup(spread="hypervolume")`` takes the estimated front greedily by hypervolume (ranks of
    the estimates): the first ask is the knee, not the cheapest network as ``"even"`` asks first,
    and every warm-up ask is still non-dominated among the estimates."""
    cost = CachedScorer(lambda a: float(np.sum(np.asarray(a) != 0)))
    even, greedy = (ZeroCostStrategy(SPACE, CachedScorer(conv_params), cost, seed=0,
                                     warmup=Warmup(len(SPACE), 5, networks=None, spread=spread))
                    for spread in ("even", "hypervolume"))
    asks = {name: [s.ask() for _ in range(5)] for name, s in (("even", even), ("greedy", greedy))}
    allc = static(even, [tuple(a) for a in SPACE.enumerate()])
    front = np.unique(allc[moo.pareto_mask(allc)], axis=0)
    e_even, e_greedy = static(even, asks["even"]), static(greedy, asks["greedy"])
    assert e_even[0, 1] == front[:, 1].min()  # "even" starts at the cheapest end
    assert front[:, 1].min() < e_greedy[0, 1] < front[:, 1].max()  # the knee, not an end
    for e in e_greedy:
        assert not np.any(np.all(front <= e, 1) & np.any(front < e, 1))
    assert sorted(map(tuple, e_greedy)) != sorted(map(tuple, e_even))
    with pytest.raises(InvalidConfigError, match="warmup spread.*'knee'"):
        Warmup(spread="knee")


def test_zero_cost_rejects_bad_model_settings():
    with pytest.raises(InvalidConfigError, match="warmup networks"):
        Warmup(networks=1)
    with pytest.raises(InvalidConfigError, match="forest"):
        ZeroCostStrategy(SPACE, conv_params, conv_params, model="forest")
    with pytest.raises(InvalidConfigError, match="min_fit"):
        Model(min_fit=1)
    with pytest.raises(InvalidConfigError, match="ridge"):  # options the model class does not take
        ZeroCostStrategy(SPACE, conv_params, conv_params, model=Model("ridge", options={"alphaz": 1}), seed=0)._refit()


def test_zero_cost_neighbour_correction_moves_estimates_toward_told_neighbours():
    """A told architecture far better than the linear model says pulls its neighbours' estimates
    with it (and nothing beyond two decisions away)."""
    kw = dict(warmup=Warmup(50, 0), seed=0)
    on = ZeroCostStrategy(SPACE, CachedScorer(conv_params), CachedScorer(conv_params),
                          model=Model("ridge", min_fit=2), **kw)
    off = ZeroCostStrategy(SPACE, CachedScorer(conv_params), CachedScorer(conv_params),
                           model=Model("ridge", min_fit=2, options={"neighbour_decay": None}), **kw)
    rng = np.random.default_rng(0)
    told = [tuple(int(v) for v in rng.integers(0, 5, 6)) for _ in range(30)]
    star = (3, 3, 3, 3, 3, 3)
    for s in (on, off):
        for a in told:
            if a != star:
                s.tell(a, toy_objectives(a))
        s.tell(star, (toy_objectives(star)[0] - 5.0, toy_objectives(star)[1]))  # 5 better than its pattern
    near, far = (3, 3, 3, 3, 3, 2), (0, 0, 0, 1, 1, 1)
    assert far not in told
    d_near = on.estimates([near])[0, 0] - off.estimates([near])[0, 0]
    d_far = on.estimates([far])[0, 0] - off.estimates([far])[0, 0]
    assert d_near < -0.3  # pulled toward the star's better value
    assert abs(d_far) < 0.5 * abs(d_near)


def test_network_measures_are_computed_on_the_built_network():
    arch = (3, 1, 0, 2, 4, 3)
    m = network_measures(SPACE, arch, ("params", "flops", "path_params"))
    model = SPACE.build(arch)
    assert m["params"] == pytest.approx(sum(p.numel() for p in model.parameters()) / 1e6)
    assert m["flops"] > 0
    # an architecture whose convs sit behind 'none' edges only: they are not on any path
    cut = network_measures(SPACE, (0, 0, 3, 0, 0, 0), ("params", "path_params"))
    assert cut["path_params"] < m["path_params"] and cut["path_params"] < cut["params"]


def test_evolution_parts():
    y = np.array([[0, 3], [1, 2], [2, 1], [3, 0], [3, 3], [4, 4]], float)
    assert evolution.nsga2_survivors(y, 4).tolist() == [0, 1, 2, 3]
    keys = evolution.rank_crowding_keys(y)
    assert keys[4] < keys[5] and keys[0] < keys[4]
    rng = np.random.default_rng(0)
    assert evolution.tournament(rng, keys, len(keys)) in (0, 3)
    h = evolution.History()
    h.add((0,) * 6, (1.0, 2.0))
    h.add((1,) * 6, (0.5, 3.0))
    h.add((2,) * 6, (2.0, 3.0))
    archs, vals = h.front()
    assert archs == [(0,) * 6, (1,) * 6]
    child = evolution.make_child(SPACE, (0,) * 6, rng)
    assert sum(c != 0 for c in child) == 1


# --- search quality on the real benchmark ------------------------------------------------------------
@pytest.fixture(scope="module")
def bench(data_dir):
    from raynas.benchmarks import NB201Benchmark

    return NB201Benchmark(data_dir)


def test_zero_cost_beats_random_on_hv_at_50(bench):
    """ZeroCost (stand-in proxy here; the benchmark script uses network-computed ones) vs random."""
    proxy, cost = CachedScorer(conv_params), CachedScorer(conv_params)
    for device in ("1080ti_1", "pixel3") if "pixel3" in bench.devices else bench.devices[:2]:
        zc, rs = [], []
        for seed in range(4):
            for strat, out in ((ZeroCostStrategy(SPACE, proxy, cost, warmup=Warmup(1000), seed=seed), zc),
                               (RandomStrategy(SPACE, seed=seed), rs)):
                archs = []
                for _ in range(50):
                    a = strat.ask()
                    strat.tell(a, bench.objectives(a, device))
                    archs.append(a)
                out.append(bench.normalised_hv(archs, device))
        assert np.median(zc) > np.median(rs), (device, zc, rs)


def test_batch_scorer_is_cached_and_pluggable():
    calls = []

    def batch(archs):
        calls.append(len(archs))
        return np.array([conv_params(a) for a in archs])

    proxy = CachedScorer.from_batch(batch, "stand-in")
    assert proxy.score_many([(3,) * 6, (2,) * 6, (3,) * 6]).tolist() == [54.0, 6.0, 54.0]
    assert calls == [2] and proxy.evaluations == 2
    proxy.score_many([(3,) * 6])
    assert calls == [2]
    s = ZeroCostStrategy(SPACE, proxy, conv_params, warmup=Warmup(50, 3), seed=0)
    drive(s, 12)
    assert s.estimate_evaluations["proxy"] >= 50


def test_proxy_scores_compute_each_network_once_on_the_real_networks():
    import torch

    from raynas.proxies import score_architectures
    from raynas.strategies import ProxyScores

    small = NB201Space(channels=4, cells_per_stage=1)
    archs = [(3, 1, 0, 2, 4, 3), (0, 0, 3, 0, 0, 0), (3, 1, 0, 2, 4, 3)]
    scores = ProxyScores(small, ["synflow", "flops"])
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        values = scores.values(archs)  # scored on one torch thread, the caller's setting restored
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(threads)
    assert scores.evaluations == 2 and values.shape == (3, 2)
    direct = score_architectures(small, archs[:2], ["synflow", "flops"], None, input_shape=(3, 32, 32))
    np.testing.assert_allclose(values[:2], direct.to_numpy(dtype=float))
    scores.values(archs[:1])
    assert scores.evaluations == 2  # cached
    synflow = scores.scorer("synflow", "log")
    assert synflow(archs[0]) == pytest.approx(np.log1p(values[0, 0]))
    restored = ProxyScores(small, ["synflow", "flops"])
    restored.load_state_dict(json.loads(json.dumps(scores.state_dict())))
    np.testing.assert_allclose(restored.values(archs), values)
    assert restored.evaluations == 2


def test_unknown_proxy_names_raise_at_construction():
    from raynas.errors import UnknownNameError

    with pytest.raises(UnknownNameError, match="synflw"):
        ZeroCostStrategy(SPACE, "synflw", "flops")
    with pytest.raises(UnknownNameError, match="flopz"):
        ZeroCostStrategy(SPACE, ["synflow", "path_params"], "flopz")
    with pytest.raises(InvalidConfigError, match="acquisition"):
        ZeroCostStrategy(SPACE, conv_params, conv_params, acquisition="best")
    with pytest.raises(InvalidConfigError, match="warmup size"):
        Warmup(size=-1)


def test_ridge_is_exact_on_linear_data_and_safe_on_unseen_columns():
    from raynas.predictors.surrogates import OnlineRidge

    rng = np.random.default_rng(0)
    x = rng.random((60, 4))
    x[:, 3] = 0.0  # never varies in training (an op never told)
    y = np.stack([x[:, :3] @ [1.0, -2.0, 3.0] + 5.0, x[:, 0]], axis=1)
    model = OnlineRidge(alpha=1e-9).fit(x, y)
    test = rng.random((5, 4))  # column 3 now set: the mean must not explode ...
    pred, sd = model.predict(test, return_std=True)
    np.testing.assert_allclose(pred[:, 0], test[:, :3] @ [1.0, -2.0, 3.0] + 5.0, atol=1e-5)
    seen = test.copy()
    seen[:, 3] = 0.0
    _, sd_seen = model.predict(seen, return_std=True)
    assert np.all(sd > sd_seen)  # ... but its uncertainty grows in a direction never seen


def test_ridge_picks_features_and_penalty_by_leave_one_out_error():
    from raynas.predictors.surrogates import OnlineRidge

    rng = np.random.default_rng(1)
    x = rng.random((25, 21))
    y = np.stack([3.0 * x[:, -1] + 0.01 * rng.standard_normal(25),  # the last column explains it
                  x[:, :20] @ rng.standard_normal(20)], axis=1)      # the first twenty do
    last_only = np.zeros(21, dtype=bool)
    last_only[-1] = True
    model = OnlineRidge(alphas=(0.01, 100.0), subsets=[np.ones(21, dtype=bool), last_only]).fit(x, y)
    assert model.choice[0][0] == 1 and model.choice[1][0] == 0  # each target keeps its own columns
    assert model.choice[1][1] == 0.01  # a noiseless linear target wants the small penalty
    test = rng.random((200, 21))
    pred = model.predict(test)
    assert np.corrcoef(pred[:, 0], test[:, -1])[0, 1] > 0.99
    # one fixed model on every column predicts the first target worse on unseen rows
    plain = OnlineRidge(alpha=1.0).fit(x, y).predict(test)
    truth = 3.0 * test[:, -1]
    assert np.mean((pred[:, 0] - truth) ** 2) < 0.5 * np.mean((plain[:, 0] - truth) ** 2)


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("model", ["gp", "ridge"])
def test_zero_cost_keeps_proposing_when_almost_every_trial_failed(model):
    """One finite accuracy among a dozen failures: the model cannot fit it, the zero-cost estimate
    stands in, and no warning or NaN escapes."""
    s = ZeroCostStrategy(SPACE, CachedScorer(conv_params), CachedScorer(conv_params), model=Model(model, min_fit=3),
                         warmup=Warmup(100, 3), seed=0)
    asked = []
    for i in range(15):
        a = s.ask()
        asked.append(a)
        s.tell(a, (float("inf") if i else 5.0, 1.0 + 0.1 * i))
    assert len(set(asked)) == 15
    assert np.all(np.isfinite(s.estimates(asked)))


def test_zero_cost_front_moves_propose_mutants_of_the_told_front():
    s = ZeroCostStrategy(SPACE, CachedScorer(conv_params), CachedScorer(conv_params), moves=Moves(front_prob=1.0),
                         model=Model(min_fit=4), warmup=Warmup(100, 4), seed=0)
    for _ in range(12):
        a = s.ask()
        s.tell(a, toy_objectives(a))
    for _ in range(10):  # every move now chooses among the front's one-decision mutants
        front, _ = s.front()
        a = s.ask()
        assert min(sum(x != y for x, y in zip(a, f)) for f in front) == 1
        s.tell(a, toy_objectives(a))
    for bad in (-0.1, 1.5, True, "half"):
        with pytest.raises(InvalidConfigError, match="front_prob"):
            Moves(front_prob=bad)


def test_zero_cost_ehvi_is_exact_and_agrees_with_monte_carlo():
    """The move's expected hypervolume improvement integrates the learned model's predictive
    distribution exactly; a large Monte-Carlo average over the model's own draws agrees."""
    s = ZeroCostStrategy(SPACE, CachedScorer(conv_params), CachedScorer(conv_params),
                         model=Model(min_fit=4), warmup=Warmup(100, 4), seed=0)
    for _ in range(15):
        a = s.ask()
        s.tell(a, toy_objectives(a))
    front, told = s.front()
    rng = np.random.default_rng(0)
    cands = list(dict.fromkeys(a for a in (s.space.sample(rng) for _ in range(300)) if not s.seen(a)))
    est, sd, post = s._posterior(cands)
    y = s.history.matrix()
    lo, hi = np.minimum(y.min(0), est.min(0)), y.max(0)
    span, ref = hi - lo, np.full(2, 1.1)
    exact = moo.expected_hypervolume_improvement((told - lo) / span, lambda g: s._cdf(post, est, lo + span * g),
                                                 ref, ((s._optimistic(post, est) - lo) / span).min(0), n_grid=4096)
    draws = (post.sample(20000, np.random.default_rng(1)) - lo) / span
    mc = moo.hypervolume_improvement((told - lo) / span, draws.reshape(-1, 2), ref).reshape(20000, -1).mean(0)
    assert exact.max() > 0
    np.testing.assert_allclose(exact, mc, rtol=0.05, atol=0.02 * exact.max())
    assert s._best(cands) == cands[int(np.argmax(exact))]


def test_zero_cost_takes_one_cost_estimator_per_cost_objective():
    space = SPACE
    first, second = (lambda a: float(a[0])), (lambda a: float(a[1]))
    s = ZeroCostStrategy(space, lambda a: float(sum(a)), [first, second], objectives=["quality", "cost", "cost"],
                         seed=0)
    est = s.scores.static(s.scores.scores([(2, 1, 0, 0, 0, 0)]))
    assert est.tolist() == [[-3.0, 2.0, 1.0]]
    with pytest.raises(InvalidConfigError, match="3 cost estimators given for 2 cost"):
        ZeroCostStrategy(space, "params", [first, second, first], objectives=["quality", "cost", "cost"])


def test_running_trials_join_the_front_as_believed_values():
    """Kriging believer: while trials run, the front a candidate must improve holds their estimates;
    with ``pending="ignore"`` it holds the told results only."""
    from raynas.strategies.parts import Acquisition

    def make(pending):
        s = ZeroCostStrategy(SPACE, CachedScorer(conv_params), CachedScorer(lambda a: float(np.sum(np.asarray(a) != 0))),
                             warmup=Warmup(200, 4, networks=None), acquisition=Acquisition(pending=pending), seed=0)
        for _ in range(4):
            a = s.ask()
            s.tell(a, (conv_params(a), float(np.sum(np.asarray(a) != 0))))
        running = [s.ask() for _ in range(3)]
        return s, running

    s, running = make("believer")
    believed = s._believed_pending(learned=False)
    assert believed.shape == (3, 2) and np.allclose(believed, s.predict(running)[0])
    s.tell(running[0], (0.0, 0.0))  # a told trial is no longer running
    assert s._believed_pending(learned=False).shape == (2, 2)
    s, _ = make("ignore")
    assert s._believed_pending(learned=False).size == 0
    with pytest.raises(InvalidConfigError, match="acquisition pending must be one of .*got 'liar'"):
        Acquisition(pending="liar")


def test_columns_of_one_proxy_table_are_looked_up_together():
    from raynas.strategies.scorers import ProxyColumn, ProxyScores, score_all, score_columns

    class Counting(ProxyScores):
        lookups = 0

        def values(self, archs):
            Counting.lookups += 1
            return super().values(archs)

    table = Counting(NB201Space(channels=4, cells_per_stage=1), ["params", "flops"])
    archs = [tuple(SPACE.sample(np.random.default_rng(i))) for i in range(5)]
    cols = [ProxyColumn(table, 0), ProxyColumn(table, 1, "log"), CachedScorer(conv_params)]
    got = score_columns(cols, archs)
    assert Counting.lookups == 1  # one lookup for both of the table's columns
    want = np.stack([score_all(c, archs) for c in cols], axis=1)
    assert np.allclose(got, want)
    assert np.allclose(got[:, 1], np.log1p(table.values(archs)[:, 1]))  # flops > 0: log1p is the transform
