"""Zero-cost proxies: score an untrained network from one minibatch (Abdelfattah et al., ICLR 2021).

::

    from raynas.proxies import compute_proxies
    scores = compute_proxies(model, (x, y), ["synflow", "snip", "jacob_cov", "naswot", "params"])

Registered proxies (:data:`PROXIES`): grad_norm, snip, grasp, fisher (:mod:`.gradient`), synflow
(:mod:`.synflow`), jacob_cov (:mod:`.jacob_cov`), naswot (:mod:`.naswot`), params, flops,
path_params (:mod:`.cost`). Population-level ensembles: :func:`vote` (the paper's majority of
synflow, jacob_cov and snip; :func:`pairwise_accuracy` is its published figure) and
:func:`rank_ensemble`. Add a proxy with :func:`register_proxy`. Representation similarity to a
reference model lives in :mod:`raynas.proxies.rmi`. :class:`ProxyTable` keeps values of many
architectures in a CSV file so benchmarks and predictors compute each one once.
"""

from raynas.proxies import cost, gradient, jacob_cov, naswot, synflow  # noqa: F401  (registration)
from raynas.proxies.base import PASSES, PROXIES, Proxy, get_proxy, register_proxy
from raynas.proxies.compute import (PAPER_PROXIES, ProxyReport, compute_proxies, proxy_report, resolve_names,
                                    score_architectures)
from raynas.proxies.ensemble import VOTE_MEMBERS, as_table, pairwise_accuracy, rank_ensemble, vote
from raynas.proxies.passes import ProxyContext, scored_layers
from raynas.proxies.table import BatchSpec, ProxyTable

__all__ = [
    "PASSES", "PROXIES", "Proxy", "get_proxy", "register_proxy", "PAPER_PROXIES", "ProxyReport",
    "compute_proxies", "proxy_report", "resolve_names", "score_architectures", "VOTE_MEMBERS", "as_table",
    "pairwise_accuracy", "rank_ensemble", "vote", "ProxyContext", "scored_layers", "BatchSpec", "ProxyTable",
]
