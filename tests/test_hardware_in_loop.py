"""Hardware in the loop: latency of device D measured by a Ray task pinned by resource ``device:D``,
on a local multi-node ``ray.cluster_utils.Cluster`` (a head and two device nodes)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cluster():
    import ray
    from _cluster import local_cluster

    devices = ["edge_a", "edge_b"]
    with local_cluster(workers=2, worker_resources=[{f"device:{d}": 1} for d in devices]) as c:
        node_of = {d: n["NodeID"] for n in ray.nodes() for d in devices if f"device:{d}" in n["Resources"]}
        yield c, node_of


def test_measurement_runs_on_the_node_with_the_device(cluster):
    from raynas.spaces import get_space
    from searchers.hardware import RemoteDevice, cluster_devices

    _, node_of = cluster
    assert cluster_devices() == ["edge_a", "edge_b"]
    space = get_space("nb201")
    small, big = (1,) * 6, (3,) * 6  # all skip vs all 3x3 convolutions
    for name in ("edge_a", "edge_b"):
        dev = RemoteDevice(name, "nb201", warmup=1, repeats=5)
        ms = dev.measure_many([small, big], space)
        assert set(dev.last_nodes) == {node_of[name]}, (name, dev.last_nodes, node_of)
        assert all(m.repeats == 5 and m.threads == 1 and m.median_ms > 0 for m in ms)
        assert ms[1].median_ms > ms[0].median_ms  # 15 3x3 convs cost more than identities


def test_unknown_device_is_a_clear_error(cluster):
    from raynas.errors import UnknownNameError
    from searchers.hardware import RemoteDevice

    with pytest.raises(UnknownNameError, match=r"device:pixel9.*devices: edge_a, edge_b"):
        RemoteDevice("pixel9").latency_ms((1,) * 6)


def test_hardware_embedding_of_a_remote_device(cluster, data_dir):
    """A new device's hardware embedding: just the space's reference architectures, measured there."""
    import numpy as np

    from raynas.hardware import hardware_embedding
    from searchers.hardware import RemoteDevice

    dev = RemoteDevice("edge_b", "nb201", warmup=1, repeats=3)
    emb = hardware_embedding(dev, "nb201", data_dir)
    assert emb.shape == (10,) and np.all(emb > 0)
