"""Latency measured on this machine's CPU."""

from __future__ import annotations

import platform
import statistics
import time
from dataclasses import asdict, dataclass

import torch
from torch import nn

from raynas.errors import InvalidConfigError
from raynas.hardware.base import Device
from raynas.parallel import torch_threads


@dataclass(frozen=True)
class LatencyMeasurement:
    """The result of timing a model: median and spread of ``repeats`` timed forward passes."""

    median_ms: float
    iqr_ms: float
    min_ms: float
    max_ms: float
    repeats: int
    warmup: int
    batch_size: int
    threads: int

    @property
    def relative_spread(self) -> float:
        return self.iqr_ms / self.median_ms if self.median_ms > 0 else float("nan")

    def as_dict(self) -> dict:
        return asdict(self)


def measure_latency(model: nn.Module, input_shape: tuple[int, ...], batch_size: int = 1, warmup: int = 5,
                    repeats: int = 20, threads: int = 1, timeout_s: float | None = None,
                    runtime: str = "torch-eager") -> LatencyMeasurement:
    """Time ``model`` on random inputs of ``(batch_size, *input_shape)`` under ``torch.inference_mode``.

    The model is timed in eval mode with a fixed thread count; ``warmup`` untimed passes come first.
    ``timeout_s`` stops repeating early (at least 3 timed passes) so a slow network cannot hang a trial.
    ``runtime`` runs it under TorchScript or ONNX Runtime instead (:func:`compile_for`; the
    compilation is not timed, the warm-up passes run compiled).
    """
    for label, value, low in (("batch_size", batch_size, 1), ("repeats", repeats, 1),
                              ("warmup", warmup, 0), ("threads", threads, 1)):
        if not isinstance(value, int) or value < low:
            raise InvalidConfigError(f"{label} must be an integer >= {low}, got {value!r}")
    was_training = model.training
    model.eval()
    x = torch.randn(batch_size, *input_shape, generator=torch.Generator().manual_seed(0))
    times: list[float] = []
    try:
        with torch_threads(threads):
            run = compile_for(model, runtime, x)
        with torch_threads(threads), torch.inference_mode():
            for _ in range(warmup):
                run(x)
            start = time.perf_counter()
            for _ in range(repeats):
                t0 = time.perf_counter()
                run(x)
                times.append((time.perf_counter() - t0) * 1000.0)
                if timeout_s is not None and len(times) >= 3 and time.perf_counter() - start > timeout_s:
                    break
    finally:
        model.train(was_training)
    q = statistics.quantiles(times, n=4) if len(times) >= 2 else [times[0]] * 3
    return LatencyMeasurement(
        median_ms=statistics.median(times), iqr_ms=q[2] - q[0], min_ms=min(times), max_ms=max(times),
        repeats=len(times), warmup=warmup, batch_size=batch_size, threads=threads,
    )


RUNTIMES = ("torch-eager", "torchscript", "onnxruntime")


def compile_for(model: nn.Module, runtime: str, example: torch.Tensor):
    """``model`` prepared to run under ``runtime``: itself (``torch-eager``), traced and frozen with
    TorchScript (``torchscript``), or exported to ONNX and loaded in an ONNX Runtime CPU session
    (``onnxruntime``, needs ``pip install onnx onnxruntime``). Returns a callable taking the input tensor."""
    if runtime == "torch-eager":
        return model
    if runtime == "torchscript":
        with torch.inference_mode(False), torch.no_grad():
            return torch.jit.optimize_for_inference(torch.jit.freeze(torch.jit.trace(model, example)))
    if runtime == "onnxruntime":
        return _onnx_session(model, example)
    raise InvalidConfigError(f"unknown runtime {runtime!r}; use one of {RUNTIMES}")


def _onnx_session(model: nn.Module, example: torch.Tensor):
    import io

    try:
        import onnx  # noqa: F401  (torch.onnx.export writes the model with it)
        import onnxruntime as ort
    except ImportError:
        raise InvalidConfigError("the onnxruntime runtime needs ONNX and ONNX Runtime: pip install 'raynas[onnx]' "
                                 "(or pip install onnx onnxruntime)") from None
    buf = io.BytesIO()
    with torch.no_grad():
        torch.onnx.export(model, (example,), buf, input_names=["x"], output_names=["y"], dynamo=False)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = torch.get_num_threads()
    opts.inter_op_num_threads = 1
    session = ort.InferenceSession(buf.getvalue(), opts, providers=["CPUExecutionProvider"])
    return lambda x: session.run(None, {"x": x.numpy()})[0]


class LocalDevice(Device):
    """This machine's CPU, timed for real. ``latency_ms(arch, space)`` builds and times the network.

    ``runtime`` is what executes it (:data:`RUNTIMES`): PyTorch eager (default), TorchScript (traced,
    frozen, optimised for inference) or ONNX Runtime's CPU provider. The same board ranks
    architectures differently under different runtimes, so each runtime is its own device
    (named ``local_cpu_<machine>`` plus the runtime when it is not eager).

    Memory: PyTorch keeps every TorchScript trace for the life of the process (a known PyTorch
    limitation, pytorch/pytorch#35600), about 35 MB per small NB201 network and ~100 MB per FBNet
    network at 224 px measured here; time thousands of networks under ``torchscript`` in several
    processes (``benchmarks/runtimes.py`` continues where a process stopped)."""

    kind = "measured"

    def __init__(self, name: str | None = None, input_shape: tuple[int, ...] = (3, 32, 32), num_classes: int = 10,
                 batch_size: int = 1, warmup: int = 5, repeats: int = 20, threads: int = 1,
                 runtime: str = "torch-eager"):
        if runtime not in RUNTIMES:
            raise InvalidConfigError(f"unknown runtime {runtime!r}; use one of {RUNTIMES}")
        default = f"local_cpu_{platform.machine()}" + ("" if runtime == "torch-eager" else f"_{runtime}")
        super().__init__(default if name is None or name == "" else name, family=f"local_cpu_{platform.machine()}")
        self.runtime = runtime
        self.input_shape = tuple(input_shape)
        self.num_classes = num_classes
        self.batch_size = batch_size
        self.warmup = warmup
        self.repeats = repeats
        self.threads = threads

    def measure(self, model: nn.Module, input_shape: tuple[int, ...] | None = None) -> LatencyMeasurement:
        return measure_latency(model, input_shape or self.input_shape, self.batch_size, self.warmup,
                               self.repeats, self.threads, runtime=self.runtime)

    def latency_ms(self, arch, space=None) -> float:
        if isinstance(arch, nn.Module):
            return self.measure(arch).median_ms
        if space is None:
            raise InvalidConfigError("LocalDevice.latency_ms needs the search space to build an architecture")
        model = space.build(arch, num_classes=self.num_classes, in_channels=self.input_shape[0])
        return self.measure(model).median_ms
