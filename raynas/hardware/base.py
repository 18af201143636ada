"""Devices: anything that can tell the latency of an architecture or a model.

A device has a ``name``, a ``kind`` (``measured``, ``table`` or ``predicted``), a ``family`` (the
hardware it runs on: devices of one family, such as one GPU at several batch sizes, rank
architectures almost identically) and a ``runtime`` (what executes the network: ``torch-eager`` here,
``published`` for a table column whose runtime the publisher chose), and can produce a hardware
embedding: its latencies of a fixed set of reference architectures (as HELP and MODNAS do).

Honest transfer experiments hold out a target's whole family (:func:`device_family`): a target such
as ``1080ti_1`` must not learn from ``1080ti_32``.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Sequence

import numpy as np

from raynas.errors import InvalidConfigError


_SETTING = re.compile(r"^(?P<family>.+?)_(?P<batch>\d+)$")
_BATCH_SIZES = {2 ** k for k in range(11)}


def device_family(name: str) -> str:
    """The hardware family of a device name: the name without a trailing batch-size setting
    (``1080ti_32`` -> ``1080ti``, ``titan_rtx_64`` -> ``titan_rtx``, ``v100_32`` -> ``v100``); any other name is its own
    family (``gold_6226``, ``pixel3``, ``raspi4``, ``local_cpu_x86_64``).

    Example::

        >>> [device_family(d) for d in ("1080ti_1", "1080ti_256", "silver_4114", "eyeriss")]
        ['1080ti', '1080ti', 'silver_4114', 'eyeriss']
    """
    m = _SETTING.match(name)
    # "x86_64" is a CPU architecture, not x86 at batch 64 ("v100_64" is a V100 at batch 64)
    if m and int(m.group("batch")) in _BATCH_SIZES and not m.group("family").endswith("x86"):
        return m.group("family")
    return name


class Device(ABC):
    """A source of latencies for a named device (``family``: :func:`device_family` of the name unless
    given; ``runtime``: what executes the network)."""

    kind: str = "device"
    runtime: str = "unknown"

    def __init__(self, name: str, family: str | None = None):
        if not isinstance(name, str) or not name:
            raise InvalidConfigError(f"a device needs a non-empty name, got {name!r}")
        if family is not None and (not isinstance(family, str) or not family):
            raise InvalidConfigError(f"a device family must be a non-empty string, got {family!r}")
        self.name = name
        self.family = family or device_family(name)

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
