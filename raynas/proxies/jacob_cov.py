"""Jacobian covariance (Mellor et al., 2020 v1 of "NAS without training"), as the zero-cost proxies paper uses it."""

from __future__ import annotations

import numpy as np

from raynas.proxies.base import register_proxy

EPS = 1e-5


@register_proxy("jacob_cov", passes=("input",))
def jacob_cov(ctx):
    """−Σ_i [log(v_i + k) + 1/(v_i + k)], k = 1e-5, v the eigenvalues of the correlation matrix of the
    per-input Jacobians J_n = ∂(Σ output)/∂x_n.

    The reference calls ``np.linalg.eig``; the matrix is symmetric, so ``eigvalsh`` gives the same
    eigenvalues, always real and faster. A constant Jacobian row makes the correlation undefined:
    the proxy then fails (NaN) rather than return a number."""
    j = ctx.input_grads().reshape(ctx.input_grads().shape[0], -1).double().cpu().numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = np.corrcoef(j)
    if not np.all(np.isfinite(corr)):
        return float("nan")
    v = np.linalg.eigvalsh(corr)
    return float(-np.sum(np.log(v + EPS) + 1.0 / (v + EPS)))
