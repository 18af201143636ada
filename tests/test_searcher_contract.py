"""The Tune searcher contract every raynas searcher keeps, on a user's own param_space and model.

Like Tune's ``OptunaSearch``: the space may come from the Tuner's ``param_space``, metric/mode from
``TuneConfig``, ``points_to_evaluate``/``evaluated_rewards`` work, ``Repeater`` and
``ConcurrencyLimiter`` work, and a trial a scheduler stopped is never learned as complete, without
any custom result key.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch.nn as nn

from raynas.errors import InvalidConfigError
from raynas.spaces import Categorical, Fixed, Integer, ParamSpace
from raynas.strategies import Moves, Warmup
from searchers import AgingEvolutionSearch, OptunaStrategySearch, RandomSearch, Repeater, ZeroCostSearch
from searchers.predictor import PredictorSearch

METRIC, MODE = ["accuracy", "latency_ms"], ["max", "min"]
SMALL_ZC = {"warmup": {"candidates": 40, "size": 3, "networks": 20}, "model": {"min_fit": 4}}


def build_cnn(config: dict) -> nn.Module:
    """A CNN family: depth, width, kernel and activation from the config (the lr is the trainer's)."""
    act = {"relu": nn.ReLU, "gelu": nn.GELU}[config["act"]]
    layers, c = [], 1
    for _ in range(config["depth"]):
        layers += [nn.Conv2d(c, config["width"], config["kernel"], padding="same"), act()]
        c = config["width"]
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, 10))


def param_space():
    from ray import tune

    return {"depth": tune.randint(1, 4), "width": tune.choice([4, 8, 16]), "kernel": tune.choice([3, 5]),
            "act": tune.choice(["relu", "gelu"]), "optim": {"lr": tune.loguniform(1e-4, 1e-1)}, "epochs": 3}


def fake_metrics(config: dict) -> dict:
    """Deterministic stand-in for training: wider/deeper is more accurate and slower; lr near 1e-2 best."""
    size = config["depth"] * config["width"] * config["kernel"] ** 2
    acc = 50 + 10 * math.log(size) - 5 * abs(math.log10(config["optim"]["lr"]) + 2)
    return {"accuracy": acc, "latency_ms": 0.01 * size}


def trainable(config: dict) -> None:
    from ray import tune

    m = fake_metrics(config)
    for epoch in range(1, config["epochs"] + 1):
        tune.report({"accuracy": m["accuracy"] * epoch / config["epochs"], "latency_ms": m["latency_ms"]})


def run_tune(search_alg, num_samples, tmp_path, param_space_=None, scheduler=None, metric=None, mode=None):
    from ray import tune

    from searchers.experiment import tune_settings

    tuner = tune.Tuner(trainable, param_space=param_space_ if param_space_ is not None else param_space(),
                       tune_config=tune.TuneConfig(search_alg=search_alg, scheduler=scheduler, num_samples=num_samples,
                                                   metric=metric, mode=mode, reuse_actors=True),
                       run_config=tune.RunConfig(storage_path=str(tmp_path), name="contract", verbose=0))
    with tune_settings():
        return tuner.fit()


# --- spaces from param_space -------------------------------------------------------------------------
def test_param_space_becomes_a_mixed_space():
    from searchers.spaces import space_from_param_space, tune_param_space

    space = space_from_param_space(param_space(), model_fn=build_cnn, example_inputs=(1, 28, 28))
    kinds = {d.name: d.kind for d in space.dimensions}
    assert kinds == {"depth": "integer", "width": "categorical", "kernel": "categorical", "act": "categorical",
                     "optim/lr": "float"}
    assert space.dimensions[0] == Integer(1, 3, name="depth")  # tune.randint's upper bound is exclusive
    rng = np.random.default_rng(0)
    for _ in range(20):
        cfg = space.to_config(space.sample(rng))
        assert cfg["epochs"] == 3 and 1e-4 <= cfg["optim"]["lr"] <= 1e-1 and cfg["width"] in (4, 8, 16)
        assert space.from_config(cfg) == space.from_config(space.to_config(space.from_config(cfg)))
    model = space.build(space.sample(rng))
    assert isinstance(model, nn.Module) and space.input_shape == (1, 28, 28)
    archs = space.sample_many(rng, 400)  # a dimension at a time: valid, every value reached, Python numbers
    assert all(space.validate(a) == a and all(type(x) in (int, float) for x in a) for a in archs)
    assert {a[0] for a in archs} == {1, 2, 3} and len({a[1] for a in archs}) == 3
    assert 1e-4 <= min(a[4] for a in archs) < 1e-3 and 1e-2 < max(a[4] for a in archs) <= 1e-1
    archs = archs[:30]
    np.testing.assert_array_equal(space.encode_many(archs), np.stack([space.encode(a) for a in archs]))
    assert space.encode_many(archs).shape == (30, 1 + 3 + 2 + 2 + 1)  # depth; width, kernel, act one-hot; lr
    back = space_from_param_space(tune_param_space(space))
    assert [d for d in back.dimensions] == [d for d in space.dimensions]


