"""Train, evaluate, save and load the sentence CNN through the shared engine (:mod:`filterkit.nn.train`).

:class:`TextConfig` holds every choice (tokeniser, vocabulary, embeddings,
model, optimiser); it is stored in the checkpoint's ``config`` together with
the vocabulary, so a checkpoint alone reproduces the preprocessing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from filterkit.errors import UserError

from filterkit.apps.text.batching import make_loader
from filterkit.apps.text.config import TextConfig
from filterkit.apps.text.data import TextData
from filterkit.apps.text.embeddings import build_matrix, load_pretrained
from filterkit.apps.text.model import KimCNN, max_norm_
from filterkit.apps.text.ngrams import NgramModel, choose_mix, fit_ngram_model, mix_probabilities
from filterkit.apps.text.tokenize import get_tokenizer
from filterkit.apps.text.vocab import Vocab

__all__ = [
    "APP",
    "TextConfig",
    "TrainedText",
    "accuracy_on",
    "build_model",
    "cnn_proba",
    "load_trained",
    "predict_parts",
    "predict_proba",
    "save_trained",
    "split_dev",
    "train_text",
]

APP = "text"


@dataclass
class TrainedText:
    """A trained model with everything needed to use it."""

    model: KimCNN
    vocab: Vocab
    config: TextConfig
    classes: list[str]
    trainer: object = None  # filterkit.nn.train.Trainer (None when loaded for inference)
    history: list = field(default_factory=list)
    best_epoch: int | None = None
    train_seconds: float = 0.0  # wall time of fit(), the per-epoch dev pass included
    train_sentences: int = 0  # sentences processed in training (epochs x examples)
    ngram: NgramModel | None = None  # the n-gram model mixed with the CNN (``config.ngrams`` > 0)

    def tokens(self, texts: list[str]) -> list[list[str]]:
        tokenize = get_tokenizer(self.config.tokenizer, self.config.lowercase)
        return [tokenize(t) for t in texts]

    def encode(self, texts: list[str]) -> list[list[int]]:
        return [self.vocab.encode(t) for t in self.tokens(texts)]


def split_dev(data: TextData, fraction: float, seed: int) -> tuple[TextData, TextData]:
    """Stratified ``(train, dev)`` with ``fraction`` of ``data`` as dev."""
    from sklearn.model_selection import train_test_split

    indices = np.arange(len(data))
    counts = np.bincount(data.labels)
    stratify = data.labels if counts[counts > 0].min() >= 2 else None
    train_idx, dev_idx = train_test_split(indices, test_size=fraction, random_state=seed, stratify=stratify)
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
    return KimCNN(
        matrix,
        n_classes,
        variant=cfg.variant,
        widths=cfg.widths,
        maps=cfg.maps,
        dropout=cfg.dropout,
        embed_dropout=cfg.embed_dropout,
        train_oov=cfg.train_oov,
        pretrained_rows=found,
    )


def train_text(
    cfg: TextConfig,
    train: TextData,
    classes: list[str],
    dev: TextData | None = None,
    unlabelled: list[str] = (),
    seed: int = 0,
    device: str = "auto",
    progress: bool = True,
) -> TrainedText:
    """Train on ``train``, early-stop on ``dev`` (or ``cfg.dev_fraction`` of ``train``); best-dev weights kept.

    ``unlabelled``: other texts (dev/test) whose words may join the vocabulary
    when they have a pretrained vector (``cfg.vocab_scope == "all"``); their labels are never seen.
    """
    from filterkit.nn.train import Trainer, accuracy, seed_everything

    seed_everything(seed)
    if dev is None:
        train, dev = split_dev(train, cfg.dev_fraction, seed)
    tokenize = get_tokenizer(cfg.tokenizer, cfg.lowercase)
    train_tokens = [tokenize(t) for t in train.texts]
    other_tokens = [tokenize(t) for t in list(dev.texts) + list(unlabelled)]
    pretrained = load_pretrained(cfg.vectors, cfg.vectors_format) if cfg.pretrained else None
    vocab = _build_vocab(cfg, train_tokens, other_tokens, pretrained)
    model = build_model(cfg, vocab, len(classes), np.random.default_rng(seed))
    optimizer = _optimizer(cfg, [p for p in model.parameters() if p.requires_grad])
    limit = cfg.max_norm
    trainer = Trainer(
        model,
        optimizer,
        torch.nn.functional.cross_entropy,
        app=APP,
        config={**cfg.to_dict(), "vocab": vocab.to_dict()},
        label_names=list(classes),
        device=device,
        metrics={"accuracy": accuracy},
        max_epochs=cfg.epochs,
        early_stopping=("val_accuracy", "max", cfg.patience),
        after_step=(lambda m: max_norm_(m, limit)) if limit else None,
        progress=progress,
        tensorboard=False,
        seed=seed,
    )
    train_ids = [vocab.encode(t) for t in train_tokens]
    dev_ids = [vocab.encode(tokenize(t)) for t in dev.texts]
    min_length, edge = max(cfg.widths), cfg.edge()
    train_loader = make_loader(train_ids, train.labels, cfg.batch_size, min_length, edge, shuffle=True, seed=seed)
    dev_loader = make_loader(dev_ids, dev.labels, 500, min_length, edge)
    start = time.perf_counter()
    history = trainer.fit(train_loader, dev_loader)
    seconds = time.perf_counter() - start
    trainer.restore_best()
    trained = TrainedText(
        model, vocab, cfg, list(classes), trainer, history, trainer.best_epoch, seconds, len(train) * len(history)
    )
    if cfg.ngrams:
        trained.ngram = _fit_ngram(trained, train_tokens, train.labels, dev, seed)
    return trained


def _fit_ngram(trained: TrainedText, train_tokens, train_labels, dev: TextData, seed: int) -> NgramModel:
    """The n-gram model on the CNN's training sentences; its L2 strength and the mixing weight chosen on ``dev``."""
    dev_tokens = trained.tokens(dev.texts)
    ngram = fit_ngram_model(train_tokens, train_labels, len(trained.classes), dev_tokens, dev.labels,
                            trained.config.ngrams, seed=seed)
    ngram.mix = choose_mix(cnn_proba(trained, dev.texts), ngram.log_proba(dev_tokens), dev.labels)
    return ngram


