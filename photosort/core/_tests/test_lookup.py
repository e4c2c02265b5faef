"""Did-you-mean suggestions for what users type."""

from __future__ import annotations

from photosort.core.lookup import closest, did_you_mean, similar_folder


def test_close_names_case_insensitive():
    assert closest("dgo", ["cat", "dog"]) == ["dog"]
    assert closest("BEACH", ["beach", "bench"])[0] == "beach"
    assert did_you_mean("zzz", ["dog", "cat"]) == ""
    assert did_you_mean("serch", ["scan", "search", "status"]) == "; did you mean 'search'?"


def test_folders_prefer_a_sibling_over_a_long_common_prefix():
    folders = ["/home/me/Pictures", "/home/me/Pictures/family", "/home/me/Pictures/trips"]
    assert similar_folder("/home/me/Pictures/famly", folders) == (
        "; did you mean '/home/me/Pictures/family'?"
    )
    assert similar_folder("/home/me/Picturs", folders) == "; did you mean '/home/me/Pictures'?"
    assert similar_folder("/elsewhere/xyz", folders) == ""
