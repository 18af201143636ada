"""FBNet space (HW-NAS-Bench layout): strings, op indices, network shapes and sizes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from raynas.errors import InvalidArchitectureError
from raynas.spaces import get_space
from raynas.spaces.fbnet import FBNET_OPS, FBNetSpace, layer_shapes

SKIP, K5E6 = FBNET_OPS.index("skip"), FBNET_OPS.index("k5_e6")


def n_params(m):
    return sum(p.numel() for p in m.parameters())


def test_registered_and_layout():
    sp = get_space("fbnet")
    assert isinstance(sp, FBNetSpace) and sp.num_decisions == 22 and len(sp.ops) == 9
    shapes = layer_shapes()
    assert len(shapes) == 22
    assert shapes[0] == (16, 16, 1) and shapes[1] == (16, 24, 1) and shapes[-1] == (184, 352, 1)
    assert [s for _, _, s in shapes].count(2) == 3  # 32 -> 16 -> 8 -> 4


def test_parse_format_round_trip_against_archs_csv(data_dir):
    pd = pytest.importorskip("pandas")
    path = data_dir / "fbnet" / "archs.csv"
    if not path.is_file():
        pytest.skip(f"{path} not found: run `raynas data fetch latency`")
    df = pd.read_csv(path, nrows=200)
    sp = FBNetSpace()
    cols = [f"layer{i}" for i in range(22)]
    for row in df.itertuples(index=False):
        arch = tuple(int(getattr(row, c)) for c in cols)
        assert sp.arch_str(arch) == row.arch_str
        assert sp.parse(row.arch_str) == arch


def test_parse_errors():
    sp = FBNetSpace()
    with pytest.raises(InvalidArchitectureError, match="22"):
        sp.parse("skip-skip")
    with pytest.raises(InvalidArchitectureError, match="k7_e1"):
        sp.parse("-".join(["k7_e1"] + ["skip"] * 21))


@pytest.mark.parametrize("arch", [(SKIP,) * 22, (K5E6,) * 22, tuple(range(9)) * 2 + (0, 1, 2, 3)])
def test_forward_shapes(arch):
    torch.manual_seed(0)
    sp = FBNetSpace()
    m = sp.build(arch).eval()
    with torch.no_grad():
        out = m(torch.randn(2, 3, 32, 32))
    assert out.shape == (2, 100)
    assert torch.isfinite(out).all()
    # resolution after the stages: 32 -> 4
    with torch.no_grad():
        feat = m.layers(m.stem(torch.randn(1, 3, 32, 32)))
    assert feat.shape == (1, 352, 4, 4)
    assert sp.build(arch, num_classes=10, in_channels=1)(torch.randn(1, 1, 32, 32)).shape == (1, 10)


def test_params_ordering():
    sp = FBNetSpace()
    rng = np.random.default_rng(0)
    p_skip = n_params(sp.build((SKIP,) * 22))
    p_big = n_params(sp.build((K5E6,) * 22))
    assert 0.5e6 < p_skip < p_big < 10e6
    for _ in range(5):
        p = n_params(sp.build(sp.sample(rng)))
        assert p_skip <= p <= p_big


def test_residual_only_when_shapes_agree():
    sp = FBNetSpace()
    m = sp.build((FBNET_OPS.index("k3_e3"),) * 22)
    flags = [blk.residual for blk in m.layers]
    expected = [ci == co and s == 1 for ci, co, s in layer_shapes()]
    assert flags == expected