def test_choices_of_lists_and_dicts_are_searched_and_handed_out_as_copies():
    """tune.choice([[32, 64], [64, 128]]) -- widths per stage -- works in Tune's own random search
    and OptunaSearch; a raynas searcher takes it too, and a trial mutating its config leaves the
    space alone."""
    from ray import tune

    from searchers.spaces import space_from_param_space

    widths, optims = [[4, 8], [8, 16], [16, 16]], [{"name": "sgd", "momentum": 0.9}, {"name": "adam"}]
    ps = {"widths": tune.choice(widths), "optim": tune.choice(optims), "depth": tune.randint(1, 3)}
    space = space_from_param_space(ps)
    rng = np.random.default_rng(0)
    seen = set()
    for _ in range(30):
        cfg = space.to_config(space.sample(rng))
        assert cfg["widths"] in widths and cfg["optim"] in optims
        assert space.from_config(cfg) == space.from_config(space.to_config(space.from_config(cfg)))
        seen.add((widths.index(cfg["widths"]), optims.index(cfg["optim"])))
        cfg["widths"].append(99)
        cfg["optim"]["name"] = "changed"
    assert len(seen) == 6 and space.dimensions[0].values == tuple(widths)
    s = RandomSearch(ps, METRIC, MODE, points_to_evaluate=[{"widths": [8, 16], "optim": {"name": "adam"}, "depth": 2}],
                     seed=0)
    first = s.suggest("t0")
    assert first["widths"] == [8, 16] and first["optim"] == {"name": "adam"}
    with pytest.raises(InvalidConfigError, match=r"'widths' repeats a value: \[\[4, 8\], \[4, 8\]\]"):
        space_from_param_space({"widths": tune.choice([[4, 8], [4, 8]])})


def test_searchers_take_the_tuners_param_space_and_metric(ray_local, tmp_path):
    search = ZeroCostSearch(model_fn=build_cnn, example_inputs=(1, 28, 28), seed=0, proxy_workers=0, **SMALL_ZC)
    grid = run_tune(search, 8, tmp_path, metric="accuracy", mode="max")
    configs = [r.config for r in grid]
    assert len(configs) == 8 and all(isinstance(c["optim"]["lr"], float) and c["epochs"] == 3 for c in configs)
    assert [o.metric for o in search.objectives] == ["accuracy"] and search.objectives[0].role == "quality"
    assert len(search.strategy.history) == 8 and np.isfinite(search.strategy.history.matrix()).all()


@pytest.mark.parametrize("cls", [ZeroCostSearch, PredictorSearch, AgingEvolutionSearch, RandomSearch,
                                 OptunaStrategySearch])
def test_every_searcher_searches_a_param_space_with_three_objectives(cls):
    from searchers.spaces import space_from_param_space

    kw = {**SMALL_ZC, "proxy_workers": 0} if cls is ZeroCostSearch else {}
    s = cls(param_space(), METRIC + ["params"], MODE + ["min"], model_fn=build_cnn, example_inputs=(1, 28, 28),
            seed=1, **kw) if cls in (ZeroCostSearch, PredictorSearch) else \
        cls(space_from_param_space(param_space()), METRIC + ["params"], MODE + ["min"], seed=1)
    assert [o.role for o in s.objectives] == ["quality", "cost", "cost"]
    seen = []
    for i in range(12):
        cfg = s.suggest(f"t{i}")
        seen.append(s.space.from_config(cfg))
        s.on_trial_complete(f"t{i}", {**fake_metrics(cfg), "params": cfg["width"] * cfg["depth"]})
    assert len(set(seen)) == 12 and len(s.strategy.history) == 12


