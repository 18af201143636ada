"""Supernet mode: a weight-sharing NB201 supernet trained jointly with the hypernetwork.

Every edge of every cell is a mixed op ``sum_k w_k op_k(x)`` whose weights ``w`` are the sampled
straight-through one-hot row of the hypernetwork for that edge (shared by all cells, as in DARTS /
MODNAS's NB201 search model). Alternating steps, as in MODNAS:

1. supernet weights: sample (device, preference) and an architecture from the hypernetwork
   (detached), SGD on cross-entropy on a training batch;
2. hypernetwork: for each of ``devices_per_step`` training devices draw a preference, sample an
   architecture with straight-through gradients, score cross-entropy on a validation batch through
   the supernet (divided by log(num_classes)) and normalised latency from the MetaPredictor,
   scalarise, and step along the min-norm combination of the per-device gradients (MGD).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from raynas.errors import InvalidConfigError
from raynas.hypernet.mgd import assign_flat_grad, mgd_direction
from raynas.hypernet.model import MetaHypernetwork, sample_preferences
from raynas.predictors.modnas import HardwareProfile, MetaPredictor
from raynas.hypernet.sampling import get_sampler
from raynas.hypernet.train import ObjectiveNormaliser, scalarise
from raynas.spaces.nb201 import NB201_EDGES, NB201_OPS, make_op, stage_layers


MIXOPS = ("gdas", "full")


class MixedOp(nn.Module):
    """One edge of the supernet, weighted by a straight-through one-hot row ``w``.

    ``gdas`` (MODNAS's mix-op, from GDAS): only the selected op runs; every other op contributes its
    weight ``w_k`` (zero in the forward pass) so its logit still receives a gradient -- one op per
    edge, cheap on a CPU. ``full``: every op runs and is weighted (``sum_k w_k op_k(x)``), the exact
    straight-through gradient for every op, at five times the cost."""

    def __init__(self, channels: int, mixop: str = "gdas"):
        super().__init__()
        if mixop not in MIXOPS:
            raise InvalidConfigError(f"unknown mixop {mixop!r}; choose one of {list(MIXOPS)}")
        self.mixop = mixop
        self.ops = nn.ModuleList(make_op(name, channels) for name in NB201_OPS)

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        if self.mixop == "full":  # 'none' contributes zeros either way
            return sum(w[k] * op(x) for k, op in enumerate(self.ops) if NB201_OPS[k] != "none")
        k = int(w.detach().argmax())
        rest = w.sum() - w[k]                       # zero in the forward pass, gradient 1 to each w_j
        return w[k] * self.ops[k](x) + rest


class SearchCell(nn.Module):
    def __init__(self, channels: int, mixop: str = "gdas"):
        super().__init__()
        self.edges = nn.ModuleList(MixedOp(channels, mixop) for _ in NB201_EDGES)

    def forward(self, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        nodes = [x]
        e = 0
        for target in range(1, 4):
            total = 0
            for _ in range(target):
                total = total + self.edges[e](nodes[NB201_EDGES[e][1]], weights[e])
                e += 1
            nodes.append(total)
        return nodes[-1]


class NB201Supernet(nn.Module):
    """NB201 TinyNetwork with mixed ops; ``forward(x, weights[6, 5])``."""

    def __init__(self, channels: int = 8, cells_per_stage: int = 1, num_classes: int = 10, in_channels: int = 1,
                 mixop: str = "gdas"):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(in_channels, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels))
        layers, c = stage_layers(channels, cells_per_stage, lambda width: SearchCell(width, mixop))
        self.layers = nn.ModuleList(layers)
        self.head = nn.Sequential(nn.BatchNorm2d(c), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, num_classes))

    def forward(self, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        for layer in self.layers:
            x = layer(x, weights) if isinstance(layer, SearchCell) else layer(x)
        return self.head(x)


@dataclass
class SupernetSettings:
    """Joint training settings: ``steps`` alternating (weights, hypernetwork) updates; the Gumbel
    temperature anneals linearly from ``tau_max`` to ``tau_min``."""

    steps: int = 300
    warmup_steps: int = 0            # weight-only steps on uniformly random architectures first
    weight_lr: float = 0.05
    hypernet_lr: float = 0.05
    devices_per_step: int = 4
    val_batch: int = 64              # images of a validation batch scoring the hypernetwork's archs
    sampler: str = "gumbel"
    tau_max: float = 1.0
    tau_min: float = 0.1
    scalarisation: str = "linear"
    seed: int = 0

    def __post_init__(self):
        if self.steps < 0 or self.warmup_steps < 0 or self.devices_per_step < 1 or self.val_batch < 1:
            raise InvalidConfigError(f"bad SupernetSettings: {self}")
        if self.weight_lr <= 0 or self.hypernet_lr <= 0:
            raise InvalidConfigError(f"learning rates must be positive: {self}")
        get_sampler(self.sampler)


def _cycle(loader):
    while True:
        yield from loader


class SupernetTrainer:
    """Joint training of ``supernet`` weights and ``hypernet`` (see module docstring)."""

    def __init__(self, supernet: NB201Supernet, hypernet: MetaHypernetwork, latency: MetaPredictor,
                 devices: dict[str, HardwareProfile], pool: torch.Tensor, train_loader, val_loader,
                 settings: SupernetSettings | None = None, num_classes: int = 10):
        if hypernet.num_decisions != len(NB201_EDGES) or hypernet.num_ops != len(NB201_OPS):
            raise InvalidConfigError("supernet mode is implemented for the NB201 space (6 x 5)")
        self.supernet, self.hypernet, self.latency = supernet, hypernet, latency
        self.devices = dict(devices)
        self.settings = settings or SupernetSettings()
        for p in latency.parameters():
            p.requires_grad_(False)
        latency.eval()
        # The normaliser only needs latency ranges here; accuracy comes from the supernet.
        self.norm = ObjectiveNormaliser(lambda x: torch.zeros(len(x)), latency, pool)
        self.train_iter, self.val_iter = _cycle(train_loader), _cycle(val_loader)
        self.generator = torch.Generator().manual_seed(self.settings.seed)
        self.w_opt = torch.optim.SGD(supernet.parameters(), lr=self.settings.weight_lr, momentum=0.9, weight_decay=3e-4)
        self.h_opt = torch.optim.Adam(hypernet.parameters(), lr=self.settings.hypernet_lr)
        self.ce_scale = 1.0 / math.log(num_classes)
        self.step_count = 0
        self.history: list[dict] = []
        self.warmup_losses: list[float] = []

    def tau(self) -> float:
        s = self.settings
        return s.tau_max + (s.tau_min - s.tau_max) * min(1.0, self.step_count / max(1, s.steps - 1))

    def _sample(self, names, requires_grad: bool):
        hws = torch.stack([torch.tensor(self.devices[n].embedding) for n in names])
        prefs = sample_preferences(len(names), self.generator)
        logits = self.hypernet(prefs, hws)
        if not requires_grad:
            logits = logits.detach()
        return prefs, hws, get_sampler(self.settings.sampler)(logits, self.tau(), generator=self.generator)

    def _weight_step(self, arch: torch.Tensor) -> float:
        self.supernet.train()
        x, y = next(self.train_iter)
        loss_w = nn.functional.cross_entropy(self.supernet(x, arch), y)
        self.w_opt.zero_grad(set_to_none=True)
        loss_w.backward()
        nn.utils.clip_grad_norm_(self.supernet.parameters(), 5.0)
        self.w_opt.step()
        return float(loss_w.detach())

    def warmup(self, steps: int | None = None) -> list[float]:
        """Train the supernet weights alone on uniformly random architectures, so every op has
        trained weights before the hypernetwork starts choosing (otherwise the ops it picks first
        are the only ones trained, and it keeps picking them)."""
        losses = []
        n_dec, n_ops = len(NB201_EDGES), len(NB201_OPS)
        for _ in range(self.settings.warmup_steps if steps is None else steps):
            ops = torch.randint(n_ops, (n_dec,), generator=self.generator)
            losses.append(self._weight_step(nn.functional.one_hot(ops, n_ops).float()))
        return losses

    def step(self) -> dict:
        s = self.settings
        names = list(self.devices)
        # 1. supernet weights, on an architecture the hypernetwork samples (no gradient to it)
        pick = [names[int(torch.randint(len(names), (1,), generator=self.generator))]]
        _, _, arch = self._sample(pick, requires_grad=False)
        loss_w = self._weight_step(arch[0])
        # 2. hypernetwork by MGD across a subset of training devices
        xv, yv = next(self.val_iter)
        xv, yv = xv[: s.val_batch], yv[: s.val_batch]
        k = min(s.devices_per_step, len(names))
        idx = torch.randperm(len(names), generator=self.generator)[:k]
        chosen = [names[i] for i in idx]
        prefs, hws, archs = self._sample(chosen, requires_grad=True)
        params = list(self.hypernet.parameters())
        grads, losses, objs = [], [], []
        for i in range(k):
            ce = nn.functional.cross_entropy(self.supernet(xv, archs[i]), yv) * self.ce_scale
            lo, span = self.norm.latency_range(hws[i])
            lat = (self.latency(archs[i].reshape(1, -1), hws[i]) - lo) / span
            f = torch.stack([ce, lat[0]])
            loss = scalarise(prefs[i][None], f[None], s.scalarisation)[0]
            g = torch.autograd.grad(loss, params, retain_graph=True, allow_unused=True)
            grads.append(torch.cat([(gi if gi is not None else torch.zeros_like(p)).reshape(-1) for gi, p in zip(g, params)]))
            losses.append(float(loss.detach()))
            objs.append(f.detach())
        self.h_opt.zero_grad(set_to_none=True)
        direction, alpha = mgd_direction(grads) if k > 1 else (grads[0] / grads[0].norm().clamp_min(1e-12), np.ones(1))
        assign_flat_grad(params, direction.float())
        self.h_opt.step()
        self.supernet.zero_grad(set_to_none=True)
        self.step_count += 1
        return {"step": self.step_count, "train_ce": loss_w, "loss": float(np.mean(losses)),
                "objectives": torch.stack(objs).mean(0).tolist(), "tau": self.tau()}

    def train(self, steps: int | None = None, log_every: int = 0) -> list[dict]:
        """Warm-up (first call only), then ``steps`` joint steps; returns the per-step history."""
        from raynas.logs import Progress

        t0 = time.perf_counter()
        if self.step_count == 0 and not self.warmup_losses:
            self.warmup_losses = self.warmup()
        steps = self.settings.steps if steps is None else steps
        with Progress(steps, "hypernetwork + supernet training", unit="steps",
                      interval=10.0 if not log_every else 0.0) as bar:
            for _ in range(steps):
                rec = self.step()
                rec["time_s"] = time.perf_counter() - t0
                self.history.append(rec)
                bar.update(note=f"train_ce {rec['train_ce']:.3f} loss {rec['loss']:.3f} "
                           f"ce/lat {rec['objectives'][0]:.3f}/{rec['objectives'][1]:.3f}")
        return self.history

    @torch.no_grad()
    def evaluate(self, arch: tuple[int, ...], batches: int = 4) -> float:
        """Supernet (inherited-weight) accuracy (%) of ``arch`` on validation batches.

        BatchNorm uses each batch's statistics (the running averages mix every sampled
        architecture's activations, a known weakness of weight sharing) and its running averages
        are left untouched."""
        w = torch.zeros(len(NB201_EDGES), len(NB201_OPS))
        w[torch.arange(len(arch)), torch.tensor(arch)] = 1.0
        bns = [m for m in self.supernet.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
        momenta = [m.momentum for m in bns]
        self.supernet.train()
        for m in bns:
            m.momentum = 0.0
        correct = total = 0
        try:
            for _ in range(batches):
                x, y = next(self.val_iter)
                correct += (self.supernet(x, w).argmax(1) == y).sum().item()
                total += len(y)
        finally:
            for m, mom in zip(bns, momenta):
                m.momentum = mom
        return 100.0 * correct / total


def train_supernet_mode(space, latency: MetaPredictor, devices: dict[str, HardwareProfile], dataset: str = "digits",
                        data_dir=None, limit: int | None = None, channels: int = 8, cells_per_stage: int = 1,
                        settings: SupernetSettings | None = None, log_every: int = 0, seed: int = 0,
                        mixop: str = "gdas", standardise_hw: bool = True, batch_size: int = 64) -> SupernetTrainer:
    """Build the supernet (``channels``, ``cells_per_stage``) and the hypernetwork for ``dataset``
    (``digits`` or ``fashion-mnist``, at most ``limit`` images; ``data_dir`` the shared data root)
    and train them jointly on ``devices`` (name -> profile)."""
    from pathlib import Path

    from raynas import data
    from raynas.hypernet.train import architecture_pool

    if not devices:
        raise InvalidConfigError("train_supernet_mode needs at least one training device")
    torch.manual_seed(seed)
    if dataset == "digits":
        ds = data.load_dataset("digits")
    else:
        directory = Path(data_dir) / "fashion-mnist" if data_dir is not None else None
        ds = data.load_dataset(dataset, directory, limit=limit)
    train_loader, val_loader = data.train_val_loaders(ds, batch_size=batch_size, seed=seed, limit=limit)
    supernet = NB201Supernet(channels, cells_per_stage, ds.num_classes, ds.shape[0], mixop)
    hw_dim = next(iter(devices.values())).reference_ms.size
    hypernet = MetaHypernetwork(space.num_decisions, len(space.ops), hw_dim=hw_dim, seed=seed)
    if standardise_hw:
        hypernet.set_hardware_stats(np.stack([p.embedding for p in devices.values()]))
    trainer = SupernetTrainer(supernet, hypernet, latency, devices, architecture_pool(space, seed=seed),
                              train_loader, val_loader, settings or SupernetSettings(seed=seed), ds.num_classes)
    trainer.train(log_every=log_every)
    return trainer
