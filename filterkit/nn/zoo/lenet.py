"""LeNet-5 (LeCun, Bottou, Bengio & Haffner 1998, "Gradient-based learning
applied to document recognition", Section II.B), built faithfully by default.

Layer     maps / units   parameters   connections (= MACs with bias counted)
--------  -------------  -----------  ----------------------------------------
C1        6 @ 28x28            156     122,304   5x5 conv of the 32x32 input
S2        6 @ 14x14             12       5,880   2x2 sums x trainable coefficient + trainable bias
C3        16 @ 10x10         1,516     151,600   5x5 conv through the partial connection table
S4        16 @ 5x5              32       2,000   as S2
C5        120 @ 1x1         48,120      48,120   5x5 conv, fully connected to S4
F6        84                10,164      10,164
output    10 RBF units         840         840   fixed +-1 codes (not trainable)

Squashing function after C1 ... F6: f(a) = 1.7159 tanh(2a/3) (Appendix A);
S2/S4 pass through it too.  The C3 table (Table I): maps 0-5 see three
contiguous S2 maps, 6-11 four contiguous, 12-14 four non-contiguous, 15 all
six: 60 5x5 kernels, 1,500 weights + 16 biases.  Weights start uniform in
+-2.4 / fan-in (Appendix C).

Output: Euclidean RBF units y_i = sum_j (x_j - w_ij)^2 whose parameter vectors
are fixed +-1 codes; the paper draws them as 7x12 bitmaps of the characters.
We draw our own stylised 7x12 digits (``DIGIT_BITMAPS``, not the paper's
exact pixels) and, for ``num_classes != 10``, use random +-1 codes from a
fixed generator.  The forward returns the *negated* penalties -y_i so that the
output behaves as logits (argmax = class, cross-entropy on it is the paper's
MAP criterion, eq. 9, with j = 0).  The RBF vectors count as parameters
(840) but not as trainable ones: total 60,840, trainable 60,000.

``variant="modern"`` builds the common simplification instead (full 6->16
C3, max-pooling, ReLU, linear output; 61,706 parameters).
"""

from __future__ import annotations

import math
from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn

#: Table I of the paper: the S2 maps each C3 map reads.
C3_TABLE: tuple[tuple[int, ...], ...] = (
    (0, 1, 2), (1, 2, 3), (2, 3, 4), (3, 4, 5), (4, 5, 0), (5, 0, 1),
    (0, 1, 2, 3), (1, 2, 3, 4), (2, 3, 4, 5), (3, 4, 5, 0), (4, 5, 0, 1), (5, 0, 1, 2),
    (0, 1, 3, 4), (1, 2, 4, 5), (0, 2, 3, 5),
    (0, 1, 2, 3, 4, 5),
)

#: Stylised 7 (wide) x 12 (tall) digit bitmaps for the RBF codes: '#' = +1, '.' = -1.
DIGIT_BITMAPS: tuple[str, ...] = (
    "....... ..###.. .#...#. #.....# #.....# #.....# #.....# #.....# #.....# .#...#. ..###.. .......",
    "....... ...#... ..##... .#.#... ...#... ...#... ...#... ...#... ...#... ...#... .#####. .......",
    "....... ..###.. .#...#. #.....# ......# .....#. ....#.. ...#... ..#.... .#..... ####### .......",
    "....... .#####. #.....# ......# ......# ..####. ......# ......# ......# #.....# .#####. .......",
    "....... ....##. ...#.#. ..#..#. .#...#. #....#. ####### .....#. .....#. .....#. .....#. .......",
    "....... ####### #...... #...... ######. ......# ......# ......# ......# #.....# .#####. .......",
    "....... ..####. .#..... #...... #...... ######. #.....# #.....# #.....# #.....# .#####. .......",
    "....... ####### ......# .....#. .....#. ....#.. ....#.. ...#... ...#... ..#.... ..#.... .......",
    "....... .#####. #.....# #.....# #.....# .#####. #.....# #.....# #.....# #.....# .#####. .......",
    "....... .#####. #.....# #.....# #.....# #.....# .###### ......# ......# .....#. .####.. .......",
)


