"""FBNet space as benchmarked by HW-NAS-Bench (Li et al., ICLR 2021): 22 layers x 9 blocks.

An architecture is a tuple of 22 op indices into :data:`FBNET_OPS`, exactly the ``layer0..layer21``
columns of ``fbnet/archs.csv``; :meth:`FBNetSpace.arch_str` gives the published string, the block
names joined by ``-`` (``k5_e6-skip-k3_e1_g2-...``).

Network (the CIFAR-100 setting of HW-NAS-Bench, FBNet-v1 widths, 32x32 input):

* stem: 3x3 conv (stride 1) + BN + ReLU to 16 channels;
* seven stages of ``(layers, channels, stride)`` = (1, 16, 1), (4, 24, 1), (4, 32, 2), (4, 64, 2),
  (4, 112, 1), (4, 184, 2), (1, 352, 1); the first layer of a stage carries its stride and channel
  change, the others keep shape — 22 searchable layers in all;
* head: 1x1 conv + BN + ReLU to 1504 channels, global average pooling, linear classifier.

Blocks ``k{3,5}_e{1,3,6}[_g2]`` are inverted residuals: 1x1 (grouped when ``g2``) expansion + BN + ReLU,
channel shuffle when grouped, kxk depthwise (with the stride) + BN + ReLU, 1x1 (grouped) projection + BN,
and an identity shortcut when input and output shapes agree. ``skip`` is the identity when shapes
agree, otherwise a 1x1 conv (with the stride) + BN + ReLU.
"""

from __future__ import annotations

import torch
from torch import nn

from raynas.errors import InvalidArchitectureError
from raynas.spaces.base import Arch, CategoricalSpace

FBNET_OPS = ("k3_e1", "k3_e1_g2", "k3_e3", "k3_e6", "k5_e1", "k5_e1_g2", "k5_e3", "k5_e6", "skip")
#: ``(number of layers, output channels, stride of the first layer)`` per stage, CIFAR setting.
FBNET_STAGES = ((1, 16, 1), (4, 24, 1), (4, 32, 2), (4, 64, 2), (4, 112, 1), (4, 184, 2), (1, 352, 1))
FBNET_STEM_CHANNELS = 16
FBNET_HEAD_CHANNELS = 1504
FBNET_NUM_LAYERS = sum(n for n, _, _ in FBNET_STAGES)  # 22


def block_spec(op: str) -> tuple[int, int, int]:
    """``(kernel, expansion, groups)`` of a convolutional block name such as ``k5_e1_g2``."""
    parts = op.split("_")
    try:
        kernel = int(parts[0][1:])
        expansion = int(parts[1][1:])
        groups = int(parts[2][1:]) if len(parts) > 2 else 1
    except (IndexError, ValueError):
        raise InvalidArchitectureError(f"fbnet: {op!r} is not a block name like 'k3_e6' or 'k5_e1_g2'") from None
    return kernel, expansion, groups


def layer_shapes() -> list[tuple[int, int, int]]:
    """``(in channels, out channels, stride)`` of each of the 22 searchable layers."""
    shapes, c_in = [], FBNET_STEM_CHANNELS
    for n_layers, c_out, stride in FBNET_STAGES:
        for i in range(n_layers):
            shapes.append((c_in, c_out, stride if i == 0 else 1))
            c_in = c_out
    return shapes


