"""Ready-made Tune trainables.

``live_trainable(...)`` builds the network a config describes, computes its cost proxies on one
batch, measures its latency on this CPU, trains it for a few epochs and reports a flat result dict
every epoch (so Tune's schedulers can stop it early)::

    {"accuracy", "val_loss", "latency_ms", "latency_iqr_ms", "params", "flops", "proxy/<name>",
     "epoch", "max_epochs", "arch", "node_id", "outcome", "explanation", ...}

``tabular_trainable(...)`` answers the same kind of config instantly from published NAS-Bench-201
tables, so the same searchers run in tabular and in live mode.

Explained outcomes. A failure that belongs to the architecture, not to the infrastructure, never
crashes the trial: the trial reports its metrics as NaN (searchers then treat it as infinitely bad,
Pareto fronts skip it), ``outcome`` names what happened and ``explanation`` says why, and the search
goes on. Outcomes (:data:`OUTCOMES`):

* ``ok`` -- evaluated (``explanation`` still lists proxies that had no finite value, e.g. NASWOT of
  a network whose output ignores its input is ``-inf``; those proxies are reported as NaN);
* ``invalid_architecture`` -- the config names no architecture of the space (unknown op, missing
  decision): the :mod:`raynas.errors` message;
* ``out_of_memory`` -- building, scoring, timing or training ran out of memory;
* ``latency_timeout`` -- the latency measurement did not finish within ``latency_timeout_s``;
* ``diverged`` -- the training loss became non-finite (accuracy 0, as :func:`raynas.training.train`).

Anything else (a bug, a lost node) raises, so Tune records the error and retries the trial as
``RunConfig(failure_config=FailureConfig(max_failures=...))`` says. ``fail_on`` injects faults by
architecture string for tests of exactly this behaviour.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from ray import tune

from raynas.errors import InvalidConfigError, RaynasError

#: Every value of a result's ``outcome`` (see the module docstring).
OUTCOMES = ("ok", "invalid_architecture", "out_of_memory", "latency_timeout", "diverged")

FailOn = Callable[[str], "bool | BaseException | None"]


class LatencyTimeout(RaynasError):
    """A latency measurement that did not finish in its time budget."""


def is_out_of_memory(exc: BaseException) -> bool:
    """Whether ``exc`` is an out-of-memory error (Python's, torch's, or an allocator's message)."""
    if isinstance(exc, MemoryError):
        return True
    try:
        import torch

        if isinstance(exc, getattr(torch, "OutOfMemoryError", ())):
            return True
    except ImportError:  # pragma: no cover - torch is a dependency
        pass
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and any(
        s in text for s in ("out of memory", "can't allocate memory", "cannot allocate memory"))


def failure_result(outcome: str, explanation: str, metrics: Sequence[str], **extra) -> dict:
    """The one result an architecture-level failure reports: every metric NaN, plus why."""
    if outcome not in OUTCOMES or outcome == "ok":
        raise InvalidConfigError(f"outcome must be one of {OUTCOMES[1:]}, got {outcome!r}")
    return {**{m: math.nan for m in metrics}, **extra, "outcome": outcome, "explanation": explanation}


def _raise_injected(fail_on: FailOn | None, arch_str: str) -> None:
    if fail_on is None:
        return
    verdict = fail_on(arch_str)
    if isinstance(verdict, BaseException):
        raise verdict
    if verdict:
        raise RuntimeError(f"injected failure for {arch_str}")


def _positive(name: str, value, integer: bool = True, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    ok = (isinstance(value, int) if integer else isinstance(value, (int, float))) and not isinstance(value, bool)
    if not ok or not math.isfinite(value) or value <= 0:
        kind = "integer" if integer else "number"
        raise InvalidConfigError(f"{name} must be a positive {kind}{' or None' if allow_none else ''}, got {value!r}")


@dataclass(frozen=True)
class LiveTrialSettings:
    """Everything a live trial needs besides the architecture (which comes from the config).

    ``latency_timeout_s``: the whole latency measurement (warm-up and timed passes) must finish in
    this many seconds, else the trial ends with outcome ``latency_timeout`` instead of waiting; timed
    passes also stop early once half of it is spent (at least 3 are kept). ``fail_on(arch_str)``
    (tests only) returns True or an exception to raise for that architecture."""

    space: str = "nb201"
    dataset: str = "digits"
    data_dir: str | None = None
    epochs: int = 3
    batch_size: int = 64
    lr: float = 0.05
    limit: int | None = None
    seed: int = 0
    threads: int = 1
    latency_batch_size: int = 1
    latency_repeats: int = 20
    latency_warmup: int = 5
    latency_timeout_s: float | None = None
    proxies: Sequence[str] = field(default_factory=lambda: ("params", "flops"))
    space_kwargs: Mapping = field(default_factory=dict)
    fail_on: FailOn | None = None

    def __post_init__(self):
        _positive("epochs", self.epochs)
        if self.limit is not None and (not isinstance(self.limit, int) or isinstance(self.limit, bool)
                                       or self.limit < 10):
            raise InvalidConfigError(f"limit must be an integer >= 10 or None, got {self.limit!r}")
        for name in ("batch_size", "threads", "latency_batch_size", "latency_repeats"):
            _positive(name, getattr(self, name))
        if not isinstance(self.latency_warmup, int) or isinstance(self.latency_warmup, bool) or self.latency_warmup < 0:
            raise InvalidConfigError(f"latency_warmup must be an integer >= 0, got {self.latency_warmup!r}")
        _positive("lr", self.lr, integer=False)
        _positive("latency_timeout_s", self.latency_timeout_s, integer=False, allow_none=True)
        if not isinstance(self.seed, int) or isinstance(self.seed, bool):
            raise InvalidConfigError(f"seed must be an integer, got {self.seed!r}")
        if not isinstance(self.space, str) or not isinstance(self.dataset, str):
            raise InvalidConfigError(f"space and dataset must be names, got {self.space!r} and {self.dataset!r}")
        if isinstance(self.proxies, str) or not all(isinstance(p, str) for p in self.proxies):
            raise InvalidConfigError(f"proxies must be a list of proxy names, got {self.proxies!r}")
        if not isinstance(self.space_kwargs, Mapping):
            raise InvalidConfigError(f"space_kwargs must be a dict, got {self.space_kwargs!r}")
        if self.fail_on is not None and not callable(self.fail_on):
            raise InvalidConfigError(f"fail_on must be callable, got {self.fail_on!r}")

    def check(self) -> None:
        """Resolve every name and path now (space, proxies, dataset, data directory), so a bad one
        raises in the driver, naming it, rather than in every trial on the cluster."""
        from raynas import data
        from raynas.proxies.compute import resolve_names
        from raynas.spaces import get_space

        try:
            get_space(self.space, **self.space_kwargs)
        except TypeError as exc:
            raise InvalidConfigError(f"space_kwargs {dict(self.space_kwargs)!r} do not fit space {self.space!r}: "
                                     f"{exc}") from None
        resolve_names(list(self.proxies))
        dataset = data.load_dataset(self.dataset, self.data_dir)
        if self.limit is not None and self.limit > len(dataset):
            raise InvalidConfigError(f"limit {self.limit} exceeds the {len(dataset)} images of {self.dataset!r}")

    def device(self, dataset):
        """This CPU as a :class:`raynas.hardware.LocalDevice` that times networks as these trials do:
        ``dataset``'s input shape and classes, the trials' batch size, warm-up, repeats and threads."""
        from raynas.hardware import LocalDevice

        return LocalDevice(input_shape=dataset.shape, num_classes=dataset.num_classes,
                           batch_size=self.latency_batch_size, warmup=self.latency_warmup,
                           repeats=self.latency_repeats, threads=self.threads)

    @property
    def metrics(self) -> list[str]:
        """Keys a live result always carries (NaN when a failure left them unknown)."""
        return ["accuracy", "val_loss", "latency_ms", "latency_iqr_ms", "params", "flops",
                *(f"proxy/{p}" for p in self.proxies if p not in ("params", "flops"))]


def measure_with_deadline(model, input_shape: tuple[int, ...], settings: LiveTrialSettings):
    """Time ``model`` as :func:`raynas.hardware.measure_latency` does, giving up after
    ``settings.latency_timeout_s`` seconds (raises :class:`LatencyTimeout`).

    Python cannot interrupt a running torch operator: on a timeout the measuring thread is left to
    finish on its own (it is a daemon thread, and its timed passes already stop at half the budget)."""
    from raynas.hardware.local import measure_latency

    args = (model, input_shape, settings.latency_batch_size, settings.latency_warmup, settings.latency_repeats,
            settings.threads)
    timeout = settings.latency_timeout_s
    if timeout is None:
        return measure_latency(*args)
    box: dict = {}

    def run():
        try:
            box["measurement"] = measure_latency(*args, timeout_s=timeout / 2)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the trial's thread
            box["error"] = exc
        box["done_at"] = time.perf_counter()

    worker = threading.Thread(target=run, name="raynas-latency", daemon=True)
    t0 = time.perf_counter()
    worker.start()
    worker.join(timeout)
    # on a busy machine this thread may wake up only after the worker finished late: its own clock decides
    if worker.is_alive() or box.get("done_at", math.inf) - t0 > timeout:
        raise LatencyTimeout(
            f"latency measurement exceeded latency_timeout_s={timeout:g} s ({time.perf_counter() - t0:.3g} s "
            f"spent on {settings.latency_warmup} warm-up and at least 3 timed passes at batch size "
            f"{settings.latency_batch_size}); the architecture is recorded as unmeasured")
    if "error" in box:
        raise box["error"]
    return box["measurement"]


def run_live_trial(config: dict, settings: LiveTrialSettings, report: Callable[[dict], None]) -> None:
    """The body of a live trial, independent of Tune (``report`` receives each epoch's metrics).

    Architecture-level failures end in one explained result (module docstring); others raise."""
    from raynas import data
    from raynas.proxies.compute import proxy_report
    from raynas.spaces import get_space
    from raynas.training import TrainingSettings, evaluate, train

    full = {"epoch": 0, "max_epochs": settings.epochs}
    space = get_space(settings.space, **settings.space_kwargs)
    try:
        arch = space.from_config(config)
    except RaynasError as exc:
        report(failure_result("invalid_architecture", str(exc), settings.metrics, arch=str(config), **full))
        return
    arch_str = space.arch_str(arch)
    try:
        dataset = data.load_dataset(settings.dataset, settings.data_dir)
        channels, size, _ = dataset.shape
        model = space.build(arch, num_classes=dataset.num_classes, in_channels=channels)
        _raise_injected(settings.fail_on, arch_str)

        batch = data.one_batch(dataset, batch_size=min(64, len(dataset)), seed=settings.seed)
        proxies = proxy_report(model, batch, list(settings.proxies), seed=settings.seed)
        device = settings.device(dataset)
        try:
            latency = measure_with_deadline(model, dataset.shape, settings)
        except LatencyTimeout as exc:
            params = {k: float(v) for k, v in proxies.values.items() if k in ("params", "flops")}
            report(failure_result("latency_timeout", str(exc), settings.metrics, arch=arch_str,
                                  latency_device=device.name, **full, **params))
            return
        notes = [f"proxy {name} failed: {why}" for name, why in proxies.failures.items()]
        static = {
            "arch": arch_str,
            "latency_ms": latency.median_ms,
            "latency_iqr_ms": latency.iqr_ms,
            "latency_repeats": latency.repeats,
            "latency_device": device.name,
            **{n: float(v) for n, v in proxies.values.items() if n in ("params", "flops")},
            **{f"proxy/{n}": float(v) for n, v in proxies.values.items() if n not in ("params", "flops")},
            "explanation": "; ".join(notes),
        }
        train_loader, val_loader = data.train_val_loaders(dataset, batch_size=settings.batch_size,
                                                          seed=settings.seed, limit=settings.limit)
        # Report cost, proxies and the untrained network's measured accuracy before training, so a
        # gate (ProxyGate, HardwareBudgetStop) can stop the trial without paying for it, and every
        # result carries the scheduler's metric. Fidelity is ``epoch`` (0 here).
        accuracy, val_loss = evaluate(model, val_loader)
        report({**static, **full, "accuracy": accuracy, "val_loss": val_loss, "outcome": "ok"})
        training = TrainingSettings(epochs=settings.epochs, batch_size=settings.batch_size, lr=settings.lr,
                                    seed=settings.seed, threads=settings.threads)

        def epoch_report(m: dict) -> None:
            diverged = bool(m.get("diverged"))
            why = "training loss became non-finite; accuracy recorded as 0" if diverged else ""
            report({**m, **static, "max_epochs": settings.epochs, "outcome": "diverged" if diverged else "ok",
                    "explanation": "; ".join(filter(None, [why, static["explanation"]]))})

        train(model, train_loader, val_loader, training, report=epoch_report)
    except Exception as exc:
        if not is_out_of_memory(exc):
            raise
        report(failure_result("out_of_memory", f"{type(exc).__name__}: {exc}", settings.metrics, arch=arch_str,
                              **full))


def report_with_node() -> Callable[[dict], None]:
    """``tune.report`` that also records which Ray node ran the trial (``node_id``)."""
    import ray

    node = ray.get_runtime_context().get_node_id()
    return lambda metrics: tune.report({**metrics, "node_id": node})


def live_trainable(**kwargs) -> Callable[[dict], None]:
    """A Tune function trainable for live trials; keyword arguments are :class:`LiveTrialSettings`.

    Names and paths (space, proxies, dataset, data directory) are checked here, in the driver."""
    try:
        settings = LiveTrialSettings(**kwargs)
    except TypeError as exc:
        raise InvalidConfigError(f"live_trainable: {exc}") from None
    settings.check()

    def trainable(config: dict) -> None:
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        run_live_trial(config, settings, report_with_node())

    trainable.__name__ = f"raynas_live_{settings.space}_{settings.dataset}"
    return trainable


def tabular_trainable(devices: Sequence[str] | None = None, data_dir: str | None = None,
                      split: str = "valid", fail_on: FailOn | None = None,
                      delay_s: float = 0.0) -> Callable[[dict], None]:
    """A Tune trainable answering NB201 configs instantly from the published tables.

    Reports ``accuracy`` (CIFAR-10 ``split`` accuracy, %), ``error`` (100 - accuracy), and
    ``latency_ms/<device>`` for each device (``latency_ms`` for the first), plus ``arch``,
    ``node_id`` and ``outcome``/``explanation`` (module docstring: an unknown architecture or an
    out-of-memory error is an explained outcome, not a crash). ``fail_on(arch_str)`` lets
    fault-injection tests make chosen architectures fail (True: a ``RuntimeError``; an exception:
    that exception); ``delay_s`` makes each trial take that long (to test interruption)."""
    from raynas.benchmarks import NB201Benchmark

    if isinstance(devices, str):
        devices = [devices]
    if devices is not None and (not isinstance(devices, (list, tuple)) or not all(isinstance(d, str) for d in devices)):
        raise InvalidConfigError(f"devices must be a list of device names, got {devices!r}")
    if not isinstance(delay_s, (int, float)) or isinstance(delay_s, bool) or not 0 <= delay_s < math.inf:
        raise InvalidConfigError(f"delay_s must be a number of seconds >= 0, got {delay_s!r}")
    if fail_on is not None and not callable(fail_on):
        raise InvalidConfigError(f"fail_on must be callable, got {fail_on!r}")
    bench = NB201Benchmark(data_dir)
    names = list(devices) if devices else bench.devices[:1]
    if not names:
        raise InvalidConfigError("devices must name at least one device of the latency table")
    for d in names:
        bench.latency(0, d)  # raises naming an unknown device before any trial starts
    bench.accuracy(0, split)  # raises naming an unknown split
    metrics = ["accuracy", "error", "latency_ms", *(f"latency_ms/{d}" for d in names)]

    def trainable(config: dict) -> None:
        report = report_with_node()
        try:
            arch = bench.space.from_config(config)
        except RaynasError as exc:
            report(failure_result("invalid_architecture", str(exc), metrics, arch=str(config), epoch=0,
                                  max_epochs=1))
            return
        arch_str = bench.space.arch_str(arch)
        if delay_s:
            time.sleep(delay_s)
        try:
            _raise_injected(fail_on, arch_str)
        except Exception as exc:
            if not is_out_of_memory(exc):
                raise
            report(failure_result("out_of_memory", f"{type(exc).__name__}: {exc}", metrics, arch=arch_str,
                                  epoch=0, max_epochs=1))
            return
        acc = bench.accuracy(arch, split=split)
        lat = {f"latency_ms/{d}": bench.latency(arch, d) for d in names}
        report({"accuracy": acc, "error": 100.0 - acc, "latency_ms": lat[f"latency_ms/{names[0]}"],
                **lat, "arch": arch_str, "epoch": 1, "max_epochs": 1, "outcome": "ok", "explanation": ""})

    trainable.__name__ = "raynas_tabular_nb201"
    return trainable