class ScaledTanh(nn.Module):
    """f(a) = A tanh(S a) with A = 1.7159, S = 2/3 (LeCun 1998, Appendix A)."""

    def __init__(self, amplitude: float = 1.7159, slope: float = 2.0 / 3.0) -> None:
        super().__init__()
        self.amplitude = amplitude
        self.slope = slope

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.amplitude * torch.tanh(self.slope * x)

    def extra_repr(self) -> str:
        return f"amplitude={self.amplitude}, slope={self.slope:.4f}"


class Subsampling(nn.Module):
    """S2/S4: sum of each non-overlapping k x k block, times a trainable coefficient, plus a trainable bias.

    One coefficient and one bias per map (2 * channels parameters).  MACs: k*k
    per output value (w * (a+b+c+d) = wa + wb + wc + wd), plus one for the bias.
    """

    def __init__(self, channels: int, kernel_size: int = 2) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = kernel_size
        self.padding = 0
        self.weight = nn.Parameter(torch.empty(channels))
        self.bias = nn.Parameter(torch.empty(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        k = self.kernel_size
        sums = F.avg_pool2d(x, k) * (k * k)
        return sums * self.weight[:, None, None] + self.bias[:, None, None]

    def count_macs(self, input_shapes: list[list[int]], output_shape: list[int], bias_macs: bool) -> int:
        """Per-sample multiply-adds (shapes without the batch dimension)."""
        n = math.prod(output_shape)
        return n * self.kernel_size**2 + (n if bias_macs else 0)

    def extra_repr(self) -> str:
        return f"{self.weight.shape[0]}, kernel_size={self.kernel_size}"


class PartialConv2d(nn.Module):
    """Convolution where output map o reads only the input maps ``table[o]`` (LeNet-5's C3).

    Only the connected kernels are parameters: ``weight`` has shape
    (number of connections, k, k); ``bias`` one per output map.
    """

    def __init__(self, table: tuple[tuple[int, ...], ...], in_channels: int, kernel_size: int) -> None:
        super().__init__()
        pairs = [(o, i) for o, inputs in enumerate(table) for i in inputs]
        self.connections: tuple[tuple[int, int], ...] = tuple(pairs)  # (output map, input map) per kernel
        if any(not 0 <= i < in_channels for _, i in pairs):
            raise ValueError(f"connection table refers to input maps outside 0..{in_channels - 1}")
        self.in_channels = in_channels
        self.out_channels = len(table)
        self.kernel_size = kernel_size
        self.stride = 1
        self.padding = 0
        self.weight = nn.Parameter(torch.empty(len(pairs), kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.empty(self.out_channels))

    def fan_in(self) -> list[int]:
        """Inputs per output unit of each map: (connected input maps) * k * k."""
        counts = [0] * self.out_channels
        for o, _ in self.connections:
            counts[o] += 1
        return [c * self.kernel_size**2 for c in counts]

    def dense_weight(self) -> torch.Tensor:
        """The equivalent (out, in, k, k) conv weight, zero where the table has no connection."""
        k = self.kernel_size
        dense = self.weight.new_zeros(self.out_channels, self.in_channels, k, k)
        out_index = torch.tensor([o for o, _ in self.connections], device=self.weight.device)
        in_index = torch.tensor([i for _, i in self.connections], device=self.weight.device)
        return dense.index_put((out_index, in_index), self.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.dense_weight(), self.bias)

    def count_macs(self, input_shapes: list[list[int]], output_shape: list[int], bias_macs: bool) -> int:
        """Per-sample multiply-adds: connected weights x output positions (+ one per output value for the bias)."""
        positions = math.prod(output_shape[1:])
        return self.weight.numel() * positions + (math.prod(output_shape) if bias_macs else 0)

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, " \
               f"connections={self.weight.shape[0]}"


def rbf_codes(num_classes: int, features: int = 84) -> torch.Tensor:
    """(num_classes, features) +-1 codes: the digit bitmaps for 10 classes and 84 features, else random."""
    if num_classes == len(DIGIT_BITMAPS) and features == 84:
        rows = [[1.0 if ch == "#" else -1.0 for ch in bitmap.replace(" ", "")] for bitmap in DIGIT_BITMAPS]
        return torch.tensor(rows)
    generator = torch.Generator().manual_seed(1998)
    return torch.randint(0, 2, (num_classes, features), generator=generator).float() * 2 - 1


class EuclideanRBF(nn.Module):
    """Output layer: returns -sum_j (x_j - w_ij)^2 for each class i (negated RBF penalties, used as logits).

    The centres ``weight`` (num_classes, in_features) are fixed codes
    (``requires_grad=False``), as in the paper.
    """

    def __init__(self, in_features: int, num_classes: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(rbf_codes(num_classes, in_features), requires_grad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return -((x[:, None, :] - self.weight) ** 2).sum(dim=-1)

    def count_macs(self, input_shapes: list[list[int]], output_shape: list[int], bias_macs: bool) -> int:
        """Per-sample multiply-adds: one per centre element (subtract, square, accumulate)."""
        return self.weight.numel()


def _init_fan_in_uniform(model: nn.Module) -> None:
    """Weights and biases uniform in +-2.4 / F, F the fan-in of the unit they feed (Appendix C)."""
    if any(p.is_meta for p in model.parameters()):
        return  # built on the meta device: no values to set (and in-place ops on meta tensors import sympy)
    for module in model.modules():
        if isinstance(module, PartialConv2d):
            fan_in = module.fan_in()  # differs per output map
            with torch.no_grad():
                per_kernel = torch.tensor([2.4 / fan_in[o] for o, _ in module.connections])
                module.weight.uniform_(-1.0, 1.0).mul_(per_kernel.to(module.weight.device)[:, None, None])
                module.bias.uniform_(-1.0, 1.0).mul_(torch.tensor([2.4 / f for f in fan_in]).to(module.bias.device))
            continue
        if isinstance(module, nn.Conv2d):
            fan_in = module.in_channels * module.kernel_size[0] * module.kernel_size[1]
        elif isinstance(module, nn.Linear):
            fan_in = module.in_features
        elif isinstance(module, Subsampling):
            fan_in = module.kernel_size**2
        else:
            continue
        nn.init.uniform_(module.weight, -2.4 / fan_in, 2.4 / fan_in)
        nn.init.uniform_(module.bias, -2.4 / fan_in, 2.4 / fan_in)


def _lenet5_1998(num_classes: int, in_channels: int) -> nn.Sequential:
    model = nn.Sequential(
        OrderedDict(
            [
                ("c1", nn.Conv2d(in_channels, 6, kernel_size=5)),
                ("act1", ScaledTanh()),
                ("s2", Subsampling(6, 2)),
                ("act2", ScaledTanh()),
                ("c3", PartialConv2d(C3_TABLE, 6, 5)),
                ("act3", ScaledTanh()),
                ("s4", Subsampling(16, 2)),
                ("act4", ScaledTanh()),
                ("c5", nn.Conv2d(16, 120, kernel_size=5)),
                ("act5", ScaledTanh()),
                ("flatten", nn.Flatten()),
                ("f6", nn.Linear(120, 84)),
                ("act6", ScaledTanh()),
                ("output", EuclideanRBF(84, num_classes)),
            ]
        )
    )
    _init_fan_in_uniform(model)
    return model


def _lenet5_modern(num_classes: int, in_channels: int) -> nn.Sequential:
    return nn.Sequential(
        OrderedDict(
            [
                ("c1", nn.Conv2d(in_channels, 6, kernel_size=5)),
                ("relu1", nn.ReLU(inplace=True)),
                ("s2", nn.MaxPool2d(2)),
                ("c3", nn.Conv2d(6, 16, kernel_size=5)),
                ("relu3", nn.ReLU(inplace=True)),
                ("s4", nn.MaxPool2d(2)),
                ("flatten", nn.Flatten()),
                ("c5", nn.Linear(16 * 5 * 5, 120)),
                ("relu5", nn.ReLU(inplace=True)),
                ("f6", nn.Linear(120, 84)),
                ("relu6", nn.ReLU(inplace=True)),
                ("output", nn.Linear(84, num_classes)),
            ]
        )
    )


def lenet5(num_classes: int = 10, in_channels: int = 1, variant: str = "1998") -> nn.Sequential:
    """LeNet-5 for ``in_channels`` x 32 x 32 inputs; ``variant`` is ``"1998"`` (faithful) or ``"modern"``."""
    if variant == "1998":
        return _lenet5_1998(num_classes, in_channels)
    if variant == "modern":
        return _lenet5_modern(num_classes, in_channels)
    raise ValueError(f"unknown LeNet-5 variant {variant!r}; choose '1998' or 'modern'")

