"""Discrete architecture samples that gradients pass through: straight-through Gumbel-softmax and
ReinMax (Liu et al., NeurIPS 2023, the sampler MODNAS uses).

Both take logits ``[..., num_ops]`` and return a one-hot tensor of the same shape whose forward
value is exactly one-hot and whose backward pass is a (biased) gradient estimate w.r.t. the logits.
Randomness comes from an explicit ``torch.Generator`` so a seed reproduces every sample.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def _gumbel(shape, generator: torch.Generator | None, dtype, device) -> torch.Tensor:
    u = torch.rand(shape, generator=generator, dtype=dtype, device=device)
    return -torch.log(-torch.log(u.clamp(1e-10, 1.0 - 1e-7)))


def st_gumbel_softmax(logits: torch.Tensor, tau: float = 1.0, generator: torch.Generator | None = None,
                      noise: torch.Tensor | None = None) -> torch.Tensor:
    """Straight-through Gumbel-softmax: forward = one-hot of ``argmax(logits + g)``, backward =
    gradient of ``softmax((logits + g) / tau)``. ``noise`` (Gumbel samples) overrides the generator."""
    g = noise if noise is not None else _gumbel(logits.shape, generator, logits.dtype, logits.device)
    y = F.softmax((logits + g) / tau, dim=-1)
    hard = F.one_hot(y.argmax(-1), logits.shape[-1]).to(y.dtype)
    return hard - y.detach() + y


def reinmax(logits: torch.Tensor, tau: float = 1.0, generator: torch.Generator | None = None,
            noise: torch.Tensor | None = None) -> torch.Tensor:
    """ReinMax: a second-order (Heun) straight-through estimator. Forward = a categorical sample of
    ``softmax(logits)``; ``noise`` (Gumbel samples) may be given to fix the sample."""
    pi0 = F.softmax(logits, dim=-1)
    g = noise if noise is not None else _gumbel(logits.shape, generator, logits.dtype, logits.device)
    hard = F.one_hot((logits + g).argmax(-1), logits.shape[-1]).to(pi0.dtype)  # Gumbel-max = sample of pi0
    pi1 = (hard + F.softmax(logits / tau, dim=-1)) / 2
    pi1 = F.softmax((torch.log(pi1.clamp_min(1e-12)) - logits).detach() + logits, dim=-1)
    pi2 = 2 * pi1 - 0.5 * pi0
    return pi2 - pi2.detach() + hard


SAMPLERS = {"gumbel": st_gumbel_softmax, "reinmax": reinmax}


def get_sampler(name: str):
    from raynas.errors import UnknownNameError

    if name not in SAMPLERS:
        raise UnknownNameError(f"unknown architecture sampler {name!r}; choose one of {sorted(SAMPLERS)}")
    return SAMPLERS[name]
