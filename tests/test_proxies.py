"""Zero-cost proxies: agreement with the peer implementation, pass sharing, model restoration,
robustness (none ops, no BatchNorm, user models, NaN layers) and the ensembles."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from raynas import data
from raynas.errors import InvalidConfigError, UnknownNameError
from raynas.proxies import (PAPER_PROXIES, PROXIES, compute_proxies, pairwise_accuracy, proxy_report, rank_ensemble,
                            register_proxy, score_architectures, vote)
from raynas.spaces import NB201Space

ARCH = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
ALL = PROXIES.names()


@pytest.fixture(scope="module")
def space():
    return NB201Space(channels=8, cells_per_stage=1)  # small and fast; the full network is tested below


@pytest.fixture(scope="module")
def batch():
    return data.one_batch(data.load_digits(), 32, seed=0, image_size=16, channels=3)


def small_cnn(bn: bool = True, classes: int = 10) -> nn.Module:
    """A user model that is not from any search space: conv stack and a classifier head."""
    torch.manual_seed(1)
    norm = (lambda c: nn.BatchNorm2d(c)) if bn else (lambda c: nn.Identity())
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), norm(8), nn.ReLU(),
        nn.Conv2d(8, 16, 3, stride=2, padding=1), norm(16), nn.ReLU(inplace=True),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, classes),
    )


def build(space, arch=ARCH, seed=0):
    torch.manual_seed(seed)
    return space.build(space.parse(arch), num_classes=10, in_channels=3)


# --- agreement with the peer (alethiometer, a maintained fork of the reference code) ---------------
@pytest.fixture(scope="module")
def peer():
    stubs = str(Path(__file__).parent / "peer_stubs")
    sys.path.insert(0, stubs)  # a torchvision stand-in: alethiometer imports it at package import
    try:
        import alethiometer
    finally:
        sys.path.remove(stubs)
    return alethiometer.calc_zc_metrics


@pytest.mark.parametrize("model_kind", ["nb201", "user_cnn_bn"])
def test_same_values_as_peer(peer, space, batch, model_kind):
    names = ["grad_norm", "snip", "grasp", "synflow"]
    model = build(space) if model_kind == "nb201" else small_cnn()
    theirs = peer(names, model, [batch], torch.device("cpu"))
    ours = compute_proxies(model, batch, names)
    for n in names:
        assert ours[n] == pytest.approx(theirs[n], rel=1e-5), n


def test_naswot_matches_peer_without_batchnorm(peer, batch):
    """The peer runs NASWOT in eval mode, the original code (and raynas) in train mode: the two agree
    exactly on a model whose BatchNorm does not depend on the mode; differences with BN are on purpose."""
    model = small_cnn(bn=False)
    theirs = peer(["nwot_relu"], model, [batch], torch.device("cpu"))["nwot_relu"]
    assert compute_proxies(model, batch, ["naswot"])["naswot"] == pytest.approx(theirs, rel=1e-5)


def test_fisher_and_jacob_cov_match_an_independent_computation(batch):
    """Neither is in the peer; recompute both from their definitions by a different route."""
    model = small_cnn(bn=False)
    ours = compute_proxies(model, batch, ["fisher", "jacob_cov"])
    x, y = batch
    # fisher: capture each layer's output, differentiate the loss w.r.t. all of them at once
    outs = {}
    hooks = [m.register_forward_hook(lambda m, i, o, k=k: outs.__setitem__(k, o))
             for k, m in enumerate(model) if isinstance(m, (nn.Conv2d, nn.Linear))]
    loss = nn.functional.cross_entropy(model(x), y)
    keys = sorted(outs)
    grads = torch.autograd.grad(loss, [outs[k] for k in keys])
    for h in hooks:
        h.remove()
    expected = 0.0
    for k, g in zip(keys, grads):
        z = outs[k].detach()
        per_sample = (z * g).sum(dim=(2, 3)) if z.dim() == 4 else z * g
        expected += float((0.5 * per_sample.pow(2).mean(0)).sum()) * model[k].weight[0].numel()
    assert ours["fisher"] == pytest.approx(expected, rel=1e-6)
    # jacob_cov: per-sample Jacobians one input at a time (no BN: samples are independent), general eig
    rows = []
    for i in range(len(x)):
        xi = x[i:i + 1].clone().requires_grad_(True)
        rows.append(torch.autograd.grad(model(xi).sum(), xi)[0].reshape(-1).double().numpy())
    v = np.linalg.eig(np.corrcoef(np.stack(rows)))[0].real
    expected = -np.sum(np.log(v + 1e-5) + 1.0 / (v + 1e-5))
    assert ours["jacob_cov"] == pytest.approx(expected, rel=1e-6)


# --- sharing, restoration, determinism ----------------------------------------------------------------
def test_one_forward_serves_every_data_proxy(space, batch):
    model = build(space)
    calls = []
    model.register_forward_pre_hook(lambda m, i: calls.append(i[0].shape[0]))
    report = proxy_report(model, batch, ["grad_norm", "snip", "grasp", "fisher", "jacob_cov", "naswot"])
    assert calls == [len(batch[0])]  # one forward of the batch on the caller's model, no more
    assert not report.failures
    assert {k for k in report.timings if k.startswith("pass/")} == {"pass/train"}


def test_model_is_restored_exactly(space, batch):
    model = build(space)
    model.eval()
    model.cells[0].edges[0][1].weight.requires_grad_(False)  # a frozen layer stays frozen
    before = {k: v.clone() for k, v in model.state_dict().items()}
    flags = {k: p.requires_grad for k, p in model.named_parameters()}
    compute_proxies(model, batch, ALL)
    assert not model.training
    assert {k: p.requires_grad for k, p in model.named_parameters()} == flags
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), k  # weights, signs and BN running statistics
    assert all(p.grad is None for p in model.parameters())
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())
    assert next(model.parameters()).dtype == torch.float32


def test_synflow_leaves_modes_and_modules_as_they_were_with_shared_and_computed_weights():
    """Synflow runs the model's own modules on |W| in float64: per-module train/eval modes and
    BatchNorm's forward come back as they were; a weight shared by two layers and a weight computed
    by a parametrization (scored on a copy) give the same values as a deep copy of the model."""
    from raynas.proxies.passes import ProxyContext, _synflow_on_copy

    model = small_cnn()
    model[1].eval()  # one BatchNorm in eval mode, the rest in train mode
    tied = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 4))
    tied[2].weight = tied[0].weight
    parametrized = nn.Sequential(nn.utils.parametrizations.weight_norm(nn.Linear(4, 6)), nn.Linear(6, 2))
    for net, shape in ((model, (3, 16, 16)), (tied, (4,)), (parametrized, (4,))):
        modes = [m.training for m in net.modules()]
        ours = ProxyContext(net, None, None, None, {"synflow"}, shape).synflow()
        reference = _synflow_on_copy(net, shape)
        assert ours.keys() == reference.keys()
        for name, (w, g) in ours.items():
            assert torch.equal(w, reference[name][0]), name
            assert (g is None and reference[name][1] is None) or torch.allclose(g, reference[name][1]), name
        assert [m.training for m in net.modules()] == modes
        assert all("forward" not in m.__dict__ for m in net.modules())
    assert compute_proxies(tied, None, ["synflow"], input_shape=(4,))["synflow"] > 0


def test_deterministic_and_seed_local(batch):
    model = nn.Sequential(*small_cnn(), nn.Dropout(0.5))  # dropout in train mode: randomness
    state = torch.random.get_rng_state()
    a = compute_proxies(model, batch, ["snip", "grad_norm"], seed=3)
    assert torch.equal(torch.random.get_rng_state(), state)  # the caller's generator is untouched
    assert compute_proxies(model, batch, ["snip", "grad_norm"], seed=3) == a
    assert compute_proxies(model, batch, ["snip"], seed=4)["snip"] != a["snip"]


def test_layerwise_values_sum_to_the_score(space, batch):
    report = proxy_report(build(space), batch, ["snip", "synflow", "fisher", "flops"])
    for name in ("snip", "synflow", "fisher", "flops"):
        layers = report.layerwise[name]
        assert len(layers) == sum(isinstance(m, (nn.Conv2d, nn.Linear)) for m in build(space).modules())
        assert sum(layers.values()) == pytest.approx(report.values[name])


# --- what each proxy sees -------------------------------------------------------------------------------
def test_full_size_network_params_and_flops_are_nas_bench_201s():
    """C=16, N=5, 10 classes: the all-3x3 cell has NAS-Bench-201's published 1.53 M parameters."""
    space = NB201Space()
    conv3 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
    values = compute_proxies(build(space, conv3), None, ["params", "flops"], input_shape=(3, 32, 32))
    assert values["params"] == pytest.approx(1.53, abs=0.01)
    assert 150 < values["flops"] < 230  # MACs of conv/linear layers only; the benchmark counts a bit more


