"""Layer groups shared by several zoo families."""

from __future__ import annotations

from torch import nn


def fc_head(in_features: int, num_classes: int, dropout: float, hidden: int = 4096,
            first: int = 6) -> list[tuple[str, nn.Module]]:
    """The 2012-2014 ImageNet classifier: flatten, then fc{first}, fc{first+1} (``hidden`` units, ReLU, dropout
    on their outputs) and fc{first+2} -> num_classes (logits), as named (name, module) pairs.

    Used by the two-GPU AlexNet (Krizhevsky et al. 2012) and VGG-16 (Simonyan & Zisserman 2014).
    """
    layers: list[tuple[str, nn.Module]] = [("flatten", nn.Flatten())]
    width = in_features
    for index in (first, first + 1):
        layers += [
            (f"fc{index}", nn.Linear(width, hidden)),
            (f"relu{index}", nn.ReLU(inplace=True)),
            (f"drop{index}", nn.Dropout(dropout)),
        ]
        width = hidden
    layers.append((f"fc{first + 2}", nn.Linear(width, num_classes)))
    return layers
