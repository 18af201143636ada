"""Devices and latency: measured here (:class:`LocalDevice`) or published (:class:`TableDevice`)."""

from raynas.hardware.base import Device, device_family
from raynas.hardware.local import RUNTIMES, LatencyMeasurement, LocalDevice, compile_for, measure_latency
from raynas.hardware.table import TableDevice, latency_table, table_devices
from raynas.hardware.registry import (DeviceRegistry, PredictedDevice, hardware_embedding, reference_archs,
                                      table_spaces)

__all__ = ["Device", "device_family", "RUNTIMES", "compile_for", "LocalDevice", "TableDevice", "LatencyMeasurement", "measure_latency",
           "latency_table", "table_devices", "DeviceRegistry", "PredictedDevice", "hardware_embedding",
           "reference_archs", "table_spaces"]
