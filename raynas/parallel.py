"""Worker processes for independent pieces of work (proxy scoring, feature building).

:func:`worker_pool` starts the processes (each with a fixed number of torch threads, so that
``workers`` processes use about ``workers`` cores), :func:`ordered_results` runs tasks in them and
yields their results in the order the tasks were given, keeping only a few tasks queued so that an
interrupted run stops soon and a caller can save everything done before a given task.

Example::

    from contextlib import closing
    from raynas.parallel import ordered_results, worker_pool

    with worker_pool(2) as pool, closing(ordered_results(pool, score, [(a,) for a in chunks])) as results:
        for part in results:
            ...
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from itertools import islice

from raynas.errors import InvalidConfigError


@contextmanager
def torch_threads(n: int):
    """Run the block with ``n`` torch intra-op threads, then restore the previous number. One
    thread is fastest for the small networks proxies and latencies are computed on, and leaves the
    other cores to running trials."""
    import torch

    old = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def check_workers(workers) -> int:
    """``workers`` as an int, or an :class:`~raynas.errors.InvalidConfigError` naming it."""
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise InvalidConfigError(f"workers must be a positive integer, got {workers!r}")
    return workers


def default_workers(cap: int = 8) -> int:
    """How many worker processes would run at full speed now, at least 1 and at most ``cap``.

    The cores this process may use (``os.sched_getaffinity`` where it exists, else
    ``os.cpu_count()``; no more than ``OMP_NUM_THREADS`` when that is set, as Ray sets it to the
    CPUs of a task or trial), less those other programs keep busy (the 1-minute load average, less
    one for this process): on a shared machine whose cores are taken, extra processes only slow
    each other down."""
    cores = _usable_cores()
    try:
        busy = max(0.0, os.getloadavg()[0] - 1.0)
    except (AttributeError, OSError):  # pragma: no cover - Windows
        busy = 0.0
    return max(1, min(cap, cores, int(cores - busy + 0.5)))


def _usable_cores() -> int:
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS, Windows
        cores = os.cpu_count() or 1
    omp = os.environ.get("OMP_NUM_THREADS", "")
    if omp.isdigit() and int(omp) > 0:
        cores = min(cores, int(omp))
    return cores


def worker_pool(workers: int, threads: int = 1):
    """A ``ProcessPoolExecutor`` of ``workers`` processes, each limited to ``threads`` torch threads."""
    from concurrent.futures import ProcessPoolExecutor

    return ProcessPoolExecutor(check_workers(workers), initializer=_init_worker, initargs=(threads,))


def ordered_results(pool, fn: Callable, tasks: Iterable[tuple], window: int) -> Iterator:
    """``fn(*args)`` for every ``args`` of ``tasks``, run in ``pool`` and yielded in task order.

    At most ``window`` tasks are submitted ahead of the one being waited for; closing the iterator
    (``contextlib.closing``) cancels those not started yet."""
    tasks = iter(tasks)
    pending: deque = deque(pool.submit(fn, *args) for args in islice(tasks, max(1, window)))
    try:
        while pending:
            result = pending.popleft().result()
            for args in islice(tasks, 1):
                pending.append(pool.submit(fn, *args))
            yield result
    finally:
        for future in pending:
            future.cancel()


def _init_worker(threads: int) -> None:
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import torch

    torch.set_num_threads(threads)
