"""The entry points: :func:`compute_proxies` (one model) and :func:`score_architectures` (many)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from raynas.errors import InvalidConfigError, UnknownNameError
from raynas.logs import get_logger
from raynas.proxies.base import PROXIES, Proxy
from raynas.proxies.ensemble import ENSEMBLES, ensemble_members
from raynas.proxies.passes import PassFailed, ProxyContext
from raynas.rng import cpu_seeded

logger = get_logger("proxies")

#: The six proxies of the paper, in its order.
PAPER_PROXIES = ("grad_norm", "snip", "grasp", "fisher", "synflow", "jacob_cov")

Batch = "tuple[torch.Tensor, torch.Tensor] | torch.Tensor | None"


@dataclass(repr=False)
class ProxyReport:
    """Everything one :func:`proxy_report` call measured.

    ``values``: the network's score per proxy (NaN where it failed); ``layerwise``: per-layer values
    of layer-wise proxies; ``failures``: why a proxy has no finite value; ``timings``: seconds per
    shared pass and per proxy.

    Printed, a report is a short table, one row per proxy (value, seconds, failure reason); the
    layer detail is there on request::

        >>> report = proxy_report(model, batch, ["snip", "synflow"])
        >>> str(report)                        # the table: proxy | value | seconds | failure
        >>> report.to_frame()                  # the same table as a pandas DataFrame
        >>> report.layers("snip")              # {layer name: value} of one layer-wise proxy
        >>> report.to_frame(layers=True)       # one row per (proxy, layer)

    Seconds per proxy count the proxy's own work plus the first use of each shared pass; the
    ``pass/<name>`` entries of ``timings`` give the passes alone."""

    values: dict[str, float]
    layerwise: dict[str, dict[str, float]] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    def __getitem__(self, name: str) -> float:
        return self.values[name]

    def layers(self, name: str) -> dict[str, float]:
        """Per-layer values of the layer-wise proxy ``name`` (``{}`` for a proxy computed whole,
        such as ``jacob_cov``); the error names the proxies this report holds."""
        if name not in self.values:
            raise UnknownNameError(f"proxy {name!r} is not in this report; it has {list(self.values)}")
        return dict(self.layerwise.get(name, {}))

    def to_frame(self, layers: bool = False):
        """The report as a pandas DataFrame: one row per proxy (columns ``value``, ``seconds``,
        ``layers`` -- how many layer values it has -- and ``failure``, indexed by proxy), or with
        ``layers=True`` one row per (proxy, layer) with that layer's ``value``."""
        import pandas as pd

        if layers:
            rows = [(p, layer, float(v)) for p, d in self.layerwise.items() for layer, v in d.items()]
            frame = pd.DataFrame(rows, columns=["proxy", "layer", "value"])
            return frame.set_index(["proxy", "layer"])
        frame = pd.DataFrame({
            "value": [self.values[p] for p in self.values],
            "seconds": [self.timings.get(p, math.nan) for p in self.values],
            "layers": [len(self.layerwise.get(p, {})) for p in self.values],
            "failure": [self.failures.get(p, "") for p in self.values],
        }, index=pd.Index(list(self.values), name="proxy"))
        return frame

    def summary(self, width: int = 60) -> str:
        """The short table ``str(report)`` prints: proxy, value, seconds, failure reason (cut to
        ``width`` characters), and one line on the layer detail and the shared passes."""
        rows = [("proxy", "value", "seconds", "failure")]
        for p, v in self.values.items():
            reason = self.failures.get(p, "")
            if len(reason) > width:
                reason = reason[: width - 3] + "..."
            t = self.timings.get(p)
            rows.append((p, f"{v:.6g}", "" if t is None else f"{t:.3f}", reason))
        widths = [max(len(r[i]) for r in rows) for i in range(3)]
        lines = [f"{r[0]:<{widths[0]}}  {r[1]:>{widths[1]}}  {r[2]:>{widths[2]}}  {r[3]}".rstrip() for r in rows]
        lines.insert(1, "-" * max(len(line) for line in lines))
        passes = {k[5:]: v for k, v in self.timings.items() if k.startswith("pass/")}
        notes = []
        if self.layerwise:
            notes.append(f"layer values of {', '.join(self.layerwise)}: report.layers(name) or "
                         "report.to_frame(layers=True)")
        if passes:
            notes.append("shared passes: " + ", ".join(f"{k} {v:.3f}s" for k, v in passes.items()))
        return "\n".join(lines + notes)

    def __str__(self) -> str:
        return self.summary()

    def __repr__(self) -> str:
        failed = f", {len(self.failures)} failed" if self.failures else ""
        return f"<ProxyReport of {len(self.values)} proxies{failed}>\n{self.summary()}"

    def _repr_html_(self) -> str:  # notebooks show the table, not the layer dicts
        return self.to_frame()._repr_html_()


