"""Model C and its three variants (Springenberg, Dosovitskiy, Brox & Riedmiller 2014,
"Striving for simplicity: the all convolutional net", Tables 1 and 2), for
CIFAR-sized inputs (3 x 32 x 32).

The variants differ only in the first two blocks (Table 2); ``s`` marks stride 2::

    model_c          conv96 conv96      maxpool | conv192 conv192       maxpool
    strided_cnn_c    conv96 conv96s             | conv192 conv192s
    convpool_cnn_c   conv96 conv96 conv96 maxpool | conv192 conv192 conv192 maxpool
    allcnn_c         conv96 conv96 conv96s      | conv192 conv192 conv192s

then the common top (Table 1): 3x3 conv 192 (valid: 8 -> 6), 1x1 conv 192,
1x1 conv num_classes, global average over the 6x6 map (logits; softmax is
left to the loss).  Every convolution is followed by ReLU, the last one too,
as Table 1 lists it.  3x3 convolutions of the first two blocks are padded by 1
("same"); 3x3/2 max-pools and stride-2 convolutions are padded by 1, so
32 -> 16 -> 8.  Dropout: 20 % on the input, 50 % after each pooling layer (or
the strided convolution that replaces it), as in the paper's training setup.

Parameters (10 classes): Model C and Strided-CNN-C 954,730; ConvPool-CNN-C and
All-CNN-C 1,369,738.  The paper's tables round these as "1.3 M" and "1.4 M";
counted from the layer description, Model C and Strided-CNN-C have 0.95 M
(the extra 3x3 convolutions of the other two add 415,008), so we report the
exact counts and note that "1.3 M" does not match Table 1's widths.
"""

from __future__ import annotations

from collections import OrderedDict

from torch import nn

# one token per layer of the first two blocks: "c" 3x3 conv, "s" 3x3 conv with stride 2, "p" 3x3/2 max-pool
VARIANT_BLOCKS: dict[str, tuple[str, str]] = {
    "model_c": ("ccp", "ccp"),
    "strided_cnn_c": ("cs", "cs"),
    "convpool_cnn_c": ("cccp", "cccp"),
    "allcnn_c": ("ccs", "ccs"),
}


def _build(variant: str, num_classes: int, in_channels: int, dropout_input: float,
           dropout: float) -> nn.Sequential:
    layers: list[tuple[str, nn.Module]] = [("drop0", nn.Dropout(dropout_input))]
    channels = in_channels
    n_conv = 0
    for block, (width, tokens) in enumerate(zip((96, 192), VARIANT_BLOCKS[variant]), start=1):
        for token in tokens:
            if token == "p":
                layers.append((f"pool{block}", nn.MaxPool2d(kernel_size=3, stride=2, padding=1)))
                continue
            n_conv += 1
            stride = 2 if token == "s" else 1
            layers.append((f"conv{n_conv}", nn.Conv2d(channels, width, kernel_size=3, stride=stride, padding=1)))
            layers.append((f"relu{n_conv}", nn.ReLU(inplace=True)))
            channels = width
        layers.append((f"drop{block}", nn.Dropout(dropout)))
    for kernel, width in ((3, 192), (1, 192), (1, num_classes)):
        n_conv += 1
        layers.append((f"conv{n_conv}", nn.Conv2d(channels, width, kernel_size=kernel)))
        layers.append((f"relu{n_conv}", nn.ReLU(inplace=True)))
        channels = width
    layers += [("avgpool", nn.AdaptiveAvgPool2d(1)), ("flatten", nn.Flatten())]
    return nn.Sequential(OrderedDict(layers))


def allcnn_c(num_classes: int = 10, in_channels: int = 3, dropout_input: float = 0.2,
             dropout: float = 0.5) -> nn.Sequential:
    """All-CNN-C: every max-pool of Model C replaced by a stride-2 3x3 convolution; 1,369,738 params."""
    return _build("allcnn_c", num_classes, in_channels, dropout_input, dropout)


def strided_cnn_c(num_classes: int = 10, in_channels: int = 3, dropout_input: float = 0.2,
                  dropout: float = 0.5) -> nn.Sequential:
    """Strided-CNN-C: Model C without max-pools, the conv before each pool strided by 2; 954,730 params."""
    return _build("strided_cnn_c", num_classes, in_channels, dropout_input, dropout)


def convpool_cnn_c(num_classes: int = 10, in_channels: int = 3, dropout_input: float = 0.2,
                   dropout: float = 0.5) -> nn.Sequential:
    """ConvPool-CNN-C: Model C with an extra 3x3 conv before each max-pool; 1,369,738 params."""
    return _build("convpool_cnn_c", num_classes, in_channels, dropout_input, dropout)


def model_c(num_classes: int = 10, in_channels: int = 3, dropout_input: float = 0.2,
            dropout: float = 0.5) -> nn.Sequential:
    """Model C, the max-pooling base model; 954,730 params."""
    return _build("model_c", num_classes, in_channels, dropout_input, dropout)
