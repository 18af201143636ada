"""Devices: anything that can tell the latency of an architecture or a model.

A device has a ``name``, a ``kind`` (``measured``, ``table`` or ``predicted``) and can produce a
hardware embedding: its latencies of a fixed set of reference architectures (as HELP and MODNAS do).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

import numpy as np

from raynas.errors import InvalidConfigError


class Device(ABC):
    """A source of latencies for a named device."""

    kind: str = "device"

    def __init__(self, name: str):
        if not isinstance(name, str) or not name:
            raise InvalidConfigError(f"a device needs a non-empty name, got {name!r}")
        self.name = name

    @abstractmethod
    def latency_ms(self, arch, space=None) -> float:
        """Latency in milliseconds of ``arch`` (a space's architecture) on this device."""

    def embedding(self, reference_archs: Sequence, space=None) -> np.ndarray:
        """Hardware embedding: this device's latencies of ``reference_archs``, min-max normalised."""
        lat = np.array([self.latency_ms(a, space) for a in reference_archs], dtype=np.float64)
        span = lat.max() - lat.min()
        return (lat - lat.min()) / span if span > 0 else np.zeros_like(lat)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"
