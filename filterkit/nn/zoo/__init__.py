"""Model zoo: classic CNN architectures built from scratch (no torchvision).

    >>> from filterkit.nn.zoo import build_model, model_names, default_input
    >>> model = build_model("lecture_cnn")             # nn.Module, random init
    >>> default_input("lecture_cnn")                   # (C, H, W) of one sample
    (1, 28, 28)

Every builder accepts ``num_classes`` and ``in_channels``; some take more
(``lenet5(variant=...)``, ``googlenet(aux_logits=...)``).  Build under
``with torch.device("meta"):`` to get the architecture without allocating
or initialising weights (what ``filterkit summary`` does).

Each family lives in its own module and documents the choices it makes where
the paper is ambiguous or inconsistent:

=================  ==========================================  ===========  =============
name               paper                                       input        parameters
=================  ==========================================  ===========  =============
lecture_cnn        lecture MNIST CNN (ReLU)                    1x28x28          137,660
lenet5             LeCun et al. 1998, LeNet-5 (faithful)       1x32x32           60,840
alexnet_grouped    Krizhevsky et al. 2012, two-GPU layout      3x227x227     60,965,224
alexnet            single tower (torchvision layout)           3x224x224     61,100,840
vgg16              Simonyan & Zisserman 2014, config D         3x224x224    138,357,544
googlenet          Szegedy et al. 2014, Inception v1           3x224x224      6,998,552
resnet18           He et al. 2015                              3x224x224     11,689,512
resnet50           He et al. 2015 (stride on the 3x3, "v1.5")  3x224x224     25,557,032
allcnn_c           Springenberg et al. 2014, All-CNN-C         3x32x32        1,369,738
strided_cnn_c      Springenberg et al. 2014, Strided-CNN-C     3x32x32          954,730
convpool_cnn_c     Springenberg et al. 2014, ConvPool-CNN-C    3x32x32        1,369,738
model_c            Springenberg et al. 2014, base Model C      3x32x32          954,730
=================  ==========================================  ===========  =============

(parameters with the default ``num_classes`` and ``in_channels``; the tests check every figure.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from filterkit.errors import UserError

__all__ = ["ModelSpec", "build_model", "default_input", "model_names", "model_spec"]


@dataclass(frozen=True)
class ModelSpec:
    """One zoo entry: where its builder lives, its default input (C, H, W) and a one-line description."""

    name: str
    module: str  # module under filterkit.nn.zoo that defines the builder
    builder: str  # function name in that module
    input_shape: tuple[int, int, int]
    description: str


_SPECS: tuple[ModelSpec, ...] = (
    ModelSpec("lecture_cnn", "lecture", "lecture_cnn", (1, 28, 28),
              "lecture MNIST CNN: conv 25@3x3, pool 2, conv 50@3x3, pool 2, dense 100, dense 10 (ReLU)"),
    ModelSpec("lenet5", "lenet", "lenet5", (1, 32, 32),
              "LeNet-5 (LeCun et al. 1998): C3 connection table, trainable subsampling, RBF output"),
    ModelSpec("alexnet", "alexnet", "alexnet", (3, 224, 224),
              "AlexNet, single tower (torchvision layout: 64-192-384-256-256)"),
    ModelSpec("alexnet_grouped", "alexnet", "alexnet_grouped", (3, 227, 227),
              "AlexNet (Krizhevsky et al. 2012), two-GPU layout: conv2/4/5 with groups=2, LRN"),
    ModelSpec("vgg16", "vgg", "vgg16", (3, 224, 224), "VGG-16 (Simonyan & Zisserman 2014, configuration D)"),
    ModelSpec("googlenet", "googlenet", "googlenet", (3, 224, 224),
              "GoogLeNet / Inception v1 (Szegedy et al. 2014); aux_logits=True adds the two auxiliary heads"),
    ModelSpec("resnet18", "resnet", "resnet18", (3, 224, 224), "ResNet-18 (He et al. 2015), basic blocks"),
    ModelSpec("resnet50", "resnet", "resnet50", (3, 224, 224), "ResNet-50 (He et al. 2015), bottleneck blocks"),
    ModelSpec("allcnn_c", "allcnn", "allcnn_c", (3, 32, 32),
              "All-CNN-C (Springenberg et al. 2014): pooling replaced by stride-2 convolutions"),
    ModelSpec("strided_cnn_c", "allcnn", "strided_cnn_c", (3, 32, 32),
              "Strided-CNN-C: Model C with the pooling removed and the previous conv strided"),
    ModelSpec("convpool_cnn_c", "allcnn", "convpool_cnn_c", (3, 32, 32),
              "ConvPool-CNN-C: Model C with an extra conv before each pooling"),
    ModelSpec("model_c", "allcnn", "model_c", (3, 32, 32), "Model C: the max-pooling base model of All-CNN-C"),
)
_BY_NAME: dict[str, ModelSpec] = {spec.name: spec for spec in _SPECS}


def model_names() -> list[str]:
    """Names accepted by :func:`build_model`, in zoo order."""
    return [spec.name for spec in _SPECS]


def model_spec(name: str) -> ModelSpec:
    """The :class:`ModelSpec` of ``name``; :class:`UserError` naming the valid names otherwise."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise UserError(f"unknown model {name!r}; choose one of: {', '.join(model_names())}") from None


def default_input(name: str) -> tuple[int, int, int]:
    """Default input shape (C, H, W) of one sample for model ``name``."""
    return model_spec(name).input_shape


def _builder(spec: ModelSpec) -> Callable[..., Any]:
    import importlib

    return getattr(importlib.import_module(f"filterkit.nn.zoo.{spec.module}"), spec.builder)


def build_model(name: str, **kwargs: Any):
    """Build zoo model ``name`` (an ``nn.Module`` in training mode, freshly initialised).

    ``kwargs`` go to the family's builder: every one takes ``num_classes`` and
    ``in_channels``.  Unknown names or options raise :class:`UserError`.
    """
    import inspect

    spec = model_spec(name)
    builder = _builder(spec)
    accepted = inspect.signature(builder).parameters
    unknown = sorted(set(kwargs) - set(accepted))
    if unknown:
        options = ", ".join(p for p in accepted)
        raise UserError(f"model {name!r} has no option {', '.join(unknown)}; its options are: {options}")
    return builder(**kwargs)
