"""Short, deterministic training of a built network — the live (non-tabular) objective.

Framework-free: progress goes to a ``report(metrics)`` callback once per epoch, which the Tune
trainable in ``searchers/trainables.py`` turns into ``tune.report``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.data import DataLoader

from raynas.errors import InvalidConfigError


@dataclass(frozen=True)
class TrainingSettings:
    """How a candidate network is trained. Defaults fit digits on a CPU in seconds per epoch."""

    epochs: int = 3
    batch_size: int = 64
    lr: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 5e-4
    seed: int = 0
    threads: int = 1

    def __post_init__(self):
        if not isinstance(self.epochs, int) or self.epochs < 1:
            raise InvalidConfigError(f"epochs must be a positive integer, got {self.epochs!r}")
        if not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise InvalidConfigError(f"batch_size must be a positive integer, got {self.batch_size!r}")
        if not (isinstance(self.lr, (int, float)) and self.lr > 0 and math.isfinite(self.lr)):
            raise InvalidConfigError(f"lr must be a positive number, got {self.lr!r}")
        if not isinstance(self.threads, int) or self.threads < 1:
            raise InvalidConfigError(f"threads must be a positive integer, got {self.threads!r}")


def evaluate(model: nn.Module, loader: DataLoader) -> tuple[float, float]:
    """Accuracy (%) and mean cross-entropy of ``model`` over ``loader``."""
    model.eval()
    correct, total, loss = 0, 0, 0.0
    with torch.inference_mode():
        for x, y in loader:
            out = model(x)
            loss += nn.functional.cross_entropy(out, y, reduction="sum").item()
            correct += (out.argmax(1) == y).sum().item()
            total += len(y)
    return 100.0 * correct / total, loss / total


def train(model: nn.Module, train_loader: DataLoader, val_loader: DataLoader, settings: TrainingSettings,
          report: Callable[[dict], None] | None = None, start_epoch: int = 0,
          progress: bool | str = False) -> dict:
    """SGD with cosine learning rate; calls ``report`` after every epoch with
    ``{"epoch", "accuracy", "val_loss", "train_loss", "train_time_s"}``. Returns the last metrics.

    A non-finite training loss ends training with ``accuracy`` 0 and ``diverged`` True rather than
    raising, so a search records the outcome and goes on.

    Args:
        progress: report the batches through :class:`raynas.logs.Progress` (a bar on a terminal,
            else a log line at the start, every few seconds with the epoch and the latest validation
            accuracy, and at the end; nothing below ``INFO``). ``True`` or a description such as
            ``"reference training"``. Off by default: searches run this inside their trials.
    """
    torch.manual_seed(settings.seed)
    old_threads = torch.get_num_threads()
    torch.set_num_threads(settings.threads)
    opt = torch.optim.SGD(model.parameters(), lr=settings.lr, momentum=settings.momentum,
                          weight_decay=settings.weight_decay, nesterov=True)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=settings.epochs * max(1, len(train_loader)))
    bar = _progress(progress, settings, start_epoch, len(train_loader))
    metrics: dict = {}
    elapsed = 0.0
    try:
        for epoch in range(start_epoch, settings.epochs):
            model.train()
            t0 = time.perf_counter()
            total, n, diverged = 0.0, 0, False
            note = _note(epoch, settings.epochs, metrics)
            for x, y in train_loader:
                opt.zero_grad(set_to_none=True)
                loss = nn.functional.cross_entropy(model(x), y)
                if not torch.isfinite(loss):
                    diverged = True
                    break
                loss.backward()
                opt.step()
                sched.step()
                total += loss.item() * len(y)
                n += len(y)
                if bar is not None:
                    bar.update(note=note)
            elapsed += time.perf_counter() - t0
            if diverged:
                metrics = {"epoch": epoch + 1, "accuracy": 0.0, "val_loss": float("nan"),
                           "train_loss": float("nan"), "train_time_s": elapsed, "diverged": True}
                if report:
                    report(metrics)
                break
            acc, val_loss = evaluate(model, val_loader)
            metrics = {"epoch": epoch + 1, "accuracy": acc, "val_loss": val_loss,
                       "train_loss": total / max(n, 1), "train_time_s": elapsed, "diverged": False}
            if report:
                report(metrics)
    finally:
        torch.set_num_threads(old_threads)
        if bar is not None:
            bar.close(_note(metrics.get("epoch", start_epoch), settings.epochs, metrics, done=True))
    return metrics


def _progress(progress: bool | str, settings: TrainingSettings, start_epoch: int, batches: int):
    """A :class:`raynas.logs.Progress` over the batches left to train, or ``None`` when off."""
    if not progress:
        return None
    from raynas.logs import Progress

    desc = progress if isinstance(progress, str) else "training"
    epochs = max(0, settings.epochs - start_epoch)
    return Progress(epochs * batches, f"{desc}: {epochs} epochs of {batches} batches", unit="batches")


def _note(epoch: int, epochs: int, metrics: dict, done: bool = False) -> str:
    """``epoch i/n`` (the one running, or the last when ``done``) and the latest validation accuracy."""
    shown = epoch if done else epoch + 1
    note = f"epoch {shown}/{epochs}"
    if metrics.get("diverged"):
        return note + ", diverged"
    if "accuracy" in metrics:
        note += f", val accuracy {metrics['accuracy']:.1f} %" + ("" if done else f" after epoch {metrics['epoch']}")
    return note
