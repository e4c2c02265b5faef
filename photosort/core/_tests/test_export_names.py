"""Folder and file names for export: valid on every OS, never a way out of the destination."""

from __future__ import annotations

import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from photosort.core.export import MAX_NAME_BYTES, candidates, inside, safe_filename, safe_name

RESERVED = {"CON", "PRN", "AUX", "NUL"} | {f"{d}{n}" for d in ("COM", "LPT") for n in range(10)}


def _valid_everywhere(name: str) -> None:
    assert name and name not in (".", "..")
    assert not set('<>:"/\\|?*') & set(name)
    assert all(ord(ch) >= 32 and ch != "\x7f" for ch in name)
    assert not name.endswith((".", " ")) and not name.startswith((".", " "))
    assert name.split(".")[0].strip().upper() not in RESERVED
    assert len(name.encode("utf-8")) <= MAX_NAME_BYTES


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("dusk", "dusk"),
        ("../x", "_x"),
        ("..", "_"),
        ("a/b", "a_b"),
        ("a\\b", "a_b"),
        ("CON", "_CON"),
        ("con.txt", "_con.txt"),
        ("LPT9", "_LPT9"),
        ("COM1.tar.gz", "_COM1.tar.gz"),
        ("CONSOLE", "CONSOLE"),
        ("night. ", "night"),
        ("tab\there", "tabhere"),
        ("🌅 sunrise", "🌅 sunrise"),
        ("", "_"),
    ],
)
def test_hostile_names(raw, expected):
    assert safe_name(raw) == expected
    _valid_everywhere(safe_name(raw))


def test_long_names_are_cut_by_bytes_on_a_character_boundary():
    name = safe_name("é" * 300)
    assert len(name.encode()) <= MAX_NAME_BYTES
    assert name == "é" * (MAX_NAME_BYTES // 2)
    emoji = safe_name("🐶" * 300)
    assert emoji == "🐶" * (MAX_NAME_BYTES // 4)


@given(st.text(max_size=400))
def test_any_text_gives_a_valid_name(raw):
    _valid_everywhere(safe_name(raw))
    _valid_everywhere(safe_filename(raw + ".jpg"))


def test_file_names_keep_their_extension():
    assert safe_filename("IMG 1.JPG") == "IMG 1.JPG"
    assert safe_filename("x" * 400 + ".jpeg").endswith(".jpeg")
    assert safe_filename("nul.png") == "_nul.png"


def test_collision_candidates():
    gen = candidates("a.jpg")
    assert [next(gen) for _ in range(3)] == ["a.jpg", "a (2).jpg", "a (3).jpg"]


def test_inside_follows_links(tmp_path):
    base = tmp_path / "out"
    base.mkdir()
    (base / "ok").mkdir()
    os.symlink(tmp_path, base / "escape")
    assert inside(base / "ok", base)
    assert not inside(base / "escape", base)
    assert not inside(base / ".." / "elsewhere", base)
