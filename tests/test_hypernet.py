"""MODNAS hypernetwork: MGD, sampling, shapes, preference conditioning, strategy state."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from raynas.hypernet import (HardwareProfile, MetaHypernetwork, MetaPredictor, AccuracySurrogate, mgd_direction,
                             min_norm_2, min_norm_weights, preference_grid, reinmax, sample_preferences,
                             st_gumbel_softmax)
from raynas.errors import InvalidConfigError, UnknownNameError
from raynas.hypernet.train import HypernetTrainer, TrainSettings, architecture_pool
from raynas.spaces import NB201Space

torch.set_num_threads(1)


# --- MGD --------------------------------------------------------------------------------------------
def test_min_norm_two_gradients_closed_form():
    # g1 = (1, 0), g2 = (0, 1): min-norm point of the segment is (1/2, 1/2), alpha = 1/2.
    g = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    d, alpha = mgd_direction(g, normalise=False)
    assert alpha == pytest.approx([0.5, 0.5])
    assert d.numpy() == pytest.approx([0.5, 0.5])
    # g1 = (2, 0), g2 = (0, 1): alpha1 = ((g2-g1).g2)/||g1-g2||^2 = 1/5 -> d = (0.4, 0.8), orthogonal to g1-g2.
    g = torch.tensor([[2.0, 0.0], [0.0, 1.0]])
    d, alpha = mgd_direction(g, normalise=False)
    assert alpha[0] == pytest.approx(0.2)
    assert d.numpy() == pytest.approx([0.4, 0.8])
    assert float(d.float() @ (g[0] - g[1])) == pytest.approx(0.0, abs=1e-9)
    # a gradient inside the other's half-space: the shorter vector alone is the solution
    assert min_norm_2(1.0, 1.0, 4.0) == pytest.approx(1.0)  # g2 = 2 g1 -> all weight on g1


def test_unit_normalisation_balances_scales():
    g = torch.tensor([[100.0, 0.0], [0.0, 1.0]])
    _, alpha = mgd_direction(g, normalise=True)
    assert alpha == pytest.approx([0.5, 0.5])


def test_frank_wolfe_three_gradients():
    # Vertices of an equilateral triangle in the plane z = 1: min-norm point is the centroid (0, 0, 1).
    ang = np.array([0.0, 2 * np.pi / 3, 4 * np.pi / 3])
    g = np.stack([np.cos(ang), np.sin(ang), np.ones(3)], 1)
    alpha = min_norm_weights(g @ g.T)
    assert alpha == pytest.approx([1 / 3] * 3, abs=1e-4)
    assert (alpha @ g) == pytest.approx([0, 0, 1], abs=1e-4)
    # e1, e2 and a third vector (1, 1): the third is dominated, solution stays (1/2, 1/2, 0) -> (0.5, 0.5)
    g = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    alpha = min_norm_weights(g @ g.T)
    assert alpha @ g == pytest.approx([0.5, 0.5], abs=1e-5)
    # 4 random gradients: KKT -- G alpha >= alpha^T G alpha on every vertex, with equality on the support
    rng = np.random.default_rng(0)
    g = rng.normal(size=(4, 6))
    alpha = min_norm_weights(g @ g.T, max_iter=5000, tol=1e-12)
    G = g @ g.T
    val = alpha @ G @ alpha
    assert np.all(G @ alpha >= val - 1e-4)
    assert alpha.sum() == pytest.approx(1.0) and np.all(alpha >= -1e-12)


def _toy_grads(x, a, b):
    """Gradients of f1 = ||x - a||^2 and f2 = ||x - b||^2; their Pareto set is the segment [a, b]."""
    return torch.stack([2 * (x - a), 2 * (x - b)])


def test_mgd_on_toy_two_objective_problem_closed_form():
    # a = (0, 0), b = (3, 0), x = (1, y): g1 = (2, 2y), g2 = (-4, 2y). Closed form:
    # alpha1 = ((g2 - g1).g2) / ||g1 - g2||^2 = 24 / 36 = 2/3, direction = (0, 2y), orthogonal to [a, b].
    a, b = torch.tensor([0.0, 0.0], dtype=torch.float64), torch.tensor([3.0, 0.0], dtype=torch.float64)
    x = torch.tensor([1.0, 1.0], dtype=torch.float64)
    d, alpha = mgd_direction(_toy_grads(x, a, b), normalise=False)
    assert alpha == pytest.approx([2 / 3, 1 / 3])
    assert d.numpy() == pytest.approx([0.0, 2.0])
    # descending along it: x stays at first coordinate 1, goes to the Pareto point (1, 0), and both
    # objectives decrease at every step
    f = lambda x: ((x - a).pow(2).sum().item(), (x - b).pow(2).sum().item())  # noqa: E731
    prev = f(x)
    for _ in range(60):
        d, _ = mgd_direction(_toy_grads(x, a, b), normalise=False)
        x = x - 0.1 * d
        cur = f(x)
        assert cur[0] < prev[0] and cur[1] < prev[1]
        prev = cur
    assert x.numpy() == pytest.approx([1.0, 0.0], abs=1e-5)
    d, _ = mgd_direction(_toy_grads(x, a, b), normalise=False)
    assert float(d.norm()) < 1e-4  # Pareto-stationary
    # with unit-normalised gradients (MODNAS) it still reaches the Pareto set, anywhere on [a, b]
    x = torch.tensor([2.5, 2.0], dtype=torch.float64)
    for _ in range(400):
        x = x - 0.1 * mgd_direction(_toy_grads(x, a, b), normalise=True)[0]
    assert abs(float(x[1])) < 0.01 and 0.0 <= float(x[0]) <= 3.0


# --- sampling ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("sampler", [st_gumbel_softmax, reinmax])
def test_sampling_reproducible_and_straight_through(sampler):
    logits = torch.randn(6, 5, generator=torch.Generator().manual_seed(1), requires_grad=True)
    a = sampler(logits, 0.5, generator=torch.Generator().manual_seed(7))
    b = sampler(logits, 0.5, generator=torch.Generator().manual_seed(7))
    assert torch.equal(a, b)
    assert torch.allclose(a.detach().sum(-1), torch.ones(6))
    assert set(a.detach().unique().tolist()) <= {0.0, 1.0}
    (a * torch.arange(5.0)).sum().backward()
    assert logits.grad is not None and logits.grad.abs().sum() > 0
    p1 = sample_preferences(8, torch.Generator().manual_seed(3))
    p2 = sample_preferences(8, torch.Generator().manual_seed(3))
    assert torch.equal(p1, p2) and torch.allclose(p1.sum(1), torch.ones(8)) and (p1 >= 0).all()


def test_preference_grid():
    g = preference_grid(24)
    assert g.shape == (24, 2) and np.allclose(g.sum(1), 1) and g[0, 0] == 1 and g[-1, 1] == 1


# --- hypernetwork -----------------------------------------------------------------------------------
@pytest.mark.parametrize("decisions,ops", [(6, 5), (22, 9)])
def test_hypernet_shapes(decisions, ops):
    hn = MetaHypernetwork(decisions, ops, num_tables=7, num_bins=11, hw_dim=10)
    out = hn(torch.tensor([[0.3, 0.7], [1.0, 0.0], [0.0, 1.0]]), torch.rand(3, 10))
    assert out.shape == (3, decisions, ops)
    assert hn(torch.tensor([0.5, 0.5]), torch.rand(10)).shape == (1, decisions, ops)
    assert hn.attention(torch.rand(4, 10)).sum(-1).allclose(torch.ones(4))
    assert len(hn.argmax_archs(torch.tensor([[0.5, 0.5]]), torch.rand(10))[0]) == decisions


class _ToyAccuracy(torch.nn.Module):
    """Error falls with the number of op-3 choices: accuracy wants all 3s."""

    def forward(self, x):
        return 1.0 - x.view(len(x), 6, 5)[:, :, 3].sum(-1) / 6


class _ToyLatency(MetaPredictor):
    """Latency rises with op 3 and is zero for op 0: speed wants all 0s."""

    def __init__(self):
        super().__init__(30, 10, 8)

    def forward(self, x, hw):
        return x.view(len(x), 6, 5)[:, :, 3].sum(-1) / 6 + 0.2 * x.view(len(x), 6, 5)[:, :, 1:].sum((-1, -2)) / 6


def _toy_trainer(steps=150, seed=0):
    hn = MetaHypernetwork(6, 5, num_tables=4, num_bins=21, seed=seed)
    devices = {f"dev{i}": HardwareProfile(f"dev{i}", np.linspace(1, 2 + i, 10)) for i in range(3)}
    trainer = HypernetTrainer(hn, _ToyAccuracy(), _ToyLatency(), devices, architecture_pool(NB201Space()),
                              TrainSettings(steps=steps, lr=0.1, samples=2, seed=seed))
    return trainer


def test_different_preferences_give_different_archs():
    trainer = _toy_trainer(steps=100)
    trainer.train()
    hw = torch.tensor(next(iter(trainer.devices.values())).embedding)
    acc_first, speed_first = trainer.hypernet.argmax_archs(torch.tensor([[0.95, 0.05], [0.05, 0.95]]), hw)
    assert acc_first != speed_first
    assert acc_first.count(3) >= 5 and speed_first.count(0) >= 5


def test_training_reproducible_given_seed():
    a, b = _toy_trainer(steps=20), _toy_trainer(steps=20)
    a.train(), b.train()
    assert torch.equal(a.hypernet.tables, b.hypernet.tables)


class _HwAccuracy(torch.nn.Module):
    """Error falls with op 3 (conv 3x3) and, a little less, with op 2 (conv 1x1)."""

    def forward(self, x):
        x = x.view(len(x), 6, 5)
        return 1.0 - (x[:, :, 3].sum(-1) + 0.8 * x[:, :, 2].sum(-1)) / 6


class _HwLatency(MetaPredictor):
    """The hardware embedding decides which convolution is slow: op 3 costs ``hw[0]``, op 2 ``1 - hw[0]``."""

    def __init__(self):
        super().__init__(30, 10, 8)

    def forward(self, x, hw):
        c = hw[..., 0] if hw.dim() > 1 else hw[0]
        x = x.view(len(x), 6, 5)
        return (c * x[:, :, 3].sum(-1) + (1 - c) * x[:, :, 2].sum(-1)) / 6


def test_hardware_embedding_conditions_the_architecture():
    # device "a" (hw[0] = 0): conv 3x3 is free; device "b" (hw[0] = 1): conv 3x3 is the slow one
    devices = {"a": HardwareProfile("a", np.arange(1.0, 11.0)), "b": HardwareProfile("b", np.arange(10.0, 0.0, -1))}
    hn = MetaHypernetwork(6, 5, num_tables=8, num_bins=21, seed=0)
    hn.set_hardware_stats(np.stack([p.embedding for p in devices.values()]))
    trainer = HypernetTrainer(hn, _HwAccuracy(), _HwLatency(), devices, architecture_pool(NB201Space()),
                              TrainSettings(steps=200, lr=0.1, samples=2, seed=0))
    trainer.train()
    pref = torch.tensor([[0.5, 0.5]])
    arch_a = hn.argmax_archs(pref, torch.tensor(devices["a"].embedding))[0]
    arch_b = hn.argmax_archs(pref, torch.tensor(devices["b"].embedding))[0]
    assert arch_a.count(3) >= 5, arch_a      # accurate and free on "a"
    assert arch_b.count(2) >= 5, arch_b      # on "b" the 1x1 conv is the free one
    with pytest.raises(InvalidConfigError):
        hn.set_hardware_stats(np.zeros((2, 7)))


# --- strategy ---------------------------------------------------------------------------------------
def test_strategy_state_round_trip():
    from raynas.strategies.hypernet import HypernetStrategy

    trainer = _toy_trainer(steps=30)
    targets = {"seen": trainer.devices["dev0"], "unseen": HardwareProfile("unseen", np.geomspace(1, 30, 10))}
    acc = AccuracySurrogate(30, 8)
    lat = MetaPredictor(30, 10, 8)
    s = HypernetStrategy(NB201Space(), trainer.hypernet, targets, accuracy=acc, latency=lat, n_preferences=6,
                         refit_every=3, refine_steps=5)
    first = [s.ask_with_context() for _ in range(4)]
    assert {c["target_device"] for _, c in first} == {"seen", "unseen"}
    assert len({(c["target_device"], a) for a, c in first}) == 4  # no repeated (device, arch) pair
    for a, c in first[:3]:
        s.tell(a, [0.1, 5.0], device=c["target_device"])
    state = s.state_dict()
    s2 = HypernetStrategy(NB201Space(), MetaHypernetwork(6, 5, num_tables=4, num_bins=21, seed=9), targets,
                          accuracy=AccuracySurrogate(30, 8), latency=MetaPredictor(30, 10, 8), n_preferences=6)
    s2.load_state_dict(state)
    assert torch.equal(s2.hypernet.tables, s.hypernet.tables)
    for p, q in zip(s.latency.parameters(), s2.latency.parameters()):
        assert torch.equal(p, q)
    s.tell(*first[3][0:1], [0.2, 6.0])  # device looked up from the pending ask
    s2.tell(*first[3][0:1], [0.2, 6.0])
    assert [s.ask_with_context() for _ in range(5)] == [s2.ask_with_context() for _ in range(5)]
    assert len(s.observations) == 4


def test_strategy_asks_reproducibly_given_a_seed():
    from raynas.strategies.hypernet import HypernetStrategy

    trainer = _toy_trainer(steps=10)

    def asks(seed):
        s = HypernetStrategy(NB201Space(), trainer.hypernet, {"a": trainer.devices["dev0"], "b": trainer.devices["dev1"]},
                             n_preferences=3, refit_every=0, seed=seed)
        return [s.ask_with_context() for _ in range(20)]  # the grid, then samples of the distribution

    first = asks(5)
    assert first == asks(5)
    assert first[12:] != asks(6)[12:]
    assert len({(c["target_device"], a) for a, c in first}) == 20  # never the same pair twice


def test_refine_teaches_both_surrogates_from_trials():
    from raynas.hypernet import fit_accuracy_surrogate
    from raynas.strategies.hypernet import HypernetStrategy

    space = NB201Space()
    rng = np.random.default_rng(0)
    archs = [space.sample(rng) for _ in range(40)]
    acc = fit_accuracy_surrogate(space, archs, np.full(40, 60.0), epochs=300, hidden=16, members=1)
    trainer = _toy_trainer(steps=5)
    prof = trainer.devices["dev0"]
    s = HypernetStrategy(space, trainer.hypernet, {"dev0": prof}, accuracy=acc, latency=MetaPredictor(30, 10, 16),
                         n_preferences=4, refit_every=4, refine_steps=3)
    asked = [s.ask() for _ in range(4)]
    x = torch.tensor(np.stack([space.encode_onehot(a) for a in asked]))
    hw = torch.tensor(prof.embedding)
    before = acc(x).detach().numpy()
    lat_before = prof.to_ms(s.latency(x, hw).detach().numpy())
    assert before == pytest.approx(0.4, abs=0.05)          # it learnt 60% accuracy everywhere
    for a in asked:                                          # the trials measure 95% and 1.8 ms
        s.tell(a, [-95.0, 1.8])
    assert s.refits == 1
    after = s.accuracy(x).detach().numpy()
    assert np.all(after < before - 0.05)                     # error moved towards the measured 5%
    lat_after = prof.to_ms(s.latency(x, hw).detach().numpy())
    assert np.abs(lat_after - 1.8).mean() < 0.5 * np.abs(lat_before - 1.8).mean()
    with pytest.raises(UnknownNameError):
        s.tell(asked[0], [-90.0, 3.0], device="nowhere")
    with pytest.raises(InvalidConfigError):
        HypernetStrategy(space, trainer.hypernet, {"x": HardwareProfile("x", [1.0, 2.0, 3.0])})


def test_zero_shot_device_measured_here(data_dir):
    """A device known only by its measured reference latencies gets proposals without retraining."""
    from raynas.hardware import LocalDevice
    from raynas.strategies.hypernet import HypernetStrategy

    space = NB201Space()
    trainer = _toy_trainer(steps=30)
    tables_before = trainer.hypernet.tables.detach().clone()
    local = HardwareProfile.from_device(LocalDevice(repeats=2, warmup=1), space, data_dir)
    assert local.reference_ms.shape == (10,) and np.all(local.reference_ms > 0)
    s = HypernetStrategy(space, trainer.hypernet, {"dev0": trainer.devices["dev0"]}, n_preferences=4, refit_every=0)
    s.add_target(local.name, local)
    asked = {s.ask_with_context()[1]["target_device"] for _ in range(8)}
    assert local.name in asked
    assert torch.equal(trainer.hypernet.tables, tables_before)
    assert len(s.front_archs(local)) == 4


def test_hypernet_searcher_config_has_target_device():
    pytest.importorskip("raynas.moo")
    from raynas.strategies.hypernet import HypernetStrategy
    from searchers.hypernet import HypernetSearch

    trainer = _toy_trainer(steps=5)
    s = HypernetStrategy(NB201Space(), trainer.hypernet, {"d": trainer.devices["dev0"]}, n_preferences=4,
                         refit_every=0)
    search = HypernetSearch(s, NB201Space(), ["accuracy", "latency_ms"], ["max", "min"])
    cfg = search.suggest("t1")
    assert cfg["target_device"] == "d" and "edge_10" in cfg
    search.on_trial_complete("t1", {"accuracy": 90.0, "latency_ms/d": 3.0})
    assert s.observations[0]["objectives"] == [-90.0, 3.0]
    search.set_state(search.get_state())


def test_hypernet_search_in_one_tune_experiment(ray_local, data_dir, tmp_path):
    """One Tune run profiles two devices (whatever the table's first two columns are) and its
    checkpointed searcher state restores into a fresh searcher."""
    import glob

    from raynas.hypernet import load_latency_data
    from raynas.strategies.hypernet import HypernetStrategy
    from searchers.experiment import run_search
    from searchers.hypernet import HypernetSearch
    from searchers.spaces import tune_param_space
    from searchers.trainables import tabular_trainable

    space = NB201Space()
    data = load_latency_data(space, data_dir)
    devices = data.devices[:2]

    def searcher():
        trainer = _toy_trainer(steps=20)
        strategy = HypernetStrategy(space, trainer.hypernet, {d: data.profile(d) for d in devices},
                                    accuracy=AccuracySurrogate(30, 8), latency=MetaPredictor(30, 10, 8),
                                    n_preferences=3, refit_every=3, refine_steps=2)
        return HypernetSearch(strategy, space, ["accuracy", "latency_ms"], ["max", "min"])

    metric, mode = ["accuracy", "latency_ms"], ["max", "min"]
    outcome = run_search(tabular_trainable(devices=devices, data_dir=str(data_dir)), tune_param_space(space),
                         searcher(), metric=metric, mode=mode, num_samples=6, output_dir=tmp_path,
                         max_concurrent=2, plot=False)
    df = outcome.results
    assert len(df) == 6 and set(df["config/target_device"]) == set(devices)
    states = sorted(glob.glob(str(tmp_path / "search" / "searcher-state-*.pkl")))
    assert states, "Tune did not checkpoint the searcher"
    restored = searcher()
    restored.restore(states[-1])
    obs = restored.strategy.observations
    assert len(obs) >= 4 and restored.strategy.refits >= 1
    for o in obs:  # every trial was scored on the device it was proposed for
        row = data.archs.index(o["arch"])
        assert o["objectives"][1] == pytest.approx(data.latency_ms[o["device"]][row])


# --- supernet mode ----------------------------------------------------------------------------------
def test_supernet_mode_trains_jointly_and_accuracy_gradient_reaches_hypernet():
    from raynas.hypernet.supernet import SupernetSettings, train_supernet_mode

    devices = {f"dev{i}": HardwareProfile(f"dev{i}", np.linspace(1, 2 + i, 10)) for i in range(2)}
    lat = _ToyLatency()
    trainer = train_supernet_mode(NB201Space(), lat, devices, dataset="digits", limit=600, channels=4,
                                  settings=SupernetSettings(steps=40, warmup_steps=40, devices_per_step=2,
                                                            val_batch=32, seed=0))
    warm = trainer.warmup_losses
    assert np.mean(warm[-8:]) < np.mean(warm[:8]) - 0.3         # the shared weights learn
    assert len(trainer.history) == 40
    # the hypernetwork's accuracy signal is the supernet's cross-entropy: it has a gradient
    hw = torch.tensor(devices["dev0"].embedding)
    logits = trainer.hypernet(torch.tensor([[1.0, 0.0]]), hw)
    w = st_gumbel_softmax(logits, 0.5, torch.Generator().manual_seed(0))[0]
    x, y = next(trainer.val_iter)
    ce = torch.nn.functional.cross_entropy(trainer.supernet(x[:32], w), y[:32])
    g = torch.autograd.grad(ce, trainer.hypernet.tables)[0]
    assert float(g.abs().sum()) > 0
    # inherited-weight accuracy: a trained cell beats an all-'none' cell (which passes nothing on)
    acc_arch = trainer.hypernet.argmax_archs(torch.tensor([[0.9, 0.1]]), hw)[0]
    assert trainer.evaluate(acc_arch) > trainer.evaluate((0,) * 6) + 20
    fast_arch = trainer.hypernet.argmax_archs(torch.tensor([[0.05, 0.95]]), hw)[0]
    enc = lambda a: torch.tensor(NB201Space().encode_onehot(a))[None]  # noqa: E731
    assert float(lat(enc(fast_arch), hw)) <= float(lat(enc(acc_arch), hw))


# --- FBNet: layers x blocks -------------------------------------------------------------------------
def test_fbnet_metapredictor_zero_shot_and_hypernet(data_dir):
    """The same machinery on FBNet's 22 layers x 9 blocks: a MetaPredictor trained on three table
    columns ranks a fourth, unseen column's latencies; the hypernetwork conditions on its embedding."""
    from scipy.stats import spearmanr

    from raynas.hypernet import fit_meta_predictor, load_latency_data
    from raynas.spaces import get_space

    space = get_space("fbnet")
    data = load_latency_data(space, data_dir)
    train, held_out = data.devices[:3], data.devices[-1]
    lat = fit_meta_predictor(data, train, archs_per_device=600, epochs=8, hidden=64, seed=0)
    x = torch.tensor(data.onehot[:1000])
    prof = data.profile(held_out)
    with torch.no_grad():
        pred = lat(x, torch.tensor(prof.embedding)).numpy()
    rho = spearmanr(pred, data.latency_ms[held_out][:1000])[0]
    assert rho > 0.5, rho

    class BigIsGood(torch.nn.Module):  # error falls with the expansion-6 blocks (ops 3 and 7)
        def forward(self, x):
            x = x.view(len(x), 22, 9)
            return 1.0 - (x[:, :, 3] + x[:, :, 7]).sum(-1) / 22

    hn = MetaHypernetwork(22, 9, num_tables=4, num_bins=11, seed=0)
    hn.set_hardware_stats(np.stack([data.profile(d).embedding for d in train]))
    trainer = HypernetTrainer(hn, BigIsGood(), lat, {d: data.profile(d) for d in train},
                              architecture_pool(space, n=500), TrainSettings(steps=40, lr=0.1, samples=2, seed=0))
    trainer.train()
    acc_first, fast_first = hn.argmax_archs(torch.tensor([[0.95, 0.05], [0.05, 0.95]]), torch.tensor(prof.embedding))
    big = lambda a: sum(op in (3, 7) for op in a)  # noqa: E731
    assert big(acc_first) > big(fast_first)


def test_default_device_split_uses_modnas_devices_only_where_present():
    from raynas.hypernet import default_device_split

    train, test, other = default_device_split(["raspi4", "pixel3", "new_gpu", "eyeriss", "1080ti_1"])
    assert test == ["raspi4", "eyeriss"] and train == ["1080ti_1", "pixel3"] and other == ["new_gpu"]
    cols = [f"dev{i}" for i in range(8)]  # a table with none of MODNAS's devices
    train, test, other = default_device_split(cols, seed=3)
    assert len(test) == 2 and set(train) == set(cols) - set(test) and not other
    assert default_device_split(cols, seed=3) == (train, test, other)
    with pytest.raises(InvalidConfigError):
        default_device_split([])
