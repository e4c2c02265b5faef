"""Folder and file names for export: valid on every OS, never a way out of the destination."""

from __future__ import annotations

import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from photosort.core.export import (
    MAX_NAME_BYTES,
    candidates,
    csv_cell,
    inside,
    safe_filename,
    safe_name,
    tag_folders,
)

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
        ("..", "__"),
        (".", "_"),
        ("...", "___"),
        (".hidden", "hidden"),
        ("\u202egpj.exe", "gpj.exe"),  # a right-to-left override would show "exe.jpg"
        ("zero\u200bwidth\u200d\ufeff", "zerowidth"),
        ("\u2066isolate\u2069", "isolate"),
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


def test_no_two_tags_share_a_folder():
    tags = [".", "..", "...", "_", "a/b", "a_b", "night.", "night", "Dog", "dog"]
    folders = tag_folders(tags)
    assert len(set(f.casefold() for f in folders.values())) == len(tags)
    assert folders["."] == "_" and folders["_"] == "_ (2)" and folders["a_b"] == "a_b (2)"


@given(st.lists(st.text(max_size=20), max_size=12))
def test_tag_folders_never_merge(tags):
    folders = tag_folders(tags)
    assert len({f.casefold() for f in folders.values()}) == len(set(tags))


@pytest.mark.parametrize(
    "raw, expected",
    [
        ('=HYPERLINK("http://x","y")', '\'=HYPERLINK("http://x","y")'),
        ("+1", "'+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("dusk", "dusk"),
        ("/photos/a.jpg", "/photos/a.jpg"),
        (None, ""),
    ],
)
def test_manifest_cells_never_start_a_formula(raw, expected):
    assert csv_cell(raw) == expected