def test_refine_moves_only_the_keys_the_network_ignores_and_scores_no_network():
    """``Moves(refine=k)``: after a candidate is chosen, its learning rate (a key the network does not
    depend on) is moved where the learned model expects more hypervolume: the acquisition value never
    drops, the other keys stay, no network is scored for it; off, or before the model is in use, the
    candidate is returned as it is. Whether it finds better learning rates is the benchmark's
    question (``benchmarks/byo_search.py``), not this test's."""
    from raynas.spaces import NB201Space
    from raynas.strategies import ZeroCostStrategy
    from raynas.strategies.parts import free_dimensions

    s = ZeroCostSearch(param_space(), METRIC, MODE, model_fn=build_cnn, example_inputs=(1, 28, 28), seed=0,
                       proxy_workers=0, **SMALL_ZC, moves={"refine": 3})
    strategy = s.strategy
    lr = free_dimensions(strategy.space)
    assert [strategy.space.dimensions[i].name for i in lr] == ["optim/lr"]
    arch = strategy.space.sample(np.random.default_rng(7))
    assert strategy._refine(arch) == arch  # nothing told: no model to refine on
    _ask_and_tell(s, 12)
    strategy._posterior([arch])  # its network scored
    networks = dict(strategy.estimate_evaluations)
    better = strategy._refine(arch)
    assert strategy.estimate_evaluations == networks and better != arch
    est, sd, post = strategy._posterior([arch, better])
    gain = strategy._gains(post, est, sd)
    i = lr[0]
    assert gain[1] >= gain[0] and better[:i] + better[i + 1:] == arch[:i] + arch[i + 1:]
    strategy.moves = Moves(refine=0)
    assert strategy._refine(arch) == arch
    assert free_dimensions(ZeroCostStrategy(NB201Space(), ["params"], ["flops"], seed=0).space) == []


def _ask_and_tell(searcher, n: int) -> list[dict]:
    configs = []
    for i in range(n):
        config = searcher.suggest(f"t{i}")
        searcher.on_trial_complete(f"t{i}", fake_metrics(config))
        configs.append(config)
    return configs


@pytest.mark.parametrize("make", ["zero_cost", "predictor"])
def test_a_restored_searcher_keeps_its_networks_scores_and_continues_the_same_search(make, tmp_path):
    """Tune restores a searcher into a fresh instance: the zero-cost scores travel with its state,
    so no network is computed again, and the next suggestion is the one the original would make."""
    def build():
        kw = dict(model_fn=build_cnn, example_inputs=(1, 8, 8), seed=0, proxy_workers=0)
        if make == "predictor":
            return PredictorSearch(param_space(), METRIC, MODE, pool_size=32, **kw)
        return ZeroCostSearch(param_space(), METRIC, MODE, **SMALL_ZC, **kw)

    s = build()
    _ask_and_tell(s, 8)
    computed = s.scores.evaluations
    assert computed > 0
    s.save(str(tmp_path / "searcher.pkl"))
    other = build()  # the same search, nothing scored yet
    other.restore(str(tmp_path / "searcher.pkl"))
    assert other.suggest("t-next") == s.suggest("t-next")
    assert other.scores.evaluations == s.scores.evaluations  # no network computed twice: they came with the state


def test_example_inputs_of_the_wrong_shape_stop_the_search_with_the_reason():
    """A batch dimension given in an input shape makes every network fail: said at the warm-up, not
    as a search steered by NaN."""
    s = ZeroCostSearch(param_space(), METRIC, MODE, model_fn=build_cnn, example_inputs=(1, 1, 28, 28), seed=0,
                       proxy_workers=0, **SMALL_ZC)
    with pytest.raises(InvalidConfigError,
                       match=r"failed on all 20 configurations scored first.*\(1, 1, 28, 28\).*example_inputs"):
        _ask_and_tell(s, 3)


def test_predictor_search_with_inputs_of_the_wrong_shape_stops_at_its_first_networks():
    s = PredictorSearch(param_space(), METRIC, MODE, model_fn=build_cnn, example_inputs=(1, 1, 8, 8), seed=0,
                        pool_size=16, proxy_workers=0)  # scored on demand (in the background: once they arrive)
    with pytest.raises(InvalidConfigError, match=r"failed on all 16 configurations.*\(1, 1, 8, 8\)"):
        _ask_and_tell(s, 1)


def test_a_forest_given_as_regressor_reads_its_spread_from_its_trees_not_bootstrap_copies():
    """...and, taking several target columns, is one model of both objectives (one fit per
    suggestion); a single-output regressor gets one model per objective."""
    from raynas.predictors import ForestPredictor, TreePredictor

    def models(regressor):
        s = PredictorSearch(param_space(), METRIC, MODE, model_fn=build_cnn, example_inputs=(1, 28, 28),
                            regressor=regressor, seed=0)
        return [(m.n_boot, m.outputs) for m in s.strategy.models]

    assert models(ForestPredictor(n_estimators=10)) == [(1, 2)]
    assert models(TreePredictor(max_iter=5)) == [(5, 1), (5, 1)]


@pytest.mark.parametrize("option, match", [("proxy", "unknown option 'proxy' .did you mean 'proxies'"),
                                           ("pool", "unknown option 'pool' .did you mean 'pool_size'"),
                                           ("zzz", "unknown option 'zzz'$")])
