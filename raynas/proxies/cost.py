"""Cost proxies read off the built network: parameters, FLOPs, and parameters on an input-output path.

Units are millions (M parameters, M multiply-accumulates), as NAS-Bench-201 publishes them.
"""

from __future__ import annotations

import torch

from raynas.proxies.base import register_proxy


@register_proxy("params", passes=("static",))
def params(ctx):
    """Number of parameters of the whole model (millions)."""
    return sum(p.numel() for p in ctx.model.parameters()) / 1e6


@register_proxy("flops", passes=("static",))
def flops(ctx):
    """Multiply-accumulates of the Conv2d/Linear layers for one input (millions), per layer."""
    return {n: v / 1e6 for n, v in ctx.macs().items()}


@register_proxy("path_params", passes=("synflow",))
def path_params(ctx):
    """Parameters (millions) of Conv2d/Linear output channels that lie on an input-output path: a
    channel counts if its synflow gradient is non-zero, so convolutions behind ``none`` edges (which
    NAS-Bench-201 still builds) do not. A topology-aware parameter count."""
    out = {}
    for n, (w, g) in ctx.synflow().items():
        if g is None:
            out[n] = 0.0
            continue
        live = torch.count_nonzero(g.abs().sum(dim=tuple(range(1, g.dim()))))
        out[n] = float(live) * w[0].numel() / 1e6
    return out
