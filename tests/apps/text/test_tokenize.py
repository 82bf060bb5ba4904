"""Kim's cleaning rules and the plain word tokeniser."""

from __future__ import annotations

import pytest

from filterkit.apps.text.tokenize import get_tokenizer, kim_tokenize, word_tokenize


def test_kim_splits_clitics_and_punctuation():
    assert kim_tokenize("It's a (great) film, isn't it?!") == [
        "it", "'s", "a", "(", "great", ")", "film", ",", "is", "n't", "it", "?", "!",
    ]
    assert kim_tokenize("We'll see; they've I'd you're") == ["we", "'ll", "see", "they", "'ve", "i", "'d", "you", "'re"]


def test_kim_drops_other_characters_and_keeps_case_on_request():
    assert kim_tokenize("Caf\xe9 -- \u2026 ok.") == ["caf", "ok"]
    assert kim_tokenize("Who is Hamlet ?", lowercase=False) == ["Who", "is", "Hamlet", "?"]
    assert kim_tokenize("  ;;; ") == []


def test_word_tokenizer_keeps_inner_apostrophes_and_hyphens():
    assert word_tokenize("Don't miss this well-made Caf\xe9!") == ["don't", "miss", "this", "well-made", "caf\xe9", "!"]


def test_get_tokenizer():
    assert get_tokenizer("words", lowercase=False)("A b") == ["A", "b"]
    with pytest.raises(ValueError, match="unknown tokenizer"):
        get_tokenizer("bpe")


def test_max_tokens_caps_each_sentence():
    assert get_tokenizer("words", max_tokens=3)("one two three four five") == ["one", "two", "three"]
    assert get_tokenizer("kim", max_tokens=None)("a b c d") == ["a", "b", "c", "d"]
