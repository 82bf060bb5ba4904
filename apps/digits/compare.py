"""Fixed vs learned first layer: the lecture CNN trained on digits with three kinds of conv1.

Variants (the rest of the network is trainable in all three):

* ``learned`` - conv1 (25 filters of 3x3) trained from torch's default init;
* ``fixed``   - conv1 replaced by the frozen fixed filter bank
  (:data:`filterkit.nn.layers.FIXED_BANK`, see :func:`fixed_bank_names` for how
  its size is matched to 25 filters);
* ``random``  - conv1 left at its random init and frozen.

Runs are paired: seed ``s`` gives every variant the same initial weights for
the trainable layers and the same order of training batches, and the
``random`` variant's frozen conv1 is exactly the ``learned`` variant's
starting point.  Training goes through the one engine,
:class:`filterkit.nn.train.Trainer`; test accuracy is measured after every epoch
on the full test set (it is never used to choose anything).

:func:`run_compare` returns a :class:`CompareResult`; :func:`write_outputs`
writes ``report.md``, ``compare.png`` (learned kernels beside their nearest
fixed kernels, and test accuracy per epoch with mean ± std bands) and
``compare.json``.
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from filterkit.apps.digits.data import DigitsData
from filterkit.errors import UserError

__all__ = [
    "MNIST_MEAN",
    "MNIST_STD",
    "VARIANTS",
    "CompareConfig",
    "CompareResult",
    "RunResult",
    "build_variant",
    "count_parameters",
    "first_conv",
    "fixed_bank_names",
    "make_loaders",
    "make_optimizer",
    "parse_seeds",
    "plot_figure",
    "render_report",
    "run_compare",
    "train_run",
    "write_outputs",
]

VARIANTS: dict[str, str] = {
    "learned": "conv1 learned (default init)",
    "fixed": "conv1 = fixed filter bank, frozen",
    "random": "conv1 random (default init), frozen",
}

# Normalisation of 0..255 pixels (MNIST training-set mean and std of x/255), used for every data set.
MNIST_MEAN = 0.1307
MNIST_STD = 0.3081

MODEL_NAME = "lecture_cnn"
N_FIRST_FILTERS = 25

#: Learning-rate schedules of :func:`make_optimizer`.
SCHEDULES: dict[str, str] = {
    "onecycle": "one cycle over the whole run (stepped per batch), peak at --lr",
    "constant": "constant --lr",
}
#: Default Adam peak learning rate and batch size (the recipe measured in benchmarks/mnist.py).
DEFAULT_LR = 3e-3
DEFAULT_BATCH_SIZE = 64


@dataclass(frozen=True)
class CompareConfig:
    """Everything that defines a comparison (plain data: stored in the JSON)."""

    epochs: int = 2
    seeds: tuple[int, ...] = (0, 1, 2)
    variants: tuple[str, ...] = tuple(VARIANTS)
    batch_size: int = DEFAULT_BATCH_SIZE
    lr: float = DEFAULT_LR
    schedule: str = "onecycle"
    device: str = "cpu"
    jobs: int = 1
    threads: int = 1

    def __post_init__(self) -> None:
        unknown = [v for v in self.variants if v not in VARIANTS]
        if unknown:
            raise UserError(f"--variants: unknown variant {unknown[0]!r} (choose from {', '.join(VARIANTS)})")
        if not self.variants:
            raise UserError("--variants: give at least one variant")
        if len(set(self.variants)) != len(self.variants) or len(set(self.seeds)) != len(self.seeds):
            raise UserError("--variants/--seeds: each may appear only once")
        for name in ("epochs", "batch_size", "jobs", "threads"):
            if getattr(self, name) < 1:
                raise UserError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(self, name)}")
        if not self.seeds:
            raise UserError("--seeds: give at least one seed")
        if self.schedule not in SCHEDULES:
            raise UserError(f"--schedule: unknown schedule {self.schedule!r} (choose from {', '.join(SCHEDULES)})")
        if not self.lr > 0:
            raise UserError(f"--lr must be positive, got {self.lr}")


@dataclass
class RunResult:
    """One (variant, seed) training run."""

    variant: str
    seed: int
    test_accuracy: list[float]
    test_loss: list[float]
    train_loss: list[float]
    epoch_seconds: list[float]
    params: int
    trainable_params: int
    conv1_initial: np.ndarray  # (25, 1, 3, 3) float32
    conv1_final: np.ndarray  # (25, 1, 3, 3) float32


@dataclass
class CompareResult:
    """All runs of a comparison plus what is needed to report them."""

    config: CompareConfig
    dataset: dict
    runs: list[RunResult]
    wall_seconds: float
    bank_names: list[str] = field(default_factory=list)

    def runs_of(self, variant: str) -> list[RunResult]:
        return sorted((r for r in self.runs if r.variant == variant), key=lambda r: r.seed)

    def accuracy_matrix(self, variant: str) -> np.ndarray:
        """Test accuracy, shape ``(n_seeds, epochs)``."""
        return np.array([r.test_accuracy for r in self.runs_of(variant)], dtype=np.float64)

    def mean_std(self, variant: str) -> tuple[np.ndarray, np.ndarray]:
        """Per-epoch mean and sample standard deviation (ddof=1; 0 for a single seed) over seeds."""
        acc = self.accuracy_matrix(variant)
        std = acc.std(axis=0, ddof=1) if len(acc) > 1 else np.zeros(acc.shape[1])
        return acc.mean(axis=0), std

    def to_json(self) -> dict:
        """``{"variants": {name: {"seeds": {...}, "mean", "std", "params", "trainable_params"}}, ...}``."""
        variants = {}
        for name in self.config.variants:
            runs = self.runs_of(name)
            mean, std = self.mean_std(name)
            variants[name] = {
                "description": VARIANTS[name],
                "seeds": {
                    str(r.seed): {
                        "test_accuracy": r.test_accuracy,
                        "test_loss": r.test_loss,
                        "train_loss": r.train_loss,
                        "epoch_seconds": r.epoch_seconds,
                    }
                    for r in runs
                },
                "mean": mean.tolist(),
                "std": std.tolist(),
                "params": runs[0].params,
                "trainable_params": runs[0].trainable_params,
            }
        return {
            "variants": variants,
            "epochs": self.config.epochs,
            "seeds": list(self.config.seeds),
            "dataset": self.dataset,
            "model": MODEL_NAME,
            "fixed_bank": self.bank_names,
            "config": asdict(self.config),
            "std_ddof": 1,
            "wall_seconds": self.wall_seconds,
        }


def parse_seeds(text: str, base_seed: int = 0) -> tuple[int, ...]:
    """``"3"`` -> ``(base, base+1, base+2)``; ``"0,4,7"`` -> ``(0, 4, 7)``."""
    text = str(text).strip()
    try:
        if "," in text:
            seeds = tuple(int(s) for s in text.split(",") if s.strip())
        else:
            count = int(text)
            if count < 1:
                raise UserError(f"--seeds: need at least one seed, got {count}")
            seeds = tuple(range(base_seed, base_seed + count))
    except ValueError:
        raise UserError(f"--seeds: expected a count (3) or a comma-separated list (0,1,2), got {text!r}") from None
    if not seeds:
        raise UserError(f"--seeds: no seeds in {text!r}")
    return seeds


# --------------------------------------------------------------------------- models


def first_conv(model) -> tuple[Any, str, Any]:
    """``(parent_module, attribute_name, conv)`` of the first ``nn.Conv2d`` in ``model``."""
    from torch import nn

    for qualified, module in model.named_modules():
        if isinstance(module, nn.Conv2d):
            parent_name, _, name = qualified.rpartition(".")
            return model.get_submodule(parent_name), name, module
    raise ValueError("the model has no Conv2d layer")


def count_parameters(model) -> tuple[int, int]:
    """``(total, trainable)`` parameter counts."""
    params = list(model.parameters())
    return sum(p.numel() for p in params), sum(p.numel() for p in params if p.requires_grad)


def fixed_bank_names(n: int = N_FIRST_FILTERS) -> list[str]:
    """The kernel names of the fixed bank, matched to ``n`` filters.

    A bank of exactly ``n`` is used as is; a bigger bank is cut to its first
    ``n`` kernels; a smaller one is repeated in order until ``n`` (the copies
    are identical, frozen filters, so the rest of the network keeps its shape).
    """
    from filterkit.nn.layers import FIXED_BANK

    names = list(FIXED_BANK)
    if not names:
        raise ValueError("filterkit.nn.layers.FIXED_BANK is empty")
    return [names[i % len(names)] for i in range(n)]


def build_variant(variant: str, seed: int) -> Any:
    """The lecture CNN with the given first layer, seeded: same ``seed`` -> same trainable init."""
    from filterkit.nn.layers import KernelConv2d
    from filterkit.nn.train import seed_everything
    from filterkit.nn.zoo import build_model

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


# --------------------------------------------------------------------------- data


def _tensors(images: np.ndarray, labels: np.ndarray):
    import torch

    x = torch.from_numpy(images).to(torch.float32).div_(255.0).sub_(MNIST_MEAN).div_(MNIST_STD).unsqueeze(1)
    return torch.utils.data.TensorDataset(x, torch.from_numpy(labels))


def make_loaders(data: DigitsData, batch_size: int, seed: int):
    """``(train_loader, test_loader)`` of normalised (N, 1, 28, 28) images; training order fixed by ``seed``."""
    import torch

    generator = torch.Generator().manual_seed(int(seed))
    train = torch.utils.data.DataLoader(
        _tensors(data.train_images, data.train_labels), batch_size=batch_size, shuffle=True, generator=generator
    )
    test = torch.utils.data.DataLoader(_tensors(data.test_images, data.test_labels), batch_size=1000)
    return train, test


# --------------------------------------------------------------------------- training


def make_optimizer(model, lr: float, epochs: int, steps_per_epoch: int, schedule: str = "onecycle"):
    """``(optimizer, scheduler, interval)``: Adam over the trainable parameters and its LR schedule.

    ``"onecycle"``: :class:`torch.optim.lr_scheduler.OneCycleLR` with peak ``lr``
    over ``epochs * steps_per_epoch`` steps (interval ``"step"``); ``"constant"``:
    no scheduler.  This is the recipe that reaches 99 % MNIST test accuracy
    within 3 epochs (``benchmarks/mnist.py``).
    """
    import torch

    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr)
    if schedule == "constant":
        return optimizer, None, "epoch"
    if schedule == "onecycle":
        total = max(1, int(epochs) * int(steps_per_epoch))
        return optimizer, torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=total), "step"
    raise ValueError(f"unknown schedule {schedule!r} (choose from {', '.join(SCHEDULES)})")



def train_run(data: DigitsData, variant: str, seed: int, config: CompareConfig, progress: bool = False) -> RunResult:
    """Train one variant with one seed through :class:`filterkit.nn.train.Trainer`; test accuracy per epoch."""
    import torch

    from filterkit.nn.train import Trainer, accuracy

    model = build_variant(variant, seed)
    _, _, conv = first_conv(model)
    conv1_initial = conv.weight.detach().cpu().numpy().astype(np.float32).copy()
    params, trainable = count_parameters(model)
    train_loader, test_loader = make_loaders(data, config.batch_size, seed)
    optimizer, scheduler, interval = make_optimizer(
        model, config.lr, config.epochs, len(train_loader), config.schedule
    )
    trainer = Trainer(
        model,
        optimizer,
        torch.nn.functional.cross_entropy,
        app="compare",
        config={"model": MODEL_NAME, "input_mean": MNIST_MEAN, "input_std": MNIST_STD, "variant": variant,
                "seed": seed, "lr": config.lr, "batch_size": config.batch_size},
        device=config.device,
        scheduler=scheduler,
        scheduler_interval=interval,
        metrics={"accuracy": accuracy},
        max_epochs=config.epochs,
        progress=progress,
        tensorboard=False,
        threads=config.threads,
        seed=seed,
    )
    history = trainer.fit(train_loader, test_loader)
    conv1_final = first_conv(trainer.module)[2].weight.detach().cpu().numpy().astype(np.float32).copy()
    return RunResult(
        variant=variant,
        seed=seed,
        test_accuracy=[float(row["val_accuracy"]) for row in history],
        test_loss=[float(row["val_loss"]) for row in history],
        train_loss=[float(row["train_loss"]) for row in history],
        epoch_seconds=[float(row["seconds"]) for row in history],
        params=params,
        trainable_params=trainable,
        conv1_initial=conv1_initial,
        conv1_final=conv1_final,
    )


_WORKER_DATA: DigitsData | None = None


def _init_worker(data: DigitsData, threads: int) -> None:
    global _WORKER_DATA
    import signal

    import torch

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and terminates the pool
    torch.set_num_threads(threads)
    _WORKER_DATA = data


def _worker_run(task: tuple[str, int, CompareConfig]) -> RunResult:
    assert _WORKER_DATA is not None, "worker not initialised"
    variant, seed, config = task
    return train_run(_WORKER_DATA, variant, seed, config)


def _run_in_processes(data: DigitsData, tasks, config: CompareConfig, done) -> None:
    """Train ``tasks`` in ``config.jobs`` spawned processes; ``done(run)`` as each finishes.

    Workers ignore SIGINT; on Ctrl-C (or any error) the main process kills them at once.
    """
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    pool = context.Pool(min(config.jobs, len(tasks)), initializer=_init_worker, initargs=(data, config.threads))
    try:
        for run in pool.imap_unordered(_worker_run, [(v, s, config) for v, s in tasks]):
            done(run)
    except BaseException:
        pool.terminate()
        raise
    else:
        pool.close()
    finally:
        pool.join()


def run_compare(
    data: DigitsData,
    config: CompareConfig,
    progress: bool = True,
) -> CompareResult:
    """Train every (variant, seed) pair, in ``config.jobs`` processes of ``config.threads`` torch threads each."""
    from tqdm.auto import tqdm

    tasks = [(variant, seed) for seed in config.seeds for variant in config.variants]
    start = time.perf_counter()
    runs: list[RunResult] = []
    bar = tqdm(total=len(tasks), desc="compare runs", unit="run", disable=not progress, dynamic_ncols=True)

    def done(run: RunResult) -> None:
        runs.append(run)
        bar.update(1)
        if progress:
            bar.write(f"{run.variant:>8} seed {run.seed}: test accuracy per epoch "
                      + " ".join(f"{a:.4f}" for a in run.test_accuracy))

    try:
        if config.jobs == 1 or len(tasks) == 1:
            from filterkit.nn.train import configure_threads

            configure_threads(config.threads)
            for variant, seed in tasks:
                done(train_run(data, variant, seed, config, progress=progress))
        else:
            _run_in_processes(data, tasks, config, done)
    finally:
        bar.close()
    bank = fixed_bank_names() if "fixed" in config.variants or "learned" in config.variants else []
    return CompareResult(
        config=config,
        dataset=data.summary(),
        runs=runs,
        wall_seconds=time.perf_counter() - start,
        bank_names=bank,
    )


# --------------------------------------------------------------------------- report


def _nearest(weights: np.ndarray, names: Sequence[str]) -> list[tuple[str, float]]:
    """For each kernel in ``weights`` (K, 1, 3, 3): (nearest fixed kernel name, cosine similarity)."""
    import torch

    from filterkit.nn.layers import nearest_kernels

    found = nearest_kernels(torch.as_tensor(weights), bank=list(dict.fromkeys(names)))
    return [(str(name), float(cos)) for name, cos in found]


def _bank_kernel(name: str, size: int) -> np.ndarray:
    from filterkit.nn.layers import kernel_bank

    return kernel_bank([name], size)[0]


def _fmt_acc(mean: float, std: float) -> str:
    return f"{100 * mean:.2f} ± {100 * std:.2f}"


def render_report(result: CompareResult, command: str = "", figure_name: str = "compare.png") -> str:
    """The Markdown report: setup, accuracy per epoch (mean ± std over seeds), parameters, per-seed table."""
    cfg = result.config
    ds = result.dataset
    lines = [
        "# Fixed vs learned first layer (filterkit compare)",
        "",
        f"- Data: {ds['description']} — {ds['train']} training, {ds['test']} test images",
        f"- Model: lecture CNN (conv 25@3x3, max-pool 2, conv 50@3x3, max-pool 2, dense 100, dense 10)",
        f"- Training: Adam, {cfg.schedule} schedule, lr {cfg.lr:g}, batch {cfg.batch_size}, {cfg.epochs} epoch(s), "
        f"seeds {', '.join(map(str, cfg.seeds))}; device {cfg.device}; "
        f"{cfg.jobs} process(es) x {cfg.threads} thread(s)",
        f"- Wall time: {result.wall_seconds:.0f} s",
    ]
    if command:
        lines.append(f"- Command: `{command}`")
    lines += [
        "",
        "Test accuracy (%) after each epoch, mean ± sample standard deviation (ddof=1) over seeds:",
        "",
        "| variant | first layer | params | trainable | "
        + " | ".join(f"epoch {e + 1}" for e in range(cfg.epochs))
        + " |",
        "|---|---|---:|---:|" + "---:|" * cfg.epochs,
    ]
    for name in cfg.variants:
        runs = result.runs_of(name)
        mean, std = result.mean_std(name)
        cells = " | ".join(_fmt_acc(m, s) for m, s in zip(mean, std))
        lines.append(f"| {name} | {VARIANTS[name]} | {runs[0].params:,} | {runs[0].trainable_params:,} | {cells} |")
    lines += [
        "",
        "Final test accuracy (%) per seed:",
        "",
        "| variant | " + " | ".join(f"seed {s}" for s in cfg.seeds) + " |",
        "|---|" + "---:|" * len(cfg.seeds),
    ]
    for name in cfg.variants:
        by_seed = {r.seed: r.test_accuracy[-1] for r in result.runs_of(name)}
        lines.append(f"| {name} | " + " | ".join(f"{100 * by_seed[s]:.2f}" for s in cfg.seeds) + " |")
    if result.bank_names:
        unique = list(dict.fromkeys(result.bank_names))
        lines += ["", f"Fixed bank ({len(unique)} kernels"
                  + (f", repeated to {len(result.bank_names)} filters" if len(unique) < len(result.bank_names) else "")
                  + "): " + ", ".join(unique)]
    if "learned" in cfg.variants and result.bank_names:
        run = result.runs_of("learned")[0]
        cos = np.array([c for _, c in _nearest(run.conv1_final, result.bank_names)])
        cos_init = np.array([c for _, c in _nearest(run.conv1_initial, result.bank_names)])
        lines += [
            "",
            f"Learned conv1 (seed {run.seed}) vs the fixed bank, cosine similarity to the nearest fixed kernel: "
            f"median {np.median(cos):.2f}, min {cos.min():.2f}, max {cos.max():.2f} "
            f"(at init, same seed: median {np.median(cos_init):.2f}).",
        ]
    lines += ["", f"![learned kernels beside their nearest fixed kernels; accuracy per epoch]({figure_name})", ""]
    return "\n".join(lines)


def plot_figure(result: CompareResult, path: str | os.PathLike) -> Path:
    """PNG: learned conv1 kernels beside their nearest fixed kernels (left), test accuracy per epoch ± std (right)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from filterkit.io import atomic_write

    cfg = result.config
    show_kernels = "learned" in cfg.variants and bool(result.bank_names)
    fig = plt.figure(figsize=(15, 6.5) if show_kernels else (7, 5), layout="constrained")
    if show_kernels:
        left, right = fig.subfigures(1, 2, width_ratios=[1.7, 1])
        run = result.runs_of("learned")[0]
        kernels = run.conv1_final[:, 0]
        nearest = _nearest(run.conv1_final, result.bank_names)
        pairs_per_row = 5
        rows = -(-len(kernels) // pairs_per_row)
        axes = left.subplots(rows, 2 * pairs_per_row, squeeze=False)
        for ax in axes.ravel():
            ax.axis("off")
        for i, (kernel, (name, cos)) in enumerate(zip(kernels, nearest)):
            r, c = divmod(i, pairs_per_row)
            fixed = _bank_kernel(name, kernel.shape[-1])
            for j, (img, title) in enumerate(((kernel, f"learned #{i}"), (fixed, f"{name}\ncos {cos:.2f}"))):
                ax = axes[r, 2 * c + j]
                lim = float(np.abs(img).max()) or 1.0
                ax.imshow(img, cmap="RdBu_r", vmin=-lim, vmax=lim, interpolation="nearest")
                ax.set_title(title, fontsize=7)
        left.suptitle(
            f"learned conv1 (seed {run.seed}, after {cfg.epochs} epoch(s)) beside its nearest fixed kernel "
            "(cosine similarity; red > 0 > blue, each kernel scaled to its own max |w|)",
            fontsize=9,
        )
        ax_acc = right.subplots()
    else:
        ax_acc = fig.add_subplot(1, 1, 1)
    epochs = np.arange(1, cfg.epochs + 1)
    for name in cfg.variants:
        mean, std = result.mean_std(name)
        line = ax_acc.errorbar(
            epochs, 100 * mean, yerr=100 * std, marker="o", capsize=3, label=f"{name}: {VARIANTS[name]}"
        ).lines[0]
        ax_acc.fill_between(epochs, 100 * (mean - std), 100 * (mean + std), color=line.get_color(), alpha=0.2)
    ax_acc.set_xlabel("epoch")
    ax_acc.set_ylabel("test accuracy (%)")
    ax_acc.set_xticks(epochs)
    ax_acc.set_title(f"{result.dataset['name']}: mean ± std over {len(cfg.seeds)} seed(s)", fontsize=10)
    ax_acc.grid(alpha=0.3)
    ax_acc.legend(fontsize=8, loc="lower right")
    target = atomic_write(path, lambda p: fig.savefig(p, dpi=110))
    plt.close(fig)
    return target


OUTPUT_NAMES = ("report.md", "compare.png", "compare.json")


def write_outputs(result: CompareResult, outdir: str | os.PathLike, command: str = "") -> list[Path]:
    """Write ``report.md``, ``compare.png`` and ``compare.json`` into ``outdir`` (atomically)."""
    from filterkit.io import atomic_write, write_json

    outdir = Path(outdir)
    report, figure, json_path = (outdir / name for name in OUTPUT_NAMES)
    written = [plot_figure(result, figure)]
    text = render_report(result, command=command, figure_name=figure.name)
    written.append(atomic_write(report, lambda p: p.write_text(text, encoding="utf-8")))
    written.append(write_json(json_path, result.to_json()))
    return written
