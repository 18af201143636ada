"""Datasets for proxies, short training runs and representation similarity. No downloads, ever.

* ``digits``: scikit-learn's bundled 8x8 handwritten digits (1,797 images) — the embedded default
  that works on any machine.
* ``fashion-mnist``: the published IDX files (optionally gzipped) from a directory, by default
  ``fashion-mnist/`` of the data directory (:mod:`raynas.paths`; ``raynas data fetch fashion-mnist``).

Every loader returns a :class:`ImageDataset` of float32 images ``[N, C, H, W]`` scaled to [0, 1]
and int64 labels; :func:`one_batch` and :func:`train_val_loaders` are deterministic given a seed.
"""

from __future__ import annotations

import gzip
import os
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

from raynas.errors import DataNotFoundError, InvalidConfigError

DATASETS = ("digits", "fashion-mnist")


@dataclass(frozen=True)
class ImageDataset:
    """Images ``[N, C, H, W]`` in [0, 1] and integer labels."""

    name: str
    images: torch.Tensor
    labels: torch.Tensor
    num_classes: int

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(channels, height, width)`` of one image."""
        return tuple(self.images.shape[1:])  # type: ignore[return-value]

    def __len__(self) -> int:
        return len(self.labels)


def load_digits() -> ImageDataset:
    """scikit-learn's bundled digits: 1,797 grey 8x8 images of 10 classes."""
    from sklearn.datasets import load_digits as _load

    bunch = _load()
    images = torch.tensor(bunch.images, dtype=torch.float32).unsqueeze(1) / 16.0
    labels = torch.tensor(bunch.target, dtype=torch.int64)
    return ImageDataset("digits", images, labels, 10)


def _read_idx(path: Path) -> np.ndarray:
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            data = f.read()
    except (OSError, EOFError) as exc:  # gzip.BadGzipFile is an OSError
        raise DataNotFoundError(f"{str(path)!r} cannot be read ({type(exc).__name__}: {exc})") from None
    if len(data) < 4:
        raise DataNotFoundError(f"{str(path)!r} is not an unsigned-byte IDX file (only {len(data)} bytes)")
    zero, dtype_code, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype_code != 0x08:
        raise DataNotFoundError(f"{path} is not an unsigned-byte IDX file")
    if len(data) < 4 + 4 * ndim:
        raise DataNotFoundError(f"{str(path)!r} is truncated: its header announces {ndim} dimensions")
    shape = struct.unpack(">" + "I" * ndim, data[4 : 4 + 4 * ndim])
    size = int(np.prod(shape, dtype=np.int64))
    if len(data) - 4 - 4 * ndim != size:
        raise DataNotFoundError(f"{str(path)!r} holds {len(data) - 4 - 4 * ndim} bytes of data, its header "
                                f"announces shape {shape} ({size} bytes)")
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def _find(directory: Path, stem: str) -> Path:
    for name in (stem, stem + ".gz"):
        if (directory / name).is_file():
            return directory / name
    raise DataNotFoundError(f"Fashion-MNIST file {stem}[.gz] not found in data directory {str(directory)!r}; "
                            f"fetch it with `raynas data fetch fashion-mnist`")


def load_fashion_mnist(directory: str | os.PathLike | None = None, split: str = "train",
                       limit: int | None = None) -> ImageDataset:
    """Fashion-MNIST from its IDX files. ``split`` is ``"train"`` (60k) or ``"test"`` (10k);
    ``limit`` keeps the first images only. ``directory`` holds the IDX files, or is a data root with
    a ``fashion-mnist`` folder (like ``$RAYNAS_DATA``)."""
    if split not in ("train", "test"):
        raise InvalidConfigError(f"split must be 'train' or 'test', got {split!r}")
    if directory is None:
        from raynas.paths import dataset_dir

        d = dataset_dir("fashion-mnist")
    else:
        d = Path(directory)
    if not d.is_dir():
        raise DataNotFoundError(f"Fashion-MNIST data directory {str(d)!r} does not exist; "
                                f"fetch it with `raynas data fetch fashion-mnist`")
    if not any(d.glob("*-idx3-ubyte*")) and (d / "fashion-mnist").is_dir():
        d = d / "fashion-mnist"
    prefix = "train" if split == "train" else "t10k"
    image_file, label_file = _find(d, f"{prefix}-images-idx3-ubyte"), _find(d, f"{prefix}-labels-idx1-ubyte")
    try:
        images, labels = _read_idx(image_file), _read_idx(label_file)
    except DataNotFoundError as exc:  # a damaged download
        raise DataNotFoundError(f"{exc}; fetch it again with `raynas data fetch fashion-mnist`") from None
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    x = torch.from_numpy(images.astype(np.float32) / 255.0).unsqueeze(1)
    return ImageDataset("fashion-mnist", x, torch.from_numpy(labels.astype(np.int64)), 10)


