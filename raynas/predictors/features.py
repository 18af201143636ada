"""Analytic cost features of a built network, for any search space.

One forward pass of a single input through the model, with forward hooks on the leaf modules and a
``TorchFunctionMode`` that sees the element-wise tensor arithmetic modules do not own (residual sums,
cell-node sums), gives:

* ``macs`` (multiply-accumulates of convolutions and linear layers), ``params``, activation memory
  (elements written by every leaf op and every element-wise op);
* counts of dense (incl. grouped) and depthwise convolutions, pooling layers, element-wise ops,
  split by kernel size and resolution where it matters for latency.

:data:`BASIC_FEATURES` are the seven used by the issue's ridge baseline (log MACs, log params, log
activation memory, dense convs, depthwise convs, pools, element-wise ops); :data:`FEATURE_NAMES` adds
finer ones (MACs of dense / depthwise / 1x1 convs, kernel-size counts, BN/ReLU counts, ops run,
memory of element-wise and of pooling ops).

:func:`space_features` computes the table for a whole published space once and caches it to
the raynas cache directory (:mod:`raynas.paths`; building 15,625 NB201 networks takes minutes, spread
over the available cores by default).
"""

from __future__ import annotations

import math
import os
from collections import defaultdict
from collections.abc import Iterable, Sequence
from contextlib import closing
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.overrides import TorchFunctionMode

BASIC_FEATURES = ("log_macs", "log_params", "log_act_mem", "n_dense_conv", "n_dw_conv", "n_pool", "n_eltwise")
FEATURE_NAMES = BASIC_FEATURES + (
    "log_macs_dense", "log_macs_dw", "log_macs_1x1", "n_conv_1x1", "n_conv_3x3", "n_conv_5x5", "n_group_conv",
    "n_bn", "n_relu", "n_ops", "log_eltwise_mem", "log_pool_mem", "log_conv_in_mem", "n_linear",
)

_ELTWISE = {
    torch.Tensor.add, torch.Tensor.__add__, torch.Tensor.__radd__, torch.Tensor.__iadd__, torch.Tensor.add_,
    torch.Tensor.mul, torch.Tensor.__mul__, torch.Tensor.__rmul__, torch.Tensor.__imul__, torch.Tensor.mul_,
    torch.Tensor.sub, torch.Tensor.__sub__, torch.add, torch.mul, torch.sub, torch.cat,
}
_POOLS = (nn.AvgPool2d, nn.MaxPool2d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d, nn.AvgPool1d, nn.MaxPool1d)


class _EltwiseCounter(TorchFunctionMode):
    def __init__(self, stats: dict):
        super().__init__()
        self.stats = stats
        self.inside_leaf = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        if func in _ELTWISE and isinstance(out, torch.Tensor) and out.dim() >= 3 and not self.inside_leaf:
            self.stats["n_eltwise"] += 1
            self.stats["n_ops"] += 1
            self.stats["eltwise_mem"] += out.numel()
            self.stats["act_mem"] += out.numel()
        return out


def _leaf_modules(model: nn.Module) -> Iterable[nn.Module]:
    for m in model.modules():
        if next(iter(m.children()), None) is None:
            yield m


