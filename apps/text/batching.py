"""Length-bucketed batches of token ids, padded to at least the widest filter.

Batches are drawn from pools of similar-length sentences (shuffle, cut into
pools of ``pool`` batches, sort each pool by length, cut into batches, shuffle
the batches), so padding stays small while batch contents still change every
epoch.  Each sentence is padded with ``edge`` padding tokens on both sides (Kim
pads with ``widest - 1`` so every word is seen by every filter position, a
"wide" convolution), then on the right to the longest sentence of its batch and
to at least ``min_length`` tokens.
"""

from __future__ import annotations

from typing import Iterator, Sequence

import numpy as np
import torch

__all__ = ["BucketBatchSampler", "PadCollate", "make_loader"]


class BucketBatchSampler(torch.utils.data.Sampler):
    """Index batches of similar length; ``shuffle=False`` keeps the input order (for prediction)."""

    def __init__(self, lengths: Sequence[int], batch_size: int, shuffle: bool = True, seed: int = 0, pool: int = 50):
        self.lengths = np.asarray(lengths)
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.pool = int(pool)
        self.rng = np.random.default_rng(seed)

    def __iter__(self) -> Iterator[list[int]]:
        n = len(self.lengths)
        if not self.shuffle:
            for start in range(0, n, self.batch_size):
                yield list(range(start, min(n, start + self.batch_size)))
            return
        order = self.rng.permutation(n)
        span = self.batch_size * self.pool
        batches = []
        for start in range(0, n, span):
            chunk = order[start : start + span]
            chunk = chunk[np.argsort(self.lengths[chunk], kind="stable")]
            batches += [chunk[i : i + self.batch_size].tolist() for i in range(0, len(chunk), self.batch_size)]
        for index in self.rng.permutation(len(batches)):
            yield batches[index]

    def __len__(self) -> int:
        return -(-len(self.lengths) // self.batch_size)


class PadCollate:
    """``[(ids, label), ...]`` -> ``(LongTensor (B, T), LongTensor (B,))`` with padding index 0."""

    def __init__(self, min_length: int, edge: int = 0, pad_index: int = 0):
        self.min_length = int(min_length)
        self.edge = int(edge)
        self.pad_index = int(pad_index)

    def __call__(self, items):
        longest = max(len(ids) for ids, _ in items)
        width = max(longest + 2 * self.edge, self.min_length)
        batch = torch.full((len(items), width), self.pad_index, dtype=torch.long)
        for row, (ids, _) in enumerate(items):
            if ids:
                batch[row, self.edge : self.edge + len(ids)] = torch.as_tensor(ids, dtype=torch.long)
        labels = torch.as_tensor([label for _, label in items], dtype=torch.long)
        return batch, labels


def make_loader(
    ids: list[list[int]],
    labels: Sequence[int] | None,
    batch_size: int,
    min_length: int,
    edge: int = 0,
    shuffle: bool = False,
    seed: int = 0,
) -> torch.utils.data.DataLoader:
    """DataLoader of ``(ids, labels)`` batches (labels -1 when not given)."""
    labels = list(labels) if labels is not None else [-1] * len(ids)
    items = list(zip(ids, labels))
    sampler = BucketBatchSampler([len(i) for i in ids], batch_size, shuffle=shuffle, seed=seed)
    return torch.utils.data.DataLoader(items, batch_sampler=sampler, collate_fn=PadCollate(min_length, edge))
