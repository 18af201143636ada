"""Cost proxies read off the built network: parameters, FLOPs, and parameters on an input-output path.

Units are millions (M parameters, M multiply-accumulates), as NAS-Bench-201 publishes them.
"""

from __future__ import annotations

import torch
from torch import nn

from raynas.proxies.base import register_proxy


@register_proxy("params", passes=("static",))
def params(ctx):
    """Number of parameters of the whole model (millions)."""
    return sum(p.numel() for p in ctx.model.parameters()) / 1e6


def conv_linear_macs(model: nn.Module, input_shape: tuple[int, ...]) -> dict[str, float]:
    """Multiply-accumulates of every Conv2d/Linear layer for one input of ``input_shape`` (raw counts)."""
    macs: dict[str, float] = {}
    names = {m: n for n, m in model.named_modules()}

    def hook(m, _inp, out):
        per_sample = out.numel() // out.shape[0]
        if isinstance(m, nn.Conv2d):
            k = (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]
        else:
            k = m.in_features
        macs[names[m]] = macs.get(names[m], 0.0) + float(per_sample * k)

    layers = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    handles = [m.register_forward_hook(hook) for m in layers]
    was_training = model.training
    dtype = next((p.dtype for p in model.parameters()), torch.float32)
    try:
        model.eval()
        with torch.no_grad():
            model(torch.zeros(1, *input_shape, dtype=dtype))
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    return macs


@register_proxy("flops", passes=("static",))
def flops(ctx):
    """Multiply-accumulates of the Conv2d/Linear layers for one input (millions), per layer."""
    return {n: v / 1e6 for n, v in conv_linear_macs(ctx.model, ctx.input_shape).items()}


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
