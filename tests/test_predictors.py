"""Predictors: shapes, baselines, save/load, device registry errors, analytic features."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from raynas.errors import UnknownNameError
from raynas.predictors import (AnalyticRidge, NearestSourceDevice, NNLSTransfer, OneHotRidge, RaynasTransfer,
                               SourcePriorTransfer, analytic_features, choose, load_predictor, save_predictor,
                               spearman, transfer_encoding)
from raynas.predictors.features import FEATURE_NAMES
from raynas.spaces import get_space


def synthetic(n_archs=300, n_src=6, seed=0):
    rng = np.random.default_rng(seed)
    F = rng.random((n_archs, len(FEATURE_NAMES))) * 3
    S = np.exp(rng.normal(size=(n_archs, 2)) @ rng.random((2, n_src)) * 0.5) + rng.random((n_archs, n_src)) * 0.05
    return rng, S, F


def test_nnls_recovers_exact_nonnegative_combination():
    rng, S, _ = synthetic()
    w = np.array([0.0, 2.0, 0.0, 0.5, 0.0, 1.5])
    y = S @ w + 0.3
    idx = rng.choice(len(y), 30, replace=False)
    m = NNLSTransfer().fit(S[idx], y[idx])
    np.testing.assert_allclose(m.coef_, w, atol=1e-6)
    np.testing.assert_allclose(m.predict(S), y, rtol=1e-6)


def test_nearest_device_picks_identical_column():
    rng, S, _ = synthetic()
    y = S[:, 3].copy()
    idx = rng.choice(len(y), 10, replace=False)
    m = NearestSourceDevice().fit(S[idx], y[idx])
    assert m.source_ == 3
    assert spearman(m.predict(S), y) == pytest.approx(1.0)


@pytest.mark.parametrize("n", [5, 10, 30])
def test_fit_predict_shapes(n):
    rng, S, F = synthetic()
    y = S @ rng.random(S.shape[1]) + 0.1
    X, k, c = transfer_encoding(S, F)
    idx = rng.choice(len(y), n, replace=False)
    for model, Xm in [(RaynasTransfer(n_source=k, n_cost=c), X), (SourcePriorTransfer(n_source=k), X),
                      (NNLSTransfer(), S), (NearestSourceDevice(), S), (AnalyticRidge(), F), (OneHotRidge(), F)]:
        pred = model.fit(Xm[idx], y[idx]).predict(Xm)
        assert pred.shape == (len(y),) and np.isfinite(pred).all(), type(model).__name__
    # transfer from sources that contain the target's structure ranks it well
    assert spearman(RaynasTransfer(n_source=k, n_cost=c).fit(X[idx], y[idx]).predict(X), y) > 0.95


def test_raynas_transfer_prior_is_what_fit_starts_from():
    rng, S, F = synthetic()
    y = S @ rng.random(S.shape[1]) + 0.1
    X, k, c = transfer_encoding(S, F)
    idx = rng.choice(len(y), 4, replace=False)  # below min_stack: fit keeps the prior alone
    model = RaynasTransfer(n_source=k, n_cost=c, select="loo")
    prior = model.fit_prior(X[idx], y[idx])
    assert isinstance(prior, SourcePriorTransfer)
    np.testing.assert_allclose(prior.predict(X[:, :k]), model.fit(X[idx], y[idx]).predict(X), rtol=1e-9)
    big = rng.choice(len(y), 30, replace=False)  # with more samples the stack may move away from it
    assert spearman(model.fit_prior(X[big], y[big]).predict(X[:, :k]), y) > 0.9


def test_save_load_round_trip(tmp_path):
    from raynas.predictors.neural import MLPPredictor, MultiPredictTransfer, TreePredictor

    rng, S, F = synthetic()
    y = S @ rng.random(S.shape[1]) + 0.1
    X, k, c = transfer_encoding(S, F)
    idx = rng.choice(len(y), 40, replace=False)
    models = [(RaynasTransfer(n_source=k, n_cost=c), X), (AnalyticRidge(), F), (NNLSTransfer(), S),
              (MLPPredictor(epochs=5), F), (TreePredictor(max_iter=20), F),
              (MultiPredictTransfer(n_source=k, pretrain_epochs=2, pretrain_archs=50, finetune_epochs=3), X)]
    for i, (m, Xm) in enumerate(models):
        m.fit(Xm[idx], y[idx])
        save_predictor(m, tmp_path / f"m{i}.pkl")
        m2 = load_predictor(tmp_path / f"m{i}.pkl")
        np.testing.assert_array_equal(m.predict(Xm), m2.predict(Xm), err_msg=type(m).__name__)


@pytest.mark.parametrize("space, arch", [("nb201", (3, 3, 0, 1, 4, 2)), ("fbnet", tuple(range(9)) * 2 + (8, 8, 7, 0))])
def test_analytic_features_finite_and_ordered(space, arch):
    torch.manual_seed(0)
    sp = get_space(space)
    f = analytic_features(sp.build(arch))
    assert set(f) == set(FEATURE_NAMES) and all(np.isfinite(v) for v in f.values())
    assert f["log_macs"] > 0 and f["n_dense_conv"] > 0
    small = analytic_features(sp.build((1,) * sp.num_decisions if space == "nb201" else (8,) * 22))
    assert small["log_macs"] < f["log_macs"]


def test_sampling_strategies_distinct():
    X = np.random.default_rng(0).random((200, 5))
    for s in ("random", "farthest", "kmeans"):
        idx = choose(s, X, 12, seed=1)
        assert len(set(idx.tolist())) == 12


def test_device_registry_unknown_device_and_embedding(data_dir):
    from raynas.hardware import DeviceRegistry, LocalDevice, hardware_embedding, table_devices

    reg = DeviceRegistry.from_data(data_dir)
    nb_dev = table_devices("nb201", data_dir)[0]
    assert f"nb201/{nb_dev}" in reg
    with pytest.raises(UnknownNameError, match="no_such_device.*known: .*nb201/"):
        reg.get("no_such_device", space="nb201")
    emb = reg.embedding(nb_dev, "nb201")
    assert emb.shape == (10,) and (emb > 0).all()
    # a new device: measure just the reference architectures
    class Fake(LocalDevice):
        def latency_ms(self, arch, space=None):
            return 1.0 + sum(arch)

    e = hardware_embedding(Fake("fake"), "fbnet", data_dir, normalise=True)
    assert e.shape == (10,) and e.min() == 0.0 and e.max() == 1.0


def test_transfer_on_real_table(data_dir, tmp_path):
    """Few-shot transfer on a slice of the published FBNet table: features of 60 networks built here."""
    from raynas.predictors import load_space_table
    from raynas.predictors.features import space_features

    tab = load_space_table("fbnet", data_dir)
    rows = np.random.default_rng(0).choice(len(tab.archs), 60, replace=False)
    F = space_features(tab.space, [tab.archs[i] for i in rows], key="fbnet_test", cache_dir=tmp_path)
    assert F.shape == (60, len(FEATURE_NAMES)) and np.isfinite(F).all()
    assert (tmp_path / "features_fbnet_test.npz").is_file()
    lat = tab.latency[rows]
    OH = tab.onehot()[rows]
    wins = 0
    for t in range(3):
        S, y = np.delete(lat, t, axis=1), lat[:, t]
        X, k, c = transfer_encoding(S, F)
        idx = np.random.default_rng(t).choice(len(y), 15, replace=False)
        rho_r = spearman(RaynasTransfer(n_source=k, n_cost=c).fit(X[idx], y[idx]).predict(X), y)
        rho_oh = spearman(OneHotRidge().fit(OH[idx], y[idx]).predict(OH), y)
        assert rho_r > 0.8, (tab.devices[t], rho_r)
        wins += rho_r > rho_oh
    assert wins == 3


def test_zcp_encoder_min_max_log_and_failures():
    from raynas.predictors.zcp import ZCPEncoder

    raw = np.array([[1.0, 1e2, -5.0], [10.0, 1e6, np.nan], [4.0, 1e4, 5.0], [2.0, 1e3, 0.0]])
    enc = ZCPEncoder().fit(raw)
    Z = enc.transform(raw)
    assert enc.log_.tolist() == [False, True, False]  # only the column spanning 4 decades is logged
    assert Z.min(0)[[0, 1]].tolist() == [0.0, 0.0] and Z.max(0)[[0, 1]].tolist() == [1.0, 1.0]
    lo, hi = np.log1p(1e2), np.log1p(1e6)
    assert Z[2, 1] == pytest.approx((np.log1p(1e4) - lo) / (hi - lo))
    assert np.isfinite(Z).all() and Z[1, 2] == pytest.approx(0.5)  # a failed value becomes the median
    # rank-preserving per column
    assert (np.argsort(Z[:, 1]) == np.argsort(raw[:, 1])).all()
    with pytest.raises(Exception, match="proxy columns"):
        enc.transform(raw[:, :2])


def test_zcp_values_cached_in_proxy_table(tmp_path):
    from raynas.predictors.zcp import ZCP_DATA_FREE, zcp_available, zcp_values

    sp = get_space("nb201")
    archs = [(3, 3, 0, 1, 4, 2), (1, 1, 1, 1, 1, 1), (0, 0, 0, 0, 0, 0)]
    kw = {"cache_dir": tmp_path}
    before = zcp_values(sp, archs, ZCP_DATA_FREE, compute=False, **kw)
    assert np.isnan(before).all() and not zcp_available(sp, archs, ZCP_DATA_FREE, **kw).any()
    v = zcp_values(sp, archs, ZCP_DATA_FREE, **kw)
    assert v.shape == (3, 4) and np.isfinite(v[:2]).all()
    assert v[0, 1] > v[1, 1]  # params: 3x3 convolutions vs skips
    assert list(tmp_path.glob("proxies_nb201_*b16*.csv"))  # the encoding's file, reused next time
    np.testing.assert_array_equal(zcp_values(sp, archs, ZCP_DATA_FREE, compute=False, **kw)[:2], v[:2])
    assert zcp_available(sp, archs, ZCP_DATA_FREE, **kw).all()


def test_mlp_tree_and_multipredict_models():
    from raynas.predictors.neural import MLPPredictor, MultiPredictTransfer, TreePredictor

    rng = np.random.default_rng(0)
    E = rng.normal(size=(400, 3))  # an informative architecture encoding
    S = np.exp(E @ rng.random((3, 5)) * 0.5)  # five source devices driven by it
    y = S @ np.array([0.5, 1.0, 0.0, 0.2, 0.0]) + 0.1
    for m in (MLPPredictor(epochs=80, seed=1), TreePredictor(), MLPPredictor(epochs=40, log_target=True, n_members=2)):
        pred = m.fit(S[:200], y[:200]).predict(S[200:])
        assert spearman(pred, y[200:]) > 0.8, type(m).__name__
    a = MLPPredictor(epochs=20, seed=3).fit(S[:50], y[:50]).predict(S)
    b = MLPPredictor(epochs=20, seed=3).fit(S[:50], y[:50]).predict(S)
    np.testing.assert_array_equal(a, b)  # deterministic given the seed
    X = np.hstack([S, E])
    mp = MultiPredictTransfer(n_source=S.shape[1], pretrain_epochs=30, pretrain_archs=300).pretrain(X)
    idx = rng.choice(len(y), 10, replace=False)
    fitted = mp.fit(X[idx], y[idx])
    assert fitted.init_source_ == int(np.argmax([spearman(S[idx, j], y[idx]) for j in range(5)]))
    assert spearman(fitted.predict(X), y) > 0.8


def test_uncertainty_sampling_measures_only_what_it_chose():
    from raynas.predictors.sampling import uncertainty_sample

    rng, S, _ = synthetic()
    y = S @ rng.random(S.shape[1]) + 0.1
    asked = []

    def measure(i):
        asked.extend(i.tolist())
        return y[i]

    idx = uncertainty_sample(S, 15, lambda: NNLSTransfer(), measure, start=5, batch=5, seed=0)
    assert len(idx) == 15 == len(set(idx.tolist())) and sorted(asked) == sorted(idx.tolist())
    with pytest.raises(Exception, match="model_factory"):
        choose("uncertainty", S, 10)


def test_cross_space_roofline_and_bank():
    from raynas.predictors.crossspace import RooflineRidge, SourceBank, pseudo_sources, roofline_columns

    rng = np.random.default_rng(0)
    FA = rng.random((200, len(FEATURE_NAMES))) * 5
    FB = rng.random((150, len(FEATURE_NAMES))) * 5
    R = roofline_columns(FA)
    LA = R @ np.array([[1e-6, 2e-6], [1e-5, 0.0], [0.1, 0.3]]) + 0.5  # two devices, exact rooflines
    cols = RooflineRidge.columns(FA, LA, FB)
    np.testing.assert_allclose(cols, roofline_columns(FB) @ np.array([[1e-6, 2e-6], [1e-5, 0.0], [0.1, 0.3]]) + 0.5,
                               rtol=1e-3)
    y = cols[:, 1] * 2
    m = RooflineRidge().fit(cols[:20], y[:20])
    assert spearman(m.predict(cols), y) > 0.99
    assert pseudo_sources(FA, LA, FB).shape == (150, 2)
    with pytest.raises(Exception, match="cost columns"):
        SourceBank().fit(R, LA).predict(R[:, :2])


def test_fbnet_networks_match_the_published_table(data_dir):
    """The FBNet networks built here are the table's: their MACs rank the latency of eyeriss (an exact
    per-layer sum in HW-NAS-Bench) almost perfectly, and the expansion-6 k5 blocks dominate the cost."""
    from raynas.predictors import load_space_table

    tab = load_space_table("fbnet", data_dir)
    if "eyeriss" not in tab.devices:
        pytest.skip("the fbnet table has no eyeriss column")
    rows = np.random.default_rng(1).choice(len(tab.archs), 30, replace=False)
    torch.manual_seed(0)
    feats = [analytic_features(tab.space.build(tab.archs[i])) for i in rows]
    macs = np.array([f["log_macs"] for f in feats])
    params = np.array([f["log_params"] for f in feats])
    assert spearman(macs, tab.column("eyeriss")[rows]) > 0.9
    assert np.isfinite(params).all() and 12 < params.min() <= params.max() < 17  # ~0.2M-20M parameters
    # a known pair: every layer k5_e6 vs every layer skip (HW-NAS-Bench: the largest and smallest)
    ops = list(tab.space.ops)
    big = analytic_features(tab.space.build((ops.index("k5_e6"),) * 22))
    small = analytic_features(tab.space.build((ops.index("skip"),) * 22))
    assert big["log_macs"] > macs.max() and small["log_macs"] < macs.min()


def test_space_table_take_keeps_rows_in_order(data_dir):
    from raynas.predictors import load_space_table

    tab = load_space_table("nb201", data_dir)
    rows = [5, 0, 17]
    small = tab.take(rows)
    assert small.archs == [tab.archs[r] for r in rows] and small.devices == tab.devices
    np.testing.assert_array_equal(small.latency, tab.latency[rows])
    with pytest.raises(IndexError, match="outside"):
        tab.take([len(tab.archs)])


def test_device_family_groups_batch_settings_only():
    from raynas.hardware import LocalDevice, device_family

    names = ("1080ti_1", "1080ti_256", "titan_rtx_64", "v100_32", "silver_4114", "pixel3", "local_cpu_x86_64")
    assert [device_family(d) for d in names] == ["1080ti", "1080ti", "titan_rtx", "v100", "silver_4114", "pixel3",
                                                 "local_cpu_x86_64"]
    local = LocalDevice()
    assert local.runtime == "torch-eager" and local.family == device_family(local.name)


def test_sources_hold_out_the_targets_family(data_dir):
    from raynas.predictors import load_space_table

    tab = load_space_table("nb201", data_dir)
    _, y, fam = tab.sources("1080ti_1")
    _, _, dev = tab.sources("1080ti_1", holdout="device")
    assert not any(d.startswith("1080ti") for d in fam) and {"1080ti_32", "1080ti_256"} <= set(dev)
    assert len(dev) == len(tab.devices) - 1 and len(fam) == len(tab.devices) - 3
    np.testing.assert_array_equal(y, tab.column("1080ti_1"))
    _, _, fewer = tab.sources("raspi4", exclude=["titanx", "pixel2"])
    assert not any(d.startswith("titanx_") or d == "pixel2" for d in fewer) and "titanxp_1" in fewer
    with pytest.raises(UnknownNameError, match="nvidia_a100"):
        tab.sources("raspi4", exclude=["nvidia_a100"])


def test_twins_holdout_drops_sources_that_rank_like_the_target(data_dir):
    from raynas.predictors import load_space_table
    from raynas.predictors import spearman

    tab = load_space_table("nb201", data_dir)
    S, y, names = tab.sources("titanx_256", holdout="twins")
    _, _, fam = tab.sources("titanx_256")
    assert set(names) < set(fam) and "titanxp_256" in fam and "titanxp_256" not in names
    assert max(spearman(S[:, j], y) for j in range(S.shape[1])) < 0.95


def _additive_devices(n_archs=600, n_dev=6, n_cost=4, seed=0):
    """Synthetic devices whose latencies are non-negative mixes of additive cost columns."""
    rng = np.random.default_rng(seed)
    C = rng.gamma(2.0, 1.0, size=(n_archs, n_cost))
    W = rng.gamma(1.0, 1.0, size=(n_cost, n_dev)) * (rng.random((n_cost, n_dev)) < 0.7) + 1e-3
    return C @ W, C


def test_new_device_sources_drop_group_and_twins():
    from raynas.predictors import new_device_sources

    S, _ = _additive_devices()
    S = np.hstack([S, S[:, :1] * 2.0])  # column 6 ranks exactly like column 0: a twin
    groups = ["a", "a", "b", "c", "d", "e", "f"]
    assert list(new_device_sources(S, 0, groups, None)) == [2, 3, 4, 5, 6]
    assert 6 not in new_device_sources(S, 0, groups, 0.95)
    assert list(new_device_sources(S, 2, None, None)) == [0, 1, 3, 4, 5, 6]


def test_stack_is_chosen_on_the_sources_and_ties_count_once():
    from raynas.predictors import RaynasTransfer, select_stack, stack_combos

    S, C = _additive_devices()
    combos = stack_combos((0.0, 1.0), (0.0, 0.5, 1.0), C.shape[1], False)
    choice = select_stack(S, C, np.zeros((len(S), 0)), combos, rank=3, ns=(5, 20), draws=2)
    assert set(choice) == {5, 20} and choice[20][1] > 0  # additive devices: the cost model is used
    X = np.hstack([S[:, 1:], C])
    model = RaynasTransfer(n_source=5, n_cost=C.shape[1], select_ns=(5, 10)).pretrain(X)
    assert set(model.stack_choice_) == {5, 10}
    tied = np.repeat([1.0, 2.0, 3.0, 4.0], 3)[:10]  # 10 samples, 4 distinct values
    model.fit(X[:10], tied)
    assert (model.weight_, model.alpha_, model.beta_) == (model.nnls_weight_, 0.0, 0.0)  # no bucket <= 4
    y = S[:, 0]
    model.fit(X[:10], y[:10])
    assert (model.weight_, model.alpha_, model.beta_) == model.stack_choice_[10]


def test_the_targets_own_samples_must_confirm_the_stack():
    """The stack chosen on the sources blends in members fitted on the n target samples; when their
    leave-one-out error is not below the prior's, the prior alone is used (confirm=True)."""
    from raynas.predictors import RaynasTransfer

    S, C = _additive_devices()
    X = np.hstack([S[:, 1:], C])
    noisy = S[:, 1] * np.exp(np.random.default_rng(3).normal(0, 0.4, len(S)))  # one source, timed noisily
    exact = C @ np.array([1.0, 2.0, 0.5, 1.0])  # a mix of the costs the cost member can express
    for confirm, want_noisy in ((True, 0.0), (False, 1.0)):
        m = RaynasTransfer(n_source=5, n_cost=C.shape[1], select_ns=(5, 10), confirm=confirm).pretrain(X)
        m.stack_choice_ = {10: (m.nnls_weight_, 1.0, 0.0)}  # as if the sources had chosen the cost member
        assert m.fit(X[:10], noisy[:10]).alpha_ == want_noisy
        assert m.fit(X[:10], exact[:10]).alpha_ == 1.0