def resolve_names(names: Iterable[str] | str | None) -> list[str]:
    """Validate proxy names up front (``None``: the paper's six); the error names the unknown one."""
    if names is None:
        return list(PAPER_PROXIES)
    if isinstance(names, str):
        names = [names]
    out = []
    for n in names:
        if n in ENSEMBLES:
            raise InvalidConfigError(
                f"{n!r} ranks a population of architectures, not one model: use "
                f"raynas.proxies.score_architectures(..., [{n!r}]) or raynas.proxies.{n}(table)")
        PROXIES.get(n)  # raises UnknownNameError naming n and the known proxies
        if n not in out:
            out.append(n)
    if not out:
        raise InvalidConfigError("no proxy names given")
    return out


def _split_batch(batch) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    if batch is None:
        return None, None
    if isinstance(batch, torch.Tensor):
        return batch, None
    if isinstance(batch, (tuple, list)) and len(batch) == 2:
        x, y = batch
        if not isinstance(x, torch.Tensor):
            raise InvalidConfigError(f"batch inputs must be a tensor, got {type(x).__name__}")
        if y is not None and not isinstance(y, torch.Tensor):
            raise InvalidConfigError(f"batch labels must be a tensor, got {type(y).__name__}")
        if y is not None and len(y) != len(x):
            raise InvalidConfigError(f"batch has {len(x)} inputs but {len(y)} labels")
        return x, y
    raise InvalidConfigError(f"batch must be (inputs, labels), inputs alone or None; got {type(batch).__name__}")


def proxy_report(model: nn.Module, batch=None, names: Iterable[str] | str | None = None, *,
                 loss_fn: Callable = F.cross_entropy, seed: int = 0,
                 input_shape: Sequence[int] | None = None) -> ProxyReport:
    """Compute proxies of ``model`` on one ``batch`` with shared passes; see :func:`compute_proxies`."""
    if not isinstance(model, nn.Module):
        raise InvalidConfigError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    names = resolve_names(names)
    proxies: list[Proxy] = [PROXIES.get(n) for n in names]
    x, y = _split_batch(batch)
    if x is None and input_shape is None:
        raise InvalidConfigError(f"proxies {names} need a batch (or input_shape for data-free ones)")
    needs_data = [p.name for p in proxies if not p.data_free]
    if x is None and needs_data:
        raise InvalidConfigError(f"proxies {needs_data} read a batch of data; pass batch=(inputs, labels)")
    needs_labels = [p.name for p in proxies if p.needs_labels]
    if y is None and needs_labels:
        raise InvalidConfigError(f"proxies {needs_labels} back-propagate a loss and need labels: "
                                 "pass batch=(inputs, labels)")
    ctx = ProxyContext(model, x, y, loss_fn, set().union(*(p.passes for p in proxies)),
                       tuple(input_shape) if input_shape is not None else None)
    report = ProxyReport(values={})
    with cpu_seeded(seed):
        for p in proxies:
            t0 = time.perf_counter()
            try:
                value = p.fn(ctx)
            except PassFailed as exc:
                value, reason = float("nan"), str(exc)
            except InvalidConfigError:
                raise
            except Exception as exc:  # noqa: BLE001 - a proxy's own failure stays its own
                value, reason = float("nan"), f"{type(exc).__name__}: {exc}"
            else:
                reason = None
            if isinstance(value, dict):
                report.layerwise[p.name] = value
                value = float(sum(value.values()))
            value = float(value)
            if reason is None and not math.isfinite(value):
                reason = f"non-finite value ({value})"
            if reason is not None:
                report.failures[p.name] = reason
                value = float("nan")
            report.values[p.name] = value
            report.timings[p.name] = time.perf_counter() - t0
    report.timings.update({f"pass/{k}": v for k, v in ctx.timings.items()})
    return report


