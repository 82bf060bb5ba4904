"""GoogLeNet / Inception v1 (Szegedy et al. 2014, "Going deeper with convolutions").

The layout of the paper's Table 1 with the details of the authors' released
Caffe model: every convolution has a bias and is followed by ReLU; no batch
norm (torchvision's GoogLeNet adds it, a later change); local response
normalisation (n=5, alpha=1e-4, beta=0.75, Caffe's convention, which is
PyTorch's) after pool1 and after conv2; max-pools 3x3/2 rounding up
(``ceil_mode``) so that 112 -> 56 -> 28 -> 14 -> 7; 7x7/1 average pool, dropout
0.4, linear 1024 -> num_classes.  The "depth 2" row of Table 1 is the 1x1
``conv2_reduce`` (64) followed by the 3x3 ``conv2`` (192).

Each Inception block concatenates four branches: 1x1; 1x1 reduce -> 3x3;
1x1 reduce -> 5x5; 3x3/1 max-pool -> 1x1 projection (widths from Table 1).

``aux_logits=True`` adds the two auxiliary classifiers on 4a and 4d (5x5/3
average pool, 1x1 conv 128, fc 1024, dropout 0.7, linear); they run in
training mode only, where the forward returns ``(logits, aux1, aux2)``.

6,998,552 parameters without the auxiliary heads (Table 1's column adds up
to about 6.8 M because it leaves out biases, counts K as 1024 and has a few
rows that do not match the layer widths; see ``tests/nn/test_summary.py``).
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

# name: (#1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj), Table 1
INCEPTION_WIDTHS: dict[str, tuple[int, int, int, int, int, int]] = {
    "3a": (64, 96, 128, 16, 32, 32),
    "3b": (128, 128, 192, 32, 96, 64),
    "4a": (192, 96, 208, 16, 48, 64),
    "4b": (160, 112, 224, 24, 64, 64),
    "4c": (128, 128, 256, 24, 64, 64),
    "4d": (112, 144, 288, 32, 64, 64),
    "4e": (256, 160, 320, 32, 128, 128),
    "5a": (256, 160, 320, 32, 128, 128),
    "5b": (384, 192, 384, 48, 128, 128),
}


def _conv_relu(in_ch: int, out_ch: int, kernel: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        OrderedDict(
            [
                ("conv", nn.Conv2d(in_ch, out_ch, kernel, stride=stride, padding=kernel // 2)),
                ("relu", nn.ReLU(inplace=True)),
            ]
        )
    )


def _lrn() -> nn.LocalResponseNorm:
    return nn.LocalResponseNorm(size=5, alpha=1e-4, beta=0.75, k=1.0)


def _pool() -> nn.MaxPool2d:
    return nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True)


class Inception(nn.Module):
    """Four parallel branches concatenated along channels; output channels = #1x1 + #3x3 + #5x5 + pool proj."""

    def __init__(self, in_ch: int, n1x1: int, n3x3red: int, n3x3: int, n5x5red: int, n5x5: int,
                 pool_proj: int) -> None:
        super().__init__()
        self.branch1 = _conv_relu(in_ch, n1x1, 1)
        self.branch2 = nn.Sequential(
            OrderedDict([("reduce", _conv_relu(in_ch, n3x3red, 1)), ("conv3x3", _conv_relu(n3x3red, n3x3, 3))])
        )
        self.branch3 = nn.Sequential(
            OrderedDict([("reduce", _conv_relu(in_ch, n5x5red, 1)), ("conv5x5", _conv_relu(n5x5red, n5x5, 5))])
        )
        self.branch4 = nn.Sequential(
            OrderedDict(
                [("pool", nn.MaxPool2d(kernel_size=3, stride=1, padding=1)), ("proj", _conv_relu(in_ch, pool_proj, 1))]
            )
        )
        self.out_channels = n1x1 + n3x3 + n5x5 + pool_proj

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], dim=1)


class AuxClassifier(nn.Module):
    """Auxiliary head: 5x5/3 average pool, 1x1 conv 128 + ReLU, fc 1024 + ReLU, dropout 0.7, linear."""

    def __init__(self, in_ch: int, num_classes: int) -> None:
        super().__init__()
        self.pool = nn.AvgPool2d(kernel_size=5, stride=3)
        self.conv = _conv_relu(in_ch, 128, 1)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(128 * 4 * 4, 1024)
        self.relu = nn.ReLU(inplace=True)
        self.dropout = nn.Dropout(0.7)
        self.classifier = nn.Linear(1024, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.flatten(self.conv(self.pool(x)))
        return self.classifier(self.dropout(self.relu(self.fc(x))))


class GoogLeNet(nn.Module):
    """Inception v1 for ``in_channels`` x 224 x 224 inputs; returns logits (N, num_classes)."""

    def __init__(self, num_classes: int = 1000, in_channels: int = 3, aux_logits: bool = False,
                 dropout: float = 0.4) -> None:
        super().__init__()
        self.conv1 = _conv_relu(in_channels, 64, 7, stride=2)
        self.pool1 = _pool()
        self.norm1 = _lrn()
        self.conv2_reduce = _conv_relu(64, 64, 1)
        self.conv2 = _conv_relu(64, 192, 3)
        self.norm2 = _lrn()
        self.pool2 = _pool()
        channels = 192
        for name, widths in INCEPTION_WIDTHS.items():
            block = Inception(channels, *widths)
            setattr(self, f"inception{name}", block)
            channels = block.out_channels
            if name == "3b":
                self.pool3 = _pool()
            elif name == "4e":
                self.pool4 = _pool()
        self.aux1 = AuxClassifier(512, num_classes) if aux_logits else None
        self.aux2 = AuxClassifier(528, num_classes) if aux_logits else None
        self.avgpool = nn.AvgPool2d(kernel_size=7, stride=1)
        self.flatten = nn.Flatten()
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x = self.norm1(self.pool1(self.conv1(x)))
        x = self.pool2(self.norm2(self.conv2(self.conv2_reduce(x))))
        x = self.pool3(self.inception3b(self.inception3a(x)))
        x = self.inception4a(x)
        aux1 = self.aux1(x) if self.aux1 is not None and self.training else None
        x = self.inception4d(self.inception4c(self.inception4b(x)))
        aux2 = self.aux2(x) if self.aux2 is not None and self.training else None
        x = self.pool4(self.inception4e(x))
        x = self.inception5b(self.inception5a(x))
        logits = self.fc(self.dropout(self.flatten(self.avgpool(x))))
        if aux1 is not None and aux2 is not None:
            return logits, aux1, aux2
        return logits


def googlenet(num_classes: int = 1000, in_channels: int = 3, aux_logits: bool = False,
              dropout: float = 0.4) -> GoogLeNet:
    """GoogLeNet (Inception v1); ``aux_logits`` adds the two training-time auxiliary classifiers."""
    return GoogLeNet(num_classes, in_channels, aux_logits, dropout)