def test_none_edges_cut_paths(space, batch):
    """Two cells with the same two convolutions: in ``dead`` no input-output path runs through them
    (``none`` edges cut it), in ``live`` both are on the path. params cannot tell them apart;
    path_params and synflow can. A cell of ``none`` ops makes the output independent of the input."""
    dead = "|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|nor_conv_3x3~2|"
    live = "|nor_conv_3x3~0|+|none~0|none~1|+|none~0|nor_conv_3x3~1|none~2|"
    v_dead = compute_proxies(build(space, dead), batch, ALL)
    v_live = compute_proxies(build(space, live), batch, ALL)
    assert v_dead["params"] == v_live["params"]
    assert v_dead["path_params"] < v_live["path_params"]
    assert v_dead["synflow"] < v_live["synflow"]
    assert all(math.isfinite(v_live[n]) for n in ALL)
    report = proxy_report(build(space, "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"), batch, ALL)
    assert math.isnan(report.values["jacob_cov"]) and "jacob_cov" in report.failures
    assert math.isfinite(report.values["params"])


def test_models_without_batchnorm_and_user_models(batch):
    for model in (small_cnn(bn=False), small_cnn(bn=True), small_cnn(classes=3)):
        x, y = batch
        b = (x, y % 3) if model[-1].out_features == 3 else batch
        report = proxy_report(model, b, ALL)
        assert not report.failures, report.failures
        assert report.values["params"] == pytest.approx(sum(p.numel() for p in model.parameters()) / 1e6)


