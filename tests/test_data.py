import pytest
import torch

from raynas import data
from raynas.errors import DataNotFoundError, InvalidConfigError


def test_digits_is_the_embedded_default():
    ds = data.load_dataset()
    assert ds.name == "digits" and len(ds) == 1797 and ds.shape == (1, 8, 8)
    assert 0.0 <= float(ds.images.min()) and float(ds.images.max()) <= 1.0
    assert set(ds.labels.tolist()) == set(range(10))


def test_fashion_mnist_from_idx_files(data_dir):
    ds = data.load_fashion_mnist(data_dir / "fashion-mnist", split="test")
    assert len(ds) == 10_000 and ds.shape == (1, 28, 28)
    train = data.load_dataset("fashion-mnist", data_dir / "fashion-mnist", limit=500)
    from_root = data.load_dataset("fashion-mnist", data_dir, limit=500)  # the data root works too
    assert torch.equal(from_root.images, train.images)
    assert len(train) == 500
    assert torch.bincount(ds.labels).tolist() == [1000] * 10  # the published test split is balanced


def test_missing_directory_names_it(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(DataNotFoundError, match="nowhere"):
        data.load_fashion_mnist(missing)
    with pytest.raises(DataNotFoundError, match="train-images-idx3-ubyte"):
        data.load_fashion_mnist(tmp_path)


def test_unknown_dataset_and_bad_split():
    with pytest.raises(InvalidConfigError, match="cifar5"):
        data.load_dataset("cifar5")
    with pytest.raises(InvalidConfigError, match="valid"):
        data.load_fashion_mnist(split="valid")


def test_one_batch_is_deterministic_and_reshapes():
    ds = data.load_digits()
    x1, y1 = data.one_batch(ds, 16, seed=1, image_size=32, channels=3)
    x2, y2 = data.one_batch(ds, 16, seed=1, image_size=32, channels=3)
    x3, _ = data.one_batch(ds, 16, seed=2, image_size=32, channels=3)
    assert x1.shape == (16, 3, 32, 32) and y1.shape == (16,)
    assert torch.equal(x1, x2) and torch.equal(y1, y2)
    assert not torch.equal(x1, x3)
    with pytest.raises(InvalidConfigError, match="5000"):
        data.one_batch(ds, 5000)


def test_train_val_loaders_split_without_overlap():
    ds = data.load_digits()
    train, val = data.train_val_loaders(ds, batch_size=32, val_fraction=0.25, limit=400)
    n_train = sum(len(y) for _, y in train)
    n_val = sum(len(y) for _, y in val)
    assert (n_train, n_val) == (300, 100)
    with pytest.raises(InvalidConfigError, match="1.5"):
        data.train_val_loaders(ds, val_fraction=1.5)