def test_space_features_resume_after_an_interruption(tmp_path, monkeypatch):
    from raynas.predictors import features as feat
    from raynas.spaces import NB201Space

    space = NB201Space(channels=4, cells_per_stage=1)
    archs = [space.sample(np.random.default_rng(i)) for i in range(8)]
    real, calls = feat.arch_features, []

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) == 7:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(feat, "arch_features", flaky)
    with pytest.raises(KeyboardInterrupt):
        feat.space_features(space, archs, key="t", cache_dir=tmp_path, save_every=3)
    assert list(tmp_path.glob(".features_t-*.partial.npz"))  # six networks kept
    calls.clear()
    F = feat.space_features(space, archs, key="t", cache_dir=tmp_path, save_every=3)
    assert len(calls) == 2  # only the two that were not saved
    monkeypatch.setattr(feat, "arch_features", real)
    np.testing.assert_allclose(F, feat.space_features(space, archs, key="t2", cache_dir=tmp_path))
    assert not list(tmp_path.glob("*.partial.npz"))


def _tiny_space_and_archs(n):
    from raynas.spaces import NB201Space

    space = NB201Space(channels=4, cells_per_stage=1)
    return space, [space.sample(np.random.default_rng(i)) for i in range(n)]


def test_space_features_in_worker_processes_equal_the_sequential_build(tmp_path):
    from raynas.predictors import features as feat

    space, archs = _tiny_space_and_archs(12)
    seq = feat.space_features(space, archs, key="seq", cache_dir=tmp_path, workers=1)
    par = feat.space_features(space, archs, key="par", cache_dir=tmp_path, workers=2, save_every=5)
    np.testing.assert_array_equal(par, seq)  # same rows, same order, bit for bit
    assert not list(tmp_path.glob("*.partial.npz"))
    with np.load(next(tmp_path.glob("features_par*.npz"))) as z:
        np.testing.assert_array_equal(z["features"], seq)