class NaNLayer(nn.Module):
    def forward(self, x):
        return x * float("nan")


def test_nan_producing_layer_gives_per_proxy_failures(batch):
    model = nn.Sequential(*small_cnn()[:3], NaNLayer(), *small_cnn()[3:])
    report = proxy_report(model, batch, ALL)
    for name in ("grad_norm", "snip", "synflow", "jacob_cov"):
        assert math.isnan(report.values[name])
        assert "non-finite" in report.failures[name] or "nan" in report.failures[name].lower()
    assert report.values["params"] > 0 and "params" not in report.failures  # the others still report


def test_a_failing_pass_fails_only_its_proxies(batch):
    class NoDoubleBackward(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x.clone()

        @staticmethod
        def backward(ctx, g):
            if torch.is_grad_enabled():
                raise RuntimeError("no double backward here")
            return g

    class Block(nn.Module):
        def forward(self, x):
            return NoDoubleBackward.apply(x)

    model = nn.Sequential(*small_cnn()[:3], Block(), *small_cnn()[3:])
    report = proxy_report(model, batch, ["snip", "grasp", "synflow", "params"])
    assert math.isnan(report.values["grasp"]) and "no double backward" in report.failures["grasp"]
    assert all(math.isfinite(report.values[n]) for n in ("synflow", "params"))


def test_report_prints_a_short_table_and_gives_layers_on_request(batch):
    """A printed report is one row per proxy with value, seconds and the failure reason, not the
    layer dicts; the layers are one call away, and the old attributes still work."""
    report = proxy_report(small_cnn(), batch, ["snip", "synflow", "jacob_cov"])
    report.values["jacob_cov"] = math.nan
    report.failures["jacob_cov"] = "non-finite value (nan) " + "x" * 200
    text = str(report)
    lines = text.splitlines()
    assert lines[0].split() == ["proxy", "value", "seconds", "failure"]
    rows = {line.split()[0]: line for line in lines[2:5]}
    assert set(rows) == {"snip", "synflow", "jacob_cov"}
    assert f"{report['snip']:.6g}" in rows["snip"] and f"{report.timings['snip']:.3f}" in rows["snip"]
    assert "non-finite value" in rows["jacob_cov"] and rows["jacob_cov"].endswith("...")
    assert "layers(name)" in text and "shared passes" in text
    assert len(repr(report)) < 1000 and repr(report).startswith("<ProxyReport of 3 proxies, 1 failed>")
    assert "stem" not in text and "0." + "0" * 5 not in text  # no layer dict in the summary

    frame = report.to_frame()
    assert list(frame.index) == ["snip", "synflow", "jacob_cov"]
    assert list(frame.columns) == ["value", "seconds", "layers", "failure"]
    assert frame.loc["snip", "layers"] == len(report.layerwise["snip"]) > 0
    assert frame.loc["jacob_cov", "layers"] == 0 and frame.loc["jacob_cov", "failure"].startswith("non-finite")
    assert report.layers("snip") == report.layerwise["snip"] and report.layers("jacob_cov") == {}
    detail = report.to_frame(layers=True)
    assert detail.loc["snip"]["value"].sum() == pytest.approx(report["snip"])
    assert len(detail) == sum(len(d) for d in report.layerwise.values())
    with pytest.raises(UnknownNameError, match="grasp"):
        report.layers("grasp")


# --- bad input ----------------------------------------------------------------------------------------
def test_bad_input_is_named(batch):
    model = small_cnn()
    with pytest.raises(UnknownNameError, match="snipp"):
        compute_proxies(model, batch, ["snipp"])
    with pytest.raises(InvalidConfigError, match="vote"):
        compute_proxies(model, batch, ["vote"])
    with pytest.raises(InvalidConfigError, match="labels"):
        compute_proxies(model, batch[0], ["snip"])
    with pytest.raises(InvalidConfigError, match="batch"):
        compute_proxies(model, None, ["jacob_cov"], input_shape=(3, 16, 16))
    with pytest.raises(InvalidConfigError, match=r"shape \[32, 1, 16, 16\]"):
        compute_proxies(model, (batch[0][:, :1], batch[1]), ["snip"])
    with pytest.raises(InvalidConfigError, match="nn.Module"):
        compute_proxies("model", batch, ["snip"])
    # label-free and data-free proxies need no more than they use
    assert math.isfinite(compute_proxies(model, batch[0], ["jacob_cov", "naswot"])["naswot"])
    assert compute_proxies(model, None, ["synflow"], input_shape=(3, 16, 16))["synflow"] > 0


def test_users_register_their_own_proxy(batch):
    from raynas.proxies.base import PROXIES as registry

    @register_proxy("test_weight_l1", passes=("static",))
    def weight_l1(ctx):
        return {n: float(m.weight.detach().abs().sum()) for n, m in ctx.layers}

    try:
        model = small_cnn()
        expected = sum(float(m.weight.detach().abs().sum()) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear)))
        assert compute_proxies(model, batch, ["test_weight_l1"])["test_weight_l1"] == pytest.approx(expected)
    finally:
        registry._items.pop("test_weight_l1")
    with pytest.raises(InvalidConfigError, match="passes"):
        register_proxy("bad", passes=("nonsense",))


