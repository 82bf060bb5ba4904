"""Vocabulary: frequency order, min-count, max-size, pad/unk, serialisation."""

from __future__ import annotations

from filterkit.apps.text.vocab import PAD, UNK, Vocab


def test_build_orders_by_count_and_filters():
    docs = [["a", "b", "a"], ["c", "a", "b"], ["d"]]
    vocab = Vocab.build(docs)
    assert vocab.tokens == [PAD, UNK, "a", "b", "c", "d"]
    assert Vocab.build(docs, min_count=2).tokens == [PAD, UNK, "a", "b"]
    assert Vocab.build(docs, max_size=1, extra=["z", "a", "z"]).tokens == [PAD, UNK, "a", "z"]


def test_encode_decode_and_round_trip():
    vocab = Vocab.build([["x", "y"]])
    assert vocab.pad_index == 0 and vocab.unk_index == 1
    assert vocab.encode(["y", "nope", "x"]) == [3, 1, 2]
    assert vocab.decode([2, 1]) == ["x", UNK]
    again = Vocab.from_dict(vocab.to_dict())
    assert again.tokens == vocab.tokens and len(again) == 4 and "x" in again
