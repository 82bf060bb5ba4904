"""Train the sentence CNN through the shared engine (:mod:`filterkit.nn.train`): :func:`train`.

:class:`~filterkit.apps.text.config.TextConfig` holds every choice (tokeniser,
vocabulary, embeddings, model, optimiser); it is stored in the checkpoint's
``config`` together with the vocabulary, so a checkpoint alone reproduces the
preprocessing.  With ``out`` the run folder (:class:`filterkit.nn.train.RunFolder`)
holds ``best.pt`` (the best dev epoch, with the n-gram model), ``last.pt`` (the
last epoch's training state, the CNN alone), ``metrics.csv`` (one row per epoch)
and ``report.json`` (the engine's summary; the CLI adds its figures with
``trained.trainer.write_report(...)``).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import torch

from filterkit.errors import UserError
from filterkit.nn.train import TrainConfig, Trainer, accuracy, seed_everything

from filterkit.apps.text.batching import make_loader
from filterkit.apps.text.config import TextConfig
from filterkit.apps.text.data import TextData
from filterkit.apps.text.embeddings import build_matrix, load_pretrained
from filterkit.apps.text.evaluate import APP, cnn_proba
from filterkit.apps.text.model import KimCNN, TrainedText, max_norm_
from filterkit.apps.text.ngrams import NgramModel, choose_mix, fit_ngram_model
from filterkit.apps.text.tokenize import get_tokenizer
from filterkit.apps.text.vocab import Vocab

__all__ = ["build_model", "save", "split_dev", "train"]


def split_dev(data: TextData, fraction: float, seed: int) -> tuple[TextData, TextData]:
    """Stratified ``(train, dev)`` with ``fraction`` of ``data`` as dev (at least 1 example).

    When every class has 2 examples or more, dev and train each get at least one example of every class
    (small data: dev grows past ``fraction``); otherwise the split is not stratified.
    """
    from sklearn.model_selection import train_test_split

    n = len(data)
    if n < 2:
        raise UserError(f"{n} training example(s): training needs at least 2 (one for the dev set that "
                        "chooses the best epoch) and, for a stratified dev set, 2 per class")
    indices = np.arange(n)
    present = np.bincount(data.labels)
    present = present[present > 0]
    n_dev = min(max(1, int(np.ceil(fraction * n))), n - 1)
    stratify = None
    if present.min() >= 2:  # then n >= 2 * classes: room for one of each class on both sides
        n_dev = min(max(n_dev, len(present)), n - len(present))
        stratify = data.labels
    train_idx, dev_idx = train_test_split(indices, test_size=n_dev, random_state=seed, stratify=stratify)
    return data.subset(sorted(train_idx)), data.subset(sorted(dev_idx))


def _build_vocab(cfg: TextConfig, train_tokens: list[list[str]], other_tokens: list[list[str]], pretrained) -> Vocab:
    extra = ()
    if cfg.vocab_scope == "all" and pretrained is not None:
        extra = [t for tokens in other_tokens for t in tokens if t in pretrained]
    elif cfg.vocab_scope not in ("all", "train"):
        raise UserError(f"--vocab-scope {cfg.vocab_scope}: choose train or all")
    return Vocab.build(train_tokens, cfg.min_count, cfg.max_vocab, extra=extra)


def _optimizer(cfg: TextConfig, params) -> torch.optim.Optimizer:
    if cfg.optimizer == "adadelta":
        return torch.optim.Adadelta(params, lr=cfg.lr, rho=cfg.rho, eps=1e-6)
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=cfg.lr)
    raise UserError(f"--optimizer {cfg.optimizer}: choose adadelta or adam")


def build_model(cfg: TextConfig, vocab: Vocab, n_classes: int, rng: np.random.Generator) -> KimCNN:
    """A fresh :class:`KimCNN` whose embedding table is built for ``vocab``."""
    pretrained = load_pretrained(cfg.vectors, cfg.vectors_format) if cfg.pretrained else None
    dim = pretrained.dim if pretrained is not None else cfg.dim
    matrix, found = build_matrix(vocab, dim, rng, pretrained)
    return KimCNN(matrix, n_classes, variant=cfg.variant, widths=cfg.widths, maps=cfg.maps, dropout=cfg.dropout,
                  embed_dropout=cfg.embed_dropout, train_oov=cfg.train_oov, pretrained_rows=found)


def train(
    cfg: TextConfig,
    data: TextData,
    classes: list[str],
    dev: TextData | None = None,
    unlabelled: list[str] = (),
    seed: int = 0,
    device: str = "auto",
    progress: bool = True,
    out: str | os.PathLike | None = None,
    force: bool = False,
) -> TrainedText:
    """Train on ``data``, early-stop on ``dev`` (or ``cfg.dev_fraction`` of ``data``); best-dev weights kept.

    ``unlabelled``: other texts (dev/test) whose words may join the vocabulary
    when they have a pretrained vector (``cfg.vocab_scope == "all"``); their labels are never seen.
    ``out``: the run folder (rank 0 writes under torchrun); ``force``: overwrite an earlier run's files there.
    The best dev epoch is kept (the engine's ``keep_best``); ``cfg.patience`` epochs without gain stop early.
    """
    seed_everything(seed)
    if dev is None:
        data, dev = split_dev(data, cfg.dev_fraction, seed)
    tokenize = get_tokenizer(cfg.tokenizer, cfg.lowercase, cfg.max_tokens)
    train_tokens = [tokenize(t) for t in data.texts]
    dev_tokens = [tokenize(t) for t in dev.texts]
    other_tokens = dev_tokens + [tokenize(t) for t in unlabelled]
    pretrained = load_pretrained(cfg.vectors, cfg.vectors_format) if cfg.pretrained else None
    vocab = _build_vocab(cfg, train_tokens, other_tokens, pretrained)
    model = build_model(cfg, vocab, len(classes), np.random.default_rng(seed))
    optimizer = _optimizer(cfg, [p for p in model.parameters() if p.requires_grad])
    limit = cfg.max_norm
    run = TrainConfig(epochs=cfg.epochs, monitor="val_accuracy", patience=cfg.patience, keep_best=True,
                      device=device, out_dir=None if out is None else os.fspath(out), force=force,
                      progress=progress, tensorboard=False, seed=seed)
    trainer = Trainer(
        model, optimizer, torch.nn.functional.cross_entropy, config=run, app=APP,
        app_config={**cfg.to_dict(), "vocab": vocab.to_dict()}, label_names=list(classes),
        metrics={"accuracy": accuracy}, after_step=(lambda m: max_norm_(m, limit)) if limit else None,
    )
    min_length, edge = max(cfg.widths), cfg.edge()
    train_loader = make_loader([vocab.encode(t) for t in train_tokens], data.labels, cfg.batch_size, min_length,
                               edge, shuffle=True, seed=seed)
    dev_loader = make_loader([vocab.encode(t) for t in dev_tokens], dev.labels, 500, min_length, edge)
    start = time.perf_counter()
    history = trainer.fit(train_loader, dev_loader)
    seconds = time.perf_counter() - start  # fit() ends holding the best epoch's weights (keep_best)
    trained = TrainedText(model, vocab, cfg, list(classes), trainer, history, trainer.best_epoch, seconds,
                          len(data) * len(history))
    if cfg.ngrams:
        trained.ngram = _fit_ngram(trained, train_tokens, data.labels, dev, seed)
    if trainer.run_folder is not None and trained.ngram is not None:
        save(trained, trainer.run_folder.best)  # the best epoch again, now with the n-gram model
    return trained


def _fit_ngram(trained: TrainedText, train_tokens, train_labels, dev: TextData, seed: int) -> NgramModel:
    """The n-gram model on the CNN's training sentences; its L2 strength and the mixing weight chosen on ``dev``."""
    dev_tokens = trained.tokens(dev.texts)
    ngram = fit_ngram_model(train_tokens, train_labels, len(trained.classes), dev_tokens, dev.labels,
                            trained.config.ngrams, seed=seed)
    ngram.mix = choose_mix(cnn_proba(trained, dev.texts), ngram.log_proba(dev_tokens), dev.labels)
    return ngram


def save(trained: TrainedText, path: str | os.PathLike, extra: dict | None = None) -> Path | None:
    """Write the checkpoint (the current weights, the n-gram model in ``extra``) atomically; rank 0 only."""
    extra = dict(extra or {})
    if trained.ngram is not None:
        extra["ngram_model"] = trained.ngram.to_dict()
    return trained.trainer.save_checkpoint(path, extra=extra)