def predict_proba(trained: TrainedText, texts: list[str], batch_size: int = 500) -> np.ndarray:
    """Class probabilities ``(len(texts), n_classes)``: the CNN's, mixed with the n-gram model's if it has one."""
    return predict_parts(trained, texts, batch_size)[0]


def predict_parts(
    trained: TrainedText, texts: list[str], batch_size: int = 500
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """``(probabilities, the CNN's probabilities, the n-gram model's log-probabilities or None)``, each ``(N, C)``."""
    cnn = cnn_proba(trained, texts, batch_size)
    if trained.ngram is None:
        return cnn, cnn, None
    ngram = trained.ngram.log_proba(trained.tokens(texts))
    return mix_probabilities(cnn, ngram, trained.ngram.mix), cnn, ngram


@torch.no_grad()
def cnn_proba(trained: TrainedText, texts: list[str], batch_size: int = 500) -> np.ndarray:
    """The CNN's class probabilities ``(len(texts), n_classes)``; sentences are batched by length, order kept."""
    ids = trained.encode(texts)
    order = np.argsort([len(i) for i in ids], kind="stable")
    model = trained.model
    device = next(model.parameters()).device
    loader = make_loader([ids[i] for i in order], None, batch_size, model.min_length, trained.config.edge())
    model.eval()
    chunks = [torch.softmax(model(batch.to(device)), dim=1).cpu() for batch, _ in loader]
    probs = torch.cat(chunks).numpy() if chunks else np.zeros((0, len(trained.classes)), np.float32)
    out = np.empty_like(probs)
    out[order] = probs
    return out


def accuracy_on(trained: TrainedText, data: TextData) -> float:
    """Fraction of ``data`` classified correctly."""
    probs = predict_proba(trained, data.texts)
    return float((probs.argmax(axis=1) == np.asarray(data.labels)).mean())


def save_trained(trained: TrainedText, path: str | Path, extra: dict | None = None) -> Path:
    """Write the checkpoint (weights of the best dev epoch, the n-gram model in ``extra``) atomically."""
    extra = dict(extra or {})
    if trained.ngram is not None:
        extra["ngram_model"] = trained.ngram.to_dict()
    return trained.trainer.save_checkpoint(path, extra=extra)


def load_trained(path: str | Path, device: str = "cpu") -> TrainedText:
    """Rebuild a model from a ``filterkit text train`` checkpoint (another app's is a UserError)."""
    from filterkit.nn.train import read_checkpoint, select_device

    ckpt = read_checkpoint(path, expected_app=APP)
    config = dict(ckpt["config"])
    vocab = Vocab.from_dict(config.pop("vocab"))
    config.setdefault("ngrams", 0)  # checkpoints from before the n-gram model are the CNN alone
    cfg = TextConfig.from_dict(config)
    classes = list(ckpt["label_names"])
    state = ckpt["model"]
    table = state["tuned.weight"] if "tuned.weight" in state else state["frozen.weight"]
    placeholder = np.zeros(tuple(table.shape), dtype=np.float32)
    model = KimCNN(
        placeholder,
        len(classes),
        variant=cfg.variant,
        widths=cfg.widths,
        maps=cfg.maps,
        dropout=cfg.dropout,
        embed_dropout=cfg.embed_dropout,
    )
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise UserError(f"{path}: weights do not fit the model in its config ({str(exc).splitlines()[0]})") from None
    model.to(select_device(device)).eval()
    ngram = (ckpt.get("extra") or {}).get("ngram_model")
    return TrainedText(model, vocab, cfg, classes, history=list(ckpt.get("history") or []),
                       ngram=NgramModel.from_dict(ngram) if ngram is not None else None)
