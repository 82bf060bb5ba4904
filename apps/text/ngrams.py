"""A Naive-Bayes-weighted logistic regression on binary n-grams, mixed with the CNN.

Wang & Manning (2012, "Baselines and bigrams") scale each binary n-gram
feature by its log-count ratio ``r = log((p / |p|_1) / (q / |q|_1))``
(``p``, ``q``: smoothed counts in the class and outside it) and fit a linear
classifier on the scaled features (NBSVM; here logistic regression, one per
class against the rest when there are more than two).  Such a model and the
CNN make different mistakes, so their log-probabilities are mixed:
``log p = m log p_cnn + (1 - m) log p_ngram`` renormalised, with ``m``
chosen by log-loss on the dev data (``m = 1`` is the CNN alone).

Everything a prediction needs is plain data (:meth:`NgramModel.to_dict`), so
it travels in the checkpoint's ``extra``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from filterkit.nn.mixing import mix_log_probabilities

__all__ = ["MIX_GRID", "NgramModel", "choose_mix", "fit_ngram_model", "mix_probabilities", "ngrams_of"]

MIX_GRID = tuple(round(0.05 * i, 2) for i in range(21))  # candidate CNN weights m, 0 .. 1
C_GRID = (0.1, 0.3, 1.0, 3.0, 10.0)  # inverse L2 strengths tried on dev (MR's 10 folds chose 0.3-10)


def ngrams_of(tokens: list[str], max_n: int) -> list[str]:
    """The distinct 1..``max_n``-grams of ``tokens``, tokens joined by a space, in first-seen order."""
    seen: dict[str, None] = {}
    for n in range(1, max_n + 1):
        for i in range(len(tokens) - n + 1):
            seen.setdefault(" ".join(tokens[i : i + n]), None)
    return list(seen)


@dataclass
class NgramModel:
    """Linear scores over the n-grams present in a sentence.

    ``weights`` ``(F, C)`` float32: what n-gram ``j`` adds to the score of
    class ``c`` (NB ratio times the regression weight); ``bias`` ``(C,)``.
    ``one_vs_rest``: each score is a separate sigmoid (more than two classes);
    otherwise the scores are softmax logits.  ``mix``: the CNN's weight ``m``.
    """

    ngrams: list[str]
    weights: np.ndarray
    bias: np.ndarray
    max_n: int
    one_vs_rest: bool
    mix: float = 0.5
    c: float = 1.0  # the regression's inverse L2 strength chosen on dev (for the record)

    def __post_init__(self) -> None:
        self._index = {g: i for i, g in enumerate(self.ngrams)}

    def scores(self, token_lists: list[list[str]]) -> np.ndarray:
        """``(N, C)`` linear scores; n-grams never seen in training add nothing."""
        present = _binary_matrix(token_lists, self._index, self.max_n)
        return np.asarray(present @ self.weights.astype(np.float64)) + self.bias.astype(np.float64)

    def log_proba(self, token_lists: list[list[str]]) -> np.ndarray:
        """``(N, C)`` normalised log-probabilities."""
        return _log_proba(self.scores(token_lists), self.one_vs_rest)

    def contributions(self, tokens: list[str], label: int) -> list[tuple[str, float]]:
        """The sentence's n-grams with what each adds to class ``label``, largest first.

        One-vs-rest: to ``label``'s own score; two classes: to the log-odds of ``label`` against the other.
        """
        column = self.weights[:, label]
        if not self.one_vs_rest and self.weights.shape[1] == 2:
            column = column - self.weights[:, 1 - label]
        pairs = [(g, float(column[j])) for g in ngrams_of(tokens, self.max_n) if (j := self._index.get(g)) is not None]
        return sorted(pairs, key=lambda p: -p[1])

    def to_dict(self) -> dict:
        return {"ngrams": "\n".join(self.ngrams), "weights": torch.from_numpy(np.ascontiguousarray(self.weights)),
                "bias": torch.from_numpy(np.ascontiguousarray(self.bias)), "max_n": self.max_n,
                "one_vs_rest": self.one_vs_rest, "mix": self.mix, "c": self.c}

    @classmethod
    def from_dict(cls, data: dict) -> "NgramModel":
        weights = np.asarray(data["weights"], dtype=np.float32)
        bias = np.asarray(data["bias"], dtype=np.float32)
        ngrams = data["ngrams"]  # one newline-joined string (older checkpoints: a list)
        ngrams = ngrams.split("\n") if isinstance(ngrams, str) else list(ngrams)
        return cls(ngrams, weights, bias, int(data["max_n"]), bool(data["one_vs_rest"]),
                   float(data["mix"]), float(data.get("c", 1.0)))


def _log_proba(scores: np.ndarray, one_vs_rest: bool) -> np.ndarray:
    """Normalised log-probabilities from ``(N, C)`` scores: per-class sigmoids, or softmax logits."""
    s = torch.from_numpy(np.asarray(scores, dtype=np.float64))
    logp = torch.nn.functional.logsigmoid(s) if one_vs_rest else s
    return (logp - torch.logsumexp(logp, dim=1, keepdim=True)).numpy()


def _binary_matrix(token_lists: list[list[str]], index: dict[str, int], max_n: int):
    import scipy.sparse as sp

    rows, cols = [], []
    for row, tokens in enumerate(token_lists):
        ids = [j for g in ngrams_of(tokens, max_n) if (j := index.get(g)) is not None]
        rows.extend([row] * len(ids))
        cols.extend(ids)
    data = np.ones(len(cols), dtype=np.float64)
    return sp.csr_matrix((data, (rows, cols)), shape=(len(token_lists), len(index)))


def _nb_ratio(x, positive: np.ndarray, alpha: float) -> np.ndarray:
    """Log-count ratio of every feature, class ``positive`` against the rest (Laplace ``alpha``)."""
    p = alpha + np.asarray(x[positive].sum(axis=0)).ravel()
    q = alpha + np.asarray(x[~positive].sum(axis=0)).ravel()
    return np.log(p / p.sum()) - np.log(q / q.sum())


def _fit_scaled(x, y: np.ndarray, ratio: np.ndarray, c: float, seed: int):
    import scipy.sparse as sp
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=c, max_iter=3000, random_state=seed).fit(x @ sp.diags(ratio), y)
    return ratio * model.coef_[0], float(model.intercept_[0])


def _fit_for_c(x, y: np.ndarray, n_classes: int, c: float, alpha: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    weights = np.zeros((x.shape[1], n_classes), dtype=np.float64)
    bias = np.zeros(n_classes, dtype=np.float64)
    if n_classes == 2:  # one regression: class 1's logit against class 0's zero
        weights[:, 1], bias[1] = _fit_scaled(x, (y == 1).astype(int), _nb_ratio(x, y == 1, alpha), c, seed)
        return weights, bias
    for k in range(n_classes):
        positive = y == k
        if positive.all() or not positive.any():  # a class absent from (or alone in) training
            bias[k] = 30.0 if positive.all() else -30.0
            continue
        weights[:, k], bias[k] = _fit_scaled(x, positive.astype(int), _nb_ratio(x, positive, alpha), c, seed)
    return weights, bias


def fit_ngram_model(
    train_tokens: list[list[str]],
    train_labels: list[int],
    n_classes: int,
    dev_tokens: list[list[str]],
    dev_labels: list[int],
    max_n: int = 3,
    alpha: float = 1.0,
    seed: int = 0,
) -> NgramModel:
    """Fit on the training sentences, choose the L2 strength on dev (accuracy; ties: the stronger L2)."""
    index: dict[str, int] = {}
    for tokens in train_tokens:
        for g in ngrams_of(tokens, max_n):
            index.setdefault(g, len(index))
    x = _binary_matrix(train_tokens, index, max_n)
    y = np.asarray(train_labels)
    x_dev, y_dev = _binary_matrix(dev_tokens, index, max_n), np.asarray(dev_labels)
    best = None
    for c in C_GRID:
        weights, bias = _fit_for_c(x, y, n_classes, c, alpha, seed)
        weights, bias = weights.astype(np.float32), bias.astype(np.float32)
        dev_scores = np.asarray(x_dev @ weights.astype(np.float64)) + bias.astype(np.float64)
        score = float((_log_proba(dev_scores, n_classes > 2).argmax(axis=1) == y_dev).mean()) if len(y_dev) else 0.0
        if best is None or score > best[0]:
            best = (score, c, weights, bias)
    _, c, weights, bias = best
    return NgramModel(list(index), weights, bias, max_n, n_classes > 2, c=c)


def mix_probabilities(cnn_probs: np.ndarray, ngram_log_proba: np.ndarray, mix: float) -> np.ndarray:
    """``softmax(m log p_cnn + (1 - m) log p_ngram)``, ``(N, C)``."""
    return mix_log_probabilities(np.log(np.clip(cnn_probs, 1e-12, None)), ngram_log_proba, mix)


def choose_mix(cnn_probs: np.ndarray, ngram_log_proba: np.ndarray, labels: list[int]) -> float:
    """The CNN weight in :data:`MIX_GRID` with the lowest dev log-loss (ties: the one nearest 0.5).

    Log-loss rather than accuracy: on a few hundred dev sentences accuracy
    moves in steps and often ties; the log-loss is smooth in ``m``.
    """
    y = np.asarray(labels)
    rows = np.arange(len(y))

    def log_loss(m: float) -> float:
        return float(-np.log(np.clip(mix_probabilities(cnn_probs, ngram_log_proba, m)[rows, y], 1e-12, None)).mean())

    return min(MIX_GRID, key=lambda m: (log_loss(m), abs(m - 0.5)))
