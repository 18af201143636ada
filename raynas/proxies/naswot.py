"""NASWOT (Mellor et al., ICML 2021): how differently the network's ReLUs partition a batch."""

from __future__ import annotations

import numpy as np

from raynas.proxies.base import register_proxy


@register_proxy("naswot", passes=("relu",))
def naswot(ctx):
    """log|det K|, K = Σ_ReLU [c cᵀ + (1−c)(1−c)ᵀ], c the binary codes (input > 0) of each sample at
    each ``nn.ReLU``; the model runs in train mode, as in the original code (BatchNorm on batch
    statistics). A singular K gives −inf, reported as a failure."""
    _, logdet = np.linalg.slogdet(ctx.relu_kernel().cpu().numpy())
    return float(logdet)