def test_predictor_search_refuses_an_unknown_option_at_once(option, match):
    """Without a space the strategy is built only when Tune hands over param_space; a misspelled
    option must not wait until then."""
    with pytest.raises(InvalidConfigError, match=match):
        PredictorSearch(metric=METRIC, mode=MODE, model_fn=build_cnn, example_inputs=(1, 8, 8), **{option: 1})


@pytest.mark.parametrize("bad, match", [("1,28,28", "example_inputs must be a batch.*'1,28,28'"),
                                        ((1, 0, 28), r"example_inputs shape \(1, 0, 28\) has a size below 1"),
                                        (3.0, "example_inputs must be a batch")])
def test_example_inputs_in_no_accepted_form_are_refused_at_once(bad, match):
    with pytest.raises(InvalidConfigError, match=match):
        ZeroCostSearch(param_space(), METRIC, MODE, model_fn=build_cnn, example_inputs=bad)


def test_a_model_fn_returning_no_module_is_named_at_once():
    s = ZeroCostSearch(param_space(), METRIC, MODE, model_fn=lambda config: None, example_inputs=(1, 8, 8),
                       seed=0, proxy_workers=0, **SMALL_ZC)
    with pytest.raises(InvalidConfigError, match="model_fn returned NoneType for .* not a torch.nn.Module"):
        _ask_and_tell(s, 1)


def test_a_model_fn_refusing_some_configurations_is_searched_around(caplog):
    def refuses_depth_three(config):
        if config["depth"] == 3:
            raise ValueError(f"depth {config['depth']} is not supported")
        return build_cnn(config)

    s = ZeroCostSearch(param_space(), METRIC, MODE, model_fn=refuses_depth_three, example_inputs=(1, 8, 8), seed=0,
                       proxy_workers=0, **SMALL_ZC)
    with caplog.at_level("WARNING", logger="raynas"):
        configs = _ask_and_tell(s, 10)
    assert len(configs) == 10
    assert any("could not be built" in r.getMessage() and "depth 3 is not supported" in r.getMessage()
               for r in caplog.records)
    assert sorted(s.space.model_dimensions()) == ["act", "depth", "kernel", "width"]


def test_a_model_fn_that_never_builds_is_refused_with_its_error():
    def broken(config):
        raise ValueError("no such layer")

    s = ZeroCostSearch(param_space(), METRIC, MODE, model_fn=broken, example_inputs=(1, 8, 8), seed=0,
                       proxy_workers=0, **SMALL_ZC)
    with pytest.raises(InvalidConfigError, match="model_fn failed on all 20 sampled configurations.*no such layer"):
        _ask_and_tell(s, 1)


def test_a_strategy_on_a_param_space_scores_networks_with_its_example_inputs():
    from raynas.strategies import ZeroCostStrategy
    from searchers.spaces import space_from_param_space

    space = space_from_param_space(param_space(), model_fn=build_cnn, example_inputs=(1, 8, 8))
    strategy = ZeroCostStrategy(space, seed=0, warmup=Warmup(candidates=30, size=2, networks=10))
    arch = strategy.ask()
    assert np.isfinite(strategy.scores.scores([arch])).all()
    assert strategy.proxy.table.input_shape == (1, 8, 8)


def test_predictor_strategy_refines_with_the_same_part_and_only_the_free_keys():
    """``PredictorStrategy(refine=k)`` uses the shared :func:`raynas.strategies.parts.refine`: from
    the same state it proposes the same network as without (so no other network is scored), with
    its learning rate moved."""
    import copy

    s = PredictorSearch(param_space(), METRIC, MODE, model_fn=build_cnn, example_inputs=(1, 8, 8), seed=0,
                        pool_size=32, proxy_workers=0)  # scores on demand: both copies see the same candidates
    _ask_and_tell(s, 12)
    plain = s.strategy
    moved = 0
    for _ in range(4):
        refined = copy.deepcopy(plain)
        refined.refine = 3
        a, b = plain.ask(), refined.ask()
        free = refined.space.dimensions.index(next(d for d in refined.space.dimensions if d.name == "optim/lr"))
        assert a[:free] + a[free + 1:] == b[:free] + b[free + 1:]
        assert refined.space.network_key(a) == refined.space.network_key(b)  # one network: its scores are cached
        moved += a != b
        m = fake_metrics(plain.space.to_config(a))
        plain.tell(a, [-m["accuracy"], m["latency_ms"]])
    assert moved >= 1


