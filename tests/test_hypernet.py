"""MODNAS hypernetwork: MGD, sampling, shapes, preference conditioning, strategy state."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from raynas.hypernet import (HardwareProfile, MetaHypernetwork, MetaPredictor, AccuracySurrogate, mgd_direction,
                             min_norm_2, min_norm_weights, preference_grid, reinmax, sample_preferences,
                             st_gumbel_softmax)
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
    trainer = _toy_trainer()
    trainer.train()
    hw = torch.tensor(next(iter(trainer.devices.values())).embedding)
    acc_first, speed_first = trainer.hypernet.argmax_archs(torch.tensor([[0.95, 0.05], [0.05, 0.95]]), hw)
    assert acc_first != speed_first
    assert acc_first.count(3) >= 5 and speed_first.count(0) >= 5


def test_training_reproducible_given_seed():
    a, b = _toy_trainer(steps=20), _toy_trainer(steps=20)
    a.train(), b.train()
    assert torch.equal(a.hypernet.tables, b.hypernet.tables)


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
