"""Multiple-gradient descent (Désidéri 2012; Sener & Koltun 2018): the min-norm convex combination.

Given gradients ``g_1..g_n`` (one per objective, or per device as in MODNAS), MGD finds
``alpha`` on the simplex minimising ``||sum_i alpha_i g_i||``; the combined direction decreases every
objective at once (or is zero at a Pareto-stationary point). Two gradients have the closed form
``alpha_1 = clip(((g_2 - g_1) . g_2) / ||g_1 - g_2||^2, 0, 1)``; more use Frank-Wolfe on the Gram
matrix, started from the best pair.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch


def min_norm_2(g11: float, g12: float, g22: float) -> float:
    """Weight ``a`` of the first vector minimising ``||a g_1 + (1 - a) g_2||^2`` given the dot
    products ``g11 = g_1.g_1``, ``g12 = g_1.g_2``, ``g22 = g_2.g_2`` (closed form, clipped to [0, 1])."""
    denom = g11 + g22 - 2.0 * g12
    if denom <= 1e-12:  # identical vectors: any combination; take the midpoint
        return 0.5
    return float(np.clip((g22 - g12) / denom, 0.0, 1.0))


def min_norm_weights(gram: np.ndarray, max_iter: int = 250, tol: float = 1e-7) -> np.ndarray:
    """Simplex weights minimising ``alpha^T G alpha`` for a Gram matrix ``G`` (n x n).

    n = 1: ``[1]``; n = 2: the closed form; n > 2: Frank-Wolfe with exact line search, started from
    the best pair's closed-form solution.
    """
    gram = np.asarray(gram, dtype=np.float64)
    n = gram.shape[0]
    if gram.shape != (n, n) or n == 0:
        raise ValueError(f"gram must be a non-empty square matrix, got shape {gram.shape}")
    if n == 1:
        return np.ones(1)
    best, alpha = np.inf, None
    for i in range(n):
        for j in range(i + 1, n):
            a = min_norm_2(gram[i, i], gram[i, j], gram[j, j])
            cost = a * a * gram[i, i] + 2 * a * (1 - a) * gram[i, j] + (1 - a) ** 2 * gram[j, j]
            if cost < best:
                best, alpha = cost, np.zeros(n)
                alpha[i], alpha[j] = a, 1 - a
    if n == 2:
        return alpha
    for _ in range(max_iter):
        grad = gram @ alpha
        t = int(np.argmin(grad))  # vertex minimising the linearisation
        # line search between current point u = G-combination(alpha) and vertex e_t
        uu = float(alpha @ gram @ alpha)
        ut = float(grad[t])
        tt = float(gram[t, t])
        gamma = min_norm_2(tt, ut, uu)  # weight on the vertex
        new = (1 - gamma) * alpha
        new[t] += gamma
        if np.abs(new - alpha).sum() < tol:
            alpha = new
            break
        alpha = new
    return alpha


def _flat(grads: Sequence[torch.Tensor | None], like: Sequence[torch.Tensor]) -> torch.Tensor:
    return torch.cat([(g if g is not None else torch.zeros_like(p)).reshape(-1) for g, p in zip(grads, like)])


def mgd_direction(gradients: Sequence[torch.Tensor], normalise: bool = True) -> tuple[torch.Tensor, np.ndarray]:
    """Combine flat gradients ``[n, P]`` (or a list of ``P``-vectors) into the min-norm direction.

    With ``normalise`` each gradient is first scaled to unit norm (as MODNAS does), so no objective
    dominates by scale. Returns ``(direction, alpha)``.
    """
    g = torch.stack(list(gradients)) if not isinstance(gradients, torch.Tensor) else gradients
    g = g.detach().to(torch.float64)
    if normalise:
        g = g / g.norm(dim=1, keepdim=True).clamp_min(1e-12)
    alpha = min_norm_weights((g @ g.T).cpu().numpy())
    direction = (torch.as_tensor(alpha, dtype=g.dtype)[:, None] * g).sum(0)
    return direction, alpha


def flatten_grads(grads: Sequence[torch.Tensor | None], params: Sequence[torch.Tensor]) -> torch.Tensor:
    """One flat vector from per-parameter gradients (``None`` counts as zeros)."""
    return _flat(grads, params)


def assign_flat_grad(params: Sequence[torch.Tensor], flat: torch.Tensor) -> None:
    """Write a flat gradient vector into ``param.grad`` of each parameter."""
    offset = 0
    for p in params:
        n = p.numel()
        p.grad = flat[offset: offset + n].view_as(p).to(p.dtype).clone()
        offset += n