def test_a_hardware_device_estimates_a_cost_once_per_network():
    """``cost={"latency_ms": LocalDevice()}``: each network is timed on this CPU with the space's own
    input shape, once; configurations differing only in the learning rate share the timing."""
    from raynas.hardware import LocalDevice
    from raynas.strategies.scorers import DeviceScorer

    s = ZeroCostSearch(param_space(), METRIC, MODE, model_fn=build_cnn, example_inputs=(1, 8, 8), seed=0,
                       proxy_workers=0, cost={"latency_ms": LocalDevice(warmup=1, repeats=3)}, **SMALL_ZC)
    _ask_and_tell(s, 6)
    scorer = s.strategy.scores.costs[0]
    assert isinstance(scorer, DeviceScorer)
    arch = s.strategy.history.archs[0]
    lr = s.strategy.space.dimensions.index(next(d for d in s.strategy.space.dimensions if d.name == "optim/lr"))
    other_lr = arch[:lr] + (arch[lr] * 1.5,) + arch[lr + 1:]
    timed = scorer.evaluations
    values = scorer.score_many([arch, other_lr])
    assert values[0] == values[1] > 0 and scorer.evaluations == timed
    assert timed == len(scorer.cache) <= 3 * 3 * 2 * 2


def test_a_published_table_device_is_read_not_timed(data_dir):
    from raynas.hardware import TableDevice
    from raynas.spaces import NB201Space
    from raynas.strategies import ZeroCostStrategy

    device = TableDevice("pixel3", data_dir=data_dir)
    space = NB201Space()
    strategy = ZeroCostStrategy(space, cost=device, seed=0, warmup=Warmup(candidates=20, size=2, networks=10))
    archs = [space.sample(np.random.default_rng(i)) for i in range(5)]
    np.testing.assert_array_equal(strategy.scores.scores(archs)[:, -1], [device.latency_ms(a, space) for a in archs])


def test_a_param_space_the_given_space_does_not_cover_is_refused():
    from ray import tune

    from raynas.spaces import NB201Space

    s = RandomSearch(NB201Space(), METRIC, MODE)
    with pytest.raises(InvalidConfigError, match="'lr'.*space=None"):
        s.set_search_properties(None, None, {"edge_10": tune.choice(["none"]), "lr": tune.loguniform(1e-4, 1e-1)})
    assert s.set_search_properties(None, None, {"lr": 0.01}) is True  # a fixed value passes through


def test_search_domains_inside_a_list_are_searched_entry_by_entry():
    """Tune's random search resolves {"layers": [tune.choice(...), ...]}; so does a raynas searcher:
    each entry is a dimension ("layers/0"), the trainable gets a list of values (a tuple stays a tuple)."""
    from ray import tune

    from raynas.spaces import NB201Space
    from searchers.spaces import space_from_param_space, tune_param_space

    ps = {"net": {"layers": [tune.choice([16, 32]), {"act": tune.choice(["relu", "gelu"])}, 7],
                  "kernels": (tune.choice([3, 5]), 1)},
          "sizes": [1, 2], "lr": tune.loguniform(1e-4, 1e-1)}
    space = space_from_param_space(ps)
    assert space.names == ["net/layers/0", "net/layers/1/act", "net/kernels/0", "lr"]
    seen = set()
    for seed in range(6):
        cfg = RandomSearch(ps, METRIC, MODE, seed=seed).suggest("t")
        layers, kernels = cfg["net"]["layers"], cfg["net"]["kernels"]
        assert type(layers) is list and layers[0] in (16, 32) and layers[2] == 7
        assert layers[1]["act"] in ("relu", "gelu")
        assert type(kernels) is tuple and kernels[0] in (3, 5) and kernels[1] == 1 and cfg["sizes"] == [1, 2]
        seen.add((layers[0], layers[1]["act"], kernels[0]))
        assert space.to_config(space.from_config(cfg)) == cfg  # read back whole, as results and points are
    assert len(seen) > 2
    # a partial point may give a list entry by position; the rest is drawn
    arch = space.complete({"net": {"layers": [32]}}, np.random.default_rng(0))
    assert space.to_config(arch)["net"]["layers"][0] == 32
    # the Tune param_space of such a space has the lists back, with domains inside
    back = tune_param_space(space)["net"]
    assert type(back["layers"]) is list and back["layers"][2] == 7 and back["layers"][0].categories == [16, 32]
    # a given space that lacks a list's entries refuses the param_space by the entry's path
    s = RandomSearch(NB201Space(), METRIC, MODE)
    with pytest.raises(InvalidConfigError, match=r"param_space\['net/layers/0'\] is a search domain"):
        s.set_search_properties(None, None, {"net": {"layers": [tune.choice([1, 2])]}})


