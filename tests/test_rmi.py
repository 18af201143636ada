"""Representation similarity (RMI / CKA), reference models, the HW-EvRSNAS strategy and its searcher."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from torch import nn

from raynas.data import load_digits, one_batch
from raynas.errors import InvalidConfigError
from raynas.proxies.rmi import (FitSettings, ReferenceRepresentation, SimilarityScorer, capture_features, cka,
                                linear_cka, match_layers, rmi_score, select_batch)
from raynas.reference import SmallResNet, from_module, load_reference, save_reference, train_reference
from raynas.spaces import NB201Space
from raynas.strategies.similarity import (SimilarityEvolutionStrategy, budget_sweep, flops_cost, hardware_penalty,
                                          latency_cost, params_cost, penalised_fitness)

torch.set_num_threads(1)
SPACE = NB201Space(channels=4, cells_per_stage=1)


@pytest.fixture(scope="module")
def batch():
    return one_batch(load_digits(), 32, seed=0)


def _net(arch=(3, 3, 3, 3, 3, 3), space=SPACE, seed=0):
    torch.manual_seed(seed)
    return space.build(arch, 10, 1)


# --- CKA properties ----------------------------------------------------------------------------
@pytest.mark.parametrize("estimator", ["linear", "linear_debiased", "rbf"])
def test_self_similarity_is_number_of_stages(batch, estimator):
    x, y = batch
    net = _net()
    ref = ReferenceRepresentation(net, x, y, estimator=estimator)
    r = ref.score(net, train_mode=False)
    assert r.score == pytest.approx(3.0, abs=1e-9) and len(r.per_stage) == 3
    assert r.loss == pytest.approx(0.0, abs=1e-9)
    other = ref.score(_net((1, 2, 4, 0, 2, 1), seed=5), train_mode=False)
    assert other.score < 3.0 - 1e-3


def test_gram_form_equals_feature_form():
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(20, 7, generator=g), torch.randn(20, 13, generator=g) + 0.3
    xd, yd = x.double(), y.double()
    xc, yc = xd - xd.mean(0), yd - yd.mean(0)
    direct = torch.linalg.norm(yc.T @ xc) ** 2 / (torch.linalg.norm(xc.T @ xc) * torch.linalg.norm(yc.T @ yc))
    assert linear_cka(x, y) == pytest.approx(float(direct), rel=1e-10)
    assert 0.0 <= linear_cka(x, y) <= 1.0


@pytest.mark.parametrize("estimator", ["linear", "linear_debiased", "rbf"])
def test_invariant_to_channel_permutation_scaling_and_rotation(estimator):
    g = torch.Generator().manual_seed(1)
    x = torch.randn(24, 8, 5, 5, generator=g)
    y = torch.relu(x[:, :6] + 0.5 * torch.randn(24, 6, 5, 5, generator=g))
    base = cka(x, y, estimator)
    perm = torch.randperm(8, generator=g)
    assert cka(x[:, perm], y, estimator) == pytest.approx(base, abs=1e-10)
    assert cka(7.5 * x, y, estimator) == pytest.approx(base, abs=1e-7)  # x is float32: rounding of 7.5x
    q, _ = torch.linalg.qr(torch.randn(200, 200, generator=g, dtype=torch.float64))
    rotated = (x.reshape(24, -1).double() @ q)
    assert cka(rotated, y, estimator) == pytest.approx(base, abs=1e-8)


def test_model_with_permuted_channels_is_maximally_similar(batch):
    x, _ = batch
    torch.manual_seed(0)
    a = nn.Sequential(nn.Conv2d(1, 6, 3, padding=1), nn.ReLU(), nn.Conv2d(6, 4, 3, padding=1), nn.ReLU(),
                      nn.Flatten(), nn.Linear(4 * 64, 10))
    b = nn.Sequential(nn.Conv2d(1, 6, 3, padding=1), nn.ReLU(), nn.Conv2d(6, 4, 3, padding=1), nn.ReLU(),
                      nn.Flatten(), nn.Linear(4 * 64, 10))
    b.load_state_dict(a.state_dict())
    perm = torch.tensor([3, 0, 5, 1, 4, 2])
    with torch.no_grad():  # permute the first conv's output channels and the second conv's inputs
        b[0].weight.copy_(a[0].weight[perm]); b[0].bias.copy_(a[0].bias[perm])
        b[2].weight.copy_(a[2].weight[:, perm])
    r = rmi_score(a, b, x, reference_layers=["1", "3"], candidate_layers=["1", "3"])
    assert r.score == pytest.approx(2.0, abs=1e-9)
    assert torch.allclose(a(x), b(x), atol=1e-5)


def test_different_widths_and_depths(batch):
    x, y = batch
    ref = ReferenceRepresentation(_net(space=NB201Space(channels=8, cells_per_stage=2)), x, y)
    r = ref.score(_net(space=NB201Space(channels=4, cells_per_stage=1)))
    assert 0 < r.score < 3 and all(0 <= s <= 1 + 1e-12 for s in r.per_stage)
    # a ResNet reference against an NB201 candidate, and layer counts matched by relative depth
    resnet = SmallResNet(10, 1, width=8, blocks=2)
    r2 = rmi_score(resnet, _net(), x)
    assert 0 < r2.score < 3
    r3 = rmi_score(resnet, _net(), x, candidate_layers=["stem", "cells.0", "cells.2", "cells.4", "lastact"],
                   match="depth")
    assert len(r3.per_stage) == 3
    assert match_layers(3, 5, "depth") == [(0, 1), (1, 2), (2, 4)]  # depths 1/3, 2/3, 1 vs 0.2..1.0
    with pytest.raises(InvalidConfigError, match="3 layers"):
        rmi_score(resnet, _net(), x, candidate_layers=["stem", "lastact"])


def test_degenerate_candidate_scores_zero(batch):
    x, y = batch
    r = ReferenceRepresentation(_net(), x, y).score(_net((0,) * 6))
    assert r.score == 0.0 and not any(math.isnan(s) for s in r.per_stage)


def test_capture_has_no_side_effects_and_names_bad_layers(batch):
    x, _ = batch
    net = _net()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    net.eval()
    feats, out = capture_features(net, x, train_mode=True)
    assert [f.shape[1] for f in feats] == [4, 8, 16] and out.shape == (32, 10)
    assert not net.training
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())
    with pytest.raises(InvalidConfigError, match="no layer 'nope'"):
        capture_features(net, x, ["nope"])
    with pytest.raises(InvalidConfigError, match="stage_ends"):
        capture_features(nn.Sequential(nn.Flatten(), nn.Linear(64, 3)), x)


def test_scorer_is_deterministic_and_leaves_global_rng(batch):
    x, y = batch
    scorer = SimilarityScorer(ReferenceRepresentation(_net(), x, y), SPACE, 10, 1, init_seed=3)
    torch.manual_seed(123)
    state = torch.get_rng_state()
    a = scorer((2, 3, 1, 4, 3, 2))
    assert torch.equal(torch.get_rng_state(), state)
    assert scorer((2, 3, 1, 4, 3, 2)) == a
    assert scorer((3,) * 6) != a
    fitted = SimilarityScorer(scorer.reference, SPACE, 10, 1, init_seed=3, fit=FitSettings(steps=3))
    assert fitted((2, 3, 1, 4, 3, 2)) == fitted((2, 3, 1, 4, 3, 2)) != a
    assert torch.equal(torch.get_rng_state(), state)


def test_fitted_rmi_as_in_rmi_nas(batch):
    x, y = batch
    ref = ReferenceRepresentation(_net(), x, y)
    cand = _net((1, 3, 2, 2, 1, 3), seed=2)
    untrained = ref.score(cand).score
    fitted = ref.score(cand, fit=FitSettings(steps=15, lr=0.05), seed=0)
    assert fitted.fit_steps == 15 and math.isfinite(fitted.fit_loss)
    assert fitted.score > untrained  # fitting to the reference's features raises the similarity
    with pytest.raises(InvalidConfigError, match="labels"):
        ReferenceRepresentation(_net(), x).score(_net(), fit=FitSettings(steps=1))
    # RMI-NAS ranks by its mixed loss after the fit: the scorer can too
    fit = FitSettings(steps=5, lr=0.05)
    by_loss = SimilarityScorer(ref, SPACE, 10, 1, init_seed=2, fit=fit, rank_by="rminas_loss")
    res = SimilarityScorer(ref, SPACE, 10, 1, init_seed=2, fit=fit).result((1, 3, 2, 2, 1, 3))
    assert by_loss((1, 3, 2, 2, 1, 3)) == pytest.approx(-res.fit_loss) and res.fit_loss > 0
    with pytest.raises(InvalidConfigError, match="needs the one-batch fit"):
        SimilarityScorer(ref, SPACE, 10, 1, rank_by="rminas_loss")
    with pytest.raises(InvalidConfigError, match="rank_by"):
        SimilarityScorer(ref, SPACE, 10, 1, rank_by="accuracy")


def test_select_batch_takes_lowest_loss_images(batch):
    x, y = batch
    net = _net()
    xs, ys = select_batch(net, x, y, 8)
    assert xs.shape[0] == 8
    with torch.no_grad():
        losses = nn.functional.cross_entropy(net.eval()(x), y, reduction="none")
        assert float(nn.functional.cross_entropy(net(xs), ys, reduction="none").max()) <= float(
            torch.sort(losses).values[7]) + 1e-6


# --- reference models --------------------------------------------------------------------------
def test_reference_train_save_load_and_user_module(tmp_path, batch):
    from raynas.training import TrainingSettings

    x, _ = batch
    ref = train_reference(space_kwargs={"channels": 4, "cells_per_stage": 1}, dataset="digits", limit=300,
                          settings=TrainingSettings(epochs=1))
    assert ref.metadata["dataset"] == "digits" and ref.metadata["arch_str"].startswith("|nor_conv_3x3~0|")
    assert 0 <= ref.metadata["accuracy"] <= 100
    path = save_reference(ref, tmp_path / "ref.pt")
    loaded = load_reference(path)
    assert loaded.metadata == ref.metadata and len(loaded.modules()) == 3
    assert torch.allclose(loaded.model(x), ref.model.eval()(x))
    xb, yb = loaded.batch(batch_size=16)
    assert xb.shape == (16, 1, 8, 8)
    assert loaded.representation(xb, yb).score(loaded.model, train_mode=False).score == pytest.approx(3.0)

    user = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(256, 10))
    uref = from_module(user, ["1", "3"], dataset="digits")
    p2 = save_reference(uref, tmp_path / "user.pt")
    with pytest.raises(InvalidConfigError, match="model="):
        load_reference(p2)
    fresh = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(256, 10))
    again = load_reference(p2, model=fresh)
    assert again.layers == ["1", "3"] and torch.allclose(fresh(x), user(x))
    with pytest.raises(InvalidConfigError, match="no layer"):
        from_module(user, ["missing"])


def test_load_a_users_own_checkpoint(tmp_path, batch):
    x, _ = batch

    def make():
        return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 6, 3, padding=1), nn.ReLU(),
                             nn.Flatten(), nn.Linear(6 * 64, 10))

    torch.manual_seed(3)
    user = make().eval()
    torch.save(user.state_dict(), tmp_path / "plain.pt")
    torch.save({"model": user.state_dict(), "epoch": 7}, tmp_path / "wrapped.pt")
    torch.save(user, tmp_path / "whole.pt")
    for name in ("plain.pt", "wrapped.pt"):
        ref = load_reference(tmp_path / name, model=make(), layers=["1", "3"], dataset="digits")
        assert torch.allclose(ref.model(x), user(x)) and ref.metadata["dataset"] == "digits"
        assert ref.representation(x).score(user, ["1", "3"], train_mode=False).score == pytest.approx(2.0)
    whole = load_reference(tmp_path / "whole.pt", layers=["1", "3"])
    assert torch.allclose(whole.model(x), user(x)) and whole.layers == ["1", "3"]
    with pytest.raises(InvalidConfigError, match="pass model="):
        load_reference(tmp_path / "plain.pt", layers=["1", "3"])
    with pytest.raises(InvalidConfigError, match="do not fit"):
        load_reference(tmp_path / "plain.pt", model=nn.Sequential(nn.Linear(3, 3)), layers=["0"])
    with pytest.raises(InvalidConfigError, match="stage_ends"):
        load_reference(tmp_path / "whole.pt")  # no layers and no stage_ends(): say which are needed
    (tmp_path / "junk.pt").write_text("not a checkpoint")
    with pytest.raises(InvalidConfigError, match="not a readable torch file"):
        load_reference(tmp_path / "junk.pt")


# --- penalty and strategy ----------------------------------------------------------------------
def test_penalty_zero_within_budget_and_growing_with_excess():
    assert hardware_penalty(3.0, 5.0) == 0.0 and hardware_penalty(5.0, 5.0) == 0.0
    assert hardware_penalty(7.5, 5.0) == pytest.approx(0.5)
    assert hardware_penalty(10.0, 5.0, weight=2.0) == pytest.approx(2.0)
    xs = [5.0, 6.0, 8.0, 12.0]
    pens = [hardware_penalty(c, 5.0) for c in xs]
    assert pens == sorted(pens) and pens[1] < pens[2] < pens[3]
    assert hardware_penalty(float("nan"), 5.0) == math.inf
    assert penalised_fitness(2.0, 10.0, 5.0, 1.0) == pytest.approx(1.0)
    assert penalised_fitness(2.0, None, None) == 2.0
    for bad in (0.0, -1.0, float("inf")):
        with pytest.raises(InvalidConfigError, match="budget"):
            hardware_penalty(1.0, bad)


def _cheap_score(arch):
    """A deterministic stand-in for RMI: prefers 3x3 convs."""
    return sum(1.0 if a == 3 else 0.3 * (a == 2) for a in arch) / 6


def _strategy(seed=0, **kw):
    cost = lambda arch: float(sum(a in (2, 3) for a in arch))  # noqa: E731 - number of conv edges
    return SimilarityEvolutionStrategy(SPACE, _cheap_score, cost, kw.pop("budget", 2.0), population_size=8,
                                       sample_size=3, cycles_per_ask=4, seed=seed, **kw)


def test_strategy_is_deterministic_and_restores_state():
    a, b = _strategy(seed=4), _strategy(seed=4)
    asks_a = [a.ask() for _ in range(6)]
    assert asks_a == [b.ask() for _ in range(6)]
    assert len(set(asks_a)) == 6
    assert a.evaluations == a.cycles == 8 + 6 * 4  # warm-up fills the population, then 4 new candidates per ask
    a.tell(asks_a[0], [-0.9, 1.0])
    state = a.state_dict()
    c = _strategy(seed=99)
    c.load_state_dict(state)
    calls = []
    c.score_fn = lambda arch: calls.append(arch) or _cheap_score(arch)
    assert [a.ask() for _ in range(5)] == [c.ask() for _ in range(5)]
    assert c.history.archs == [asks_a[0]] and c.history.values == [(-0.9, 1.0)]
    assert c.pending == a.pending and len(c.pending) == 10
    saved = {tuple(arch) for arch, _ in state["extra"]["records"]}
    assert calls and not any(arch in saved for arch in calls)  # nothing recomputed after restore
    with pytest.raises(InvalidConfigError, match="budget"):
        _strategy(budget=3.0).load_state_dict(state)


def test_strategy_asks_the_fittest_unproposed_architecture():
    s = _strategy(seed=1, budget=100.0)
    first = s.ask()
    assert first == s.best()[0]  # nothing proposed yet: the fittest scored architecture
    second = s.ask()
    assert second != first and second == next(a for a, _ in s.ranked() if a != first)
    fit = [s.records[a]["fitness"] for a, _ in s.ranked()]
    assert fit == sorted(fit, reverse=True)


def test_strategy_validates_its_settings():
    cost = lambda arch: 1.0  # noqa: E731
    with pytest.raises(InvalidConfigError, match="both a cost function and a budget"):
        SimilarityEvolutionStrategy(SPACE, _cheap_score, cost)
    with pytest.raises(InvalidConfigError, match="sample_size"):
        SimilarityEvolutionStrategy(SPACE, _cheap_score, population_size=4, sample_size=5)
    with pytest.raises(InvalidConfigError, match="penalty weight"):
        SimilarityEvolutionStrategy(SPACE, _cheap_score, cost, 1.0, penalty_weight=-1)


def test_penalty_steers_the_search_into_budget():
    free = _strategy(budget=100.0).run(60)
    tight = _strategy(budget=2.0, penalty_weight=10.0).run(60)
    arch_free, _ = free.best()
    arch_tight, rec = tight.best()
    assert sum(a in (2, 3) for a in arch_free) > 2
    assert rec["cost"] <= 2.0 and rec["penalty"] == 0.0


def test_rmi_strategy_and_budget_sweep(batch):
    x, y = batch
    scorer = SimilarityScorer(ReferenceRepresentation(_net(), x, y), SPACE, 10, 1)
    params = params_cost(SPACE, 10, 1)
    budgets = [("params", params((1,) * 6) * 1.01), ("flops", 0.05)]
    costs = {"params": params, "flops": flops_cost(SPACE, (1, 8, 8))}
    rows = budget_sweep(SPACE, scorer, costs, budgets, evaluations=12, population_size=6, sample_size=3)
    assert [r["device"] for r in rows] == ["params", "flops"]
    for r in rows:
        assert r["evaluations"] >= 12 and r["arch_str"].startswith("|") and r["score"] >= 0
    assert rows[0]["within_budget"]
    with pytest.raises(InvalidConfigError, match="no cost function"):
        budget_sweep(SPACE, scorer, costs, [("tpu", 1.0)])


def test_budget_sweep_on_table_devices_shares_scores(data_dir):
    from raynas.hardware import TableDevice

    space = NB201Space()
    devs = {n: TableDevice(n, "nb201", data_dir) for n in ("raspi4", "eyeriss")}
    costs = {n: latency_cost(d, space) for n, d in devs.items()}
    budgets = [(n, float(np.quantile(d.values, 0.2))) for n, d in devs.items()]
    rows = budget_sweep(space, _cheap_score, costs, budgets, evaluations=40, population_size=8, sample_size=3,
                        penalty_weight=10.0)
    for r, (n, budget) in zip(rows, budgets):
        assert r["within_budget"] and r["cost"] <= budget
        assert r["cost"] == devs[n].latency_ms(r["arch_str"])  # the published latency of what it found
    # the similarity does not depend on the device: each architecture was scored once for the sweep
    assert rows[-1]["score_evaluations"] < sum(r["evaluations"] for r in rows)


def test_predicted_latency_as_the_hardware_cost(data_dir):
    from sklearn.linear_model import Ridge

    from raynas.hardware import PredictedDevice, TableDevice

    space = NB201Space()
    table = TableDevice("pixel3", "nb201", data_dir)
    rng = np.random.default_rng(0)
    train = [space.sample(rng) for _ in range(300)]
    encode = lambda archs: np.stack([space.encode_onehot(a) for a in archs])  # noqa: E731
    model = Ridge(alpha=1.0).fit(encode(train), [table.latency_ms(a, space) for a in train])
    dev = PredictedDevice("pixel3_pred", model, encode, "nb201")
    budget = float(np.quantile(table.values, 0.3))
    strat = SimilarityEvolutionStrategy(space, _cheap_score, latency_cost(dev, space), budget, penalty_weight=10.0,
                                        population_size=8, sample_size=3, seed=0).run(40)
    arch, rec = strat.best()
    assert rec["cost"] == pytest.approx(float(model.predict(encode([arch]))[0]))
    assert rec["cost"] <= budget and rec["penalty"] == 0.0
    # the budget binds: without it the search prefers more convolutions (slower on the phone)
    free, _ = SimilarityEvolutionStrategy(space, _cheap_score, seed=0, population_size=8, sample_size=3).run(40).best()
    assert dev.latency_ms(free) > budget


def test_fbnet_candidates_against_an_nb201_reference(batch):
    from raynas.spaces.fbnet import FBNetSpace

    x, y = batch
    fb = FBNetSpace()
    arch = fb.sample(np.random.default_rng(0))
    torch.manual_seed(0)
    net = fb.build(arch, 10, 1)
    assert len(net.stage_ends()) == 7
    self_sim = ReferenceRepresentation(net, x, y).score(net, train_mode=False)
    assert self_sim.score == pytest.approx(7.0, abs=1e-9)
    # an NB201 reference (3 stages) against FBNet candidates (7 stages), matched by relative depth
    scorer = SimilarityScorer(ReferenceRepresentation(_net(), x, y), fb, 10, 1, match="depth")
    r = scorer.result(arch)
    assert len(r.per_stage) == 3 and 0 < r.score < 3
    strat = SimilarityEvolutionStrategy(fb, scorer, params_cost(fb, 10, 1), budget=1.0, population_size=3,
                                        sample_size=2, cycles_per_ask=1, seed=0)
    asked = strat.ask()
    assert len(asked) == 22 and strat.evaluations == 4


# --- Tune ----------------------------------------------------------------------------------------
def test_similarity_search_through_tune(ray_local, tmp_path, batch):
    from ray import tune

    from searchers.similarity import SimilarityEvolutionSearch
    from searchers.spaces import tune_param_space

    x, y = batch
    ref = from_module(_net(), dataset="digits", num_classes=10)
    params = params_cost(SPACE, 10, 1)
    search = SimilarityEvolutionSearch.from_reference(
        ref, SPACE, cost=params, budget=params((2,) * 6), metric=["accuracy", "params"], mode=["max", "min"],
        batch=(x, y), fit=None, population_size=6, sample_size=3, cycles_per_ask=2, seed=0)

    def trainable(config):
        arch = SPACE.from_config(config)
        tune.report({"accuracy": float(sum(arch)), "params": params(arch)})

    tuner = tune.Tuner(trainable, param_space=tune_param_space(SPACE),
                       tune_config=tune.TuneConfig(search_alg=search, num_samples=4, max_concurrent_trials=2,
                                                   reuse_actors=True),
                       run_config=tune.RunConfig(storage_path=str(tmp_path), verbose=0))
    results = tuner.fit()
    assert len(results) == 4 and not results.errors
    strat = search.strategy
    assert len(strat.history) == 4 and len(set(strat.history.archs)) == 4
    told = dict(zip(strat.history.archs, strat.history.values))
    assert all(v == (-float(sum(a)), params(a)) for a, v in told.items())  # accuracy maximised -> negated

    def fresh():
        return SimilarityEvolutionSearch.from_reference(
            ref, SPACE, cost=params, budget=params((2,) * 6), metric=["accuracy", "params"], mode=["max", "min"],
            batch=(x, y), fit=None, population_size=6, sample_size=3, cycles_per_ask=2, seed=7)

    # the state Tune saved in the experiment directory restores the searcher
    from_tune = fresh()
    from_tune.restore_from_dir(results.experiment_path)
    assert len(from_tune.strategy.history) == 4 and from_tune.strategy.records == strat.records
    search.save(str(tmp_path / "s.pkl"))
    again = fresh()
    again.restore(str(tmp_path / "s.pkl"))
    assert again.suggest("t1") == search.suggest("t1") == from_tune.suggest("t1")


def test_searcher_budget_sweep_shares_the_similarity_cache(batch):
    from searchers.similarity import SimilarityEvolutionSearch

    x, y = batch
    ref = from_module(_net(), dataset="digits", num_classes=10)
    scorer = SimilarityEvolutionSearch.scorer(ref, SPACE, batch=(x, y))
    costs = {"params": params_cost(SPACE, 10, 1), "flops": flops_cost(SPACE, (1, 8, 8))}
    pairs = [("params", costs["params"]((2,) * 6)), ("flops", costs["flops"]((2,) * 6))]
    searchers = SimilarityEvolutionSearch.sweep(scorer, SPACE, costs, pairs, metric=["accuracy"], mode=["max"],
                                                population_size=6, sample_size=3, cycles_per_ask=2, seed=0)
    assert list(searchers) == pairs
    for (device, budget), s in searchers.items():
        cfg = s.suggest("t0")
        arch = SPACE.from_config(cfg)
        assert s.strategy.records[arch]["cost"] == costs[device](arch) and s.strategy.budget == budget
    shared = searchers[pairs[0]].strategy.score_fn
    assert shared is searchers[pairs[1]].strategy.score_fn
    assert shared.evaluations < sum(s.strategy.evaluations for s in searchers.values())
    with pytest.raises(InvalidConfigError, match="no cost function"):
        SimilarityEvolutionSearch.sweep(scorer, SPACE, costs, [("tpu", 1.0)])


@pytest.mark.slow
def test_benchmark_script_end_to_end(data_dir, tmp_path):
    import importlib.util
    from pathlib import Path

    import pandas as pd

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "rmi_search.py"
    spec = importlib.util.spec_from_file_location("rmi_search_bench", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    args = ["--data-dir", str(data_dir), "--out", str(tmp_path), "--n-archs", "4", "--epochs", "1",
            "--train-limit", "300", "--eval-size", "200", "--ref-limit", "400", "--ref-epochs", "1",
            "--ref-channels", "8", "--ref-cells", "1", "--candidates", "6", "--fit-steps", "2", "--population", "3",
            "--tournament", "2", "--n-table-devices", "2"]
    assert bench.main(args) == 0
    ranking = pd.read_csv(tmp_path / "ranking.csv")
    assert len(ranking) == 4 and ranking["rmi"].between(0, 3).all() and (ranking["local_ms"] > 0).all()
    search = pd.read_csv(tmp_path / "search.csv")
    assert len(search) == 3 * 3  # 2 table devices + this CPU, 3 scores each
    assert (search["rmi_evals"] == 6).all() and (search["rmi_search_s"] > 0).all()
    assert (search.loc[search.device == search.device.iloc[0], "train_search"] == "measured").all()
    # a second run finds the reference, the trainings and the fitted scores cached
    t0 = len(json.loads((tmp_path / "trained.json").read_text())["data"])
    assert bench.main(args + ["--skip-search"]) == 0
    assert len(json.loads((tmp_path / "trained.json").read_text())["data"]) == t0
