"""Bad input, generated (hypothesis): every bad config, architecture string, param space, metric/mode
list, data directory, device name, address or setting raises a one-line :mod:`raynas.errors` error
(naming the bad value where one value is to blame) -- never a hang, never a crash deep inside
torch, pandas or Ray. Good inputs generated alongside must still work.
"""

from __future__ import annotations

import gzip
import math
import os
import string
import struct
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from raynas.errors import RaynasError
from raynas.spaces import NB201_OPS, NB201Space, get_space

NB201 = NB201Space()
FBNET = get_space("fbnet")
# The machine is shared: a generous deadline, which still turns a hang into a failure.
FUZZ = settings(max_examples=int(os.environ.get("RAYNAS_FUZZ_EXAMPLES", "25")), deadline=timedelta(seconds=20), derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True),
                    st.text(max_size=30), st.binary(max_size=10))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(st.text(max_size=8), inner, max_size=4)),
                      max_leaves=8)
op_names = st.one_of(st.sampled_from(NB201_OPS), st.text(max_size=15))


def raises_clearly(fn, *args, **kwargs):
    """Call ``fn``; it may succeed, or raise a RaynasError with a one-line message. Returns the error."""
    try:
        fn(*args, **kwargs)
    except RaynasError as exc:
        msg = str(exc)
        assert msg and "\n" not in msg, f"not a one-line message: {msg!r}"
        return exc
    return None


# --- configs and architecture strings --------------------------------------------------------------
@FUZZ
@given(st.one_of(values, st.dictionaries(st.sampled_from(list(NB201.decision_names) + ["arch", "x"]),
                                         st.one_of(op_names, st.integers(-3, 8), values), max_size=8)))
def test_nb201_configs(config):
    exc = raises_clearly(NB201.from_config, config)
    if exc is None:  # a config that parses is a real architecture, and round-trips
        arch = NB201.from_config(config)
        assert NB201.from_config(NB201.to_config(arch)) == arch


@FUZZ
@given(st.lists(op_names, min_size=6, max_size=6), st.integers(0, 5))
def test_nb201_configs_naming_the_bad_op(ops, where):
    config = dict(zip(NB201.decision_names, ops))
    exc = raises_clearly(NB201.from_config, config)
    bad = [op for op in ops if op not in NB201_OPS]
    assert (exc is None) == (not bad)
    if bad:
        assert repr(bad[0]) in str(exc) or bad[0] in str(exc)


@st.composite
def arch_strings(draw):
    """NAS-Bench-201 strings, some valid, most damaged in one place."""
    ops = draw(st.lists(st.sampled_from(NB201_OPS), min_size=6, max_size=6))
    text = NB201.arch_str(tuple(NB201_OPS.index(o) for o in ops))
    kind = draw(st.sampled_from(["valid", "swap_op", "cut", "insert", "free"]))
    if kind == "swap_op":
        text = text.replace(ops[0], draw(st.text(min_size=1, max_size=12)), 1)
    elif kind == "cut":
        i = draw(st.integers(0, len(text)))
        text = text[:i]
    elif kind == "insert":
        i = draw(st.integers(0, len(text)))
        text = text[:i] + draw(st.sampled_from(list("|+~0123 "))) + text[i:]
    elif kind == "free":
        text = draw(st.text(alphabet=string.printable, max_size=80))
    return text


@FUZZ
@given(arch_strings())
def test_nb201_arch_strings(text):
    exc = raises_clearly(NB201.parse, text)
    if exc is None:
        assert NB201.arch_str(NB201.parse(text)) == text.strip()
    else:
        assert type(exc).__name__ == "InvalidArchitectureError"


@FUZZ
@given(st.one_of(st.text(max_size=60), st.lists(st.integers(-2, 10), max_size=25), values))
def test_fbnet_strings_and_archs(arch):
    raises_clearly(FBNET.parse, arch) if isinstance(arch, str) else raises_clearly(FBNET.validate, arch)


@FUZZ
@given(st.dictionaries(st.text(max_size=10), values, max_size=4))
def test_space_names_and_arguments(kwargs):
    raises_clearly(get_space, "nb201", **{k: v for k, v in kwargs.items() if k in ("channels", "cells_per_stage")})