def test_items_are_searched_position_by_position_in_a_raynas_space():
    from raynas.spaces import Items

    space = ParamSpace({"stages": Items([Items([Categorical([4, 8]), 3], tuple), {"w": Integer(1, 2)}]), "lr": 0.1})
    assert space.names == ["stages/0/0", "stages/1/w"]
    assert space.to_config((1, 2)) == {"stages": [(8, 3), {"w": 2}], "lr": 0.1}
    assert space.from_config({"stages": [(8, 3), {"w": 2}]}) == (1, 2)
    assert space.from_config({"stages/0/0": 4, "stages/1/w": 1}) == (0, 1)  # flat, as Tune's result columns
    assert ParamSpace(space.param_space()).to_config((1, 2)) == space.to_config((1, 2))
    with pytest.raises(InvalidConfigError, match="kind must be list or tuple, got <class 'set'>"):
        Items([1], set)
    fixed = ParamSpace({"w": Categorical([1, 2]), "sizes": Fixed([1, 2])})
    cfg = fixed.to_config((0,))
    cfg["sizes"].append(3)  # a trial changing its config leaves the space's fixed value alone
    assert fixed.to_config((0,)) == {"w": 1, "sizes": [1, 2]}


def build_stages(config: dict) -> nn.Module:
    layers, c = [], 1
    for width in config["widths"]:
        layers += [nn.Conv2d(c, width, config["kernel"], padding="same"), nn.ReLU()]
        c = width
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, 10))


def stages_trainable(config: dict) -> None:
    from ray import tune

    assert type(config["widths"]) is list and all(isinstance(w, int) for w in config["widths"]), config
    size = sum(config["widths"]) * config["kernel"] ** 2
    tune.report({"accuracy": 50 + 10 * math.log(size), "latency_ms": 0.01 * size})


@pytest.mark.parametrize("cls", [ZeroCostSearch, PredictorSearch, AgingEvolutionSearch, RandomSearch,
                                 OptunaStrategySearch])
def test_every_searcher_searches_a_list_of_domains(cls):
    from ray import tune

    ps = {"widths": [tune.choice([4, 8]), tune.choice([8, 16])], "kernel": tune.choice([3, 5]),
          "lr": tune.loguniform(1e-3, 1e-1)}
    kw = {**SMALL_ZC, "proxy_workers": 0} if cls is ZeroCostSearch else {}
    if cls in (ZeroCostSearch, PredictorSearch):
        kw.update(model_fn=build_stages, example_inputs=(1, 12, 12))
    s = cls(ps, METRIC, MODE, seed=2, **kw)
    seen = []
    for i in range(8):
        cfg = s.suggest(f"t{i}")
        assert type(cfg["widths"]) is list and cfg["widths"][0] in (4, 8) and cfg["widths"][1] in (8, 16)
        seen.append(s.space.from_config(cfg))
        size = sum(cfg["widths"]) * cfg["kernel"] ** 2
        s.on_trial_complete(f"t{i}", {"accuracy": 50 + 10 * math.log(size), "latency_ms": 0.01 * size})
    assert len(set(seen)) == 8 and len(s.strategy.history) == 8


def test_a_list_of_domains_reaches_the_trainable_resolved_through_tune(ray_local, tmp_path):
    from ray import tune

    from searchers.experiment import tune_settings

    search = ZeroCostSearch(metric=METRIC, mode=MODE, model_fn=build_stages, example_inputs=(1, 12, 12), seed=0,
                            proxy_workers=0, **SMALL_ZC)
    ps = {"widths": [tune.choice([4, 8]), tune.choice([8, 16]), 4], "kernel": tune.choice([3, 5])}
    tuner = tune.Tuner(stages_trainable, param_space=ps,
                       tune_config=tune.TuneConfig(search_alg=search, num_samples=6),
                       run_config=tune.RunConfig(storage_path=str(tmp_path), name="lists", verbose=0))
    with tune_settings():
        grid = tuner.fit()
    assert len(grid) == 6 and not grid.errors
    widths = [r.config["widths"] for r in grid]
    assert all(w[0] in (4, 8) and w[1] in (8, 16) and w[2] == 4 for w in widths)
    assert search.strategy.space.names == ["widths/0", "widths/1", "kernel"] and len(search.strategy.history) == 6


def test_a_finite_space_finishes_after_every_configuration():
    space = ParamSpace({"a": Categorical([1, 2, 3]), "b": Integer(0, 1)})
    s = RandomSearch(space, "score", "max", seed=0)
    asked = []
    for i in range(10):
        cfg = s.suggest(f"t{i}")
        if cfg == s.FINISHED:
            break
        asked.append(space.from_config(cfg))
        s.on_trial_complete(f"t{i}", {"score": cfg["a"]})
    assert len(asked) == 6 == len(set(asked)) and s.suggest("again") == s.FINISHED


