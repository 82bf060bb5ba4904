"""AlexNet in its two published layouts.

``alexnet_grouped`` -- Krizhevsky, Sutskever & Hinton 2012, the two-GPU net:

* conv1 96 @ 11x11/4 sees the whole input (both GPUs get the image), so it is
  an ordinary convolution; conv2 (256 @ 5x5, pad 2), conv4 (384 @ 3x3) and
  conv5 (256 @ 3x3) only see the maps of their own GPU: ``groups=2``; conv3
  (384 @ 3x3) connects across GPUs: ``groups=1``.
* ReLU everywhere; local response normalisation (k=2, n=5, alpha=1e-4,
  beta=0.75 in the paper's formula) after the ReLUs of conv1 and conv2;
  overlapping 3x3/2 max-pooling after both normalisations and after conv5;
  fc6 9216 -> 4096, fc7 4096 -> 4096 with dropout 0.5 on their outputs,
  fc8 4096 -> num_classes.  60,965,224 parameters ("60 million").
  ``groups=1`` merges the two towers of conv2/4/5 (every kernel sees all
  maps of the layer below): 62,378,344 parameters, the "62.4 M" often quoted
  for AlexNet.
* Input: the paper says 224x224x3, but 11x11/4 without padding only gives
  the published 55x55 maps from 227x227: (227 - 11)/4 + 1 = 55, whereas
  (224 - 11)/4 + 1 = 54.25.  We take 227x227 (the default input); 224 gives
  54 -> 26 -> 12 -> 5 and fc6 (which needs 6x6x256) fails.
* PyTorch's ``LocalResponseNorm`` divides alpha by the window size n, the
  paper does not: we pass ``alpha = n * 1e-4`` to get the paper's formula.

``alexnet`` -- the single-tower layout of torchvision (64-192-384-256-256
channels, conv1 padded by 2, no LRN, adaptive 6x6 average pooling, dropout
before fc6 and fc7), the one usually meant by "AlexNet" today; 61,100,840
parameters.  (Krizhevsky's "One weird trick" paper is often cited for it.)
"""

from __future__ import annotations

from collections import OrderedDict

from torch import nn

from filterkit.nn.zoo.heads import fc_head

LRN_SIZE = 5


def _paper_lrn() -> nn.LocalResponseNorm:
    return nn.LocalResponseNorm(size=LRN_SIZE, alpha=LRN_SIZE * 1e-4, beta=0.75, k=2.0)


def alexnet_grouped(num_classes: int = 1000, in_channels: int = 3, dropout: float = 0.5,
                    groups: int = 2) -> nn.Sequential:
    """The 2012 two-GPU AlexNet for ``in_channels`` x 227 x 227 inputs; returns logits (N, num_classes).

    ``groups`` is the number of towers conv2, conv4 and conv5 are split into (2 in the paper).
    """
    return nn.Sequential(
        OrderedDict(
            [
                ("conv1", nn.Conv2d(in_channels, 96, kernel_size=11, stride=4)),
                ("relu1", nn.ReLU(inplace=True)),
                ("norm1", _paper_lrn()),
                ("pool1", nn.MaxPool2d(kernel_size=3, stride=2)),
                ("conv2", nn.Conv2d(96, 256, kernel_size=5, padding=2, groups=groups)),
                ("relu2", nn.ReLU(inplace=True)),
                ("norm2", _paper_lrn()),
                ("pool2", nn.MaxPool2d(kernel_size=3, stride=2)),
                ("conv3", nn.Conv2d(256, 384, kernel_size=3, padding=1)),
                ("relu3", nn.ReLU(inplace=True)),
                ("conv4", nn.Conv2d(384, 384, kernel_size=3, padding=1, groups=groups)),
                ("relu4", nn.ReLU(inplace=True)),
                ("conv5", nn.Conv2d(384, 256, kernel_size=3, padding=1, groups=groups)),
                ("relu5", nn.ReLU(inplace=True)),
                ("pool5", nn.MaxPool2d(kernel_size=3, stride=2)),
                *fc_head(256 * 6 * 6, num_classes, dropout),
            ]
        )
    )


def alexnet(num_classes: int = 1000, in_channels: int = 3, dropout: float = 0.5) -> nn.Sequential:
    """Single-tower AlexNet (torchvision layout) for ``in_channels`` x 224 x 224 inputs; returns logits."""
    return nn.Sequential(
        OrderedDict(
            [
                ("conv1", nn.Conv2d(in_channels, 64, kernel_size=11, stride=4, padding=2)),
                ("relu1", nn.ReLU(inplace=True)),
                ("pool1", nn.MaxPool2d(kernel_size=3, stride=2)),
                ("conv2", nn.Conv2d(64, 192, kernel_size=5, padding=2)),
                ("relu2", nn.ReLU(inplace=True)),
                ("pool2", nn.MaxPool2d(kernel_size=3, stride=2)),
                ("conv3", nn.Conv2d(192, 384, kernel_size=3, padding=1)),
                ("relu3", nn.ReLU(inplace=True)),
                ("conv4", nn.Conv2d(384, 256, kernel_size=3, padding=1)),
                ("relu4", nn.ReLU(inplace=True)),
                ("conv5", nn.Conv2d(256, 256, kernel_size=3, padding=1)),
                ("relu5", nn.ReLU(inplace=True)),
                ("pool5", nn.MaxPool2d(kernel_size=3, stride=2)),
                ("avgpool", nn.AdaptiveAvgPool2d((6, 6))),
                ("flatten", nn.Flatten()),
                ("drop6", nn.Dropout(dropout)),
                ("fc6", nn.Linear(256 * 6 * 6, 4096)),
                ("relu6", nn.ReLU(inplace=True)),
                ("drop7", nn.Dropout(dropout)),
                ("fc7", nn.Linear(4096, 4096)),
                ("relu7", nn.ReLU(inplace=True)),
                ("fc8", nn.Linear(4096, num_classes)),
            ]
        )
    )
