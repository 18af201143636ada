"""The built wheel, installed into a fresh venv, works from an empty directory and never touches the checkout.

The wheel (``pip wheel --no-deps``) goes into a new venv with ``pip install --no-deps``; the venv
sees the test environment's dependencies through a ``.pth`` line (so the test does not download
~1 GB of torch and Ray again) but not its editable raynas, whose finder only a site directory's own
``.pth`` files would load. From an empty directory, with its own cache and user directories, the
installed ``raynas`` runs a 4-trial search, the proxy table and ``data info``; afterwards no file of
the checkout has been created or changed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
ARCH = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"


def _snapshot() -> dict[str, tuple[int, int]]:
    """(mtime, size) of every file of the checkout outside .git, venvs, pytest's caches and benchmark
    outputs (a benchmark may be running beside the suite)."""
    out = {}
    for root, dirs, files in os.walk(REPO):
        dirs[:] = [d for d in dirs if d not in (".git", ".pytest_cache", "out") and not d.startswith(".venv")]
        for f in files:
            p = Path(root, f)
            st = p.stat()
            out[str(p.relative_to(REPO))] = (st.st_mtime_ns, st.st_size)
    return out


def _run(cmd, cwd, env, timeout=900) -> str:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{cmd}: exit {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
    return proc.stdout


@pytest.mark.slow
def test_wheel_installs_and_runs_from_an_empty_directory(tmp_path):
    dist, venv, work = tmp_path / "dist", tmp_path / "venv", tmp_path / "work"
    work.mkdir()
    src = tmp_path / "src"  # setuptools writes build/ and *.egg-info beside the sources: build a copy
    shutil.copytree(REPO, src, ignore=shutil.ignore_patterns(".git", ".venv*", "build", "*.egg-info", "__pycache__",
                                                             ".pytest_cache", "out", "cache"))
    _run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", str(dist),
          str(src)], tmp_path, dict(os.environ))
    (wheel,) = dist.glob("raynas-*.whl")
    _run([sys.executable, "-m", "venv", str(venv)], tmp_path, dict(os.environ))
    py = venv / "bin" / "python"
    site = Path(_run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], tmp_path,
                     dict(os.environ)).strip())
    (site / "test_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _run([str(py), "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", str(wheel)], tmp_path, dict(os.environ))

    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "RAYNAS_CACHE")}
    env.update(HOME=str(tmp_path / "home"), XDG_CACHE_HOME=str(tmp_path / "xdg-cache"),
               XDG_DATA_HOME=str(tmp_path / "xdg-data"), RAY_AIR_NEW_OUTPUT="0", OMP_WAIT_POLICY="PASSIVE")
    before = _snapshot()
    where = _run([str(py), "-c", "import raynas, searchers; print(raynas.__file__); print(searchers.__file__)"],
                 work, env).split()
    assert all(Path(w).is_relative_to(site) for w in where), where

    raynas = str(venv / "bin" / "raynas")
    out = _run([raynas, "search", "--samples", "4", "--epochs", "1", "--channels", "8", "--cells", "1"], work, env)
    assert "Pareto front" in out
    assert (work / "raynas_results" / "results.csv").is_file()
    table = _run([raynas, "proxies", ARCH, "--batch", "random", "--names", "synflow", "params"], work, env)
    assert "synflow" in table and "params" in table
    info = _run([raynas, "data", "info"], work, env)
    assert "nb201" in info
    assert _snapshot() == before, "the installed package wrote into the checkout"