def test_a_parallel_build_resumes_from_its_partial_file(tmp_path, monkeypatch):
    from raynas.predictors import features as feat

    space, archs = _tiny_space_and_archs(12)
    real_save, real_resolve = feat._save_npz, feat._resolve_workers

    def save_then_interrupt(file, **arrays):
        real_save(file, **arrays)
        if file.name.endswith(".partial.npz"):
            raise KeyboardInterrupt

    monkeypatch.setattr(feat, "_save_npz", save_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        feat.space_features(space, archs, key="t", cache_dir=tmp_path, workers=2, save_every=4)
    (partial,) = tmp_path.glob(".features_t-*.partial.npz")
    with np.load(partial) as z:
        done = int(z["done"])
    assert 4 <= done < 12
    monkeypatch.setattr(feat, "_save_npz", real_save)
    left = []
    monkeypatch.setattr(feat, "_resolve_workers",
                        lambda w, remaining: left.append(remaining) or real_resolve(w, remaining))
    F = feat.space_features(space, archs, key="t", cache_dir=tmp_path, workers=2, save_every=4)
    assert left == [12 - done]  # only the networks not saved are built again
    np.testing.assert_array_equal(F, feat.space_features(space, archs, key="seq", cache_dir=tmp_path, workers=1))
    assert not list(tmp_path.glob("*.partial.npz"))


def test_space_features_names_a_bad_worker_count(tmp_path):
    from raynas.errors import InvalidConfigError
    from raynas.predictors import features as feat

    space, archs = _tiny_space_and_archs(2)
    for bad in (0, -1, 1.5):
        with pytest.raises(InvalidConfigError, match=f"workers must be a positive integer, got {bad}"):
            feat.space_features(space, archs, key="bad", cache_dir=tmp_path, workers=bad)


def test_few_networks_are_built_in_this_process_by_default(monkeypatch):
    from raynas import parallel
    from raynas.predictors import features as feat

    monkeypatch.setattr(parallel, "default_workers", lambda cap=8: 4)
    assert feat._resolve_workers(None, feat.PARALLEL_FROM - 1) == 1
    assert feat._resolve_workers(None, feat.PARALLEL_FROM) == 4
    assert feat._resolve_workers(8, 3) == 3  # never more processes than networks


def test_default_workers_leaves_out_busy_cores(monkeypatch):
    from raynas import parallel

    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # as Ray sets it for a one-CPU trial
    assert parallel._usable_cores() == 1
    monkeypatch.setattr(parallel, "_usable_cores", lambda: 4)
    monkeypatch.setattr(parallel.os, "getloadavg", lambda: (1.0, 0.0, 0.0))  # only this process
    assert parallel.default_workers() == 4 and parallel.default_workers(cap=2) == 2
    monkeypatch.setattr(parallel.os, "getloadavg", lambda: (8.0, 0.0, 0.0))
    assert parallel.default_workers() == 1