def compute_proxies(model: nn.Module, batch=None, names: Iterable[str] | str | None = None, *,
                    loss_fn: Callable = F.cross_entropy, seed: int = 0,
                    input_shape: Sequence[int] | None = None) -> dict[str, float]:
    """Zero-cost proxy scores of ``model`` on one minibatch, ``{name: value}``.

    Args:
        model: any ``nn.Module`` returning logits (or a tuple whose last item is the logits).
        batch: ``(inputs, labels)``; inputs alone for label-free proxies; ``None`` with
            ``input_shape`` for data-free ones (synflow, params, flops, path_params).
        names: registered proxy names (default: the paper's six, :data:`PAPER_PROXIES`).
        loss_fn: loss of the gradient-based proxies (default cross-entropy, as in the paper).
        seed: seeds torch's generator inside the call (the global generator is left as it was).

    Passes are shared between proxies (one forward/backward serves grad_norm, snip, fisher, grasp's
    first gradient, jacob_cov and naswot) and the model is left exactly as it was. A proxy whose
    value is not finite, or whose computation fails, gets NaN and does not affect the others;
    :func:`proxy_report` also says why, and gives layer-wise values and timings."""
    return proxy_report(model, batch, names, loss_fn=loss_fn, seed=seed, input_shape=input_shape).values


def build_network(space, arch, *, seed: int = 0, num_classes: int = 10, input_shape: Sequence[int] = (3, 32, 32)):
    """``space``'s network of ``arch``, built with torch's CPU generator seeded with ``seed`` (the
    caller's generator is left as it was): how every raynas proxy score sees a network."""
    with cpu_seeded(seed):
        return space.build(arch, num_classes=num_classes, in_channels=input_shape[0])


def score_architectures(space, archs: Iterable, names: Iterable[str] | str | None = None, batch=None, *,
                        num_classes: int = 10, seed: int = 0, input_shape: Sequence[int] | None = None,
                        loss_fn: Callable = F.cross_entropy, progress: Callable[[int, int], None] | None = None):
    """Proxies of many architectures of ``space``, one row each, as a pandas DataFrame.

    Each network is built with torch's CPU generator seeded with ``seed`` first, so its
    initialisation (and so its scores) depend only on the architecture and the seed. ``names`` may
    include population-level ensembles (``vote``, ``rank_ensemble``), computed over the rows after
    their members. A network the space cannot build (a ``model_fn`` refusing a configuration) gets
    NaN in every column, as a failed proxy does, and a warning says how many and why.
    The index is the space's architecture string; ``progress(done, total)`` is called per network."""
    import pandas as pd

    requested = [names] if isinstance(names, str) else list(names) if names is not None else list(PAPER_PROXIES)
    ensembles = [n for n in requested if n in ENSEMBLES]
    members = [n for n in requested if n not in ENSEMBLES]
    for e in ensembles:
        members += [m for m in ensemble_members(e) if m not in members]
    members = resolve_names(members)
    archs = [tuple(a) for a in archs]
    x, _ = _split_batch(batch)
    shape = tuple(input_shape) if input_shape is not None else tuple(x.shape[1:]) if x is not None else None
    if shape is None:
        raise InvalidConfigError("score_architectures needs a batch or an input_shape")
    rows, refused = [], []
    for i, arch in enumerate(archs):
        try:
            model = build_network(space, arch, seed=seed, num_classes=num_classes, input_shape=shape)
        except InvalidConfigError:
            raise
        except Exception as exc:  # noqa: BLE001 - a network the space cannot build scores NaN, as a failed proxy
            refused.append(f"{type(exc).__name__}: {exc}")
            rows.append(dict.fromkeys(members, float("nan")))
        else:
            rows.append(compute_proxies(model, batch, members, loss_fn=loss_fn, seed=seed, input_shape=shape))
        if progress is not None:
            progress(i + 1, len(archs))
    if refused:
        logger.warning("%d of %d networks could not be built and score NaN (first: %s)",
                       len(refused), len(archs), refused[0])
    table = pd.DataFrame(rows, index=[space.arch_str(a) for a in archs], columns=members)
    for e in ensembles:
        table[e] = ENSEMBLES[e](table)
    return table[requested]
