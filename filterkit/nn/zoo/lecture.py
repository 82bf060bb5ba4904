"""The classic lecture MNIST CNN.

Layers (input 1x28x28; all convolutions "valid", i.e. no padding)::

    conv1  25 @ 3x3   28 -> 26      params 25*(1*9) + 25  =     250
    pool1  max 2x2/2  26 -> 13
    conv2  50 @ 3x3   13 -> 11      params 50*(25*9) + 50 =  11,300
    pool2  max 2x2/2  11 -> 5       (floor: the last row/column is dropped)
    flatten           50*5*5 = 1250
    fc1    1250 -> 100              params 125,100
    fc2    100 -> 10                params   1,010       total 137,660

Activation: ReLU after conv1, conv2 and fc1 (the lecture leaves it open;
ReLU is the modern default).  ``fc2`` returns logits (no softmax).
"""

from __future__ import annotations

from collections import OrderedDict

from torch import nn


def lecture_cnn(num_classes: int = 10, in_channels: int = 1) -> nn.Sequential:
    """The lecture CNN for ``in_channels`` x 28 x 28 inputs; returns logits of shape (N, num_classes)."""
    return nn.Sequential(
        OrderedDict(
            [
                ("conv1", nn.Conv2d(in_channels, 25, kernel_size=3)),
                ("relu1", nn.ReLU(inplace=True)),
                ("pool1", nn.MaxPool2d(2)),
                ("conv2", nn.Conv2d(25, 50, kernel_size=3)),
                ("relu2", nn.ReLU(inplace=True)),
                ("pool2", nn.MaxPool2d(2)),
                ("flatten", nn.Flatten()),
                ("fc1", nn.Linear(50 * 5 * 5, 100)),
                ("relu3", nn.ReLU(inplace=True)),
                ("fc2", nn.Linear(100, num_classes)),
            ]
        )
    )
