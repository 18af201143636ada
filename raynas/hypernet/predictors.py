"""Differentiable objectives for the hypernetwork: a hardware-conditioned latency predictor
(MetaPredictor) and an accuracy surrogate, both over the one-hot encoding of an architecture, so a
straight-through one-hot sample passes gradients to the hypernetwork.

Latency units. A device is described by its latencies ``r`` of the reference architectures
(:class:`HardwareProfile`). Its hardware embedding is ``(r - min r) / (max r - min r)``, and the
MetaPredictor predicts latency in the same *reference units* ``(ms - min r) / (max r - min r)``:
a quantity every device has, seen or unseen, and that converts back to milliseconds exactly.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

from raynas.errors import DataNotFoundError, InvalidConfigError, UnknownNameError


# --------------------------------------------------------------------------------------------------
# Devices as hardware embeddings
@dataclass
class HardwareProfile:
    """A device known only by its latencies (ms) of the space's reference architectures."""

    name: str
    reference_ms: np.ndarray

    def __post_init__(self):
        self.reference_ms = np.asarray(self.reference_ms, dtype=np.float64).reshape(-1)
        if self.reference_ms.size < 2 or not np.all(np.isfinite(self.reference_ms)):
            raise InvalidConfigError(f"device {self.name!r}: need >= 2 finite reference latencies, got {self.reference_ms}")

    @property
    def low(self) -> float:
        return float(self.reference_ms.min())

    @property
    def span(self) -> float:
        s = float(self.reference_ms.max() - self.reference_ms.min())
        return s if s > 0 else max(abs(self.low), 1e-9)

    @property
    def embedding(self) -> np.ndarray:
        """Min-max normalised reference latencies (HELP/MODNAS hardware embedding)."""
        return ((self.reference_ms - self.low) / self.span).astype(np.float32)

    def to_units(self, ms) -> np.ndarray:
        return (np.asarray(ms, dtype=np.float64) - self.low) / self.span

    def to_ms(self, units) -> np.ndarray:
        return np.asarray(units, dtype=np.float64) * self.span + self.low

    @classmethod
    def from_device(cls, device, reference_archs, space=None) -> "HardwareProfile":
        """Measure (``LocalDevice``) or look up (``TableDevice``) ``reference_archs`` on ``device``."""
        return cls(device.name, [device.latency_ms(a, space) for a in reference_archs])


def reference_archs(space_name: str = "nb201", data_dir=None) -> list[int]:
    """Row indices (NB201 ``arch_index`` / FBNet ``arch_id``) of the space's reference architectures."""
    from raynas.data import default_data_dir

    path = Path(data_dir or default_data_dir()) / space_name / "reference_archs.json"
    if not path.is_file():
        raise DataNotFoundError(f"reference architectures file {str(path)!r} not found")
    with open(path) as f:
        obj = json.load(f)
    for key in ("reference_arch_indices", "reference_arch_ids"):
        if key in obj:
            return [int(i) for i in obj[key]]
    raise DataNotFoundError(f"{path} has neither reference_arch_indices nor reference_arch_ids")


@dataclass
class LatencyData:
    """A space's published latency table as one-hot features and per-device latencies (ms)."""

    space_name: str
    archs: list[tuple[int, ...]]
    onehot: np.ndarray                       # [N, D*O]
    latency_ms: dict[str, np.ndarray]        # device -> [N]
    reference_rows: list[int]
    arch_strs: list[str] = field(default_factory=list)

    @property
    def devices(self) -> list[str]:
        return list(self.latency_ms)

    def profile(self, device: str) -> HardwareProfile:
        if device not in self.latency_ms:
            raise UnknownNameError(f"device {device!r} is not in the {self.space_name} latency table; "
                                   f"known: {', '.join(self.latency_ms)}")
        return HardwareProfile(device, self.latency_ms[device][self.reference_rows])

    def units(self, device: str) -> np.ndarray:
        return self.profile(device).to_units(self.latency_ms[device])


def _rows_to_archs(space, table: pd.DataFrame) -> list[tuple[int, ...]]:
    if "arch_str" in table.columns and hasattr(space, "parse"):
        try:
            return [tuple(space.parse(s)) for s in table["arch_str"]]
        except Exception:  # noqa: BLE001 - fall through to explicit layer columns
            pass
    layer_cols = [c for c in table.columns if c.startswith("layer")]
    if layer_cols:
        return [tuple(int(v) for v in row) for row in table[layer_cols].to_numpy()]
    raise InvalidConfigError(f"cannot read architectures of space {space.name!r} from the latency table")


