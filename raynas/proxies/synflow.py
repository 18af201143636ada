"""Synaptic flow (Tanaka et al., NeurIPS 2020), data-free, as the zero-cost proxies paper computes it."""

from __future__ import annotations

from raynas.proxies.base import register_proxy


@register_proxy("synflow", passes=("synflow",))
def synflow(ctx):
    """Σ |W ⊙ ∂R/∂W| with BatchNorm off, weights replaced by |W|, float64 and an all-ones input of one
    sample; R = Σ output. Computed on a copy of the model, so its weights never change sign."""
    return {n: 0.0 if g is None else float((w * g).abs().sum()) for n, (w, g) in ctx.synflow().items()}
