"""Prepare, train and evaluate the policy network (the work behind ``filterkit go``)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from filterkit.errors import UserError

from filterkit.apps.go import records
from filterkit.apps.go.dataset import Positions, encode_games, open_positions, read_info, write_positions
from filterkit.apps.go.features import decode, n_planes
from filterkit.apps.go.stats import game_bootstrap

APP = "go"


# ------------------------------------------------------------------ prepare

def prepare(data: str | Path, out: str | Path, splits: list[str] | None = None, max_games: int | None = None,
            size: int = 19, force: bool = False, progress: bool = True) -> dict:
    """Convert the games of ``data`` into ``out/<split>/`` folders; return ``{split: info}``.

    ``data`` with a manifest is read by split (default train, val, ci_subset);
    any other folder/archive/file becomes the single split ``all``.
    """
    import itertools

    data, out = Path(data), Path(out)
    if records.has_manifest(data):
        splits = splits or ["train", "val", "ci_subset"]
    else:
        if splits and splits != ["all"]:
            raise UserError(f"{data}: has no {records.MANIFEST}, so its only split is 'all'")
        splits = ["all"]
    infos = {}
    for split in splits:
        errors: list[str] = []
        games = records.iter_records(data, split, errors=errors)
        if max_games:
            games = itertools.islice(games, max_games)
        info = write_positions(games, out / split, size=size, force=force, progress=progress,
                               source=f"{data} [{split}]")
        info["skipped"] = errors + info["skipped"]
        infos[split] = info
    return infos


def load_positions(data: str | Path, split: str, size: int = 19, progress: bool = True) -> Positions:
    """Positions of ``split`` from a prepared root (``data/split``), a prepared split, or raw games."""
    data = Path(data)
    if (data / split / "info.json").is_file():
        return open_positions(data / split)
    if (data / "info.json").is_file():
        return open_positions(data)
    if not data.exists():
        raise UserError(f"{data}: no such file or folder")
    skipped: list[str] = []
    return encode_games(records.iter_records(data, split, errors=skipped), size=size, progress=progress,
                        skipped=skipped)


# -------------------------------------------------------------------- model

def build_model(config: dict):
    from filterkit.apps.go.model import PolicyNet

    return PolicyNet(n_planes(config["features"]), config["size"], config["layers"], config["width"],
                     pass_move=config["pass_move"], batch_norm=config["batch_norm"])


def load_model(path: str | Path):
    """``(model in eval mode on CPU, config)`` from a ``filterkit go train`` checkpoint."""
    from filterkit.nn.train import read_checkpoint

    ckpt = read_checkpoint(path, expected_app=APP)
    model = build_model(ckpt["config"])
    model.load_state_dict(ckpt["model"])
    model.eval()
    return model, ckpt["config"]


def top5(outputs, targets):
    """Fraction of rows whose target is among the 5 highest logits."""
    import torch

    return (outputs.topk(5, dim=1).indices == targets[:, None]).any(dim=1).to(torch.float64).mean()


def train(data: str | Path, out: str | Path, *, features: str = "full", layers: int = 6, width: int = 64,
          batch_norm: bool = True, pass_move: bool = True, epochs: int = 1, epoch_positions: int | None = None,
          val_positions: int | None = 20000, batch_size: int = 128, lr: float = 1e-3, weight_decay: float = 1e-4,
          lr_schedule: str = "cosine",
          augment: bool = True, device: str = "auto", seed: int = 0, progress: bool = True,
          train_split: str = "train", val_split: str = "val", workers: int = 0, resume: str | None = None,
          init: str | None = None) -> dict:
    """Train on prepared splits under ``data``; checkpoints in ``out`` (last.pt, best.pt); return a report.

    ``init``: a checkpoint whose weights start this run (same layers and width;
    fresh optimiser and schedule: fine-tuning, e.g. a longer run at a lower lr).
    ``resume``: a ``last.pt`` to continue from (model, optimiser, epoch, RNG
    and data order restored by the Trainer); ``epochs`` is the total count.
    """
    import torch
    from torch.utils.data import BatchSampler, RandomSampler

    from filterkit.nn.train import Trainer, accuracy, seed_everything

    from filterkit.apps.go.dataset import PositionBatches, position_loader

    data = Path(data)
    train_info = read_info(data / train_split)
    train_pos = open_positions(data / train_split)
    val_pos = open_positions(data / val_split) if (data / val_split / "info.json").is_file() else None
    size = train_info["size"]
    config = {"features": features, "size": size, "layers": layers, "width": width, "batch_norm": batch_norm,
              "pass_move": pass_move, "lr": lr, "lr_schedule": lr_schedule, "weight_decay": weight_decay,
              "batch_size": batch_size,
              "augment": augment, "train_positions": len(train_pos), "seed": seed,
              "move_counts": train_info["move_counts"]}
    seed_everything(seed)
    model = build_model(config)
    if init:
        start, start_config = load_model(init)
        for key in ("features", "size", "layers", "width", "batch_norm", "pass_move"):
            if start_config.get(key) != config[key]:
                raise UserError(f"{init}: its {key} is {start_config.get(key)!r}, this run's is {config[key]!r}")
        model.load_state_dict(start.state_dict())
        config["init"] = str(init)
    generator = torch.Generator().manual_seed(seed)
    n_epoch = min(epoch_positions or len(train_pos), len(train_pos))
    train_loader = position_loader(
        PositionBatches(train_pos, features, augment=augment, seed=seed),
        BatchSampler(RandomSampler(range(len(train_pos)), num_samples=n_epoch, generator=generator),
                     batch_size, drop_last=False), workers, generator)
    val_loader = None
    if val_pos is not None:
        n_val = min(val_positions or len(val_pos), len(val_pos))
        # an evenly spaced fixed subset: the same positions every epoch
        subset = np.linspace(0, len(val_pos) - 1, n_val).astype(np.int64).tolist()
        val_loader = position_loader(PositionBatches(val_pos, features), BatchSampler(subset, batch_size * 4, False))
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    scheduler = None
    if lr_schedule == "cosine":  # decay to 0 over every step of the run
        total_steps = epochs * -(-n_epoch // batch_size)
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(total_steps, 1))
    elif lr_schedule != "constant":
        raise ValueError(f"lr_schedule must be 'cosine' or 'constant', got {lr_schedule!r}")
    trainer = Trainer(model, optimizer, torch.nn.functional.cross_entropy, app=APP, config=config,
                      scheduler=scheduler, scheduler_interval="step",
                      device=device, metrics={"top1": accuracy, "top5": top5}, max_epochs=epochs,
                      early_stopping=("val_top1", "max", 10**6) if val_loader is not None else None,
                      out_dir=out, progress=progress, tensorboard=False, seed=seed)
    if resume:
        trainer.load_checkpoint(resume)
    first_epoch = trainer.epoch
    start = time.perf_counter()
    history = trainer.fit(train_loader, val_loader)
    seconds = time.perf_counter() - start
    seen = n_epoch * (trainer.epoch - first_epoch)
    trainer.close()
    return {"history": history, "seconds": seconds, "train_positions_seen": seen,
            "positions_per_second": seen / seconds if seconds > 0 else None, "out": str(out),
            "config": {k: v for k, v in config.items() if k != "move_counts"}}


# ----------------------------------------------------------------- evaluate

def _score_batch(logp: np.ndarray, target: np.ndarray):
    rows = np.arange(len(target))
    top = np.argsort(-logp, axis=1)[:, :5]
    return top[:, 0] == target, (top == target[:, None]).any(axis=1), -logp[rows, target]


def _summary(values: dict[str, np.ndarray], games: np.ndarray, seed: int) -> dict:
    report = {}
    for key, v in values.items():
        mean, low, high = game_bootstrap(v, games, seed=seed)
        report[key] = mean
        report[f"{key}_ci95"] = [low, high]
    return report


def baselines(positions: Positions, move_counts: list[int] | None, seed: int = 0, batch: int = 4096) -> dict:
    """Scores of two trivial predictors: a uniform legal move, and the most frequent point.

    ``move_counts`` (``n + 1`` counts of moves played per point, pass last)
    comes from the training split; legal moves are ranked by it, and its
    add-one-smoothed frequencies, renormalised over legal moves, give the
    NLL.  Uniform top-k is the expected score of a random legal move.
    """
    n = positions.size ** 2
    counts = np.asarray(move_counts if move_counts is not None else np.ones(n + 1), dtype=np.float64) + 1.0
    uni = {"top1": [], "top5": [], "nll": []}
    freq = {"top1": [], "top5": [], "nll": []}
    for lo in range(0, len(positions), batch):
        sl = slice(lo, lo + batch)
        target = positions.target[sl].astype(np.int64)
        _, legal = decode(np.asarray(positions.packed[sl]), positions.to_play[sl], positions.ko[sl].astype(np.int64),
                          positions.size, "stones")
        legal = np.concatenate([legal, np.ones((len(target), 1), dtype=bool)], axis=1)  # pass
        n_legal = legal.sum(axis=1)
        uni["top1"].append(1.0 / n_legal)
        uni["top5"].append(np.minimum(5, n_legal) / n_legal)
        uni["nll"].append(np.log(n_legal))
        logp = np.where(legal, np.log(counts)[None, :], -np.inf)
        logp = logp - np.logaddexp.reduce(logp, axis=1, keepdims=True)
        t1, t5, nll = _score_batch(logp, target)
        freq["top1"].append(t1)
        freq["top5"].append(t5)
        freq["nll"].append(nll)
    games = positions.game
    return {"uniform_legal": _summary({k: np.concatenate(v) for k, v in uni.items()}, games, seed),
            "most_frequent_point": _summary({k: np.concatenate(v) for k, v in freq.items()}, games, seed)}


def evaluate(model, config: dict, positions: Positions, symmetries: int = 1, batch: int = 512,
             seed: int = 0, progress: bool = True) -> dict:
    """top-1, top-5 and NLL of the model on every position, with 95% game-bootstrap intervals."""
    import torch
    from tqdm import tqdm

    from filterkit.apps.go.dataset import PositionBatches
    from filterkit.apps.go.model import symmetric_logits

    if positions.size != config["size"]:
        raise UserError(f"model is for {config['size']}x{config['size']} boards, data is {positions.size}x{positions.size}")
    ds = PositionBatches(positions, config["features"])
    n = positions.size ** 2
    t1, t5, nll = [], [], []
    start = time.perf_counter()
    with torch.inference_mode():
        for lo in tqdm(range(0, len(positions), batch), desc="eval", unit="batch", disable=not progress):
            (planes, legal), target = ds[list(range(lo, min(lo + batch, len(positions))))]
            logp = symmetric_logits(model, planes, legal, symmetries).numpy().astype(np.float64)
            target = target.numpy()
            if not config["pass_move"]:  # a pass cannot be predicted: count as a miss with the floor NLL
                logp = np.concatenate([logp, np.full((len(target), 1), -1e9)], axis=1)
            a, b, c = _score_batch(logp, np.minimum(target, n))
            t1.append(a)
            t5.append(b)
            nll.append(c)
    seconds = time.perf_counter() - start
    report = _summary({"top1": np.concatenate(t1), "top5": np.concatenate(t5), "nll": np.concatenate(nll)},
                      positions.game, seed)
    report.update({"positions": len(positions), "games": int(len(np.unique(positions.game))),
                   "symmetries": symmetries, "seconds": seconds, "positions_per_second": len(positions) / seconds,
                   "ci": "95% percentile bootstrap over games (1000 resamples)"})
    return report
