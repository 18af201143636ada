"""Hardware in the loop on a Ray cluster: latency of device ``D`` measured on the node that has it.

A node that owns a device is started with a custom resource naming it::

    ray start --address=<head> --resources='{"device:raspi4": 1}'

:class:`RemoteDevice` (a :class:`raynas.hardware.Device`) measures an architecture by a Ray task
that requests ``{"device:raspi4": 1}``, so Ray schedules it on that node, where the network is
built and timed with :func:`raynas.hardware.measure_latency`. It plugs in wherever a device does:
``hardware_embedding(RemoteDevice("raspi4"), "nb201")`` measures the 10 reference architectures
there, trainables can call :meth:`RemoteDevice.measure_many` for every target device of a trial,
and a predictor transferred to the device needs only its ``n`` measured samples.

A resource no node offers would leave the task pending forever; :meth:`RemoteDevice.check`
raises a clear error instead, naming the device resources the cluster has.
"""

from __future__ import annotations

from collections.abc import Sequence

import ray

from raynas.errors import InvalidConfigError, UnknownNameError
from raynas.hardware.base import Device
from raynas.hardware.local import LatencyMeasurement

RESOURCE_PREFIX = "device:"


def device_resource(device: str) -> str:
    """The custom resource a node offers to host ``device``: ``"device:<name>"``."""
    if not isinstance(device, str) or not device:
        raise InvalidConfigError(f"device name must be a non-empty string, got {device!r}")
    return f"{RESOURCE_PREFIX}{device}"


def cluster_devices() -> list[str]:
    """Device names offered by the connected cluster's nodes (from ``device:<name>`` resources)."""
    return sorted(k[len(RESOURCE_PREFIX):] for k in ray.cluster_resources() if k.startswith(RESOURCE_PREFIX))


def _measure(space_name: str, space_kwargs: dict, arch: tuple, input_shape: tuple, num_classes: int,
             batch_size: int, warmup: int, repeats: int, threads: int, timeout_s: float | None, seed: int) -> dict:
    """Runs on the device's node: build the network and time it."""
    import os
    import platform

    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import torch

    from raynas.hardware.local import measure_latency
    from raynas.spaces import get_space

    space = get_space(space_name, **space_kwargs)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = space.build(tuple(arch), num_classes=num_classes, in_channels=input_shape[0])
    m = measure_latency(model, tuple(input_shape), batch_size, warmup, repeats, threads, timeout_s)
    return {"measurement": m.as_dict(), "node_id": ray.get_runtime_context().get_node_id(),
            "host": platform.node()}


class RemoteDevice(Device):
    """A device reached through the Ray cluster: measurements run on the node offering
    ``device:<name>`` (see the module docstring). Requires a connected Ray (``ray.init``).

    Args:
        name: the device name (the resource is ``device:<name>``).
        space / space_kwargs: the search space architectures belong to (``latency_ms(arch, space)``
            may also pass a space object with a ``name``).
        input_shape, num_classes, batch_size, warmup, repeats, threads, timeout_s: as
            :func:`raynas.hardware.measure_latency`.
        num_cpus: CPUs the measuring task reserves on the node (1 keeps timings uncontended by
            other Ray tasks there).
    """

    kind = "remote"

    def __init__(self, name: str, space: str = "nb201", space_kwargs: dict | None = None,
                 input_shape: Sequence[int] = (3, 32, 32), num_classes: int = 10, batch_size: int = 1,
                 warmup: int = 5, repeats: int = 20, threads: int = 1, timeout_s: float | None = None,
                 num_cpus: float = 1, seed: int = 0):
        super().__init__(name)
        self.resource = device_resource(name)
        self.space_name = space
        self.space_kwargs = dict(space_kwargs or {})
        self.input_shape = tuple(int(v) for v in input_shape)
        self.num_classes = num_classes
        self.batch_size = batch_size
        self.warmup = warmup
        self.repeats = repeats
        self.threads = threads
        self.timeout_s = timeout_s
        self.num_cpus = num_cpus
        self.seed = seed
        self.last_nodes: list[str] = []

    def check(self) -> None:
        """Raise unless some node of the connected cluster offers this device's resource."""
        if not ray.is_initialized():
            raise InvalidConfigError(f"RemoteDevice({self.name!r}) needs a connected Ray cluster: call ray.init first")
        if self.resource not in ray.cluster_resources():
            known = ", ".join(cluster_devices()) or "none"
            raise UnknownNameError(f"no node of the cluster offers resource {self.resource!r}; devices: {known}")

    def _space_name(self, space) -> str:
        if space is None:
            return self.space_name
        return space if isinstance(space, str) else getattr(space, "name", self.space_name)

    def submit(self, archs: Sequence, space=None) -> list:
        """Start one measuring task per architecture; returns Ray object refs."""
        self.check()
        task = ray.remote(_measure).options(resources={self.resource: 1}, num_cpus=self.num_cpus,
                                            name=f"latency[{self.name}]")
        name = self._space_name(space)
        return [task.remote(name, self.space_kwargs, tuple(int(v) for v in a), self.input_shape, self.num_classes,
                            self.batch_size, self.warmup, self.repeats, self.threads, self.timeout_s, self.seed)
                for a in archs]

    def measure_many(self, archs: Sequence, space=None) -> list[LatencyMeasurement]:
        """Measure ``archs`` on the device's node(s) (in parallel when several nodes offer it)."""
        out = ray.get(self.submit(archs, space))
        self.last_nodes = [o["node_id"] for o in out]
        return [LatencyMeasurement(**o["measurement"]) for o in out]

    def latency_ms(self, arch, space=None) -> float:
        return self.measure_many([arch], space)[0].median_ms
