"""One registry for every device raynas knows: measured here, published in a table, or predicted.

``DeviceRegistry.from_data()`` registers a :class:`TableDevice` for every device column of every
``{space}/latency_ms.csv`` in the data directory (whatever columns the tables have), addressed as
``"{space}/{device}"`` or, when unambiguous for a given space, by the bare device name with
``space=``. :class:`LocalDevice` (this CPU) and :class:`PredictedDevice` (a fitted latency predictor)
are added with :meth:`DeviceRegistry.add`. Unknown names raise :class:`UnknownNameError` listing the
known ones.

:func:`hardware_embedding` is a device's latencies of the space's reference architectures
(``reference_archs.json``: NB201 ``reference_arch_indices``, FBNet ``reference_arch_ids``), as HELP
and MODNAS use it; for a new device only those 10 architectures need measuring.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np

from raynas.errors import DataNotFoundError, UnknownNameError
from raynas.hardware.base import Device
from raynas.hardware.table import TableDevice, fetch_hint, table_devices


class PredictedDevice(Device):
    """Latencies from a fitted predictor: ``predictor.predict(encode([arch]))[0]``."""

    kind = "predicted"

    def __init__(self, name: str, predictor, encode: Callable[[Sequence], np.ndarray], space: str | None = None):
        super().__init__(name)
        self.predictor = predictor
        self.encode = encode
        self.space_name = space

    def latency_ms(self, arch, space=None) -> float:
        return float(self.predictor.predict(self.encode([arch]))[0])


def _data_dir(data_dir) -> Path:
    from raynas.paths import data_dir as _resolve

    return _resolve(data_dir)


def table_spaces(data_dir: str | os.PathLike | None = None) -> list[str]:
    """Sub-directories of the data directory that hold a ``latency_ms.csv``."""
    d = _data_dir(data_dir)
    if not d.is_dir():
        return []
    return sorted(p.name for p in d.iterdir() if (p / "latency_ms.csv").is_file())


def reference_archs(space: str, data_dir: str | os.PathLike | None = None) -> tuple[list[int], list[tuple]]:
    """``(table row positions, op-index tuples)`` of the space's hardware-embedding references."""
    import pandas as pd

    from raynas.hardware.table import latency_table
    from raynas.spaces import get_space

    d = _data_dir(data_dir)
    file = d / space / "reference_archs.json"
    if not file.is_file():
        raise DataNotFoundError(f"no reference architectures for space {space!r}: {str(file)!r} does not exist; "
                                f"{fetch_hint(space)}")
    ref = json.loads(file.read_text())
    ids = next((ref[k] for k in ("reference_arch_indices", "reference_arch_ids") if k in ref), None)
    if ids is None:
        raise DataNotFoundError(f"{str(file)!r} has neither 'reference_arch_indices' nor 'reference_arch_ids'; "
                                f"{fetch_hint(space, again=True)}")
    table = latency_table(space, d)
    id_col = next((c for c in ("arch_index", "arch_id") if c in table.columns), None)
    pos_of = {int(v): i for i, v in enumerate(table[id_col])} if id_col else {i: i for i in range(len(table))}
    rows = [pos_of[int(i)] for i in ids]
    sp = get_space(space)
    archs_csv = d / space / "archs.csv"
    layer_cols = [f"layer{i}" for i in range(sp.num_decisions)]
    if archs_csv.is_file():
        df = pd.read_csv(archs_csv)
        archs = [tuple(int(v) for v in df.loc[r, layer_cols]) for r in rows]
    else:
        archs = [sp.parse(table["arch_str"].iloc[r]) for r in rows]
    return rows, archs


def hardware_embedding(device: Device, space: str, data_dir: str | os.PathLike | None = None,
                       normalise: bool = False) -> np.ndarray:
    """Latencies (ms) of ``device`` on the space's reference architectures (min-max normalised with
    ``normalise=True``). Table devices look them up; any other device measures/predicts just those."""
    from raynas.spaces import get_space

    rows, archs = reference_archs(space, data_dir)
    if isinstance(device, TableDevice):
        lat = np.array([device.latency_by_index(r) for r in rows], dtype=float)
    else:
        sp = get_space(space)
        lat = np.array([device.latency_ms(a, sp) for a in archs], dtype=float)
    if normalise:
        span = np.ptp(lat)
        return (lat - lat.min()) / span if span > 0 else np.zeros_like(lat)
    return lat


class DeviceRegistry:
    """Named devices of every kind. Keys are ``"{space}/{name}"`` for table devices, the name otherwise."""

    def __init__(self):
        self._devices: dict[str, Device] = {}

    @classmethod
    def from_data(cls, data_dir: str | os.PathLike | None = None, spaces: Sequence[str] | None = None) -> DeviceRegistry:
        reg = cls()
        for space in spaces if spaces is not None else table_spaces(data_dir):
            for name in table_devices(space, data_dir):
                reg._devices[f"{space}/{name}"] = TableDevice(name, space, data_dir)
        return reg

    def add(self, device: Device, key: str | None = None, overwrite: bool = False) -> Device:
        key = key or device.name
        if key in self._devices and not overwrite:
            raise ValueError(f"device {key!r} is already registered")
        self._devices[key] = device
        return device

    def get(self, name: str, space: str | None = None) -> Device:
        """A device by key, or by bare name within ``space``; unknown names list the known ones."""
        if space is not None and f"{space}/{name}" in self._devices:
            return self._devices[f"{space}/{name}"]
        if name in self._devices:
            return self._devices[name]
        matches = [k for k in self._devices if k.split("/", 1)[-1] == name]
        if len(matches) == 1 and space is None:
            return self._devices[matches[0]]
        if matches and space is None:
            raise UnknownNameError(f"device {name!r} is ambiguous: {', '.join(matches)}; pass space= or a full key")
        known = self.names(space)
        where = f" for space {space!r}" if space else ""
        raise UnknownNameError(f"unknown device {name!r}{where}; known: {', '.join(known) or 'none'}")

    def names(self, space: str | None = None, kind: str | None = None) -> list[str]:
        out = []
        for k, d in self._devices.items():
            if space is not None and "/" in k and not k.startswith(f"{space}/"):
                continue
            if kind is not None and d.kind != kind:
                continue
            out.append(k)
        return out

    def embedding(self, name: str, space: str, data_dir: str | os.PathLike | None = None,
                  normalise: bool = False) -> np.ndarray:
        return hardware_embedding(self.get(name, space), space, data_dir, normalise)

    def __contains__(self, name: object) -> bool:
        return name in self._devices

    def __iter__(self) -> Iterator[str]:
        return iter(self._devices)

    def __len__(self) -> int:
        return len(self._devices)
