"""Published latency tables: one device per column of ``{space}/latency_ms.csv``."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import pandas as pd

from raynas.errors import DataNotFoundError, UnknownNameError
from raynas.hardware.base import Device

#: Columns of a latency table that identify the architecture rather than a device.
ID_COLUMNS = ("arch_index", "arch_id", "arch_str")


def fetch_hint(space: str, again: bool = False) -> str:
    """How to get the published latency table of ``space`` (for error messages)."""
    from raynas.paths import DATASETS, fetch_hint as _hint

    key = "nb201-latency" if space == "nb201" else space
    if key not in DATASETS:
        return f"raynas publishes no {space!r} table (`raynas data info` lists what it fetches)"
    return f"fetch it{' again' if again else ''} with {_hint(key)}"


@lru_cache(maxsize=8)
def _read_table(path: str) -> pd.DataFrame:
    return pd.read_csv(path)


def latency_table(space: str = "nb201", data_dir: str | os.PathLike | None = None) -> pd.DataFrame:
    """The published latency table of ``space`` (``nb201``, ``fbnet``, ``ofa``) as a DataFrame."""
    from raynas.paths import data_dir as _data_dir

    d = _data_dir(data_dir)
    path = d / space / "latency_ms.csv"
    if not path.is_file():
        raise DataNotFoundError(f"latency table {str(path)!r} not found (data directory {str(d)!r}); "
                                f"{fetch_hint(space)}, or pass --data-dir / set RAYNAS_DATA")
    try:
        return _read_table(str(path.resolve()))
    except (ValueError, UnicodeDecodeError) as exc:  # pandas' EmptyDataError/ParserError are ValueErrors
        raise DataNotFoundError(f"latency table {str(path)!r} is not a readable CSV table ({type(exc).__name__}); "
                                f"{fetch_hint(space, again=True)}") from None


def table_devices(space: str = "nb201", data_dir: str | os.PathLike | None = None) -> list[str]:
    """Every device column the table has, whatever they are."""
    return [c for c in latency_table(space, data_dir).columns if c not in ID_COLUMNS]


class TableDevice(Device):
    """Latencies published for a device. Architectures are looked up by the table's row index
    (NB201's official ``arch_index`` / FBNet's ``arch_id``) or, for NB201, by architecture tuple."""

    kind = "table"
    runtime = "published"

    def __init__(self, name: str, space: str = "nb201", data_dir: str | os.PathLike | None = None):
        super().__init__(name)
        self.space_name = space
        table = latency_table(space, data_dir)
        if name not in table.columns or name in ID_COLUMNS:
            raise UnknownNameError(
                f"device {name!r} is not in the {space} latency table; known: {', '.join(table_devices(space, data_dir))}"
            )
        self.values = table[name].to_numpy(dtype=float)
        self._index_of_str = (
            {s: i for i, s in enumerate(table["arch_str"])} if "arch_str" in table.columns else {}
        )

    def latency_by_index(self, index: int) -> float:
        if not 0 <= int(index) < len(self.values):
            raise UnknownNameError(f"architecture index {index} is outside the {self.space_name} table (0..{len(self.values) - 1})")
        return float(self.values[int(index)])

    def latency_ms(self, arch, space=None) -> float:
        if isinstance(arch, (int,)) and not isinstance(arch, bool):
            return self.latency_by_index(arch)
        if isinstance(arch, str):
            key = arch
        elif space is not None:
            key = space.arch_str(arch)
        else:
            raise UnknownNameError("TableDevice.latency_ms needs an index, an arch string, or the space")
        if key not in self._index_of_str:
            raise UnknownNameError(f"architecture {key!r} is not in the {self.space_name} latency table")
        return float(self.values[self._index_of_str[key]])
