"""Which n-grams won the max-pool for the predicted class.

For feature ``f`` (one filter of width ``w``) max-over-time pooling keeps the
value ``h_f`` at position ``p_f``, i.e. the n-gram of ``w`` tokens starting at
``p_f`` (padding excluded).  Its contribution to the logit of class ``c`` is
``W[c, f] * h_f`` (dropout is off at inference).  The top filters by
contribution are mapped back to their n-grams; filters that picked the same
span are summed.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from filterkit.apps.text.model import TrainedText

__all__ = ["NgramEvidence", "explain"]


@dataclass
class NgramEvidence:
    """An n-gram (token span ``[start, end)``) and the summed contribution of the filters that chose it."""

    text: str
    start: int
    end: int
    contribution: float
    filters: int

    def to_dict(self) -> dict:
        return {
            "ngram": self.text,
            "start": self.start,
            "end": self.end,
            "contribution": self.contribution,
            "filters": self.filters,
        }


@torch.no_grad()
def explain(trained: TrainedText, text: str, top_filters: int = 30, class_index: int | None = None):
    """``(class_index, logit, [NgramEvidence ...])`` best first, for ``class_index`` (default: predicted)."""
    tokens = trained.tokenizer()(text)
    model = trained.model
    model.eval()
    edge = trained.config.edge()
    ids = trained.vocab.encode(tokens)
    width = max(len(ids) + 2 * edge, model.min_length)
    batch = torch.zeros((1, width), dtype=torch.long)
    if ids:
        batch[0, edge : edge + len(ids)] = torch.tensor(ids)
    device = next(model.parameters()).device
    pooled, positions = model.pooled(batch.to(device))
    pooled, positions = pooled[0].cpu(), positions[0].cpu()
    logits = model.out(pooled.to(device)).cpu()
    if class_index is None:
        class_index = int(logits.argmax())
    contribution = model.out.weight[class_index].cpu() * pooled
    widths = model.filter_widths()
    order = torch.argsort(contribution, descending=True)[:top_filters]
    spans: dict[tuple[int, int], list[float]] = {}
    for f in order.tolist():
        value = float(contribution[f])
        if value <= 0:
            break
        start = int(positions[f]) - edge
        end = start + int(widths[f])
        start, end = max(start, 0), min(end, len(tokens))
        if start >= end:  # the filter fired on padding only
            continue
        spans.setdefault((start, end), []).append(value)
    evidence = [
        NgramEvidence(" ".join(tokens[s:e]), s, e, sum(v), len(v)) for (s, e), v in spans.items()
    ]
    evidence.sort(key=lambda item: -item.contribution)
    return class_index, float(logits[class_index]), evidence
