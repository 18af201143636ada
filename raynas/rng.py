"""Seeding torch's CPU generator for one block, leaving the caller's random state as it was."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator


@contextlib.contextmanager
def cpu_seeded(seed: int) -> Iterator[None]:
    """Run the block with torch's CPU generator seeded with ``seed``; restore it afterwards.

    Unlike ``torch.manual_seed`` this leaves accelerator generators alone (so nothing outside the
    block changes) and is cheap enough to call once per network scored (``torch.manual_seed``
    queues a seed for every lazily initialised accelerator, with a stack trace, on each call).

    Example::

        with cpu_seeded(0):
            model = build(config)  # the same initial weights every time
    """
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.random.default_generator.manual_seed(int(seed))
        yield
