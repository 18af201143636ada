"""A stand-in for torchvision, only so the test-only peer ``alethiometer`` imports.

alethiometer's package ``__init__`` imports ``torchvision.datasets``/``transforms`` for data loaders we
never call, and PyPI's torchvision cannot load against the CPU build of torch (its compiled
operators are built for another torch: "operator torchvision::nms does not exist").
"""
from . import datasets, transforms  # noqa: F401
