"""Every choice of a text-classification run, as plain data (stored in checkpoints; no heavy imports)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

__all__ = ["TextConfig"]


@dataclass
class TextConfig:
    """Every choice of a run (plain types: stored in checkpoints)."""

    variant: str = "multichannel"
    tokenizer: str = "kim"
    lowercase: bool = True
    max_tokens: int = 200  # tokens kept per sentence (the longest benchmark sentence has 120); bounds memory
    min_count: int = 1
    max_vocab: int | None = None
    vocab_scope: str = "all"  # "all": add pretrained words seen in unlabelled dev/test text (Kim); "train"
    vectors: str = "glove-6b-50d"
    vectors_format: str = "auto"
    dim: int = 50  # used by "rand" (pretrained variants take the vectors' size)
    widths: list[int] = field(default_factory=lambda: [3, 4, 5])
    maps: int = 100
    dropout: float = 0.5
    embed_dropout: float = 0.0
    train_oov: bool = True
    max_norm: float | None = 3.0
    optimizer: str = "adam"  # measured: Adam 1e-3 reaches in 4-6 epochs what Adadelta (rho .95) does not in 10
    lr: float = 1e-3
    rho: float = 0.95  # Adadelta only
    batch_size: int = 50
    epochs: int = 20
    patience: int = 4
    edge_pad: bool = True
    dev_fraction: float = 0.1
    ngrams: int = 3  # >0: mix in an NB-weighted logistic regression on 1..ngrams-grams (apps/text/ngrams.py)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "TextConfig":
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    @property
    def pretrained(self) -> bool:
        return self.variant != "rand"

    def edge(self) -> int:
        return max(self.widths) - 1 if self.edge_pad else 0
