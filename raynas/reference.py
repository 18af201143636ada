"""Reference models for representation-similarity search (HW-EvRSNAS): train, save, load, wrap.

A :class:`ReferenceModel` is a trained ``nn.Module`` plus the layers whose outputs candidates are
compared with, and metadata (space, arch, dataset, input shape, accuracy) so that a saved reference
can be rebuilt and used with the same data preprocessing.

* :func:`train_reference` trains an NB201 network (any registered space) or :class:`SmallResNet`
  on ``digits`` or ``fashion-mnist`` with :mod:`raynas.training`;
* :func:`save_reference` / :func:`load_reference`: one ``.pt`` file with ``state_dict`` + metadata;
  :func:`load_reference` also reads a user's own checkpoint (a pickled module or a ``state_dict``);
* :func:`from_module`: a user's own trained model with the names of the layers to compare.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from raynas.data import ImageDataset, load_dataset, one_batch, train_val_loaders
from raynas.errors import DataNotFoundError, InvalidConfigError
from raynas.training import TrainingSettings, train


class BasicBlock(nn.Module):
    """ResNet basic block (two 3x3 conv-BN, identity or 1x1 projection shortcut)."""

    def __init__(self, c_in: int, c_out: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.shortcut = (nn.Identity() if stride == 1 and c_in == c_out else
                         nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


class SmallResNet(nn.Module):
    """A CIFAR-style ResNet (ResNet-20 is ``blocks=3, width=16``): three stages of ``blocks`` basic
    blocks at ``width``, ``2 width``, ``4 width`` channels; ``stage_ends()`` gives the three stages
    (the reference RMI-NAS uses on CIFAR-10)."""

    def __init__(self, num_classes: int = 10, in_channels: int = 3, width: int = 16, blocks: int = 3):
        super().__init__()
        if width < 1 or blocks < 1:
            raise InvalidConfigError(f"SmallResNet needs width >= 1 and blocks >= 1, got {width}, {blocks}")
        self.stem = nn.Sequential(nn.Conv2d(in_channels, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width),
                                  nn.ReLU())
        stages, c = [], width
        for s in range(3):
            c_out = width * 2**s
            stages.append(nn.Sequential(*[BasicBlock(c if b == 0 else c_out, c_out, 2 if (s > 0 and b == 0) else 1)
                                          for b in range(blocks)]))
            c = c_out
        self.stage1, self.stage2, self.stage3 = stages
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(c, num_classes)

    def stage_ends(self) -> list[nn.Module]:
        return [self.stage1, self.stage2, self.stage3]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stage3(self.stage2(self.stage1(self.stem(x))))
        return self.fc(self.pool(x).flatten(1))


@dataclass
class ReferenceModel:
    """A trained model, the names of the layers to compare (``None``: its ``stage_ends()``) and
    metadata: ``kind`` (``space``/``resnet``/``module``), ``space``/``space_kwargs``/``arch``/``arch_str``,
    ``dataset``, ``image_size``, ``channels``, ``num_classes``, ``accuracy`` (validation %)."""

    model: nn.Module
    layers: list[str] | None = None
    metadata: dict = field(default_factory=dict)

    def modules(self) -> list[nn.Module]:
        """The modules whose outputs are compared."""
        from raynas.proxies.rmi import resolve_layers

        return resolve_layers(self.model, self.layers)

    def batch(self, dataset: ImageDataset | None = None, batch_size: int = 64, seed: int = 0,
              data_dir: str | os.PathLike | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """One batch preprocessed as the reference was trained (size, channels, standardisation),
        from ``dataset`` or else the dataset named in the metadata (``data_dir``: for Fashion-MNIST,
        the folder holding its IDX files, as :func:`raynas.data.load_fashion_mnist` takes it)."""
        ds = dataset if dataset is not None else load_dataset(self.metadata.get("dataset", "digits"), data_dir)
        return one_batch(ds, batch_size, seed=seed, image_size=self.metadata.get("image_size"),
                         channels=self.metadata.get("channels"))

    def representation(self, x: torch.Tensor, labels: torch.Tensor | None = None, estimator: str = "linear"):
        """A :class:`~raynas.proxies.rmi.ReferenceRepresentation` of this model on ``x``."""
        from raynas.proxies.rmi import ReferenceRepresentation

        return ReferenceRepresentation(self.model, x, labels, self.layers, estimator)


def _layer_names(model: nn.Module, modules: Sequence[nn.Module]) -> list[str]:
    names = {id(m): n for n, m in model.named_modules()}
    return [names[id(m)] for m in modules]


def build_reference_model(kind: str = "space", space: str = "nb201", arch=None, space_kwargs: dict | None = None,
                          num_classes: int = 10, in_channels: int = 3, resnet_width: int = 16,
                          resnet_blocks: int = 3) -> tuple[nn.Module, dict]:
    """An untrained reference network and its metadata (see :class:`ReferenceModel`)."""
    meta: dict = {"kind": kind, "num_classes": num_classes, "channels": in_channels}
    if kind == "space":
        from raynas.spaces import get_space

        sp = get_space(space, **(space_kwargs or {}))
        arch = tuple(sp.validate(arch if arch is not None else _best_known(sp)))
        model = sp.build(arch, num_classes=num_classes, in_channels=in_channels)
        meta.update(space=space, space_kwargs=dict(space_kwargs or {}), arch=list(arch), arch_str=sp.arch_str(arch))
    elif kind == "resnet":
        model = SmallResNet(num_classes, in_channels, resnet_width, resnet_blocks)
        meta.update(resnet_width=resnet_width, resnet_blocks=resnet_blocks)
    else:
        raise InvalidConfigError(f"unknown reference kind {kind!r}; choose 'space' or 'resnet' (or use from_module)")
    return model, meta


def _best_known(space) -> tuple[int, ...]:
    """NB201's all-3x3-conv cell, a strong, well-known architecture, else the space's first."""
    if "nor_conv_3x3" in getattr(space, "ops", ()):
        return (space.op_index("nor_conv_3x3"),) * space.num_decisions
    return (0,) * space.num_decisions


def train_reference(kind: str = "space", space: str = "nb201", arch=None, space_kwargs: dict | None = None,
                    dataset: str | ImageDataset = "fashion-mnist", data_dir: str | os.PathLike | None = None,
                    settings: TrainingSettings | None = None, limit: int | None = 10000, image_size: int | None = None,
                    channels: int | None = None, resnet_width: int = 16, resnet_blocks: int = 3,
                    seed: int = 0, progress: bool = True) -> ReferenceModel:
    """Train a reference network on ``dataset`` (``digits``/``fashion-mnist`` or a loaded dataset),
    using ``limit`` images (80 % train / 20 % validation); returns it with its validation accuracy.

    With ``progress`` (default), training is reported through :class:`raynas.logs.Progress`: a
    line when it starts and then every few seconds with the epoch and the latest validation
    accuracy (a bar on a terminal; nothing below ``INFO`` verbosity)."""
    ds = dataset if isinstance(dataset, ImageDataset) else load_dataset(dataset, data_dir)
    settings = settings or TrainingSettings(epochs=3, seed=seed)
    in_ch = channels or ds.shape[0]
    torch.manual_seed(seed)
    model, meta = build_reference_model(kind, space, arch, space_kwargs, ds.num_classes, in_ch, resnet_width,
                                        resnet_blocks)
    tr, va = train_val_loaders(ds, batch_size=settings.batch_size, seed=seed, limit=limit, image_size=image_size,
                               channels=channels)
    t0 = time.perf_counter()
    what = (f"{meta['space']} {meta['arch_str']}" if kind == "space"
            else f"SmallResNet (width {resnet_width}, {resnet_blocks} blocks)")
    metrics = train(model, tr, va, settings, progress=f"reference {what} on {ds.name}" if progress else False)
    meta.update(dataset=ds.name, image_size=image_size, channels=in_ch, limit=limit, epochs=settings.epochs,
                accuracy=float(metrics.get("accuracy", float("nan"))), train_time_s=time.perf_counter() - t0,
                seed=seed)
    model.eval()
    return ReferenceModel(model, None, meta)


def save_reference(ref: ReferenceModel, path: str | os.PathLike) -> Path:
    """Write the state dict, the layer names and the metadata to ``path`` (a ``.pt`` file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    layers = ref.layers if ref.layers is not None else _layer_names(ref.model, ref.modules())
    torch.save({"state_dict": ref.model.state_dict(), "layers": layers, "metadata": dict(ref.metadata)}, path)
    return path


def load_reference(path: str | os.PathLike, model: nn.Module | None = None, layers: Sequence[str] | None = None,
                   **metadata) -> ReferenceModel:
    """Load a reference model from ``path``.

    * a file written by :func:`save_reference`: NB201/ResNet references are rebuilt from their
      metadata; a user model saved with ``kind="module"`` needs ``model`` (an instance of the same
      architecture) to load the weights into;
    * a user's own checkpoint: a whole pickled ``nn.Module`` (``torch.save(model, path)``), or a
      plain ``state_dict`` (``torch.save(model.state_dict(), path)``, optionally under a
      ``"state_dict"`` or ``"model"`` key) loaded into ``model``. ``layers`` name the layers to
      compare (needed unless the model has ``stage_ends()``); ``metadata`` as in :func:`from_module`.

    ``layers`` (and ``metadata``) also override what a :func:`save_reference` file holds."""
    path = Path(path)
    if not path.is_file():
        raise DataNotFoundError(f"reference file {str(path)!r} does not exist")
    try:
        blob = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as e:  # noqa: BLE001 - any unreadable file is one clear error
        raise InvalidConfigError(f"{str(path)!r} is not a readable torch file: {type(e).__name__}: {e}") from None
    if isinstance(blob, dict) and "metadata" in blob and "state_dict" in blob:  # save_reference's format
        meta = {**blob["metadata"], **metadata}
        if model is None:
            if meta.get("kind") not in ("space", "resnet"):
                raise InvalidConfigError(
                    f"{path} holds a user model ({meta.get('kind')!r}); pass model= to load it into")
            model, _ = build_reference_model(meta["kind"], meta.get("space", "nb201"), meta.get("arch"),
                                             meta.get("space_kwargs"), meta["num_classes"], meta["channels"],
                                             meta.get("resnet_width", 16), meta.get("resnet_blocks", 3))
        _load_weights(model, blob["state_dict"], path)
        ref = ReferenceModel(model, list(layers) if layers is not None else list(blob["layers"]), meta)
        ref.modules()
        model.eval()
        return ref
    if isinstance(blob, nn.Module):
        if model is not None:
            _load_weights(model, blob.state_dict(), path)
            blob = model
        return from_module(blob, layers, **metadata)
    if isinstance(blob, dict):
        state = blob.get("state_dict", blob.get("model", blob))
        if model is None:
            raise InvalidConfigError(f"{path} holds a state_dict; pass model= (an instance of its architecture)")
        _load_weights(model, state, path)
        return from_module(model, layers, **metadata)
    raise InvalidConfigError(f"{path} holds a {type(blob).__name__}, not a model, a state_dict or a saved reference")


def _load_weights(model: nn.Module, state, path: Path) -> None:
    """``model.load_state_dict(state)`` with a one-line error naming the file."""
    if not isinstance(state, dict):
        raise InvalidConfigError(f"{path} does not hold a state_dict (found {type(state).__name__})")
    try:
        model.load_state_dict(state)
    except RuntimeError as e:
        first = str(e).strip().splitlines()
        raise InvalidConfigError(f"the weights in {path} do not fit {type(model).__name__}: "
                                 f"{' '.join(line.strip() for line in first[:2])}") from None


def from_module(model: nn.Module, layers: Sequence[str] | None = None, **metadata) -> ReferenceModel:
    """Wrap a user's trained ``nn.Module``: ``layers`` are names from ``model.named_modules()``
    (checked now), or ``None`` if the model has ``stage_ends()``. Extra keyword arguments become
    metadata (e.g. ``dataset="fashion-mnist", image_size=32, channels=3``)."""
    ref = ReferenceModel(model, list(layers) if layers is not None else None, {"kind": "module", **metadata})
    ref.modules()  # validate the names now, with a helpful error
    model.eval()
    return ref


__all__ = ["BasicBlock", "SmallResNet", "ReferenceModel", "build_reference_model", "train_reference",
           "save_reference", "load_reference", "from_module"]
