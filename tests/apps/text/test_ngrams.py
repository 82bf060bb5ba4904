"""The NB-weighted n-gram model (apps/text/ngrams.py): features, the fit against sklearn, mixing, storage."""

from __future__ import annotations

import io

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from sklearn.linear_model import LogisticRegression

from filterkit.apps.text.ngrams import (
    MIX_GRID,
    NgramModel,
    choose_mix,
    fit_ngram_model,
    mix_probabilities,
    ngrams_of,
)

from .conftest import synthetic_sentences


def _tokens(rows):
    return [text.split() for _, text in rows]


def test_ngrams_of_lists_each_distinct_ngram_once():
    assert ngrams_of(["a", "b", "a", "b"], 2) == ["a", "b", "a b", "b a"]
    assert ngrams_of(["a", "b", "c"], 3) == ["a", "b", "c", "a b", "b c", "a b c"]
    assert ngrams_of([], 3) == [] and ngrams_of(["x"], 3) == ["x"]


def _nb_reference(tokens, labels, positive_class, alpha=1.0):
    """Wang & Manning's log-count ratio and scaled binary matrix, written out with dense numpy."""
    vocab = sorted({g for t in tokens for g in ngrams_of(t, 2)})
    x = np.array([[g in set(ngrams_of(t, 2)) for g in vocab] for t in tokens], dtype=float)
    y = np.asarray(labels) == positive_class
    p, q = alpha + x[y].sum(0), alpha + x[~y].sum(0)
    return vocab, x, np.log(p / p.sum()) - np.log(q / q.sum())


def test_two_class_scores_equal_sklearn_on_nb_scaled_features():
    rows = synthetic_sentences(120, seed=4)
    tokens, labels = _tokens(rows), [int(y == "pos") for y, _ in rows]
    model = fit_ngram_model(tokens, labels, 2, tokens[:20], labels[:20], max_n=2)
    vocab, x, r = _nb_reference(tokens, labels, 1)
    reference = LogisticRegression(C=model.c, max_iter=3000, random_state=0).fit(x * r, labels)
    expected = reference.decision_function(x * r)
    scores = model.scores(tokens)
    assert not model.one_vs_rest and scores.shape == (120, 2)
    np.testing.assert_allclose(scores[:, 1] - scores[:, 0], expected, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(np.exp(model.log_proba(tokens)), reference.predict_proba(x * r), atol=1e-5)
    # the sentiment words carry the weight, and unseen n-grams add nothing
    index = {g: i for i, g in enumerate(model.ngrams)}
    assert model.weights[index["great"], 1] > 0 > model.weights[index["awful"], 1]
    np.testing.assert_allclose(model.scores([["never", "seen", "words"]]), model.bias[None].astype(float))
    explained = model.contributions("a great film".split(), label=1)
    assert explained[0][0] == "great" and explained[0][1] > 0
    assert model.contributions("a great film".split(), label=0)[-1] == ("great", -explained[0][1])


def test_more_classes_are_one_against_the_rest():
    rng = np.random.default_rng(0)
    words = {0: "alpha", 1: "beta", 2: "gamma"}
    labels = [int(k) for k in rng.integers(0, 3, 90)]
    tokens = [["the", words[k], "of", str(rng.integers(0, 5))] for k in labels]
    model = fit_ngram_model(tokens, labels, 3, tokens, labels, max_n=1)
    assert model.one_vs_rest and model.weights.shape == (len(model.ngrams), 3)
    logp = model.log_proba(tokens)
    np.testing.assert_allclose(np.exp(logp).sum(axis=1), 1.0, rtol=1e-6)
    assert (logp.argmax(axis=1) == labels).all()
    # class 1's score is sklearn's one-against-the-rest regression on the NB-scaled features
    vocab = model.ngrams
    x = np.array([[g in t for g in vocab] for t in tokens], dtype=float)
    y = np.asarray(labels) == 1
    p, q = 1 + x[y].sum(0), 1 + x[~y].sum(0)
    r = np.log(p / p.sum()) - np.log(q / q.sum())
    reference = LogisticRegression(C=model.c, max_iter=3000, random_state=0).fit(x * r, y.astype(int))
    np.testing.assert_allclose(model.scores(tokens)[:, 1], reference.decision_function(x * r), rtol=1e-4, atol=1e-4)


def test_mix_ends_are_each_model_alone():
    cnn = np.array([[0.9, 0.1], [0.2, 0.8]])
    ngram_logp = np.log(np.array([[0.3, 0.7], [0.6, 0.4]]))
    np.testing.assert_allclose(mix_probabilities(cnn, ngram_logp, 1.0), cnn)
    np.testing.assert_allclose(mix_probabilities(cnn, ngram_logp, 0.0), np.exp(ngram_logp))
    half = mix_probabilities(cnn, ngram_logp, 0.5)
    geometric = np.sqrt(cnn * np.exp(ngram_logp))
    np.testing.assert_allclose(half, geometric / geometric.sum(axis=1, keepdims=True))


def test_choose_mix_trusts_the_model_that_knows():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 400)
    knows = np.where(np.eye(2)[y] > 0, 0.9, 0.1)
    guesses = rng.dirichlet([1, 1], 400)
    assert choose_mix(knows, np.log(guesses), list(y)) == 1.0
    assert choose_mix(guesses, np.log(knows), list(y)) == 0.0
    assert set(MIX_GRID) >= {0.0, 0.5, 1.0}


def test_stored_model_round_trips_through_a_weights_only_checkpoint():
    rows = synthetic_sentences(60, seed=2)
    tokens, labels = _tokens(rows), [int(y == "pos") for y, _ in rows]
    model = fit_ngram_model(tokens, labels, 2, tokens, labels, max_n=3)
    model.mix = 0.35
    buffer = io.BytesIO()
    torch.save({"extra": {"ngram_model": model.to_dict()}}, buffer)
    buffer.seek(0)
    again = NgramModel.from_dict(torch.load(buffer, weights_only=True)["extra"]["ngram_model"])
    assert again.mix == 0.35 and again.max_n == 3 and again.c == model.c and again.ngrams == model.ngrams
    np.testing.assert_array_equal(again.log_proba(tokens), model.log_proba(tokens))


def test_a_class_missing_from_training_gets_no_probability():
    tokens = [["a"], ["b"], ["a", "x"], ["b", "y"]]
    model = fit_ngram_model(tokens, [0, 1, 0, 1], 3, tokens, [0, 1, 0, 1], max_n=1)
    assert np.exp(model.log_proba(tokens))[:, 2].max() < 1e-6


@pytest.mark.parametrize("n_rows", [0, 3])
def test_sparse_and_dense_scores_agree(n_rows):
    rows = synthetic_sentences(40, seed=5)
    tokens, labels = _tokens(rows), [int(y == "pos") for y, _ in rows]
    model = fit_ngram_model(tokens, labels, 2, tokens, labels, max_n=2)
    batch = tokens[:n_rows]
    index = {g: i for i, g in enumerate(model.ngrams)}
    dense = np.zeros((len(batch), len(index)))
    for i, t in enumerate(batch):
        for g in ngrams_of(t, 2):
            dense[i, index[g]] = 1
    expected = sp.csr_matrix(dense) @ model.weights.astype(float) + model.bias
    np.testing.assert_allclose(model.scores(batch), expected.reshape(len(batch), 2), rtol=1e-6)
