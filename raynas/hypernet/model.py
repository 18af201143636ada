"""The MetaHypernetwork: (preference vector, hardware embedding) -> architecture logits.

As in MODNAS: a bank of ``K`` tables, each holding architecture logits for every bin of a
discretised preference (101 bins of the first objective's weight), mixed per device by the
attention ``softmax(sin(h . keys^T / sqrt(d)))`` of the hardware embedding ``h`` over ``K`` learned
keys. The output has one row of logits per decision of the search space (NB201 6 edges x 5 ops,
FBNet 22 layers x 9 blocks). Two objectives (the simplex is then an interval).

Deliberate differences from the reference code (automl/MODNAS ``hpn_nb201.py``):

* a table is read by linear interpolation between the two nearest bins (the reference rounds to
  one bin), so neighbouring preferences share what they learn;
* the hardware embedding is standardised with the mean and spread of the training devices'
  embeddings before the attention (:meth:`MetaHypernetwork.set_hardware_stats`; identity until
  called). Raw min-max embeddings of real devices are similar vectors in [0, 1]: trained on 16
  NB201 table devices, the hypernetwork then proposed the very same architecture set for every
  device; standardised, the sets differ per device. (On NB201's published devices this does not
  raise the hypervolume: their fronts transfer well between devices, see the benchmark's
  "hardware embedding ignored" row.)
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from raynas.errors import InvalidConfigError


class MetaHypernetwork(nn.Module):
    """Preference- and hardware-conditioned architecture generator.

    Parameters: ``num_decisions`` x ``num_ops`` logits (NB201 6 x 5, FBNet 22 x 9); ``num_tables``
    (K, 50 in MODNAS); ``num_bins`` of the preference (101); ``hw_dim`` (10 reference archs);
    ``init_scale`` of the tables (small: the first architectures are close to uniform samples).
    """

    def __init__(self, num_decisions: int, num_ops: int, num_tables: int = 50, num_bins: int = 101,
                 hw_dim: int = 10, init_scale: float = 1e-3, seed: int = 0):
        super().__init__()
        if min(num_decisions, num_ops, num_tables, hw_dim) < 1 or num_bins < 2:
            raise InvalidConfigError("MetaHypernetwork sizes must be positive (num_bins >= 2)")
        self.num_decisions, self.num_ops = num_decisions, num_ops
        self.num_tables, self.num_bins, self.hw_dim = num_tables, num_bins, hw_dim
        g = torch.Generator().manual_seed(seed)
        self.tables = nn.Parameter(init_scale * torch.randn(num_tables, num_bins, num_decisions * num_ops, generator=g))
        self.keys = nn.Parameter(torch.randn(num_tables, hw_dim, generator=g))
        self.register_buffer("hw_mean", torch.zeros(hw_dim))
        self.register_buffer("hw_scale", torch.ones(hw_dim))

    def set_hardware_stats(self, embeddings) -> None:
        """Standardise future hardware embeddings with the per-coordinate mean and standard deviation
        of ``embeddings`` (``[n_devices, hw_dim]``, the training devices')."""
        e = torch.as_tensor(np.asarray(embeddings, dtype=np.float32))
        if e.dim() != 2 or e.shape[1] != self.hw_dim or e.shape[0] < 1:
            raise InvalidConfigError(f"set_hardware_stats needs [n_devices, {self.hw_dim}] embeddings, got {tuple(e.shape)}")
        self.hw_mean.copy_(e.mean(0))
        std = e.std(0, unbiased=False) if e.shape[0] > 1 else torch.ones(self.hw_dim)
        self.hw_scale.copy_(torch.where(std > 1e-6, std, torch.ones_like(std)))

    def config(self) -> dict:
        return {"num_decisions": self.num_decisions, "num_ops": self.num_ops, "num_tables": self.num_tables,
                "num_bins": self.num_bins, "hw_dim": self.hw_dim}

    def attention(self, hw: torch.Tensor) -> torch.Tensor:
        """Mixing weights ``[B, K]`` of the tables for hardware embeddings ``[B, hw_dim]``."""
        hw = (hw - self.hw_mean) / self.hw_scale
        sim = hw @ self.keys.T / math.sqrt(self.hw_dim)
        return torch.softmax(torch.sin(sim), dim=-1)

    def forward(self, preference: torch.Tensor, hw: torch.Tensor) -> torch.Tensor:
        """Logits ``[B, num_decisions, num_ops]`` for preferences ``[B, 2]`` and embeddings ``[B, hw_dim]``."""
        preference = torch.as_tensor(preference, dtype=self.tables.dtype)
        hw = torch.as_tensor(hw, dtype=self.tables.dtype)
        if preference.dim() == 1:
            preference = preference[None]
        if hw.dim() == 1:
            hw = hw[None].expand(preference.shape[0], -1)
        if preference.shape[-1] != 2:
            raise InvalidConfigError(f"MetaHypernetwork takes 2-objective preferences, got shape {tuple(preference.shape)}")
        if hw.shape[-1] != self.hw_dim:
            raise InvalidConfigError(f"hardware embedding has {hw.shape[-1]} values, expected {self.hw_dim}")
        w = preference[:, 0] / preference.sum(-1).clamp_min(1e-12)
        pos = w.clamp(0, 1) * (self.num_bins - 1)
        lo = pos.floor().long().clamp(max=self.num_bins - 2)
        frac = (pos - lo).unsqueeze(-1).unsqueeze(-1)
        rows = (1 - frac) * self.tables[:, lo].transpose(0, 1) + frac * self.tables[:, lo + 1].transpose(0, 1)  # [B,K,DO]
        out = (self.attention(hw).unsqueeze(-1) * rows).sum(1)
        return out.view(-1, self.num_decisions, self.num_ops)

    @torch.no_grad()
    def argmax_archs(self, preference, hw) -> list[tuple[int, ...]]:
        """The most likely architecture per row: what the hypernetwork proposes."""
        return [tuple(int(a) for a in row) for row in self(preference, hw).argmax(-1)]


def preference_grid(n: int = 24) -> np.ndarray:
    """MODNAS's evaluation grid: ``n`` preference vectors evenly spaced in angle on the quarter
    circle, scaled to the simplex (:func:`raynas.moo.quarter_circle_preferences`). Row ``i`` weighs
    (objective 0, objective 1)."""
    from raynas.moo import quarter_circle_preferences

    return quarter_circle_preferences(n)


def sample_preferences(n: int, generator: torch.Generator | None = None, concentration=(1.0, 1.0)) -> torch.Tensor:
    """``n`` preference vectors from Dirichlet(concentration) (MODNAS samples Dirichlet(1, 1)),
    reproducible with ``generator``."""
    c = np.asarray(concentration, dtype=np.float64)
    if c.ndim != 1 or c.size < 2 or np.any(c <= 0):
        raise InvalidConfigError(f"Dirichlet concentration must be >= 2 positive numbers, got {concentration!r}")
    if np.all(c == 1.0):  # uniform on the simplex: normalised Exponential(1) draws
        u = torch.rand(n, c.size, generator=generator).clamp_min(1e-12)
        x = -torch.log(u)
        return x / x.sum(1, keepdim=True)
    seed = int(torch.randint(0, 2**62, (1,), generator=generator))
    return torch.tensor(np.random.default_rng(seed).dirichlet(c, size=n), dtype=torch.float32)