@FUZZ
@given(st.text(max_size=20))
def test_unknown_space_names(name):
    assume(name not in ("nb201", "fbnet"))
    exc = raises_clearly(get_space, name)
    assert exc is not None and repr(name) in str(exc)


# --- param spaces and metric/mode lists --------------------------------------------------------------
metric_lists = st.one_of(st.lists(st.one_of(st.sampled_from(["accuracy", "latency_ms", "params"]), values),
                                  max_size=4), values)
mode_lists = st.one_of(st.lists(st.one_of(st.sampled_from(["min", "max"]), values), max_size=4), values)


@FUZZ
@given(metric_lists, mode_lists)
def test_metric_mode_lists_everywhere(metric, mode):
    from raynas.moo import validate_metric_mode
    from searchers import make_searcher
    from searchers.optuna_moo import optuna_moo_search
    from searchers.schedulers import MultiObjectiveASHA
    from searchers.strategy_searcher import StrategySearcher
    from raynas.strategies import RandomStrategy

    verdicts = [raises_clearly(validate_metric_mode, metric, mode) is None,
                raises_clearly(MultiObjectiveASHA, metric, mode) is None,
                raises_clearly(optuna_moo_search, metric, mode) is None]
    if metric is not None or mode is not None:  # both None: a searcher takes them from TuneConfig later
        verdicts.append(raises_clearly(make_searcher, "random", NB201, metric, mode, seed=0) is None)
        verdicts.append(raises_clearly(StrategySearcher, RandomStrategy(NB201, seed=0), NB201, metric, mode) is None)
    assert len(set(verdicts)) == 1, verdicts  # every entry point agrees on what is valid


choice_values = st.one_of(op_names, st.integers(-2, 7), values)


@FUZZ
@given(st.dictionaries(st.sampled_from(list(NB201.decision_names) + ["lr", "arch"]),
                       st.one_of(choice_values, st.lists(choice_values, min_size=1, max_size=5),
                                 st.tuples(st.floats(-1, 1), st.floats(1, 2))),
                       max_size=7))
def test_param_spaces_given_to_a_searcher(raw):
    from ray import tune

    from searchers import make_searcher

    space = {}
    for k, v in raw.items():
        if isinstance(v, list):
            try:
                space[k] = tune.choice(v)
            except Exception:  # noqa: BLE001 - Tune's own validation of its domains is not ours to test
                continue
        elif isinstance(v, tuple):
            space[k] = tune.uniform(*sorted(v)) if v[0] != v[1] else v[0]
        else:
            space[k] = v
    searcher = make_searcher("random", NB201, ["accuracy", "latency_ms"], ["max", "min"], seed=0)
    exc = raises_clearly(searcher.set_search_properties, None, None, space)
    if exc is None:  # accepted: every suggestion is a valid architecture
        assert NB201.from_config(searcher.suggest("t0")) is not None


@FUZZ
@given(st.text(max_size=20), st.one_of(st.text(max_size=10), st.none()))
def test_searcher_and_sampler_names(name, tune_metric):
    from searchers import make_searcher

    exc = raises_clearly(make_searcher, name, NB201, ["accuracy", "latency_ms"], ["max", "min"], seed=0)
    if exc is not None:
        assert type(exc).__name__ == "UnknownNameError" and repr(name) in str(exc)
    else:
        s = make_searcher(name, NB201, ["accuracy", "latency_ms"], ["max", "min"], seed=0)
        raises_clearly(s.set_search_properties, tune_metric, None, {})


# --- data directories -------------------------------------------------------------------------------
file_bodies = st.one_of(st.binary(max_size=64), st.text(max_size=200).map(str.encode),
                        st.sampled_from([b"", b"arch_index,arch_str\n", b"arch_index,arch_str,valid-accuracy\n0,x,1\n",
                                         b"arch_index,arch_str,test-accuracy,valid-accuracy\n0,|none~0|,1,2\n",
                                         b"arch_index,arch_str,gold\n0,|bad|,1\n", b"\x00\x00\x08\x03",
                                         struct.pack(">HBBIII", 0, 8, 3, 5, 28, 28) + b"\x01" * 10]))


