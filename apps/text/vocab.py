"""Vocabulary: token <-> index with padding (index 0) and unknown (index 1) tokens."""

from __future__ import annotations

from collections import Counter
from typing import Iterable

__all__ = ["PAD", "UNK", "Vocab"]

PAD = "<pad>"
UNK = "<unk>"


class Vocab:
    """Token list with ``PAD`` at 0 and ``UNK`` at 1; unknown tokens map to 1."""

    def __init__(self, tokens: Iterable[str]):
        self.tokens: list[str] = [PAD, UNK] + [t for t in tokens if t not in (PAD, UNK)]
        self.index: dict[str, int] = {t: i for i, t in enumerate(self.tokens)}
        if len(self.index) != len(self.tokens):
            raise ValueError("vocabulary tokens must be unique")

    pad_index = 0
    unk_index = 1

    @classmethod
    def build(
        cls,
        token_lists: Iterable[list[str]],
        min_count: int = 1,
        max_size: int | None = None,
        extra: Iterable[str] = (),
    ) -> "Vocab":
        """Tokens seen at least ``min_count`` times, most frequent first (ties alphabetical).

        ``max_size`` caps the number of counted tokens (PAD/UNK not included);
        ``extra`` tokens (e.g. pretrained words found in unlabelled text) are appended after them.
        """
        counts = Counter(t for tokens in token_lists for t in tokens)
        kept = sorted((t for t, c in counts.items() if c >= min_count), key=lambda t: (-counts[t], t))
        if max_size is not None:
            kept = kept[:max_size]
        seen = set(kept)
        kept += [t for t in dict.fromkeys(extra) if t not in seen]
        return cls(kept)

    def __len__(self) -> int:
        return len(self.tokens)

    def __contains__(self, token: str) -> bool:
        return token in self.index

    def encode(self, tokens: list[str]) -> list[int]:
        """Indices of ``tokens`` (unknown -> ``UNK`` index)."""
        get = self.index.get
        return [get(t, 1) for t in tokens]

    def decode(self, indices: Iterable[int]) -> list[str]:
        return [self.tokens[i] for i in indices]

    def to_dict(self) -> dict:
        return {"tokens": self.tokens[2:]}

    @classmethod
    def from_dict(cls, state: dict) -> "Vocab":
        return cls(state["tokens"])