def load_dataset(name: str = "digits", data_dir: str | os.PathLike | None = None, **kwargs) -> ImageDataset:
    """Load a dataset by name (``digits`` or ``fashion-mnist``)."""
    if name == "digits":
        return load_digits()
    if name in ("fashion-mnist", "fashion_mnist", "fmnist"):
        return load_fashion_mnist(data_dir, **kwargs)
    raise InvalidConfigError(f"unknown dataset {name!r}; choose one of {list(DATASETS)}")


def resize(images: torch.Tensor, size: int | None = None, channels: int | None = None) -> torch.Tensor:
    """Bilinear resize to ``size x size`` and repeat grey channels to ``channels``."""
    if size is not None and images.shape[-1] != size:
        images = F.interpolate(images, size=(size, size), mode="bilinear", align_corners=False)
    if channels is not None and images.shape[1] != channels:
        if images.shape[1] != 1:
            raise InvalidConfigError(f"cannot turn {images.shape[1]} channels into {channels}")
        images = images.repeat(1, channels, 1, 1)
    return images


def one_batch(dataset: ImageDataset, batch_size: int = 64, seed: int = 0, image_size: int | None = None,
              channels: int | None = None, normalize: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """One deterministic minibatch ``(x, y)``: the same seed always gives the same images.

    Images are optionally resized/channel-repeated (e.g. Fashion-MNIST as 32x32x3, a CIFAR-shaped
    stand-in) and standardised per channel with the dataset's statistics."""
    if batch_size < 1 or batch_size > len(dataset):
        raise InvalidConfigError(f"batch_size {batch_size} must be in 1..{len(dataset)}")
    g = torch.Generator().manual_seed(seed)
    idx = torch.randperm(len(dataset), generator=g)[:batch_size]
    x = resize(dataset.images[idx], image_size, channels)
    if normalize:
        mean, std = dataset.images.mean(), dataset.images.std()
        x = (x - mean) / std
    return x, dataset.labels[idx]


def train_val_loaders(dataset: ImageDataset, batch_size: int = 64, val_fraction: float = 0.2, seed: int = 0,
                      limit: int | None = None, image_size: int | None = None,
                      channels: int | None = None) -> tuple[DataLoader, DataLoader]:
    """Small deterministic train/validation loaders over (at most ``limit`` images of) ``dataset``."""
    if not 0.0 < val_fraction < 1.0:
        raise InvalidConfigError(f"val_fraction must be in (0, 1), got {val_fraction}")
    n = len(dataset) if limit is None else min(limit, len(dataset))
    g = torch.Generator().manual_seed(seed)
    idx = torch.randperm(len(dataset), generator=g)[:n]
    mean, std = dataset.images.mean(), dataset.images.std()
    x = (resize(dataset.images[idx], image_size, channels) - mean) / std
    y = dataset.labels[idx]
    n_val = max(1, int(round(n * val_fraction)))
    train = TensorDataset(x[n_val:], y[n_val:])
    val = TensorDataset(x[:n_val], y[:n_val])
    loader_gen = torch.Generator().manual_seed(seed + 1)
    return (DataLoader(train, batch_size=batch_size, shuffle=True, generator=loader_gen),
            DataLoader(val, batch_size=256, shuffle=False))


BATCH_SOURCES = ("fashion-mnist", "digits", "random")


def stand_in_batch(source: str = "fashion-mnist", batch_size: int = 64, seed: int = 0, image_size: int = 32,
                   channels: int = 3, num_classes: int = 10,
                   data_dir: str | os.PathLike | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """A CIFAR-shaped ``[batch_size, channels, image_size, image_size]`` batch for proxies when the
    task's own images are not at hand.

    ``fashion-mnist`` / ``digits``: real images, bilinearly resized, grey channels repeated,
    standardised (:func:`one_batch`); ``random``: standard-normal inputs with uniformly random labels.
    ``data_dir`` is the Fashion-MNIST directory (default ``$RAYNAS_DATA/fashion-mnist``)."""
    if source == "random":
        g = torch.Generator().manual_seed(seed)
        x = torch.randn(batch_size, channels, image_size, image_size, generator=g)
        return x, torch.randint(0, num_classes, (batch_size,), generator=g)
    if source not in BATCH_SOURCES:
        raise InvalidConfigError(f"unknown batch source {source!r}; choose one of {list(BATCH_SOURCES)}")
    dataset = load_dataset(source, data_dir, limit=10_000) if source != "digits" else load_digits()
    return one_batch(dataset, batch_size, seed=seed, image_size=image_size, channels=channels)