# --- many architectures and the ensembles -----------------------------------------------------------
def test_score_architectures_and_vote(space, batch):
    archs = [space.sample(np.random.default_rng(i)) for i in range(6)]
    table = score_architectures(space, archs, ["synflow", "vote", "params"], batch)
    assert list(table.columns) == ["synflow", "vote", "params"]
    assert list(table.index) == [space.arch_str(a) for a in archs]
    again = score_architectures(space, archs[:2], ["synflow"], batch)
    assert np.allclose(again["synflow"], table["synflow"][:2])  # same arch, same seed, same score
    assert ((table["vote"] >= 0) & (table["vote"] <= 1)).all()


def test_vote_and_pairwise_accuracy_follow_the_majority():
    truth = np.arange(6.0)
    agree = {"synflow": truth, "jacob_cov": truth, "snip": truth[::-1]}  # two of three right
    assert np.array_equal(np.argsort(vote(agree)), np.arange(6))
    assert pairwise_accuracy(agree, truth) == 1.0
    assert pairwise_accuracy(agree, -truth) == 0.0
    wrong = {"synflow": truth[::-1], "jacob_cov": truth[::-1], "snip": truth}
    assert pairwise_accuracy(wrong, truth) == 0.0
    nan = {"synflow": [np.nan, 1, 2], "jacob_cov": [np.nan, 1, 2], "snip": [np.nan, 1, 2]}
    assert vote(nan)[0] == 0.0  # a failed proxy value ranks last
    ens = rank_ensemble({"a": [1, 2, 3], "b": [3, 2, 1], "c": [1, 2, 3]}, members=["a", "b", "c"], weights=[1, 0, 1])
    assert np.allclose(ens, [0, 0.5, 1])
    with pytest.raises(InvalidConfigError, match="lacks"):
        vote({"synflow": [1, 2]})


