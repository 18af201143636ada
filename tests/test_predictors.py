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


def test_save_load_round_trip(tmp_path):
    rng, S, F = synthetic()
    y = S @ rng.random(S.shape[1]) + 0.1
    X, k, c = transfer_encoding(S, F)
    idx = rng.choice(len(y), 40, replace=False)
    for i, m in enumerate([RaynasTransfer(n_source=k, n_cost=c), AnalyticRidge(), NNLSTransfer()]):
        Xm = X if i == 0 else (F if i == 1 else S)
        m.fit(Xm[idx], y[idx])
        save_predictor(m, tmp_path / f"m{i}.pkl")
        m2 = load_predictor(tmp_path / f"m{i}.pkl")
        np.testing.assert_array_equal(m.predict(Xm), m2.predict(Xm))


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


def test_transfer_on_real_table(data_dir):
    """Few-shot transfer on a slice of the published FBNet table (features cached or 300 built)."""
    from raynas.predictors import load_space_table
    from raynas.predictors.features import default_cache_dir

    tab = load_space_table("fbnet", data_dir)
    if not (default_cache_dir() / "features_fbnet.npz").is_file():
        pytest.skip("FBNet feature cache absent (run benchmarks/predictor_transfer.py once to build it)")
    F = tab.features()
    assert F.shape == (len(tab.archs), len(FEATURE_NAMES)) and np.isfinite(F).all()
    t = 0
    S = np.delete(tab.latency, t, axis=1)
    y = tab.latency[:, t]
    X, k, c = transfer_encoding(S, F)
    idx = np.random.default_rng(0).choice(len(y), 20, replace=False)
    rho_r = spearman(RaynasTransfer(n_source=k, n_cost=c).fit(X[idx], y[idx]).predict(X), y)
    rho_oh = spearman(OneHotRidge().fit(tab.onehot()[idx], y[idx]).predict(tab.onehot()), y)
    assert rho_r > 0.8 and rho_r > rho_oh
