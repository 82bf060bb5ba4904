"""Kim (2014) CNN for sentence classification.

A sentence of ``L`` tokens becomes an ``L x d`` image whose rows are word
vectors.  Each filter is ``w x d``: as wide as the embedding, so it slides only
along the sentence and gives a 1-D feature map of ``L - w + 1`` values.  This is
computed as a ``Conv1d`` whose input channels are the ``d`` embedding
dimensions (identical to a 2-D convolution with a ``(w, d)`` kernel and no
sliding across the embedding).  Multichannel stacks a frozen and a tuned copy
of the embeddings as two input channels (``2d`` ``Conv1d`` channels), each
filter having its own weights per channel, as a 2-channel 2-D convolution does.
ReLU, max-over-time pooling, dropout, a linear layer to the class logits.

Variants: ``rand`` (random, tuned), ``static`` (pretrained, frozen),
``non-static`` (pretrained, tuned), ``multichannel`` (frozen + tuned).
With ``train_oov`` the frozen table still learns the rows of words that had no
pretrained vector (their gradient is masked to those rows).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import torch
from torch import nn

from filterkit.apps.text.config import TextConfig
from filterkit.apps.text.ngrams import NgramModel
from filterkit.apps.text.tokenize import get_tokenizer
from filterkit.apps.text.vocab import Vocab

__all__ = ["VARIANTS", "KimCNN", "TrainedText", "max_norm_"]

VARIANTS = ("rand", "static", "non-static", "multichannel")


def _embedding(matrix: np.ndarray, trainable: bool, pad_index: int) -> nn.Embedding:
    layer = nn.Embedding(matrix.shape[0], matrix.shape[1], padding_idx=pad_index)
    with torch.no_grad():
        layer.weight.copy_(torch.from_numpy(np.asarray(matrix, dtype=np.float32)))
    layer.weight.requires_grad_(trainable)
    return layer


class KimCNN(nn.Module):
    """Token ids ``(B, L)`` (``L >= max(widths)``) -> class logits ``(B, n_classes)``.

    Parameters
    ----------
    matrix: initial embedding table ``(vocab, d)``.
    pretrained_rows: bool ``(vocab,)``, rows that came from pretrained vectors
        (used by ``train_oov`` to let the frozen table learn the other rows).
    widths, maps: filter widths (tokens) and feature maps per width.
    dropout: on the pooled features (Kim: 0.5); embed_dropout: on word vectors.
    """

    def __init__(
        self,
        matrix: np.ndarray,
        n_classes: int,
        variant: str = "non-static",
        widths: Sequence[int] = (3, 4, 5),
        maps: int = 100,
        dropout: float = 0.5,
        embed_dropout: float = 0.0,
        train_oov: bool = False,
        pretrained_rows: np.ndarray | None = None,
        pad_index: int = 0,
    ) -> None:
        super().__init__()
        if variant not in VARIANTS:
            raise ValueError(f"unknown variant {variant!r}; choose from {VARIANTS}")
        self.variant = variant
        self.widths = tuple(int(w) for w in widths)
        self.maps = int(maps)
        self.pad_index = pad_index
        dim = int(matrix.shape[1])
        self.frozen = _embedding(matrix, False, pad_index) if variant in ("static", "multichannel") else None
        self.tuned = _embedding(matrix, True, pad_index) if variant != "static" else None
        if self.frozen is not None and train_oov and pretrained_rows is not None and not pretrained_rows.all():
            self.frozen.weight.requires_grad_(True)
            keep = torch.from_numpy(~np.asarray(pretrained_rows, dtype=bool)).float().unsqueeze(1)
            self.register_buffer("oov_mask", keep, persistent=False)
            self.frozen.weight.register_hook(lambda grad: grad * self.oov_mask)
        channels = dim * (2 if variant == "multichannel" else 1)
        self.convs = nn.ModuleList(nn.Conv1d(channels, self.maps, w) for w in self.widths)
        self.embed_dropout = nn.Dropout(embed_dropout)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(self.maps * len(self.widths), n_classes)

    @property
    def min_length(self) -> int:
        """Shortest input the convolutions accept (the widest filter)."""
        return max(self.widths)

    def embed(self, ids: torch.Tensor) -> torch.Tensor:
        """``(B, L)`` ids -> ``(B, channels, L)`` word-vector image, channels = d or 2d."""
        parts = [layer(ids) for layer in (self.frozen, self.tuned) if layer is not None]
        x = parts[0] if len(parts) == 1 else torch.cat(parts, dim=-1)
        return self.embed_dropout(x).transpose(1, 2)

    def feature_maps(self, ids: torch.Tensor) -> list[torch.Tensor]:
        """ReLU feature maps, one ``(B, maps, L - w + 1)`` tensor per width."""
        if ids.shape[1] < self.min_length:
            raise ValueError(f"inputs must be padded to at least {self.min_length} tokens, got {ids.shape[1]}")
        x = self.embed(ids)
        return [torch.relu(conv(x)) for conv in self.convs]

    def pooled(self, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Max-over-time features ``(B, maps * n_widths)`` and their arg-max positions (same shape)."""
        values, positions = zip(*(fm.max(dim=2) for fm in self.feature_maps(ids)))
        return torch.cat(values, dim=1), torch.cat(positions, dim=1)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        features = torch.cat([fm.amax(dim=2) for fm in self.feature_maps(ids)], dim=1)
        return self.out(self.dropout(features))

    def filter_widths(self) -> torch.Tensor:
        """Width of the filter behind each pooled feature ``(maps * n_widths,)``."""
        return torch.tensor(self.widths).repeat_interleave(self.maps)


def max_norm_(model: KimCNN, limit: float = 3.0) -> None:
    """Rescale each class's output weight vector to l2 norm <= ``limit`` (in place; Kim: s = 3)."""
    with torch.no_grad():
        weight = model.out.weight
        weight.copy_(torch.renorm(weight, p=2, dim=0, maxnorm=limit))


@dataclass
class TrainedText:
    """A trained model with everything needed to use it: the CNN, its vocabulary, config and classes."""

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

    def tokenizer(self) -> Callable[[str], list[str]]:
        """The run's tokeniser, capped at ``config.max_tokens`` tokens per sentence."""
        cfg = self.config
        return get_tokenizer(cfg.tokenizer, cfg.lowercase, cfg.max_tokens)

    def tokens(self, texts: list[str]) -> list[list[str]]:
        tokenize = self.tokenizer()
        return [tokenize(t) for t in texts]

    def encode(self, texts: list[str]) -> list[list[int]]:
        return [self.vocab.encode(t) for t in self.tokens(texts)]
