"""The torch-free tokenizer gives open_clip's tokens, or a query would find other photos."""

from __future__ import annotations

import random

import numpy as np
import pytest

from photosort.core.clip_tokenizer import ClipTokenizer, write_merges

WORDS = [
    "dog",
    "beach",
    "sunset",
    "Ünïcödé",
    "café",
    "東京タワー",
    "😀",
    "don't",
    "it's 3 o'clock",
    "&amp;",
    "a<b>c",
    "  many   spaces ",
    "supercalifragilisticexpialidocious",
    "HELLO",
    "x" * 120,
    "<start_of_text>",
    "tab\there",
]


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    from open_clip.tokenizer import SimpleTokenizer, default_bpe

    merges = tmp_path_factory.mktemp("bpe") / "merges.txt"
    write_merges(default_bpe(), merges)
    return ClipTokenizer(merges, 77), SimpleTokenizer(context_length=77)


def test_same_tokens_as_open_clip(pair):
    ours, theirs = pair
    rng = random.Random(7)
    texts = WORDS + [" ".join(rng.choices(WORDS, k=rng.randint(1, 14))) for _ in range(300)]
    assert np.array_equal(ours(texts), theirs(texts).numpy())


def test_long_text_is_cut_and_ends_with_the_end_token(pair):
    ours, _ = pair
    tokens = ours(["word " * 200])
    assert tokens.shape == (1, 77) and tokens[0, -1] == ours.eot and tokens[0, 0] == ours.sot


def test_ascii_text_splits_into_open_clips_words_without_the_regex_package(pair):
    """ASCII queries skip the ``regex`` import (20 ms of a cold search): their words,
    punctuation and apostrophes must come out exactly as open_clip's Unicode pattern."""
    import string

    import regex

    from photosort.core import clip_tokenizer

    unicode_pattern = regex.compile(clip_tokenizer._PATTERN, regex.IGNORECASE)
    rng = random.Random(11)
    alphabet = string.printable + "'" * 10 + "<>_" * 3
    texts = ["don't stop", "it's 3 o'clock", "<start_of_text>x", "a_b-c.d", "'S'T'RE", "9lives"]
    texts += ["".join(rng.choices(alphabet, k=rng.randint(1, 40))) for _ in range(2000)]
    for text in texts:
        cleaned = clip_tokenizer._clean(text)
        assert cleaned.isascii()
        assert clip_tokenizer._ASCII_PATTERN.findall(cleaned) == unicode_pattern.findall(cleaned)
    ours, theirs = pair
    assert np.array_equal(ours(texts[:300]), theirs(texts[:300]).numpy())
