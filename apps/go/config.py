"""Every choice of a go training run, as plain data (stored in checkpoints; no heavy imports).

A checkpoint holds ``GoConfig.to_dict()`` under ``config``; :func:`filterkit.apps.go.model.load`
rebuilds the network from it with :meth:`GoConfig.from_dict`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

__all__ = ["GoConfig", "MODEL_KEYS"]

# the fields that fix the network's shape: a checkpoint's weights fit a net only if these agree
MODEL_KEYS = ("features", "size", "layers", "width", "batch_norm", "pass_move", "heads")


@dataclass
class GoConfig:
    """The network and the training settings of one run."""

    # the network (:class:`filterkit.apps.go.model.PolicyNet`)
    features: str = "full"  # "full": 17 planes; "stones": 3 planes (filterkit.apps.go.features)
    size: int = 19  # board size the net was trained on (taken from the prepared data)
    layers: int = 6  # convolution layers (AlphaGo: 13)
    width: int = 64  # channels per hidden layer (AlphaGo: 192)
    batch_norm: bool = True  # BatchNorm after each hidden convolution (AlphaGo: none)
    pass_move: bool = True  # a pass logit beside the size*size point logits
    heads: bool = False  # ownership and score heads on the trunk (trained on games labelled by prepare)
    # training
    epochs: int = 1  # total epochs, counting those before a --resume
    epoch_positions: int | None = None  # random training positions per epoch (None: all)
    val_positions: int | None = 20000  # fixed, evenly spaced validation positions (None: all)
    batch_size: int = 128
    lr: float = 1e-3  # AdamW
    lr_schedule: str = "cosine"  # "cosine": decay to 0 over every step of the run; "constant"
    weight_decay: float = 1e-4
    augment: bool = True  # a random board symmetry per training position
    workers: int = 0  # data-loading worker processes
    seed: int = 0
    train_split: str = "train"
    val_split: str = "val"  # skipped when the prepared data has no such split
    # filled in by training, from the data
    train_positions: int = 0
    move_counts: list[int] | None = field(default=None, repr=False)  # moves played per point (pass last)
    init: str | None = None  # checkpoint whose weights started the run (--init)
    freeze_trunk: bool = False  # train only the heads (the policy stays exactly as --init's)
    ownership_weight: float = 1.0  # loss weights of the heads beside the policy's cross-entropy
    score_weight: float = 1.0

    def __post_init__(self) -> None:
        if self.features not in ("full", "stones"):
            raise ValueError(f"features must be 'full' or 'stones', got {self.features!r}")
        if self.lr_schedule not in ("cosine", "constant"):
            raise ValueError(f"lr_schedule must be 'cosine' or 'constant', got {self.lr_schedule!r}")
        if not isinstance(self.layers, int) or self.layers < 2:
            raise ValueError(f"layers must be at least 2 (a 5x5 and the 1x1 output), got {self.layers!r}")
        for name in ("size", "width", "epochs", "batch_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")

    def to_dict(self) -> dict:
        """Plain python data (what a checkpoint stores)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "GoConfig":
        """The config of ``data`` (unknown keys ignored, missing ones take their defaults)."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    def model_dict(self) -> dict:
        """The fields that fix the network's shape."""
        return {k: getattr(self, k) for k in MODEL_KEYS}
