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


@pytest.fixture
def raynas_records(caplog):
    """caplog's records of the ``raynas`` logger (its default handler does not propagate), at INFO."""
    import logging

    from raynas import logs

    root = logs.get_logger()
    level = root.level
    root.addHandler(caplog.handler)
    root.setLevel(logging.INFO)
    yield caplog
    root.removeHandler(caplog.handler)
    root.setLevel(level)


def _tiny_run(**kwargs):
    from raynas.reference import SmallResNet

    tl, vl = data.train_val_loaders(data.load_digits(), limit=300)
    return train(SmallResNet(10, 1, width=4, blocks=1), tl, vl, TrainingSettings(epochs=2), **kwargs)


def test_training_with_progress_says_it_started_before_the_first_batch(raynas_records, monkeypatch):
    import raynas.training as training

    said_then = []
    real = training.nn.functional.cross_entropy

    def first_loss(*args, **kwargs):
        said_then.append([r.getMessage() for r in raynas_records.records])
        return real(*args, **kwargs)

    monkeypatch.setattr(training.nn.functional, "cross_entropy", first_loss)
    reports = []
    _tiny_run(progress="reference test", report=reports.append)
    assert any(m.startswith("reference test: 2 epochs of") and "started" in m for m in said_then[0])
    done = [r.getMessage() for r in raynas_records.records if "done" in r.getMessage()]
    assert len(done) == 1 and "epoch 2/2" in done[0] and "val accuracy" in done[0]
    assert [r["epoch"] for r in reports] == [1, 2]  # the report contract is unchanged


def test_training_progress_notes_the_latest_validation_accuracy(raynas_records, monkeypatch):
    from raynas import logs

    real_init = logs.Progress.__init__
    monkeypatch.setattr(logs.Progress, "__init__",
                        lambda self, *a, **k: real_init(self, *a, **{**k, "interval": 0.0, "bar": False}))
    _tiny_run(progress=True)
    said = [r.getMessage() for r in raynas_records.records]
    assert any("epoch 2/2, val accuracy" in m and "after epoch 1" in m for m in said)


def test_training_is_silent_without_progress_or_below_info(raynas_records):
    import logging

    from raynas import logs

    _tiny_run()
    assert not raynas_records.records
    logs.get_logger().setLevel(logging.WARNING)
    _tiny_run(progress=True)
    assert not raynas_records.records


def test_train_reference_shows_progress(raynas_records):
    from raynas.reference import train_reference

    ref = train_reference(kind="resnet", dataset="digits", limit=300, resnet_width=4, resnet_blocks=1,
                          settings=TrainingSettings(epochs=1))
    said = [r.getMessage() for r in raynas_records.records]
    assert said[0].startswith("reference SmallResNet") and "on digits" in said[0] and "started" in said[0]
    assert f"val accuracy {ref.metadata['accuracy']:.1f} %" in said[-1]
