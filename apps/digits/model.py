"""The lecture CNN with one of three first layers (:data:`~filterkit.apps.digits.config.VARIANTS`).

The network itself lives in the zoo (:func:`filterkit.nn.zoo.lecture.lecture_cnn`: conv 25@3x3,
max-pool 2, conv 50@3x3, max-pool 2, dense 100, dense 10); this module only swaps or freezes its
first convolution:

* ``learned`` - conv1 trained from torch's default init;
* ``fixed``   - conv1 replaced by the frozen fixed filter bank
  (:data:`filterkit.nn.layers.FIXED_BANK`, matched to 25 filters by :func:`fixed_bank_names`);
* ``random``  - conv1 left at its random init and frozen.

Same ``seed`` -> same initial weights for every trainable layer, and the ``random`` variant's
frozen conv1 is exactly the ``learned`` variant's starting point.
"""

from __future__ import annotations

from typing import Any

from filterkit.apps.digits.config import MODEL_NAME, N_FIRST_FILTERS, VARIANTS
from torch import nn

from filterkit.errors import UserError
from filterkit.nn.layers import FIXED_BANK, KernelConv2d
from filterkit.nn.train import seed_everything
from filterkit.nn.zoo import build_model

__all__ = ["build_variant", "count_parameters", "first_conv", "fixed_bank_names"]


def first_conv(model: nn.Module) -> tuple[nn.Module, str, nn.Conv2d]:
    """``(parent_module, attribute_name, conv)`` of the first ``nn.Conv2d`` in ``model``."""
    for qualified, module in model.named_modules():
        if isinstance(module, nn.Conv2d):
            parent_name, _, name = qualified.rpartition(".")
            return model.get_submodule(parent_name), name, module
    raise ValueError("the model has no Conv2d layer")


def count_parameters(model: nn.Module) -> tuple[int, int]:
    """``(total, trainable)`` parameter counts."""
    params = list(model.parameters())
    return sum(p.numel() for p in params), sum(p.numel() for p in params if p.requires_grad)


def fixed_bank_names(n: int = N_FIRST_FILTERS) -> list[str]:
    """The kernel names of the fixed bank, matched to ``n`` filters.

    A bank of exactly ``n`` is used as is; a bigger bank is cut to its first
    ``n`` kernels; a smaller one is repeated in order until ``n`` (the copies
    are identical, frozen filters, so the rest of the network keeps its shape).
    """
    names = list(FIXED_BANK)
    if not names:
        raise ValueError("filterkit.nn.layers.FIXED_BANK is empty")
    return [names[i % len(names)] for i in range(n)]


def build_variant(variant: str, seed: int) -> Any:
    """The lecture CNN with the given first layer, seeded: same ``seed`` -> same trainable init."""
    if variant not in VARIANTS:
        raise UserError(f"unknown variant {variant!r} (choose from {', '.join(VARIANTS)})")
    seed_everything(seed)
    model = build_model(MODEL_NAME)
    parent, name, conv = first_conv(model)
    if variant == "fixed":
        bank = KernelConv2d.from_kernels(
            fixed_bank_names(conv.out_channels),
            trainable=False,
            size=conv.kernel_size[0],
            padding=conv.padding,
            bias=conv.bias is not None,  # a frozen zero bias: same parameter count as the other variants
        )
        if tuple(bank.weight.shape) != tuple(conv.weight.shape):
            shapes = f"{tuple(bank.weight.shape)} vs conv1 {tuple(conv.weight.shape)}"
            raise ValueError(f"the fixed bank's weight does not fit conv1: {shapes}")
        setattr(parent, name, bank)
    elif variant == "random":
        conv.requires_grad_(False)
    return model
