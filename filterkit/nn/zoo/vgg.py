"""VGG-16 (Simonyan & Zisserman 2014, configuration D), as published.

Thirteen 3x3 convolutions (stride 1, padding 1) in five blocks of
64-64 | 128-128 | 256-256-256 | 512-512-512 | 512-512-512 channels, each block
closed by a 2x2/2 max-pool, then fc 25088 -> 4096 -> 4096 -> num_classes with
ReLU and dropout 0.5 after the first two.  138,357,544 parameters for 1000
classes.  No adaptive pooling (torchvision adds one): the classifier needs the
7x7x512 map that a 224x224 input gives.
"""

from __future__ import annotations

from collections import OrderedDict

from torch import nn

from filterkit.nn.zoo.heads import fc_head

BLOCKS_D: tuple[tuple[int, ...], ...] = ((64, 64), (128, 128), (256, 256, 256), (512, 512, 512), (512, 512, 512))


def vgg16(num_classes: int = 1000, in_channels: int = 3, dropout: float = 0.5) -> nn.Sequential:
    """VGG-16 for ``in_channels`` x 224 x 224 inputs; returns logits (N, num_classes)."""
    layers: list[tuple[str, nn.Module]] = []
    channels = in_channels
    for block, widths in enumerate(BLOCKS_D, start=1):
        for i, width in enumerate(widths, start=1):
            layers.append((f"conv{block}_{i}", nn.Conv2d(channels, width, kernel_size=3, padding=1)))
            layers.append((f"relu{block}_{i}", nn.ReLU(inplace=True)))
            channels = width
        layers.append((f"pool{block}", nn.MaxPool2d(2)))
    layers += fc_head(512 * 7 * 7, num_classes, dropout)
    return nn.Sequential(OrderedDict(layers))
