"""CLIP's byte-pair tokenizer without torch, for a text search that must start fast.

The same algorithm and vocabulary as open_clip's ``SimpleTokenizer`` (clean="lower",
truncation), returning a NumPy array: importing open_clip imports torch (~4 s cold), and a
text query needs neither. ``text_onnx.export`` checks that both give the same tokens
before an export is kept.
"""

from __future__ import annotations

import gzip
import html
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["ClipTokenizer"]

_MERGES = 49152 - 256 - 2  # open_clip keeps this many merges of the vocabulary file
_SPECIAL = ("<start_of_text>", "<end_of_text>")
#: open_clip's word pattern. It needs the ``regex`` package for Unicode letters and digits,
#: imported only for text that is not ASCII once cleaned (20 ms of a cold search).
_PATTERN = "|".join(_SPECIAL) + r"""|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"""
#: The same pattern for ASCII text (the usual query), where a letter is A-Z and a digit 0-9.
_ASCII_PATTERN = re.compile(
    "|".join(_SPECIAL) + r"""|'s|'t|'re|'ve|'m|'ll|'d|[a-z]+|[0-9]|[^\sa-z0-9]+""",
    re.IGNORECASE | re.ASCII,
)


@lru_cache
def _bytes_to_unicode() -> dict[int, str]:
    """Printable stand-ins for every byte, as in CLIP (whitespace/control bytes remapped)."""
    bs = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1)]
    bs += range(ord("®"), ord("ÿ") + 1)
    cs = list(bs)
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs), strict=True))


def _clean(text: str) -> str:
    """open_clip's "lower" cleaning: ftfy, HTML entities twice, whitespace, lower case.

    ftfy (0.1 s to import) changes nothing in printable ASCII without entities, the usual
    query, so it is imported only for other text.
    """
    if not (text.isascii() and text.isprintable() and "&" not in text):
        import ftfy

        text = ftfy.fix_text(text)
    text = html.unescape(html.unescape(text)).strip()
    return " ".join(text.split()).strip().lower()


def write_merges(bpe_gz: str | Path, target: str | Path) -> None:
    """The merges open_clip uses, one "a b" per line, unzipped: read in milliseconds."""
    with gzip.open(bpe_gz, "rt", encoding="utf-8") as fh:
        lines = fh.read().split("\n")[1 : _MERGES + 1]
    Path(target).write_text("\n".join(lines), encoding="utf-8")


class ClipTokenizer:
    """Texts to an (N, context_length) int64 array of CLIP token ids.

    The vocabulary is the 512 byte symbols (plain, then with the end-of-word mark) followed
    by one token per merge in rank order, so a merged symbol's id is 512 + its merge's
    rank: only the ranks need a table, keyed by the merge file's own lines.
    """

    def __init__(self, merges_path: str | Path, context_length: int = 77):
        lines = Path(merges_path).read_text(encoding="utf-8").split("\n")
        self._ranks = dict(zip(lines, range(len(lines)), strict=True))  # in C: 49k merges
        byte_chars = list(_bytes_to_unicode().values())
        self._base = {c: i for i, c in enumerate(byte_chars)}
        self._base.update({c + "</w>": 256 + i for i, c in enumerate(byte_chars)})
        self.sot = 512 + len(lines)
        self.eot = self.sot + 1
        self.context_length = context_length
        self._cache: dict[str, list[int]] = {_SPECIAL[0]: [self.sot], _SPECIAL[1]: [self.eot]}
        self._unicode_pattern: Any = None  # compiled by the first text that is not ASCII

    def _bpe(self, token: str) -> list[int]:
        if token in self._cache:
            return self._cache[token]
        byte_map = _bytes_to_unicode()
        chars = "".join(byte_map[b] for b in token.encode("utf-8"))
        word = [*chars[:-1], chars[-1] + "</w>"]
        ids = [self._base[c] for c in word]
        ranks = self._ranks
        while len(word) > 1:
            best, rank = None, None
            for pair in zip(word, word[1:], strict=False):
                r = ranks.get(f"{pair[0]} {pair[1]}")
                if r is not None and (rank is None or r < rank):
                    best, rank = pair, r
            if best is None or rank is None:
                break
            merged: list[str] = []
            merged_ids: list[int] = []
            i = 0
            while i < len(word):
                if i < len(word) - 1 and (word[i], word[i + 1]) == best:
                    merged.append(word[i] + word[i + 1])
                    merged_ids.append(512 + rank)
                    i += 2
                else:
                    merged.append(word[i])
                    merged_ids.append(ids[i])
                    i += 1
            word, ids = merged, merged_ids
        self._cache[token] = ids
        return ids

    def encode(self, text: str) -> list[int]:
        """Token ids of one text, without start and end markers."""
        return [i for token in self._words(_clean(text)) for i in self._bpe(token)]

    def _words(self, text: str) -> list[str]:
        if text.isascii():
            return _ASCII_PATTERN.findall(text)
        if self._unicode_pattern is None:
            import regex

            self._unicode_pattern = regex.compile(_PATTERN, regex.IGNORECASE)
        words: list[str] = self._unicode_pattern.findall(text)
        return words

    def __call__(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.context_length), dtype=np.int64)
        for row, text in enumerate(texts):
            ids = [self.sot, *self.encode(text), self.eot]
            if len(ids) > self.context_length:
                ids = ids[: self.context_length]
                ids[-1] = self.eot
            out[row, : len(ids)] = ids
        return out
