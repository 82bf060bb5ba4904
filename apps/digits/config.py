"""Every choice of a digits run, as plain data: :class:`DigitsConfig` (stored in checkpoints and reports).

One dataclass serves both uses of the app: a single lecture-CNN training run
(:func:`filterkit.apps.digits.train.train` reads ``epochs``, ``batch_size``,
``lr``, ``schedule``, ``device``, ``threads``) and the fixed-vs-learned
experiment (:mod:`filterkit.apps.digits.compare` adds ``seeds``, ``variants``
and ``jobs``).  No heavy imports here.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from filterkit.errors import UserError

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_LR",
    "MNIST_MEAN",
    "MNIST_STD",
    "MODEL_NAME",
    "N_FIRST_FILTERS",
    "SCHEDULES",
    "VARIANTS",
    "DigitsConfig",
]

#: First-layer variants of the lecture CNN (the rest of the network is trainable in all three).
VARIANTS: dict[str, str] = {
    "learned": "conv1 learned (default init)",
    "fixed": "conv1 = fixed filter bank, frozen",
    "random": "conv1 random (default init), frozen",
}

#: Normalisation of 0..255 pixels (MNIST training-set mean and std of x/255), used for every data set.
MNIST_MEAN = 0.1307
MNIST_STD = 0.3081

#: The zoo model every digits run trains (:func:`filterkit.nn.zoo.build_model`).
MODEL_NAME = "lecture_cnn"
N_FIRST_FILTERS = 25

#: Learning-rate schedules of :func:`filterkit.apps.digits.train.make_optimizer`.
SCHEDULES: dict[str, str] = {
    "onecycle": "one cycle over the whole run (stepped per batch), peak at --lr",
    "constant": "constant --lr",
}
#: Default Adam peak learning rate and batch size (the recipe timed in benchmarks/mnist.py).
DEFAULT_LR = 3e-3
DEFAULT_BATCH_SIZE = 64


@dataclass(frozen=True)
class DigitsConfig:
    """Everything that defines a digits run or comparison (plain data; ``to_dict()`` goes into files).

    epochs, batch_size, lr, schedule: the training recipe (Adam, ``schedule`` from :data:`SCHEDULES`).
    seeds, variants, jobs: the comparison's runs (one per variant and seed), ``jobs`` processes at a time.
    device, threads: ``"auto"``/``"cpu"``/``"cuda"``; torch CPU threads per process (None: the
    engine's default, :func:`filterkit.nn.train.configure_threads`).
    model, input_mean, input_std: the zoo model and its input normalisation (read by
    :func:`filterkit.visualize.load_model`).
    """

    epochs: int = 2
    seeds: tuple[int, ...] = (0, 1, 2)
    variants: tuple[str, ...] = tuple(VARIANTS)
    batch_size: int = DEFAULT_BATCH_SIZE
    lr: float = DEFAULT_LR
    schedule: str = "onecycle"
    device: str = "auto"
    jobs: int = 1
    threads: int | None = None
    model: str = MODEL_NAME
    input_mean: float = MNIST_MEAN
    input_std: float = MNIST_STD

    def __post_init__(self) -> None:
        object.__setattr__(self, "seeds", tuple(int(s) for s in self.seeds))
        object.__setattr__(self, "variants", tuple(self.variants))
        unknown = [v for v in self.variants if v not in VARIANTS]
        if unknown:
            raise UserError(f"--variants: unknown variant {unknown[0]!r} (choose from {', '.join(VARIANTS)})")
        if not self.variants:
            raise UserError("--variants: give at least one variant")
        if len(set(self.variants)) != len(self.variants) or len(set(self.seeds)) != len(self.seeds):
            raise UserError("--variants/--seeds: each may appear only once")
        for name in ("epochs", "batch_size", "jobs", "threads"):
            if getattr(self, name) is not None and getattr(self, name) < 1:
                raise UserError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(self, name)}")
        if not self.seeds:
            raise UserError("--seeds: give at least one seed")
        if self.schedule not in SCHEDULES:
            raise UserError(f"--schedule: unknown schedule {self.schedule!r} (choose from {', '.join(SCHEDULES)})")
        if not self.lr > 0:
            raise UserError(f"--lr must be positive, got {self.lr}")
        if self.model != MODEL_NAME:
            raise UserError(f"the digits app trains the {MODEL_NAME} model, got {self.model!r}")

    def to_dict(self) -> dict:
        """Plain python types (tuples become lists), for checkpoints and JSON."""
        data = asdict(self)
        data["seeds"], data["variants"] = list(self.seeds), list(self.variants)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "DigitsConfig":
        """The inverse of :meth:`to_dict`; keys that are not fields (``variant``, ``seed``, ...) are ignored."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})
