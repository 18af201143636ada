import subprocess
import sys

import pandas as pd
import pytest

from raynas.cli import main


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "raynas.cli", *args], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("args,needle", [
    (["search", "--samples", "-5"], "-5"),
    (["search", "--epochs", "zero"], "zero"),
    (["search", "--dataset", "cifar5"], "cifar5"),
    (["search", "--dataset", "fashion-mnist", "--data-dir", "/no/such/dir"], "/no/such/dir"),
])
def test_bad_search_input_is_one_line_naming_the_value(args, needle):
    proc = run_cli(*args)
    assert proc.returncode == 2
    assert needle in proc.stderr
    assert "Traceback" not in proc.stderr


def test_pareto_command_prints_front(tmp_path, capsys):
    pd.DataFrame({"accuracy": [90.0, 80.0, 70.0], "latency_ms": [5.0, 2.0, 6.0], "arch": ["a", "b", "c"]}).to_csv(
        tmp_path / "results.csv", index=False)
    assert main(["pareto", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "2 architectures" in out and " a" in out and " b" in out and " c\n" not in out


def test_pareto_command_missing_results(tmp_path, capsys):
    assert main(["pareto", str(tmp_path / "nothing")]) == 2
    assert "nothing" in capsys.readouterr().err
