"""The proxy registry: one short declaration per zero-cost proxy.

A proxy is a function of a :class:`~raynas.proxies.passes.ProxyContext` that returns either one
number for the whole network or a ``{layer name: value}`` dict (layer-wise values, summed into the
network's score as in the paper). It declares the *passes* it reads, so
:func:`~raynas.proxies.compute_proxies` runs each pass once for every proxy that needs it:

============== ===========================================================================
pass           what it provides
============== ===========================================================================
``loss``       ∂L/∂W of every scored layer (one forward/backward, train mode, cross-entropy)
``activation`` each scored layer's output z and ∂L/∂z (read from the same backward)
``hessian``    H·g for every scored layer (a double backward on the same graph)
``input``      ∂(Σ output)/∂x per input (a second backward on the same forward)
``relu``       binary ReLU codes of the batch, as NASWOT's kernel (hooks on the same forward)
``synflow``    |W| and ∂R/∂W of the data-free, BatchNorm-free float64 pass
``static``     nothing: the proxy reads the model itself (params, FLOPs)
============== ===========================================================================

Users add proxies with :func:`register_proxy`::

    @register_proxy("weight_l2", passes=("static",))
    def weight_l2(ctx):
        return {name: float(m.weight.detach().norm()) for name, m in ctx.layers}
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from raynas.errors import InvalidConfigError
from raynas.registry import Registry

PASSES = ("loss", "activation", "hessian", "input", "relu", "synflow", "static")
#: Passes that need a forward pass of the real batch (inputs, and labels for ``loss``-based ones).
DATA_PASSES = frozenset({"loss", "activation", "hessian", "input", "relu"})
#: Passes that back-propagate the loss, so they need labels.
LABEL_PASSES = frozenset({"loss", "activation", "hessian"})

LayerValues = dict[str, float]
ProxyFn = Callable[[Any], "float | LayerValues"]


@dataclass(frozen=True)
class Proxy:
    """A registered proxy: its function, the passes it reads and what it means."""

    name: str
    fn: ProxyFn
    passes: frozenset[str]
    description: str = ""
    data_free: bool = False

    @property
    def needs_labels(self) -> bool:
        return bool(self.passes & LABEL_PASSES)


PROXIES: Registry[Proxy] = Registry("proxy")


def register_proxy(name: str, *, passes: Sequence[str], description: str = "", overwrite: bool = False):
    """Decorator registering ``fn(ctx)`` as proxy ``name`` reading ``passes`` (see the module doc)."""
    unknown = [p for p in passes if p not in PASSES]
    if unknown or not passes:
        raise InvalidConfigError(f"proxy {name!r}: passes {list(passes)} must be a non-empty subset of {PASSES}")

    def add(fn: ProxyFn) -> ProxyFn:
        doc = description or (fn.__doc__ or "").strip().split("\n")[0]
        PROXIES.register(name, Proxy(name, fn, frozenset(passes), doc, not (set(passes) & DATA_PASSES)),
                         overwrite=overwrite)
        return fn

    return add


def get_proxy(name: str) -> Proxy:
    return PROXIES.get(name)
