"""NAS-Bench-201 cell space (Dong & Yang, ICLR 2020): 6 edges x 5 ops = 15,625 architectures.

Architecture ``(o10, o20, o21, o30, o31, o32)``: ``oij`` is the op index on the edge from node j into
node i, in the order of the official string ``|o10~0|+|o20~0|o21~1|+|o30~0|o31~1|o32~2|``.

The network follows NAS-Bench-201's ``TinyNetwork``: a 3x3 conv stem with BatchNorm, three stages of
``N`` cells at ``C``, ``2C`` and ``4C`` channels separated by residual reduction blocks, then
BatchNorm-ReLU, global average pooling and a linear classifier.
"""

from __future__ import annotations

import torch
from torch import nn

from raynas.errors import InvalidArchitectureError
from raynas.spaces.base import Arch, CategoricalSpace

NB201_OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
#: (target node, source node) for each edge, in the official string's order.
NB201_EDGES = ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))


class Zero(nn.Module):
    """The ``none`` op: outputs zeros of the input's shape (keeps the graph connected)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mul(0.0)


class ReLUConvBN(nn.Sequential):
    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, padding: int):
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=padding, bias=False),
            nn.BatchNorm2d(c_out),
        )


class ResidualReduction(nn.Module):
    """NAS-Bench-201's ``ResNetBasicblock`` with stride 2: two ReLU-conv-BN and an avg-pool shortcut."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, 2, 1)
        self.conv_b = ReLUConvBN(c_out, c_out, 3, 1, 1)
        self.downsample = nn.Sequential(
            nn.AvgPool2d(kernel_size=2, stride=2, padding=0),
            nn.Conv2d(c_in, c_out, kernel_size=1, stride=1, padding=0, bias=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.downsample(x) + self.conv_b(self.conv_a(x))


def make_op(name: str, channels: int) -> nn.Module:
    if name == "none":
        return Zero()
    if name == "skip_connect":
        return nn.Identity()
    if name == "nor_conv_1x1":
        return ReLUConvBN(channels, channels, 1, 1, 0)
    if name == "nor_conv_3x3":
        return ReLUConvBN(channels, channels, 3, 1, 1)
    if name == "avg_pool_3x3":
        return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
    raise InvalidArchitectureError(f"nb201: unknown op {name!r}; valid ops are {list(NB201_OPS)}")


class NB201Cell(nn.Module):
    """A cell: node i is the sum of its incoming edges' ops applied to earlier nodes."""

    def __init__(self, op_names: tuple[str, ...], channels: int):
        super().__init__()
        self.edges = nn.ModuleList(make_op(op, channels) for op in op_names)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nodes = [x]
        edge = 0
        for target in range(1, 4):
            total = None
            for _ in range(target):
                source = NB201_EDGES[edge][1]
                y = self.edges[edge](nodes[source])
                total = y if total is None else total + y
                edge += 1
            nodes.append(total)
        return nodes[-1]


def stage_layers(channels: int, cells_per_stage: int, make_cell) -> tuple[list[nn.Module], int]:
    """NAS-Bench-201's macro skeleton: 3 stages of ``cells_per_stage`` cells ``make_cell(width)``,
    joined by residual reduction blocks doubling the width; returns the layers and the final width."""
    layers: list[nn.Module] = []
    c = channels
    for stage in range(3):
        if stage > 0:
            layers.append(ResidualReduction(c, 2 * c))
            c *= 2
        layers.extend(make_cell(c) for _ in range(cells_per_stage))
    return layers, c


class NB201Network(nn.Module):
    """NAS-Bench-201's TinyNetwork for a given cell."""

    def __init__(
        self,
        op_names: tuple[str, ...],
        channels: int = 16,
        cells_per_stage: int = 5,
        num_classes: int = 10,
        in_channels: int = 3,
    ):
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, channels, kernel_size=3, padding=1, bias=False),
            nn.BatchNorm2d(channels),
        )
        layers, c = stage_layers(channels, cells_per_stage, lambda width: NB201Cell(op_names, width))
        self.cells = nn.Sequential(*layers)
        self.lastact = nn.Sequential(nn.BatchNorm2d(c), nn.ReLU(inplace=True))
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c, num_classes)

    def stage_ends(self) -> list[nn.Module]:
        """Modules whose outputs end each of the three stages (for representation similarity)."""
        n = (len(self.cells) - 2) // 3
        return [self.cells[n - 1], self.cells[2 * n], self.lastact]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.lastact(self.cells(self.stem(x)))
        return self.classifier(self.global_pooling(x).flatten(1))


class NB201Space(CategoricalSpace):
    """The NAS-Bench-201 cell space. ``channels``/``cells_per_stage`` default to the benchmark's C=16, N=5."""

    name = "nb201"
    decision_names = tuple(f"edge_{i}{j}" for i, j in NB201_EDGES)
    ops = NB201_OPS

    def __init__(self, channels: int = 16, cells_per_stage: int = 5):
        if channels < 1 or cells_per_stage < 1:
            raise InvalidArchitectureError(
                f"nb201: channels ({channels}) and cells_per_stage ({cells_per_stage}) must be >= 1"
            )
        self.channels = channels
        self.cells_per_stage = cells_per_stage

    def arch_str(self, arch: Arch) -> str:
        arch = self.validate(arch)
        nodes, edge = [], 0
        for target in range(1, 4):
            parts = []
            for source in range(target):
                parts.append(f"{self.ops[arch[edge]]}~{source}")
                edge += 1
            nodes.append("|" + "|".join(parts) + "|")
        return "+".join(nodes)

    def parse(self, text: str) -> Arch:
        """Parse an official NAS-Bench-201 string such as ``|nor_conv_3x3~0|+|...|``."""
        if not isinstance(text, str):
            raise InvalidArchitectureError(f"nb201: architecture string expected, got {text!r}")
        nodes = text.strip().split("+")
        if len(nodes) != 3:
            raise InvalidArchitectureError(
                f"nb201: {text!r} is not a NAS-Bench-201 string (expected 3 nodes joined by '+')"
            )
        arch = []
        for target, node in enumerate(nodes, start=1):
            edges = [e for e in node.strip("|").split("|") if e]
            if len(edges) != target:
                raise InvalidArchitectureError(
                    f"nb201: node {target} of {text!r} has {len(edges)} edges, expected {target}"
                )
            for source, edge in enumerate(edges):
                op, sep, src = edge.partition("~")
                if not sep or src != str(source):
                    raise InvalidArchitectureError(
                        f"nb201: edge {edge!r} in {text!r} should read '<op>~{source}'"
                    )
                arch.append(self.op_index(op))
        return tuple(arch)

    def build(self, arch: Arch, num_classes: int = 10, in_channels: int = 3) -> NB201Network:
        arch = self.validate(arch)
        if num_classes < 1 or in_channels < 1:
            raise InvalidArchitectureError(
                f"nb201: num_classes ({num_classes}) and in_channels ({in_channels}) must be >= 1"
            )
        return NB201Network(
            tuple(self.ops[a] for a in arch),
            channels=self.channels,
            cells_per_stage=self.cells_per_stage,
            num_classes=num_classes,
            in_channels=in_channels,
        )
