"""raynas.benchmarks: NB201 tabular objectives from the published tables (skips without the data)."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

from raynas import moo
from raynas.benchmarks import NB201Benchmark
from raynas.errors import DataNotFoundError, UnknownNameError


@pytest.fixture(scope="module")
def bench(data_dir):
    return NB201Benchmark(data_dir)


def test_loads_all_distinct_archs_and_mapping_matches_strings(bench, data_dir):
    assert len(bench) == 15625
    assert len(set(bench.archs)) == 15625
    table = pd.read_csv(data_dir / "nb201" / "accuracy_cifar10-valid_200ep.csv")
    for i in np.random.default_rng(0).choice(15625, 200, replace=False):
        row = table[table["arch_index"] == i].iloc[0]
        arch = bench.arch(int(i))
        assert bench.space.arch_str(arch) == row["arch_str"]
        assert bench.index(arch) == i == bench.index(row["arch_str"])
        assert bench.accuracy(arch) == pytest.approx(row["valid-accuracy"])
        assert bench.accuracy(arch, "test") == pytest.approx(row["test-accuracy"])
    # the official order is not the space's mixed-radix order
    assert [bench.space.index(a) for a in bench.archs[:20]] != list(range(20))


def test_devices_are_the_file_columns(bench, data_dir):
    lat = pd.read_csv(data_dir / "nb201" / "latency_ms.csv")
    assert bench.devices == [c for c in lat.columns if c not in ("arch_index", "arch_str")]
    d = bench.devices[0]
    assert bench.latency(5, d) == pytest.approx(lat.loc[lat["arch_index"] == 5, d].iloc[0])
    err, ms = bench.objectives(5, d)
    assert err == pytest.approx(100 - bench.accuracy(5)) and ms == bench.latency(5, d)


def test_unknown_device_names_it_and_the_known_ones(bench):
    with pytest.raises(UnknownNameError) as e:
        bench.latency(0, "tpu_v9")
    assert "tpu_v9" in str(e.value) and bench.devices[0] in str(e.value)


def test_true_front_and_normalised_hv(bench):
    d = bench.devices[0]
    front = bench.true_front(d)
    pts = bench.all_objectives(d)
    assert moo.pareto_mask(pts).sum() == len(front)
    assert bench.normalised_hv(front, d) == pytest.approx(1.0)
    assert 0.9 < bench.true_hv(d) < 1.0
    traj = bench.hv_trajectory([bench.arch(i) for i in range(50)] + front, d)
    assert traj[-1] == pytest.approx(1.0) and traj[49] < 1.0


def test_any_device_columns(tmp_path, data_dir):
    """A file with other device columns works: the benchmark never assumes the names."""
    (tmp_path / "nb201").mkdir()
    shutil.copy(data_dir / "nb201" / "accuracy_cifar10-valid_200ep.csv", tmp_path / "nb201")
    lat = pd.read_csv(data_dir / "nb201" / "latency_ms.csv")
    lat = lat[["arch_index", "arch_str", lat.columns[2]]].rename(columns={lat.columns[2]: "my_npu"})
    lat.sample(frac=1.0, random_state=0).to_csv(tmp_path / "nb201" / "latency_ms.csv", index=False)
    b = NB201Benchmark(tmp_path)
    assert b.devices == ["my_npu"]
    assert b.latency(7, "my_npu") == pytest.approx(lat.loc[lat["arch_index"] == 7, "my_npu"].iloc[0])


def test_missing_files_name_the_directory(tmp_path):
    with pytest.raises(DataNotFoundError, match=str(tmp_path)):
        NB201Benchmark(tmp_path)


def _script(name: str):
    """``benchmarks/<name>.py`` loaded as a module."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"{name}_bench", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_hypernet_benchmark_holds_out_whole_device_families(bench):
    """The hypernet benchmark's split: no held-out device has a training device of its family."""
    from raynas.errors import InvalidConfigError
    from raynas.hardware import device_family

    script = _script("hypernet_fronts")
    cols = bench.devices
    split = script.choose_split(cols, None, None)
    assert split.holdout == "family" and split.test and split.train
    trained = {device_family(d) for d in split.train}
    assert not trained & {device_family(d) for d in split.test + split.other}
    assert set(split.train + split.test + split.other + split.dropped) == set(cols)
    # a given held-out device whose family is trained on is refused, naming both devices
    with pytest.raises(InvalidConfigError, match="1080ti_32.*1080ti_1"):
        script.choose_split(cols, "1080ti_32,raspi4", "1080ti_1,pixel3")
    with pytest.raises(InvalidConfigError, match="titanx_256.*titanx_1"):
        script.choose_split(cols, "titanx_256", "titanx_1,pixel3")
    with pytest.raises(InvalidConfigError, match="2080ti_1.*2080ti_32"):
        script.choose_split(cols, "2080ti_1", "2080ti_32")
    # only held-out devices given: training is every column outside their families
    split = script.choose_split(cols, "1080ti_32,raspi4", None)
    assert not {d for d in split.train if device_family(d) in ("1080ti", "raspi4")}
    # a derived held-out device of a trained family is left out, not held out
    split = script.choose_split(cols, "raspi4", "1080ti_1,pixel3")
    assert {"1080ti_32", "1080ti_256"} <= set(split.dropped) and "1080ti_32" not in split.other
    # the earlier protocol allows it
    split = script.choose_split(cols, "1080ti_32,raspi4", "1080ti_1,pixel3", holdout="device")
    assert split.test == ["1080ti_32", "raspi4"] and not split.dropped


def test_asha_benchmark_scores_complete_trials_in_one_box_per_seed():
    """Only complete trials count, normalised over every method's complete trials of that seed; a
    raynas run is ahead when its HV after its last trial is at least the best Optuna sampler's."""
    asha = _script("asha_search")
    nan = float("nan")
    runs = [{"method": "zc", "seed": 0, "wall_s": 10.0, "searcher_s": 1.0, "complete": 2,
             "values": [[nan, nan], [99.0, 1.0], [98.0, 0.5]]},  # a stopped trial, then the whole front
            {"method": "gp", "seed": 0, "wall_s": 10.0, "searcher_s": 2.0, "complete": 2,
             "values": [[99.0, 2.0], [90.0, 3.0], [nan, nan]]}]
    rows = {line.split(" | ")[0].strip("| "): line.split(" | ") for line in asha.hv_table(runs).splitlines()[2:]}
    zc, gp = rows["raynas ZeroCostSearch"], rows["Optuna GP"]
    assert zc[3] == "1.000" and zc[4] == "1/1" and zc[5] == "2"  # HV@40 (its last trial), ahead, complete
    assert 0 < float(gp[3]) < 1 and gp[4] == "-"
    assert zc[2] == "1.000"  # HV@20: fewer trials than the budget -> its last