# --- points to evaluate -------------------------------------------------------------------------------
def test_points_to_evaluate_first_and_evaluated_rewards_told_without_running():
    from searchers.spaces import space_from_param_space

    space = space_from_param_space(param_space())
    p1 = {"depth": 2, "width": 8, "kernel": 3, "act": "relu", "optim": {"lr": 0.01}}
    p2 = {"depth": 3, "width": 16, "kernel": 5, "act": "gelu", "optim": {"lr": 0.001}}
    s = AgingEvolutionSearch(space, METRIC, MODE, points_to_evaluate=[p1, p2], seed=0)
    first = s.suggest("t0")
    assert {k: first[k] for k in p1} == p1 and s.suggest("t1")["depth"] == 3
    told = AgingEvolutionSearch(space, METRIC, MODE, points_to_evaluate=[p1, p2],
                                evaluated_rewards=[[80.0, 1.0], {"accuracy": 90.0, "latency_ms": 2.0}], seed=0)
    assert told.strategy.history.values == [(-80.0, 1.0), (-90.0, 2.0)]
    assert told.space.from_config(told.suggest("t0")) not in told.strategy.history
    with pytest.raises(InvalidConfigError, match="evaluated_rewards"):
        AgingEvolutionSearch(space, METRIC, MODE, points_to_evaluate=[p1], evaluated_rewards=[1, 2])
    with pytest.raises(InvalidConfigError, match="depth"):  # a reward belongs to one whole configuration
        AgingEvolutionSearch(space, METRIC, MODE, points_to_evaluate=[{"width": 8}], evaluated_rewards=[[80.0, 1.0]])


def test_a_partial_point_gets_the_rest_drawn_and_a_misspelled_key_is_refused():
    """Tune (and OptunaSearch) let points_to_evaluate leave keys out; the rest are drawn, the same
    way every time. A misspelled key would be silently drawn at random, so it is named."""
    from searchers.spaces import space_from_param_space

    space = space_from_param_space(param_space())
    configs = []
    for _ in range(2):
        s = RandomSearch(space, METRIC, MODE, points_to_evaluate=[{"width": 8, "optim": {"lr": 0.01}}, {"kernel": 5}],
                         seed=0)
        configs.append([s.suggest("t0"), s.suggest("t1")])
    (a, b), again = configs
    assert a["width"] == 8 and a["optim"]["lr"] == 0.01 and b["kernel"] == 5 and a["epochs"] == 3
    assert space.from_config(a) != space.from_config(b) and configs[1] == [a, b]
    flat = RandomSearch(space, METRIC, MODE, points_to_evaluate=[{"optim/lr": 0.01, "width": 8}], seed=0).suggest("t")
    assert flat["optim"]["lr"] == 0.01 and flat["width"] == 8  # a flat point, as from_config reads one
    with pytest.raises(InvalidConfigError, match=r"\['widht'\] not in the space"):
        RandomSearch(space, METRIC, MODE, points_to_evaluate=[{"widht": 8}])
    with pytest.raises(InvalidConfigError, match=r"\['optim/lrr'\] not in the space"):
        RandomSearch(space, METRIC, MODE, points_to_evaluate=[{"width": 8, "optim": {"lrr": 0.1}}])


# --- fidelity without custom keys ---------------------------------------------------------------------
def drive(searcher, trial_id, reports, stopped):
    """Tune's calls for one trial: ``reports`` iterations passed to on_trial_result, then its end --
    a repeat of the last result when it ended by itself, one more result when a scheduler stopped it."""
    cfg = searcher.suggest(trial_id)
    m = fake_metrics(cfg)
    for t in range(1, reports + 1):
        searcher.on_trial_result(trial_id, {**m, "training_iteration": t})
    last = reports + 1 if stopped else reports
    searcher.on_trial_complete(trial_id, {**m, "training_iteration": last, "done": True})
    return searcher.space.from_config(cfg)


def test_trials_stopped_by_a_scheduler_are_never_learned_as_complete():
    from searchers.spaces import space_from_param_space

    s = RandomSearch(space_from_param_space(param_space()), METRIC, MODE, seed=0)
    drive(s, "a", reports=2, stopped=False)  # ended by itself after 2 iterations: complete
    assert math.isfinite(s.strategy.history.values[-1][0])
    drive(s, "b", reports=0, stopped=True)  # stopped at iteration 1 < 2: truncated, latency kept
    assert s.strategy.history.values[-1][0] == math.inf and math.isfinite(s.strategy.history.values[-1][1])
    drive(s, "c", reports=1, stopped=True)  # stopped at 2, the full budget seen: complete
    assert math.isfinite(s.strategy.history.values[-1][0])
    assert s.stopped_early == 1