def load_latency_data(space, data_dir=None) -> LatencyData:
    """Read ``{space}/latency_ms.csv`` (every device column, whatever they are) and its references."""
    from raynas.hardware.table import ID_COLUMNS, latency_table

    table = latency_table(space.name, data_dir)
    archs = _rows_to_archs(space, table)
    id_col = "arch_index" if "arch_index" in table.columns else ("arch_id" if "arch_id" in table.columns else None)
    refs = reference_archs(space.name, data_dir)
    if id_col is not None:
        pos = {int(v): i for i, v in enumerate(table[id_col])}
        ref_rows = [pos[r] for r in refs]
    else:
        ref_rows = refs
    onehot = np.stack([space.encode_onehot(a) for a in archs]).astype(np.float32)
    lat = {c: table[c].to_numpy(dtype=np.float64) for c in table.columns if c not in ID_COLUMNS}
    return LatencyData(space.name, archs, onehot, lat, ref_rows,
                       list(table["arch_str"]) if "arch_str" in table.columns else [])


# --------------------------------------------------------------------------------------------------
# Models
def _mlp(sizes: list[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(a, b), nn.ReLU()]
    return nn.Sequential(*layers[:-1])


class MetaPredictor(nn.Module):
    """Latency (reference units) of a one-hot architecture on a device given its hardware embedding.

    An additive term ``x . c(h)`` (a per-(decision, op) cost that the embedding sets, the part of
    latency that is a sum over layers) plus an MLP of ``[x, h]`` for interactions.
    """

    def __init__(self, in_dim: int, hw_dim: int = 10, hidden: int = 128):
        super().__init__()
        self.in_dim, self.hw_dim, self.hidden = in_dim, hw_dim, hidden
        self.cost = _mlp([hw_dim, hidden, in_dim])
        self.bias = _mlp([hw_dim, hidden // 2, 1])
        self.mlp = _mlp([in_dim + hw_dim, hidden, hidden, 1])

    def config(self) -> dict:
        return {"in_dim": self.in_dim, "hw_dim": self.hw_dim, "hidden": self.hidden}

    def forward(self, x: torch.Tensor, hw: torch.Tensor) -> torch.Tensor:
        if hw.dim() == 1:
            hw = hw[None].expand(x.shape[0], -1)
        return (x * self.cost(hw)).sum(-1) + self.bias(hw).squeeze(-1) + self.mlp(torch.cat([x, hw], -1)).squeeze(-1)


class AccuracySurrogate(nn.Module):
    """Error (fraction in [0, 1]) of a one-hot architecture: an MLP (an ensemble mean if ``members`` > 1)."""

    def __init__(self, in_dim: int, hidden: int = 128, members: int = 1):
        super().__init__()
        self.in_dim, self.hidden, self.members = in_dim, hidden, members
        self.nets = nn.ModuleList(_mlp([in_dim, hidden, hidden, 1]) for _ in range(members))

    def config(self) -> dict:
        return {"in_dim": self.in_dim, "hidden": self.hidden, "members": self.members}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.stack([net(x).squeeze(-1) for net in self.nets]).mean(0)


def _fit(model: nn.Module, inputs: tuple[torch.Tensor, ...], y: torch.Tensor, epochs: int, batch_size: int,
         lr: float, seed: int, weight_decay: float = 1e-5) -> list[float]:
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    steps = epochs * max(1, (len(y) + batch_size - 1) // batch_size)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, steps))
    losses = []
    model.train()
    for _ in range(epochs):
        perm = torch.randperm(len(y), generator=g)
        total = 0.0
        for i in range(0, len(y), batch_size):
            idx = perm[i: i + batch_size]
            pred = model(*(t[idx] for t in inputs))
            loss = nn.functional.mse_loss(pred, y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
        losses.append(total / len(y))
    model.eval()
    return losses


def fit_meta_predictor(data: LatencyData, devices: list[str], archs_per_device: int = 3000, epochs: int = 30,
                       hidden: int = 128, lr: float = 2e-3, seed: int = 0) -> MetaPredictor:
    """Train a MetaPredictor on ``archs_per_device`` random rows of each source device's table."""
    if not devices:
        raise InvalidConfigError("fit_meta_predictor needs at least one source device")
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    xs, hs, ys = [], [], []
    n = len(data.archs)
    for d in devices:
        rows = rng.choice(n, size=min(archs_per_device, n), replace=False)
        prof = data.profile(d)
        xs.append(data.onehot[rows])
        hs.append(np.repeat(prof.embedding[None], len(rows), 0))
        ys.append(prof.to_units(data.latency_ms[d][rows]))
    model = MetaPredictor(data.onehot.shape[1], len(data.reference_rows), hidden)
    x = torch.tensor(np.concatenate(xs))
    h = torch.tensor(np.concatenate(hs))
    y = torch.tensor(np.concatenate(ys), dtype=torch.float32)
    _fit(model, (x, h), y, epochs, 256, lr, seed)
    return model


def refit_meta_predictor(model: MetaPredictor, x: np.ndarray, hw: np.ndarray, y_units: np.ndarray,
                         replay: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None, epochs: int = 30,
                         lr: float = 5e-4, seed: int = 0) -> MetaPredictor:
    """Fine-tune on observed measurements (``y_units`` in reference units), mixed with ``replay``
    samples from the source devices so the predictor does not forget them."""
    xs, hs, ys = [np.asarray(x, np.float32)], [np.asarray(hw, np.float32)], [np.asarray(y_units, np.float64)]
    if replay is not None:
        xs.append(replay[0]), hs.append(replay[1]), ys.append(replay[2])
    _fit(model, (torch.tensor(np.concatenate(xs)), torch.tensor(np.concatenate(hs))),
         torch.tensor(np.concatenate(ys), dtype=torch.float32), epochs, 64, lr, seed)
    return model


def load_accuracy_table(data_dir=None, column: str = "valid-accuracy") -> pd.DataFrame:
    """NB201 CIFAR-10 accuracies (``arch_index``, ``arch_str``, the accuracy columns)."""
    from raynas.data import default_data_dir

    path = Path(data_dir or default_data_dir()) / "nb201" / "accuracy_cifar10-valid_200ep.csv"
    if not path.is_file():
        raise DataNotFoundError(f"accuracy table {str(path)!r} not found")
    table = pd.read_csv(path)
    if column not in table.columns:
        raise InvalidConfigError(f"accuracy column {column!r} not in {list(table.columns)}")
    return table


def fit_accuracy_surrogate(space, archs: list[tuple[int, ...]], accuracy_pct: np.ndarray, epochs: int = 300,
                           hidden: int = 128, members: int = 3, lr: float = 2e-3, seed: int = 0) -> AccuracySurrogate:
    """Train the accuracy surrogate on ``archs`` with accuracies in percent (it predicts error fractions)."""
    torch.manual_seed(seed)
    x = torch.tensor(np.stack([space.encode_onehot(a) for a in archs]))
    y = torch.tensor(1.0 - np.asarray(accuracy_pct, dtype=np.float64) / 100.0, dtype=torch.float32)
    model = AccuracySurrogate(x.shape[1], hidden, members)
    for i, net in enumerate(model.nets):
        wrapper = _Single(net)
        _fit(wrapper, (x,), y, epochs, 64, lr, seed + i)
    model.eval()
    return model


class _Single(nn.Module):
    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        return self.net(x).squeeze(-1)


def nb201_accuracy_surrogate(space, n_archs: int = 1000, data_dir=None, column: str = "valid-accuracy",
                             seed: int = 0, **kwargs) -> tuple[AccuracySurrogate, list[int]]:
    """An accuracy surrogate trained on ``n_archs`` random NB201 CIFAR-10 architectures; returns the
    model and the ``arch_index`` of every architecture it saw."""
    table = load_accuracy_table(data_dir, column)
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(len(table), size=min(n_archs, len(table)), replace=False))
    archs = [space.parse(s) for s in table["arch_str"].iloc[rows]]
    model = fit_accuracy_surrogate(space, archs, table[column].to_numpy()[rows], seed=seed, **kwargs)
    return model, [int(i) for i in table["arch_index"].iloc[rows]]