def analytic_features(model: nn.Module, input_shape: Sequence[int] = (3, 32, 32), as_array: bool = False):
    """Cost features of ``model`` for one input of ``input_shape`` (``C, H, W``); a dict of
    :data:`FEATURE_NAMES` (or an array in that order with ``as_array=True``)."""
    stats: dict[str, float] = defaultdict(float)
    counter = _EltwiseCounter(stats)

    def pre(module, inputs):
        counter.inside_leaf += 1

    def post(module, inputs, output):
        counter.inside_leaf -= 1
        out = output if isinstance(output, torch.Tensor) else None
        n_out = out.numel() if out is not None else 0
        x = inputs[0] if inputs and isinstance(inputs[0], torch.Tensor) else None
        if isinstance(module, nn.Identity):
            return
        stats["n_ops"] += 1
        stats["act_mem"] += n_out
        if isinstance(module, nn.Conv2d):
            k = module.kernel_size[0] * module.kernel_size[1]
            macs = n_out * (module.in_channels // module.groups) * k
            stats["macs"] += macs
            stats["conv_in_mem"] += x.numel() if x is not None else 0
            depthwise = module.groups > 1 and module.groups == module.in_channels
            if depthwise:
                stats["n_dw_conv"] += 1
                stats["macs_dw"] += macs
            else:
                stats["n_dense_conv"] += 1
                stats["macs_dense"] += macs
                if module.groups > 1:
                    stats["n_group_conv"] += 1
            if k == 1:
                stats["n_conv_1x1"] += 1
                stats["macs_1x1"] += macs
            elif k == 9:
                stats["n_conv_3x3"] += 1
            elif k == 25:
                stats["n_conv_5x5"] += 1
        elif isinstance(module, nn.Linear):
            stats["macs"] += n_out * module.in_features
            stats["n_linear"] += 1
        elif isinstance(module, _POOLS):
            stats["n_pool"] += 1
            stats["pool_mem"] += n_out
        elif isinstance(module, (nn.BatchNorm2d, nn.BatchNorm1d)):
            stats["n_bn"] += 1
        elif isinstance(module, (nn.ReLU, nn.ReLU6, nn.Hardswish, nn.SiLU, nn.GELU, nn.Sigmoid)):
            stats["n_relu"] += 1

    handles = []
    for m in _leaf_modules(model):
        handles.append(m.register_forward_pre_hook(pre))
        handles.append(m.register_forward_hook(post))
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), counter:
            model(torch.zeros(1, *input_shape))
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    stats["params"] = float(sum(p.numel() for p in model.parameters()))

    def lg(v: float) -> float:
        return math.log1p(v)

    feats = {
        "log_macs": lg(stats["macs"]), "log_params": lg(stats["params"]), "log_act_mem": lg(stats["act_mem"]),
        "n_dense_conv": stats["n_dense_conv"], "n_dw_conv": stats["n_dw_conv"], "n_pool": stats["n_pool"],
        "n_eltwise": stats["n_eltwise"],
        "log_macs_dense": lg(stats["macs_dense"]), "log_macs_dw": lg(stats["macs_dw"]),
        "log_macs_1x1": lg(stats["macs_1x1"]), "n_conv_1x1": stats["n_conv_1x1"], "n_conv_3x3": stats["n_conv_3x3"],
        "n_conv_5x5": stats["n_conv_5x5"], "n_group_conv": stats["n_group_conv"], "n_bn": stats["n_bn"],
        "n_relu": stats["n_relu"], "n_ops": stats["n_ops"], "log_eltwise_mem": lg(stats["eltwise_mem"]),
        "log_pool_mem": lg(stats["pool_mem"]), "log_conv_in_mem": lg(stats["conv_in_mem"]),
        "n_linear": stats["n_linear"],
    }
    if as_array:
        return np.array([feats[n] for n in FEATURE_NAMES], dtype=np.float64)
    return feats


def arch_features(space, arch, input_shape: Sequence[int] = (3, 32, 32), num_classes: int | None = None) -> np.ndarray:
    """:func:`analytic_features` of ``space.build(arch)`` as an array in :data:`FEATURE_NAMES` order."""
    kwargs = {"num_classes": num_classes} if num_classes is not None else {}
    model = space.build(arch, in_channels=input_shape[0], **kwargs)
    return analytic_features(model, input_shape, as_array=True)


def default_cache_dir() -> Path:
    """The raynas cache directory (:func:`raynas.paths.cache_dir`)."""
    from raynas.paths import cache_dir

    return cache_dir()


#: With ``workers=None``, builds of fewer networks than this run in this process (a pool would not pay).
PARALLEL_FROM = 200


def space_features(space, archs: Sequence, key: str, cache_dir: str | os.PathLike | None = None,
                   input_shape: Sequence[int] = (3, 32, 32), num_classes: int | None = None,
                   progress: bool = False, save_every: int = 250, workers: int | None = None) -> np.ndarray:
    """Feature matrix ``[len(archs), len(FEATURE_NAMES)]`` of ``archs``, cached as
    ``{cache_dir}/features_{key}.npz``; a different set of architectures under the same key goes to
    ``features_{key}-{digest}.npz`` instead, so a subset never overwrites a whole space's cache.

    Building is slow (every network is built; ~6 min for NB201's 15,625 on one core, ~35 min for
    FBNet's 5,000 on a loaded core), so the rows done so far are saved every ``save_every`` networks
    (``.features_{key}-{digest}.partial.npz``) and an interrupted call resumes from them.

    Args:
        workers: processes building networks (each with one torch thread); the rows are the same
            whatever their number. ``1`` builds in this process. ``None`` (default) uses the cores
            this process may use that other programs leave idle
            (:func:`raynas.parallel.default_workers`: CPU affinity, ``OMP_NUM_THREADS``, the load
            average; at most 8) when at least :data:`PARALLEL_FROM` networks are left to build, else
            this process. A cached table is read without starting any process.
        progress: draw a bar on a terminal (log lines at INFO are written either way).
    """
    import hashlib

    from raynas.errors import InvalidConfigError

    if workers is not None:
        from raynas.parallel import check_workers

        check_workers(workers)
    if isinstance(save_every, bool) or not isinstance(save_every, int) or save_every < 1:
        raise InvalidConfigError(f"save_every must be a positive integer, got {save_every!r}")
    archs_arr = np.asarray([tuple(a) for a in archs], dtype=np.int64)
    path = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    digest = hashlib.sha1(archs_arr.tobytes() + str(archs_arr.shape).encode()).hexdigest()[:12]
    candidates = [path / f"features_{key}.npz", path / f"features_{key}-{digest}.npz"]
    for file in candidates:
        if file.is_file():
            with np.load(file, allow_pickle=False) as z:
                if (z["archs"].shape == archs_arr.shape and np.array_equal(z["archs"], archs_arr)
                        and tuple(z["names"]) == FEATURE_NAMES):
                    return z["features"]
    file = candidates[0] if not candidates[0].is_file() else candidates[1]
    partial = path / f".features_{key}-{digest}.partial.npz"
    from raynas.parallel import torch_threads

    with torch_threads(1):
        out = _build_features(space, archs_arr, key, partial, input_shape, num_classes, progress, save_every, workers)
    _save_npz(file, archs=archs_arr, names=np.array(FEATURE_NAMES), features=out)
    partial.unlink(missing_ok=True)
    return out


