import numpy as np
import pandas as pd
import pytest
import torch

from raynas.errors import InvalidArchitectureError, InvalidConfigError, UnknownNameError
from raynas.spaces import NB201Space, get_space

ALL_CONV3 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"


@pytest.fixture(scope="module")
def space():
    return NB201Space()


def test_space_has_15625_distinct_archs_with_unique_strings(space):
    archs = list(space.enumerate())
    assert len(archs) == len(space) == 15625
    strings = {space.arch_str(a) for a in archs}
    assert len(strings) == 15625
    assert all(space.parse(space.arch_str(a)) == a for a in archs[::97])


def test_string_round_trip_matches_official_format(space):
    arch = space.parse(ALL_CONV3)
    assert arch == (3,) * 6
    assert space.arch_str(arch) == ALL_CONV3
    mixed = space.parse("|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|")
    assert mixed == (4, 2, 1, 2, 1, 1)


def test_official_index_mapping_matches_published_table(space, data_dir):
    table = pd.read_csv(data_dir / "nb201" / "accuracy_cifar10-valid_200ep.csv", usecols=["arch_index", "arch_str"])
    parsed = [space.parse(s) for s in table["arch_str"]]
    assert len(set(parsed)) == 15625
    assert [space.arch_str(a) for a in parsed] == list(table["arch_str"])
    assert (table["arch_index"].to_numpy() == np.arange(15625)).all()


def test_index_round_trip(space):
    for i in (0, 1, 777, 15624):
        assert space.index(space.from_index(i)) == i
    with pytest.raises(InvalidArchitectureError, match="15625"):
        space.from_index(15625)


@pytest.mark.parametrize("bad", [
    "|nor_conv_5x5~0|+|none~0|none~1|+|none~0|none~1|none~2|",
    "|none~0|+|none~0|none~1|",
    "|none~1|+|none~0|none~1|+|none~0|none~1|none~2|",
    "garbage",
])
def test_bad_strings_raise_naming_the_value(space, bad):
    with pytest.raises(InvalidArchitectureError) as err:
        space.parse(bad)
    assert ("nor_conv_5x5" in str(err.value)) or (bad in str(err.value)) or ("none~1" in str(err.value))


def test_validate_rejects_wrong_length_and_range(space):
    with pytest.raises(InvalidArchitectureError, match="7"):
        space.validate((0, 0, 0, 0, 0, 7))
    with pytest.raises(InvalidArchitectureError, match="5 decisions"):
        space.validate((0, 0, 0, 0, 0))


def test_config_round_trip_and_errors(space):
    arch = (0, 1, 2, 3, 4, 0)
    cfg = space.to_config(arch)
    assert cfg == {"edge_10": "none", "edge_20": "skip_connect", "edge_21": "nor_conv_1x1",
                   "edge_30": "nor_conv_3x3", "edge_31": "avg_pool_3x3", "edge_32": "none"}
    assert space.from_config({**cfg, "lr": 0.1}) == arch
    assert space.from_config({"arch": ALL_CONV3}) == (3,) * 6
    with pytest.raises(InvalidConfigError, match="edge_32"):
        space.from_config({k: v for k, v in cfg.items() if k != "edge_32"})
    with pytest.raises(InvalidArchitectureError, match="conv_7x7"):
        space.from_config({**cfg, "edge_10": "conv_7x7"})
    assert set(space.param_space()) == set(cfg)


def test_sampling_is_seeded_and_covers_ops(space):
    a = [space.sample(np.random.default_rng(3)) for _ in range(3)]
    assert a[0] == a[1] == a[2]
    rng = np.random.default_rng(0)
    seen = np.array([space.sample(rng) for _ in range(500)])
    assert set(np.unique(seen)) == set(range(5))


def test_sample_many_draws_what_sample_draws(space):
    a, b = np.random.default_rng(5), np.random.default_rng(5)
    assert space.sample_many(a, 50) == [space.sample(b) for _ in range(50)] and a.random() == b.random()


def test_mutation_changes_exactly_one_decision(space):
    rng = np.random.default_rng(0)
    arch = space.sample(rng)
    for _ in range(100):
        child = space.mutate(arch, rng)
        assert sum(x != y for x, y in zip(arch, child)) == 1


def test_neighbours_are_the_24_one_edge_mutants(space):
    arch = (3,) * 6
    nb = space.neighbours(arch)
    assert len(nb) == len(set(nb)) == 24
    assert all(sum(x != y for x, y in zip(arch, n)) == 1 for n in nb)


def test_onehot_encoding(space):
    enc = space.encode_onehot((0, 1, 2, 3, 4, 0))
    assert enc.shape == (30,) and enc.sum() == 6
    assert enc.reshape(6, 5).argmax(1).tolist() == [0, 1, 2, 3, 4, 0]
    archs = [(0, 1, 2, 3, 4, 0), (4, 4, 4, 4, 4, 4)]
    np.testing.assert_array_equal(space.encode_many(archs), np.stack([space.encode_onehot(a) for a in archs]))
    from raynas.spaces.params import encode_all

    class OnlyEncode:  # a space of the protocol without encode_many
        encode = staticmethod(space.encode)

    np.testing.assert_array_equal(encode_all(OnlyEncode(), archs), encode_all(space, archs))


def test_parameter_count_matches_nas_bench_201(space):
    # NAS-Bench-201 publishes 1.531546 M parameters for the all-nor_conv_3x3 cell (C=16, N=5, CIFAR-10).
    model = space.build(space.parse(ALL_CONV3), num_classes=10)
    assert sum(p.numel() for p in model.parameters()) == 1_531_546
    # all-none / all-skip cells have only stem, reductions and classifier
    none = space.build((0,) * 6)
    skip = space.build((1,) * 6)
    assert sum(p.numel() for p in none.parameters()) == sum(p.numel() for p in skip.parameters())


@pytest.mark.parametrize("in_channels,size,classes", [(3, 32, 10), (1, 28, 10), (1, 8, 10), (3, 16, 100)])
def test_builder_handles_any_input_and_class_count(in_channels, size, classes):
    model = NB201Space(channels=8, cells_per_stage=1).build((3, 1, 2, 4, 0, 3), num_classes=classes,
                                                             in_channels=in_channels)
    out = model(torch.randn(2, in_channels, size, size))
    assert out.shape == (2, classes)
    assert torch.isfinite(out).all()


def test_none_edges_zero_the_cell_output():
    torch.manual_seed(0)
    model = NB201Space(channels=4, cells_per_stage=1).build((0,) * 6)
    cell = model.cells[0]
    assert torch.count_nonzero(cell(torch.randn(1, 4, 8, 8))) == 0


def test_registry_lookup_and_unknown_space_error():
    assert isinstance(get_space("nb201"), NB201Space)
    with pytest.raises(UnknownNameError, match="nb999"):
        get_space("nb999")
