"""A local multi-node Ray cluster for tests: a head and worker "nodes" (``ray.cluster_utils.Cluster``),
each a raylet of its own on loopback, shut down however the test ends.

    with local_cluster(workers=2) as cluster:
        ...  # ray is connected to cluster.address; cluster.worker_nodes can be removed

Health checks are tightened so a removed node is declared dead in seconds, not the default ~30 s.
Also: :func:`ray_processes` (pids of Ray processes whose session directory is under a given temp
dir) to check that nothing of Ray outlives a test.
"""

from __future__ import annotations

import os
import time
from contextlib import contextmanager
from pathlib import Path

os.environ.setdefault("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", "1")
os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")

#: Ray settings that make node failure visible quickly (milliseconds).
FAST_FAILURE = {
    "health_check_initial_delay_ms": 0,
    "health_check_period_ms": 500,
    "health_check_failure_threshold": 4,
    "health_check_timeout_ms": 500,
}


@contextmanager
def local_cluster(workers: int = 2, cpus_per_node: int = 1, head_cpus: int = 1, connect: bool = True,
                  worker_resources: list[dict] | None = None):
    """Start a head plus ``workers`` worker nodes with ``cpus_per_node`` logical CPUs each (and
    ``worker_resources[i]`` custom resources on worker ``i``) and (by default) connect this process
    to it; everything is shut down on exit, even after an error."""
    import ray
    from ray.cluster_utils import Cluster

    if ray.is_initialized():  # a session-wide local Ray (the ray_local fixture) must not be joined
        ray.shutdown()
    env = {"OMP_WAIT_POLICY": "PASSIVE", "OMP_NUM_THREADS": "1", "TUNE_DISABLE_AUTO_CALLBACK_LOGGERS": "1"}
    cluster = Cluster(initialize_head=True, shutdown_at_exit=True,
                      head_node_args={"num_cpus": head_cpus, "include_dashboard": False,
                                      "_system_config": FAST_FAILURE, "env_vars": env})
    try:
        for i in range(workers):
            resources = worker_resources[i] if worker_resources else None
            cluster.add_node(num_cpus=cpus_per_node, env_vars=env, resources=resources)
        cluster.wait_for_nodes()
        if connect:
            ray.init(address=cluster.address, log_to_driver=False, runtime_env={"env_vars": env})
        yield cluster
    finally:
        if connect:
            ray.shutdown()
        cluster.shutdown()


def alive_nodes() -> list[str]:
    """Node ids of the connected cluster's live nodes."""
    import ray

    return [n["NodeID"] for n in ray.nodes() if n["Alive"]]


def wait_until(predicate, timeout_s: float = 60.0, every_s: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every_s)
    return predicate()


def _processes() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, command line) of every live, non-zombie process."""
    out = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if fields[0] != "Z":
            out[int(entry.name)] = (int(fields[1]), cmd)
    return out


def ray_processes(marker: str) -> list[int]:
    """Pids of live processes whose command line mentions ``marker`` (e.g. a Ray session's temp
    dir: its GCS, raylet, agents), plus all their descendants (the workers, which rename themselves
    ``ray::...`` and so no longer show the marker)."""
    procs = _processes()
    found = {pid for pid, (_, cmd) in procs.items() if marker in cmd and pid != os.getpid()}
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in procs.items():
        children.setdefault(ppid, []).append(pid)
    todo = list(found)
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return sorted(found)


def rss_bytes(pid: int) -> int:
    """Resident memory of one process (0 if it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0