def _build_features(space, archs_arr: np.ndarray, key: str, partial: Path, input_shape, num_classes,
                    progress: bool, save_every: int, workers: int | None) -> np.ndarray:
    """Every row of the feature matrix, resuming from ``partial`` and saving to it as rows are done."""
    from raynas.logs import Progress

    n = len(archs_arr)
    out, done = _read_partial(partial, archs_arr)
    workers = _resolve_workers(workers, n - done)
    desc = f"features of {key}: building networks" + (f" ({workers} workers)" if workers > 1 else "")
    with Progress(n, desc, unit="networks", bar=None if progress else False) as bar, \
            closing(_feature_rows(space, archs_arr, done, input_shape, num_classes, workers, save_every)) as rows:
        bar.update(done)
        for start, block in rows:
            end = start + len(block)
            out[start:end] = block
            bar.update(len(block))
            if end // save_every > start // save_every and end < n:
                _save_npz(partial, archs=archs_arr, names=np.array(FEATURE_NAMES), features=out, done=end)
    return out


def _read_partial(partial: Path, archs_arr: np.ndarray) -> tuple[np.ndarray, int]:
    """An empty feature matrix with the rows a partial file of the same architectures holds, and their count."""
    out, done = np.zeros((len(archs_arr), len(FEATURE_NAMES))), 0
    if partial.is_file():
        with np.load(partial, allow_pickle=False) as z:
            if np.array_equal(z["archs"], archs_arr) and tuple(z["names"]) == FEATURE_NAMES:
                done = int(z["done"])
                out[:done] = z["features"][:done]
    return out, done


def _resolve_workers(workers: int | None, remaining: int) -> int:
    """How many processes build ``remaining`` networks (see :func:`space_features`)."""
    from raynas.parallel import default_workers

    if workers is None:
        workers = default_workers() if remaining >= PARALLEL_FROM else 1
    return max(1, min(workers, remaining))


def _feature_rows(space, archs_arr: np.ndarray, start: int, input_shape, num_classes, workers: int,
                  save_every: int):
    """``(first row, feature rows)`` blocks from row ``start`` on, in row order."""
    archs = [tuple(int(v) for v in a) for a in archs_arr[start:]]
    if workers <= 1:
        for i, arch in enumerate(archs):
            yield start + i, arch_features(space, arch, input_shape, num_classes)[None]
        return
    from raynas.parallel import ordered_results, worker_pool

    size = max(1, min(25, save_every, -(-len(archs) // (4 * workers))))
    offsets = range(0, len(archs), size)
    tasks = ((space, archs[o:o + size], tuple(input_shape), num_classes) for o in offsets)
    with worker_pool(workers, threads=1) as pool, \
            closing(ordered_results(pool, _features_chunk, tasks, window=2 * workers)) as blocks:
        for o, block in zip(offsets, blocks):
            yield start + o, block


def _features_chunk(space, archs: list, input_shape, num_classes) -> np.ndarray:
    """:func:`arch_features` of ``archs`` stacked (run in a worker process)."""
    return np.stack([arch_features(space, arch, input_shape, num_classes) for arch in archs])


def _save_npz(file: Path, **arrays) -> None:
    """Write ``file`` atomically (a temporary file, then a rename)."""
    file.parent.mkdir(parents=True, exist_ok=True)
    tmp = file.with_name(f".{file.name}.{os.getpid()}.tmp.npz")
    np.savez(tmp, **arrays)
    os.replace(tmp, file)