class ChannelShuffle(nn.Module):
    """Interleave the channels of ``groups`` groups (ShuffleNet)."""

    def __init__(self, groups: int):
        super().__init__()
        self.groups = groups

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        return x.reshape(n, self.groups, c // self.groups, h, w).transpose(1, 2).reshape(n, c, h, w)


def conv_bn(c_in: int, c_out: int, kernel: int, stride: int = 1, groups: int = 1, relu: bool = True) -> nn.Sequential:
    layers: list[nn.Module] = [
        nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=kernel // 2, groups=groups, bias=False),
        nn.BatchNorm2d(c_out),
    ]
    if relu:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class InvertedResidual(nn.Module):
    """Expand (1x1) -> [shuffle] -> depthwise kxk -> project (1x1), identity shortcut when shapes agree."""

    def __init__(self, c_in: int, c_out: int, kernel: int, expansion: int, groups: int, stride: int):
        super().__init__()
        mid = c_in * expansion
        self.expand = conv_bn(c_in, mid, 1, groups=groups)
        self.shuffle = ChannelShuffle(groups) if groups > 1 else nn.Identity()
        self.depthwise = conv_bn(mid, mid, kernel, stride=stride, groups=mid)
        self.project = conv_bn(mid, c_out, 1, groups=groups, relu=False)
        self.residual = c_in == c_out and stride == 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.project(self.depthwise(self.shuffle(self.expand(x))))
        return y + x if self.residual else y


def make_block(op: str, c_in: int, c_out: int, stride: int) -> nn.Module:
    if op == "skip":
        if c_in == c_out and stride == 1:
            return nn.Identity()
        return conv_bn(c_in, c_out, 1, stride=stride)
    if op not in FBNET_OPS:
        raise InvalidArchitectureError(f"fbnet: unknown block {op!r}; valid blocks are {list(FBNET_OPS)}")
    kernel, expansion, groups = block_spec(op)
    return InvertedResidual(c_in, c_out, kernel, expansion, groups, stride)


class FBNetNetwork(nn.Module):
    """The HW-NAS-Bench FBNet network (CIFAR setting) for 22 block names."""

    def __init__(self, op_names: tuple[str, ...], num_classes: int = 100, in_channels: int = 3):
        super().__init__()
        if len(op_names) != FBNET_NUM_LAYERS:
            raise InvalidArchitectureError(f"fbnet: {len(op_names)} blocks given, expected {FBNET_NUM_LAYERS}")
        self.stem = conv_bn(in_channels, FBNET_STEM_CHANNELS, 3)
        self.layers = nn.Sequential(*(make_block(op, ci, co, s) for op, (ci, co, s) in zip(op_names, layer_shapes())))
        self.head = conv_bn(FBNET_STAGES[-1][1], FBNET_HEAD_CHANNELS, 1)
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(FBNET_HEAD_CHANNELS, num_classes)
        self._init_weights()

    def _init_weights(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, std=0.001)
                nn.init.zeros_(m.bias)

    def stage_ends(self) -> list[nn.Module]:
        """Modules whose outputs end the stages at each resolution (for representation similarity)."""
        ends, pos = [], 0
        for n, _, _ in FBNET_STAGES:
            pos += n
            ends.append(self.layers[pos - 1])
        return ends

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.head(self.layers(self.stem(x)))
        return self.classifier(self.global_pooling(x).flatten(1))


class FBNetSpace(CategoricalSpace):
    """FBNet as in HW-NAS-Bench: 9^22 architectures; ``build`` defaults to CIFAR-100's 100 classes."""

    name = "fbnet"
    decision_names = tuple(f"layer{i}" for i in range(FBNET_NUM_LAYERS))
    ops = FBNET_OPS
    default_num_classes = 100

    def arch_str(self, arch: Arch) -> str:
        return "-".join(self.ops[a] for a in self.validate(arch))

    def parse(self, text: str) -> Arch:
        """Parse ``k5_e6-skip-...`` (22 block names joined by ``-``)."""
        if not isinstance(text, str):
            raise InvalidArchitectureError(f"fbnet: architecture string expected, got {text!r}")
        names = [t for t in text.strip().split("-")]
        if len(names) != self.num_decisions:
            raise InvalidArchitectureError(
                f"fbnet: {text!r} has {len(names)} blocks, expected {self.num_decisions} joined by '-'"
            )
        return tuple(self.op_index(n) for n in names)

    def build(self, arch: Arch, num_classes: int = 100, in_channels: int = 3) -> FBNetNetwork:
        arch = self.validate(arch)
        if num_classes < 1 or in_channels < 1:
            raise InvalidArchitectureError(
                f"fbnet: num_classes ({num_classes}) and in_channels ({in_channels}) must be >= 1"
            )
        return FBNetNetwork(tuple(self.ops[a] for a in arch), num_classes=num_classes, in_channels=in_channels)
