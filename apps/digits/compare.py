"""Fixed vs learned first layer: the lecture CNN trained on digits with three kinds of conv1.

The variants (:data:`~filterkit.apps.digits.config.VARIANTS`, built by
:func:`filterkit.apps.digits.model.build_variant`) are ``learned``, ``fixed``
(the frozen fixed filter bank) and ``random`` (conv1 frozen at its init).
Runs are paired: seed ``s`` gives every variant the same initial weights for
the trainable layers and the same order of training batches.  Each run is one
:func:`filterkit.apps.digits.train.train`; test accuracy is measured after
every epoch on the full test set (it is never used to choose anything).  Runs
go through :func:`filterkit.batch.pool.fan_out`, ``config.jobs`` processes at a time.

:func:`run_compare` returns a :class:`CompareResult`; :func:`write_outputs`
writes ``report.md``, ``compare.png`` (learned kernels beside their nearest
fixed kernels, and test accuracy per epoch with mean ± std bands) and
``compare.json``.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
from filterkit.apps.digits.config import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_LR,
    MNIST_MEAN,
    MNIST_STD,
    MODEL_NAME,
    SCHEDULES,
    VARIANTS,
    DigitsConfig,
)
from filterkit.apps.digits.data import DigitsData, make_loaders
from filterkit.apps.digits.model import (
    build_variant,
    count_parameters,
    first_conv,
    fixed_bank_names,
)
from filterkit.apps.digits.train import make_optimizer, train

from filterkit.batch.pool import fan_out
from filterkit.errors import UserError

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_LR",
    "MNIST_MEAN",
    "MNIST_STD",
    "OUTPUT_NAMES",
    "SCHEDULES",
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

#: The comparison's settings are the app's one config (the name ``filterkit compare`` uses).
CompareConfig = DigitsConfig


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

    config: DigitsConfig
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
            "config": self.config.to_dict(),
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


# --------------------------------------------------------------------------- runs


def _conv1(model) -> np.ndarray:
    return first_conv(model)[2].weight.detach().cpu().numpy().astype(np.float32).copy()


def train_run(data: DigitsData, variant: str, seed: int, config: DigitsConfig, progress: bool = False) -> RunResult:
    """Train one variant with one seed (:func:`filterkit.apps.digits.train.train`); test accuracy per epoch."""
    params, trainable = count_parameters(build_variant(variant, seed))
    conv1_initial = _conv1(build_variant(variant, seed))  # train() builds the same network from the same seed
    trainer = train(data, config, variant, seed, progress=progress)
    history = trainer.history
    conv1_final = _conv1(trainer.module)
    trainer.close()
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


def _init_worker(data: DigitsData) -> None:
    """Run once per worker process (and once inline for ``jobs == 1``): the data, sent once."""
    global _WORKER_DATA
    _WORKER_DATA = data


def _worker_run(task: tuple[str, int, DigitsConfig, bool]) -> RunResult:
    assert _WORKER_DATA is not None, "worker not initialised"
    variant, seed, config, progress = task
    return train_run(_WORKER_DATA, variant, seed, config, progress=progress)


def run_compare(data: DigitsData, config: DigitsConfig, progress: bool = True) -> CompareResult:
    """Train every (variant, seed) pair, in ``config.jobs`` processes of ``config.threads`` torch threads each."""
    global _WORKER_DATA
    from tqdm.auto import tqdm

    pairs = [(variant, seed) for seed in config.seeds for variant in config.variants]
    inline = config.jobs == 1 or len(pairs) == 1
    tasks = [(variant, seed, config, progress and inline) for variant, seed in pairs]
    start = time.perf_counter()
    runs: list[RunResult] = []
    bar = tqdm(total=len(tasks), desc="compare runs", unit="run", disable=not progress, dynamic_ncols=True)
    try:
        for _, run in fan_out(_worker_run, tasks, config.jobs, initializer=_init_worker, initargs=(data,)):
            runs.append(run)
            bar.update(1)
            if progress:
                accuracies = " ".join(f"{a:.4f}" for a in run.test_accuracy)
                bar.write(f"{run.variant:>8} seed {run.seed}: test accuracy per epoch {accuracies}")
    finally:
        bar.close()
        _WORKER_DATA = None  # the inline run's reference
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
        "- Model: lecture CNN (conv 25@3x3, max-pool 2, conv 50@3x3, max-pool 2, dense 100, dense 10)",
        f"- Training: Adam, {cfg.schedule} schedule, lr {cfg.lr:g}, batch {cfg.batch_size}, {cfg.epochs} epoch(s), "
        f"seeds {', '.join(map(str, cfg.seeds))}; device {cfg.device}; "
        f"{cfg.jobs} process(es) x {cfg.threads or 'default'} thread(s)",
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
    from filterkit.io import atomic_write, write_report

    outdir = Path(outdir)
    report, figure, json_path = (outdir / name for name in OUTPUT_NAMES)
    written = [plot_figure(result, figure)]
    text = render_report(result, command=command, figure_name=figure.name)
    written.append(atomic_write(report, lambda p: p.write_text(text, encoding="utf-8")))
    written.append(write_report(json_path, result.to_json(), device=str(result.config.device)))
    return written