def test_the_top_rung_is_inferred_when_no_trial_ends_by_itself():
    """ASHA stops even the trials that reach max_t: a trial stopped at the highest iteration seen is
    held back until a second one stops there too (the budget), or one goes further (truncated)."""
    from searchers.spaces import space_from_param_space

    s = RandomSearch(space_from_param_space(param_space()), METRIC, MODE, seed=0)
    drive(s, "a", reports=2, stopped=True)  # stopped at 3: unknown yet
    assert len(s.strategy.history) == 0
    drive(s, "b", reports=0, stopped=True)  # stopped at 1 while a trial continued past 1: truncated
    assert s.strategy.history.values[-1][0] == math.inf
    drive(s, "c", reports=2, stopped=True)  # a second trial stopped at 3: that is the budget
    assert len(s.strategy.history) == 3
    assert sum(math.isfinite(v[0]) for v in s.strategy.history.values) == 2
    held = RandomSearch(s.space, METRIC, MODE, seed=0)
    drive(held, "x", reports=1, stopped=True)  # stopped at 2 ...
    drive(held, "y", reports=4, stopped=True)  # ... but y continued past 2: x was truncated
    assert held.strategy.history.values[0][0] == math.inf
    known = RandomSearch(s.space, METRIC, MODE, seed=0, max_t=3)
    drive(known, "k", reports=2, stopped=True)
    assert math.isfinite(known.strategy.history.values[0][0])  # max_t known: complete at once


def test_asha_through_tune_without_custom_keys(ray_local, tmp_path):
    from ray.tune.schedulers import ASHAScheduler

    search = RandomSearch(metric=METRIC, mode=MODE, seed=2)
    run_tune(search, 16, tmp_path,
             scheduler=ASHAScheduler(metric="accuracy", mode="max", max_t=3, grace_period=1, reduction_factor=3))
    finite = np.isfinite(search.strategy.history.matrix()[:, 0])
    assert search.stopped_early > 0 and finite.any()
    assert search.completed + len(search._deferred) == 16
    assert (~finite).sum() == search.stopped_early  # every truncated trial's accuracy is unknown


# --- wrappers --------------------------------------------------------------------------------------
def test_repeater_averages_every_metric(ray_local, tmp_path):
    search = RandomSearch(metric=METRIC, mode=MODE, seed=3)
    run_tune(Repeater(search, repeat=2), 6, tmp_path)
    assert len(search.strategy.history) == 3 and np.isfinite(search.strategy.history.matrix()).all()


def test_tunes_own_repeater_with_several_metrics_is_explained():
    from ray.tune.search import Repeater as TuneRepeater

    from searchers.spaces import space_from_param_space

    s = RandomSearch(space_from_param_space(param_space()), METRIC, MODE, seed=0)
    r = TuneRepeater(s, repeat=1)
    cfg = r.suggest("t0")
    with pytest.raises(InvalidConfigError, match="searchers.Repeater"):
        r.on_trial_complete("t0", fake_metrics(cfg))


def test_concurrency_limiter_and_zero_cost_warmup_in_the_background(ray_local, tmp_path):
    """Inside a Ray session the warm-up's networks are scored by Ray tasks: the first suggestion does
    not wait for them, and the search still learns from every trial."""
    from ray import tune

    search = ZeroCostSearch(metric=METRIC, mode=MODE, model_fn=build_cnn, example_inputs=(1, 28, 28), seed=0,
                            warmup=Warmup(200, 4, networks=100), proxy_workers=2)
    search.set_search_properties(None, None, param_space())
    search.scores.inline_s = 0  # these networks are quick enough to be scored on the driver otherwise
    first = search.suggest("probe")
    assert first is not None and search.scores.pending > 0  # scores still on their way
    search.on_trial_complete("probe", {**fake_metrics(first), "training_iteration": 3})
    run_tune(tune.search.ConcurrencyLimiter(search, 2), 10, tmp_path)
    assert len(search.strategy.history) == 11
    # configurations that differ only in the learning rate share one network's scores: at most the
    # 3 x 3 x 2 x 2 = 36 distinct networks are ever scored (instant trials may outrun all of them on
    # a loaded machine, so what arrived and what is still on its way are counted together)
    assert search.space.model_dimensions() == ["depth", "width", "kernel", "act"]
    assert 0 < search.proxy_evaluations["proxy"] + search.scores.pending <= 36


def test_tuner_metric_may_repeat_the_searchers_metric_list():
    s = ZeroCostSearch(param_space(), METRIC, MODE, model_fn=build_cnn, example_inputs=(1, 8, 8), proxy_workers=0,
                       seed=0)
    assert s.set_search_properties(METRIC, MODE, {})
    with pytest.raises(InvalidConfigError, match="'min' for 'accuracy' contradicts"):
        s.set_search_properties(METRIC, ["min", "min"], {})
    with pytest.raises(InvalidConfigError, match="'params' is not one of"):
        s.set_search_properties(["params"], ["min"], {})
