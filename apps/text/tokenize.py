"""Tokenisers: Kim's (2014) cleaning rules and a plain lower-case word tokeniser.

``kim`` re-implements the rules described for Kim's preprocessing: every
character other than letters, digits and ``( ) , ! ? ' `` ` `` becomes a space;
the clitics ``'s 've n't 're 'd 'll`` are split off the word before them;
``, ! ( ) ?`` become tokens of their own; runs of whitespace collapse; the text
is lower-cased (optional: Kim kept case for TREC).

``words`` is a plain tokeniser: lower-case, runs of word characters (Unicode
letters/digits, with inner apostrophes or hyphens kept) and single punctuation marks.
"""

from __future__ import annotations

import re
from typing import Callable

__all__ = ["TOKENIZERS", "get_tokenizer", "kim_tokenize", "word_tokenize"]

_KIM_DROP = re.compile(r"[^A-Za-z0-9(),!?'`]")
_KIM_CLITIC = re.compile(r"('s|'ve|n't|'re|'d|'ll)\b")
_KIM_SEPARATE = re.compile(r"([,!()?])")
_SPACES = re.compile(r"\s+")
_WORD = re.compile(r"\w+(?:['\-]\w+)*|[^\w\s]", re.UNICODE)


def kim_tokenize(text: str, lowercase: bool = True) -> list[str]:
    """Kim's cleaning rules, then split on whitespace."""
    text = _KIM_DROP.sub(" ", text)
    text = _KIM_CLITIC.sub(r" \1", text)
    text = _KIM_SEPARATE.sub(r" \1 ", text)
    text = _SPACES.sub(" ", text).strip()
    if lowercase:
        text = text.lower()
    return text.split(" ") if text else []


def word_tokenize(text: str, lowercase: bool = True) -> list[str]:
    """Lower-case words (inner ``'`` and ``-`` kept) and single punctuation marks."""
    if lowercase:
        text = text.lower()
    return _WORD.findall(text)


TOKENIZERS: dict[str, Callable[..., list[str]]] = {"kim": kim_tokenize, "words": word_tokenize}


def get_tokenizer(name: str, lowercase: bool = True, max_tokens: int | None = None) -> Callable[[str], list[str]]:
    """The tokeniser called ``name`` (``kim`` or ``words``) as a one-argument function.

    ``max_tokens``: keep only the first N tokens of a sentence (None: all).
    """
    try:
        function = TOKENIZERS[name]
    except KeyError:
        raise ValueError(f"unknown tokenizer {name!r}; choose from {sorted(TOKENIZERS)}") from None
    if max_tokens is None:
        return lambda text: function(text, lowercase=lowercase)
    return lambda text: function(text, lowercase=lowercase)[:max_tokens]
