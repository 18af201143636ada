"""Objectives with roles, and the one rule that turns a reported result into minimised objectives.

An :class:`Objective` is a reported metric, its mode (``"min"``/``"max"``) and a *role* that says
which signal can estimate it before the trial runs:

* ``"quality"``: what the trained network achieves (accuracy, error, loss). Zero-cost proxies
  computed on the untrained network estimate it.
* ``"cost"``: a hardware cost of the network (latency, FLOPs, parameters, energy, memory). A cost
  proxy, a device measurement or a latency predictor estimates it; it does not depend on training,
  so a trial stopped early still reports it truly.
* ``"other"``: anything else (a fairness gap, a calibration error); nothing estimates it up front,
  only the told results do.

:func:`evaluate` is the single definition of how a result dict becomes minimised objective values
and a fidelity; the searchers, the schedulers and the results helpers all call it:

* The fidelity comes from raynas trainables' ``epoch``/``max_epochs`` when reported, else from
  ``time_attr`` (Tune's ``training_iteration``) against ``max_t`` (the scheduler's budget) when known.
  A result is complete when it reached full fidelity, or when the caller knows it is (a trial that
  ended by itself).
* Values are multiplied by ``-1`` for ``"max"`` metrics; a missing or non-finite value is ``+inf``;
  a result that is not complete keeps only its ``cost`` values (they do not depend on training), the
  rest are ``+inf`` -- so a truncated trial is never learned as a final result.

Example::

    >>> objs = make_objectives(["accuracy", "latency_ms"], ["max", "min"])
    >>> [o.role for o in objs]
    ['quality', 'cost']
    >>> evaluate({"accuracy": 91.0, "latency_ms": 3.2, "epoch": 2, "max_epochs": 8}, objs).values
    (inf, 3.2)
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from raynas.errors import InvalidConfigError

ROLES = ("quality", "cost", "other")
MODES = ("min", "max")

#: name patterns that make a role the default (first match wins); anything else is "other"
_ROLE_PATTERNS = (
    ("cost", re.compile(r"(latenc|flop|mac(s)?\b|param|energy|memory|mem_|size|power|throughput|time_ms|"
                        r"inference|runtime|cost)", re.I)),
    ("quality", re.compile(r"(acc|err|loss|f1|auc|precision|recall|map\b|iou|bleu|perplex|score|top1|top5|"
                           r"reward|quality)", re.I)),
)


def infer_role(metric: str) -> str:
    """The role a metric name suggests: ``cost`` for latency/FLOPs/params/energy/memory, ``quality``
    for accuracy/error/loss and the like, else ``other``. Pass roles explicitly to override."""
    for role, pattern in _ROLE_PATTERNS:
        if pattern.search(metric):
            return role
    return "other"


@dataclass(frozen=True)
class Objective:
    """One reported metric to optimise: its name, ``"min"``/``"max"``, and role (module docstring)."""

    metric: str
    mode: str
    role: str

    def __post_init__(self):
        if not isinstance(self.metric, str) or not self.metric:
            raise InvalidConfigError(f"a metric must be a non-empty string, got {self.metric!r}")
        if self.mode not in MODES:
            raise InvalidConfigError(f"mode of {self.metric!r} must be 'min' or 'max', got {self.mode!r}")
        if self.role not in ROLES:
            raise InvalidConfigError(f"role of {self.metric!r} must be one of {ROLES}, got {self.role!r}")

    @property
    def sign(self) -> float:
        """``+1`` for a minimised metric, ``-1`` for a maximised one."""
        return 1.0 if self.mode == "min" else -1.0


def make_objectives(metric: Sequence[str] | str, mode: Sequence[str] | str,
                    roles: Mapping[str, str] | Sequence[str] | None = None) -> tuple[Objective, ...]:
    """Validated objectives from Tune-style ``metric``/``mode`` (strings or lists of equal length).

    ``roles`` maps metric names to roles (or lists one role per metric); metrics it leaves out get
    :func:`infer_role`. A role given for a metric that is not in ``metric`` raises, naming it."""
    if isinstance(metric, str) != isinstance(mode, str):
        raise InvalidConfigError(f"metric and mode must both be lists or both strings, got {metric!r} and {mode!r}")
    try:
        metric = [metric] if isinstance(metric, str) else list(metric or [])
        mode = [mode] if isinstance(mode, str) else list(mode or [])
    except TypeError:
        raise InvalidConfigError(f"metric and mode must be strings or lists, got metric={metric!r}, "
                                 f"mode={mode!r}") from None
    for m in metric:
        if not isinstance(m, str) or not m:
            raise InvalidConfigError(f"metric names must be non-empty strings, got {m!r} in {metric}")
    for o in mode:
        if not isinstance(o, str) or o not in MODES:
            raise InvalidConfigError(f"mode {o!r} must be 'min' or 'max' (in mode list {mode})")
    if not metric:
        raise InvalidConfigError("at least one metric is needed, e.g. metric=['accuracy', 'latency_ms']")
    if len(metric) != len(mode):
        raise InvalidConfigError(f"metric {metric} and mode {mode} must have the same length")
    if len(set(metric)) != len(metric):
        raise InvalidConfigError(f"metric names must be distinct, got {metric}")
    if roles is None:
        given: dict[str, str] = {}
    elif isinstance(roles, Mapping):
        unknown = [k for k in roles if k not in metric]
        if unknown:
            raise InvalidConfigError(f"roles name metric(s) {unknown} that are not among the metrics {metric}")
        given = dict(roles)
    else:
        roles = list(roles)
        if len(roles) != len(metric):
            raise InvalidConfigError(f"roles {roles} must give one role per metric {metric}")
        given = dict(zip(metric, roles))
    return tuple(Objective(m, o, given.get(m, infer_role(m))) for m, o in zip(metric, mode))


@dataclass(frozen=True)
class Fidelity:
    """How far a result got: ``value`` of ``full`` (either may be unknown), and whether it is complete."""

    value: float | None
    full: float | None
    complete: bool

    @property
    def fraction(self) -> float | None:
        if self.value is None or not self.full:
            return None
        return min(1.0, self.value / self.full)


def finite_number(v) -> float | None:
    """``float(v)`` if that is a finite number, else ``None`` (missing, text, NaN, inf)."""
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def fidelity(result: Mapping, *, max_t: float | None = None, time_attr: str = "training_iteration",
             ended: bool | None = None) -> Fidelity:
    """The fidelity of ``result`` (module docstring).

    ``ended=True`` says the trial ended by itself (not stopped by a scheduler): it is complete
    whatever its fidelity. Without ``epoch``/``max_epochs`` and without ``max_t`` the result is
    complete unless ``ended`` is ``False``."""
    epoch, full_epochs = finite_number(result.get("epoch")), finite_number(result.get("max_epochs"))
    if epoch is not None and full_epochs is not None:
        return Fidelity(epoch, full_epochs, ended is True or epoch >= full_epochs)
    t = finite_number(result.get(time_attr))
    if max_t is not None:
        return Fidelity(t, float(max_t), ended is True or (t is not None and t >= max_t))
    return Fidelity(t, None, ended is not False)


@dataclass(frozen=True)
class Evaluation:
    """A result as minimised objective values (``+inf`` where unusable) and its fidelity."""

    values: tuple[float, ...]
    fidelity: Fidelity


def evaluate(result: Mapping | None, objectives: Sequence[Objective], *, complete: bool | None = None,
             max_t: float | None = None, time_attr: str = "training_iteration",
             ended: bool | None = None) -> Evaluation:
    """Minimised values of ``objectives`` in ``result`` and its :class:`Fidelity` (module docstring).

    ``complete`` overrides the fidelity's verdict when the caller knows better (e.g. a searcher
    that saw a scheduler stop the trial)."""
    result = result or {}
    fid = fidelity(result, max_t=max_t, time_attr=time_attr, ended=ended)
    if complete is not None and complete != fid.complete:
        fid = Fidelity(fid.value, fid.full, complete)
    out = []
    for o in objectives:
        v = finite_number(result.get(o.metric))
        usable = v is not None and (fid.complete or o.role == "cost")
        out.append(o.sign * v if usable else math.inf)
    return Evaluation(tuple(out), fid)


def missing_metrics(result: Mapping, objectives: Sequence[Objective]) -> list[str]:
    """Metrics of ``objectives`` that ``result`` does not report at all (a mistake, not a failure)."""
    return [o.metric for o in objectives if o.metric not in result]


__all__ = ["ROLES", "Objective", "make_objectives", "infer_role", "Fidelity", "fidelity", "Evaluation", "evaluate",
           "missing_metrics"]
