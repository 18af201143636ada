"""Shared fixtures: the published data directory (skips with a reason when absent) and a local Ray.

Data path rule of this project's tests and benchmarks: ``$RAYNAS_DATA``, then the user data
directory (``raynas data fetch``), then ``../shared/data`` beside the checkout. The last one is made
``$RAYNAS_DATA`` here, so the library (which knows only the first two) finds it too.
"""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", "1")
os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")

import pytest  # noqa: E402

from raynas import paths  # noqa: E402

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
if not os.environ.get("RAYNAS_DATA") and not (paths.user_data_dir() / "nb201").is_dir() and SHARED_DATA.is_dir():
    os.environ["RAYNAS_DATA"] = str(SHARED_DATA)


def pytest_addoption(parser):
    parser.addoption("--runslow", action="store_true", default=False, help="also run tests marked slow")


def pytest_collection_modifyitems(config, items):
    """Slow tests run in CI (CI=true) or with --runslow; the default local run stays quick."""
    if config.getoption("--runslow") or os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        return
    skip = pytest.mark.skip(reason="slow: runs in CI (CI=true) or with --runslow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def data_dir():
    """The data directory (module docstring); tests needing it skip, naming the fetch command, when
    a published dataset is absent."""
    d = paths.data_dir()
    missing = [name for name, (sub, marker, _) in paths.DATASETS.items() if not (d / sub / marker).is_file()]
    if missing:
        pytest.skip(f"published data ({', '.join(missing)}) not found in {d}: run `raynas data fetch all`, "
                    f"set RAYNAS_DATA, or place shared/data beside the checkout")
    return d


@pytest.fixture(scope="session")
def _ray_session():
    """Shuts down whatever Ray this process is connected to when the session ends."""
    import ray

    yield
    if ray.is_initialized():
        ray.shutdown()


@pytest.fixture
def ray_local(_ray_session):
    """A local Ray instance (never joins another cluster), started on first use and kept for the
    session; started again when a multi-node cluster test (tests/_cluster.py) shut it down."""
    import ray

    if not ray.is_initialized():
        # workers import test modules by name (trainables defined in them), as the driver does
        path = os.pathsep.join(p for p in (str(Path(__file__).parent), os.environ.get("PYTHONPATH")) if p)
        ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False,
                 runtime_env={"env_vars": {"OMP_WAIT_POLICY": "PASSIVE", "PYTHONPATH": path}})
    return ray
