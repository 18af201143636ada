import torch

from raynas import data
from raynas.spaces import NB201Space
from raynas.training import TrainingSettings, evaluate, train

import pytest
from raynas.errors import InvalidConfigError


def test_short_training_learns_digits_and_reports_each_epoch():
    ds = data.load_digits()
    train_loader, val_loader = data.train_val_loaders(ds, batch_size=64, limit=800)
    model = NB201Space(channels=8, cells_per_stage=1).build((1, 2, 1, 2, 1, 2), num_classes=10, in_channels=1)
    before, _ = evaluate(model, val_loader)
    reports = []
    last = train(model, train_loader, val_loader, TrainingSettings(epochs=3), report=reports.append)
    assert [r["epoch"] for r in reports] == [1, 2, 3]
    assert last["accuracy"] > max(60.0, before + 30.0)  # chance is 10 %


def test_divergence_is_reported_not_raised():
    class Exploding(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = torch.nn.Linear(64, 10)

        def forward(self, x):
            return self.fc(x.flatten(1)) * float("inf")

    ds = data.load_digits()
    tl, vl = data.train_val_loaders(ds, limit=200)
    out = train(Exploding(), tl, vl, TrainingSettings(epochs=2))
    assert out["diverged"] is True and out["accuracy"] == 0.0


def test_bad_settings_are_named():
    with pytest.raises(InvalidConfigError, match="-1"):
        TrainingSettings(epochs=-1)
    with pytest.raises(InvalidConfigError, match="lr"):
        TrainingSettings(lr=0)