def test_paper_proxies_are_registered():
    assert set(PAPER_PROXIES) | {"naswot", "params", "flops"} <= set(ALL)


def test_proxy_table_caches_to_a_file_and_resumes(space, tmp_path):
    from raynas.proxies.table import BatchSpec, ProxyTable

    spec = BatchSpec("digits", size=16, image_size=16)
    archs = [space.sample(np.random.default_rng(i)) for i in range(4)]
    table = ProxyTable(space, spec, cache_dir=tmp_path)
    first = table.get(archs[:2], ["synflow", "params"])
    assert table.path.is_file()
    reopened = ProxyTable(space, spec, cache_dir=tmp_path)
    assert reopened.missing(archs, ["synflow", "params"]) == archs[2:]
    assert reopened.missing(archs[:2], ["snip"]) == archs[:2]  # a new proxy is computed for old rows
    both = reopened.get(archs, ["synflow", "params", "snip"])
    assert np.allclose(both.loc[first.index, ["synflow", "params"]], first)
    assert both.notna().all().all()
    direct = score_architectures(space, archs[3:], ["snip"], spec.load(10))
    assert both["snip"].iloc[3] == pytest.approx(direct["snip"].iloc[0])
    # a failure is remembered as such, not recomputed, and read back as NaN
    dead = space.parse("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|")
    assert math.isnan(reopened.get([dead], ["jacob_cov"])["jacob_cov"].iloc[0])
    assert ProxyTable(space, spec, cache_dir=tmp_path).missing([dead], ["jacob_cov"]) == []


def test_proxy_table_file_is_only_appended_and_shared(space, tmp_path):
    from raynas.proxies.table import BatchSpec, ProxyTable

    spec = BatchSpec("random", size=8, image_size=16)
    archs = [space.sample(np.random.default_rng(i)) for i in range(6)]
    a, b = ProxyTable(space, spec, cache_dir=tmp_path), ProxyTable(space, spec, cache_dir=tmp_path)
    a.get(archs[:3], ["params"])
    before = a.path.read_bytes()
    b.get(archs[3:], ["params", "flops"])  # a second writer of the same file
    after = a.path.read_bytes()
    assert after.startswith(before) and len(after) > len(before)  # appended, never rewritten
    assert after.decode().splitlines()[0] == "arch_str,proxy,value"
    merged = ProxyTable(space, spec, cache_dir=tmp_path)
    assert merged.missing(archs, ["params"]) == [] and merged.missing(archs[:3], ["flops"]) == archs[:3]


def test_proxy_table_reads_and_converts_the_wide_layout(space, tmp_path):
    from raynas.proxies.table import BatchSpec, ProxyTable

    spec = BatchSpec("random", size=8, image_size=16)
    archs = [space.sample(np.random.default_rng(i)) for i in range(3)]
    table = ProxyTable(space, spec, cache_dir=tmp_path)
    keys = [space.arch_str(x) for x in archs]
    table.path.write_text(f",params,jacob_cov\n{keys[0]},1.5,failed\n{keys[1]},2.5,\n")
    old = ProxyTable(space, spec, cache_dir=tmp_path)
    assert old.get(archs[:1], ["params"])["params"].iloc[0] == 1.5  # read, not recomputed
    assert old.missing(archs, ["jacob_cov"]) == archs[1:]  # failed is known, empty is not
    old.get(archs[2:], ["params"])
    assert old.path.read_text().splitlines()[0] == "arch_str,proxy,value"
    again = ProxyTable(space, spec, cache_dir=tmp_path).get(archs, ["params"])["params"]
    assert again.iloc[0] == 1.5 and again.iloc[1] == 2.5 and np.isfinite(again.iloc[2])


def test_proxy_table_fill_in_worker_processes_equals_scoring_here(space, tmp_path):
    from raynas.proxies.table import BatchSpec, ProxyTable

    spec = BatchSpec("random", size=8, image_size=16)
    archs = [space.sample(np.random.default_rng(i)) for i in range(6)]
    filled = ProxyTable(space, spec, cache_dir=tmp_path / "a").fill(archs, ["params", "synflow"], workers=2,
                                                                   progress=False)
    here = ProxyTable(space, spec, cache_dir=tmp_path / "b").get(archs, ["params", "synflow"], progress=False)
    assert filled.index.tolist() == here.index.tolist()
    np.testing.assert_allclose(filled.to_numpy(), here.to_numpy(), rtol=1e-6)