@FUZZ
@given(accuracy=st.one_of(st.none(), file_bodies), latency=st.one_of(st.none(), file_bodies),
       nested=st.booleans())
def test_nb201_data_directories(tmp_path_factory, accuracy, latency, nested):
    from raynas.benchmarks import NB201Benchmark

    root = tmp_path_factory.mktemp("data")
    d = root / "nb201"
    if nested:
        d.mkdir()
        if accuracy is not None:
            (d / "accuracy_cifar10-valid_200ep.csv").write_bytes(accuracy)
        if latency is not None:
            (d / "latency_ms.csv").write_bytes(latency)
    exc = raises_clearly(NB201Benchmark, root)
    assert exc is not None  # none of these is a usable benchmark
    assert type(exc).__name__ in ("DataNotFoundError", "InvalidConfigError")


@FUZZ
@given(images=st.one_of(st.none(), file_bodies), labels=st.one_of(st.none(), file_bodies), gz=st.booleans(),
       exists=st.booleans())
def test_fashion_mnist_directories(tmp_path_factory, images, labels, gz, exists):
    from raynas.data import load_dataset

    d = tmp_path_factory.mktemp("fmnist") / "fashion-mnist"
    if exists:
        d.mkdir()
        for stem, body in (("train-images-idx3-ubyte", images), ("train-labels-idx1-ubyte", labels)):
            if body is not None:
                (d / (stem + (".gz" if gz else ""))).write_bytes(body)
    exc = raises_clearly(load_dataset, "fashion-mnist", d)
    assert exc is not None and type(exc).__name__ == "DataNotFoundError"


def test_fashion_mnist_good_tiny_files_load(tmp_path):
    """The generator's counterpart: well-formed (gzipped) IDX files load."""
    from raynas.data import load_dataset

    images = struct.pack(">HBBIII", 0, 8, 3, 4, 28, 28) + bytes(range(256)) * 12 + bytes(4 * 784 - 3072)
    labels = struct.pack(">HBBI", 0, 8, 1, 4) + bytes([0, 1, 2, 9])
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(images))
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(labels)
    ds = load_dataset("fashion-mnist", tmp_path)
    assert len(ds) == 4 and ds.labels.tolist() == [0, 1, 2, 9]


@FUZZ
@given(st.one_of(st.text(max_size=30), values))
def test_dataset_names_and_paths(name):
    from raynas.data import load_dataset

    assume(name not in ("digits",))
    raises_clearly(load_dataset, "digits" if name == "" else name, "/nonexistent/raynas-fuzz")


# --- device names -----------------------------------------------------------------------------------
device_names = st.one_of(st.text(max_size=20), values, st.sampled_from(["gold_6226", "raspi4", "GOLD_6226", " pixel3"]))


@pytest.fixture(scope="module")
def bench(data_dir):
    from raynas.benchmarks import NB201Benchmark

    return NB201Benchmark(data_dir)


@FUZZ
@given(name=device_names)
def test_device_names(bench, data_dir, name):
    from raynas.hardware import LocalDevice, TableDevice

    known = isinstance(name, str) and name in bench.devices
    for fn in (lambda: bench.latency(0, name), lambda: bench.all_latency(name),
               lambda: TableDevice(name, "nb201", data_dir).latency_ms(NB201.from_index(0), NB201)):
        exc = raises_clearly(fn)
        assert (exc is None) == known, (name, exc)
        if exc is not None and isinstance(name, str) and name:
            assert repr(name) in str(exc)
    # LocalDevice names itself after this machine when given no name (None or "")
    assert (raises_clearly(LocalDevice, name) is None) == (name is None or isinstance(name, str))


@pytest.mark.parametrize("devices", ["raspi4", ["gold_6226", "pixel3"], ["gold_6226", "nope"], [], 1400, [None],
                                     "", {"gold_6226": 1}])
