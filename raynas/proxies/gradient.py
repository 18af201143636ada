"""Gradient-based saliency proxies (Abdelfattah et al., ICLR 2021, after SNIP, GraSP and Fisher pruning).

All four read one forward/backward pass of the batch in train mode with the cross-entropy loss L,
over the weights W of every Conv2d/Linear layer; each layer's value is summed over its elements and
the network's score is the sum over layers (see :mod:`raynas.proxies.base`).
"""

from __future__ import annotations

from raynas.proxies.base import register_proxy


@register_proxy("grad_norm", passes=("loss",))
def grad_norm(ctx):
    """Σ_layers ‖∂L/∂W‖_F (a sum of per-layer Frobenius norms, not the global norm)."""
    return {n: 0.0 if g is None else float(g.norm()) for n, g in ctx.weight_grads().items()}


@register_proxy("snip", passes=("loss",))
def snip(ctx):
    """Σ |W ⊙ ∂L/∂W| — connection sensitivity (SNIP)."""
    grads = ctx.weight_grads()
    return {n: 0.0 if grads[n] is None else float((m.weight.detach() * grads[n]).abs().sum()) for n, m in ctx.layers}


@register_proxy("grasp", passes=("loss", "hessian"))
def grasp(ctx):
    """Σ −(W ⊙ H·g), g = ∂L/∂W, H the Hessian of L (GraSP); signed."""
    hg = ctx.hessian_grads()
    return {n: 0.0 if hg[n] is None else float(-(m.weight.detach() * hg[n]).sum()) for n, m in ctx.layers}


@register_proxy("fisher", passes=("loss", "activation"))
def fisher(ctx):
    """Per output channel k of a layer with output z: ½·mean_n(Σ_spatial z·∂L/∂z)², summed over channels.

    As in the reference code, each channel's value counts once per weight of that channel (it is
    broadcast to the channel's weights before the sum), so a layer's value is
    ``Σ_k fisher_k · (in_channels/groups · kh · kw)``."""
    out = {}
    for n, m in ctx.layers:
        z, gz = ctx.activations()[n]
        if gz is None:
            out[n] = 0.0
            continue
        g_nk = (z * gz).sum(dim=tuple(range(2, z.dim()))) if z.dim() > 2 else z * gz
        per_channel = 0.5 * g_nk.pow(2).mean(0)
        out[n] = float(per_channel.abs().sum()) * m.weight[0].numel()
    return out