def test_tabular_trainable_device_lists(data_dir, devices):
    from searchers.trainables import tabular_trainable

    good = devices in ("raspi4", ["gold_6226", "pixel3"], [])  # [] (like None): the table's first device
    exc = raises_clearly(tabular_trainable, devices=devices, data_dir=data_dir)
    assert (exc is None) == good, exc
    if devices == ["gold_6226", "nope"]:
        assert "'nope'" in str(exc)


# --- trial settings, search arguments, cluster addresses ---------------------------------------------
@FUZZ
@given(st.dictionaries(st.sampled_from(["epochs", "batch_size", "lr", "limit", "seed", "threads", "latency_repeats",
                                        "latency_warmup", "latency_timeout_s", "latency_batch_size", "proxies",
                                        "space", "dataset", "space_kwargs", "unknown_setting"]),
                       st.one_of(scalars, st.lists(st.text(max_size=8), max_size=3),
                                 st.dictionaries(st.sampled_from(["channels", "cells_per_stage", "x"]),
                                                 st.integers(-2, 4), max_size=2)),
                       max_size=4))
def test_live_trial_settings(kwargs):
    from searchers.trainables import live_trainable

    raises_clearly(live_trainable, **kwargs)


@FUZZ
@given(num_samples=st.one_of(st.integers(-3, 3), scalars), max_concurrent=st.one_of(st.integers(-2, 3), scalars),
       max_failures=st.one_of(st.integers(-3, 3), scalars), name=st.one_of(st.text(max_size=12), scalars),
       resources=st.one_of(st.none(), st.dictionaries(st.text(max_size=5), scalars, max_size=2)))
def test_run_search_arguments(num_samples, max_concurrent, max_failures, name, resources):
    from searchers.experiment import _check_search_args

    raises_clearly(_check_search_args, ["accuracy", "latency_ms"], ["max", "min"], num_samples, max_concurrent,
                   max_failures, name, resources)


@FUZZ
@given(st.one_of(st.text(max_size=30), values,
                 st.integers(0, 70000).map(lambda p: f"127.0.0.1:{p}"),
                 st.integers(0, 70000).map(lambda p: f"ray://127.0.0.1:{p}")))
def test_cluster_addresses(address):
    from searchers.experiment import check_address

    assume(not (isinstance(address, str) and ":" in address and not address.startswith(("127.0.0.1", "ray://127"))
                and address.rsplit(":", 1)[1].isdigit()))  # no DNS look-ups of made-up host names
    raises_clearly(check_address, address, 1.0)


@FUZZ
@given(st.lists(st.one_of(st.text(max_size=12), st.sampled_from(["synflow", "naswot", "vote", "params"])),
                max_size=4))
def test_proxy_names(names):
    import torch

    from raynas.proxies import compute_proxies

    model = NB201Space(channels=4, cells_per_stage=1).build((1,) * 6, num_classes=10, in_channels=1)
    batch = (torch.randn(8, 1, 8, 8), torch.randint(0, 10, (8,)))
    exc = raises_clearly(compute_proxies, model, batch, names)
    if exc is None:
        assert set(compute_proxies(model, batch, names)) == set(names)


@FUZZ
@given(st.dictionaries(st.sampled_from(["batch_size", "warmup", "repeats", "threads", "timeout_s"]), scalars,
                       max_size=3))
def test_latency_settings(kwargs):
    from raynas.hardware import measure_latency

    assume(not isinstance(kwargs.get("repeats"), int) or kwargs["repeats"] < 50)
    assume(not isinstance(kwargs.get("warmup"), int) or kwargs["warmup"] < 50)
    assume(not isinstance(kwargs.get("batch_size"), int) or kwargs["batch_size"] < 64)
    assume(not isinstance(kwargs.get("threads"), int) or kwargs["threads"] < 4)
    model = NB201Space(channels=4, cells_per_stage=1).build((1,) * 6, num_classes=10, in_channels=1)
    exc = raises_clearly(measure_latency, model, (1, 8, 8), **kwargs)
    if exc is None:
        m = measure_latency(model, (1, 8, 8), **kwargs)
        assert m.median_ms > 0 and math.isfinite(m.median_ms)

