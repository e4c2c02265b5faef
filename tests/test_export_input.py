"""Export as a hostile tester and a returning user try it (issue 11 findings 14 and 18,
issue 14's "Export"): a full disk, names that lie, formulas in the manifest, the same
export twice, a typo in the tag, and exporting a search's results or chosen photos."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import draw_photo
from photosort.cli import main
from photosort.core import export as exporter
from photosort.core.export import ExportRequest, placing
from photosort.core.lookup import UnknownNameError


@pytest.fixture
def tagged(make_library, tmp_path):
    """Six photos, all tagged "dog" by hand (categories removed: only what the test sets)."""
    root = tmp_path / "photos"
    paths = [draw_photo(root / f"IMG_{i}.jpg", seed=700 + i) for i in range(6)]
    lib = make_library()
    lib.scan([root])
    for category in lib.categories():
        lib.remove_category(category.name)
    ids = [lib.catalog.photo_by_path(str(p)).id for p in paths]
    lib.tag_photos(ids, add=["dog"])
    return lib, root, paths, ids


def _rows(manifest: str | Path) -> list[dict]:
    with open(manifest, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


# -- finding 14: a full disk --------------------------------------------------------------------
def _can_mount_tmpfs() -> bool:
    if not shutil.which("unshare") or sys.platform != "linux":
        return False
    probe = subprocess.run(
        ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", "mount -t tmpfs t /mnt"],
        capture_output=True,
    )
    return probe.returncode == 0


@pytest.mark.skipif(not _can_mount_tmpfs(), reason="needs user namespaces to mount a tmpfs")
def test_export_onto_a_really_full_disk_is_one_line_and_a_true_manifest(tmp_path, tiny_model):
    """A 96 KiB tmpfs as the destination: the real ENOSPC, from the real CLI."""
    photos = tmp_path / "photos"
    for i in range(12):
        draw_photo(photos / f"p{i:02d}.png", seed=900 + i, size=(160, 120))  # ~40 KB each
    lib = tmp_path / "lib"
    base = ["--library", str(lib), "--model", tiny_model, "--device", "cpu"]
    assert main([*base, "scan", str(photos), "--no-progress"]) == 0
    assert main([*base, "tag", str(photos), "--add", "full"]) == 0
    dest = tmp_path / "small"
    dest.mkdir()
    cmd = " ".join(
        [
            f"mount -t tmpfs -o size=96k tmpfs {dest} &&",
            f"{sys.executable} -m photosort",
            *base,
            f"export --tag full --to {dest} --no-progress;",
            f"echo rc=$?; cp -r {dest} {tmp_path / 'seen'}",
        ]
    )
    proc = subprocess.run(
        ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", cmd],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    assert "rc=1" in proc.stdout
    err = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(err) == 1 and "No space left" in err[0], proc.stderr
    assert "stopped: the disk of" in proc.stdout and "is full" in proc.stdout
    seen = tmp_path / "seen"
    rows = _rows(seen / "manifest.csv")
    copied = sorted(p.name for p in (seen / "full").iterdir())
    assert 0 < len(rows) < 12
    assert sorted(Path(r["destination"]).name for r in rows) == copied  # exactly what is there
    for r in rows:
        assert (seen / "full" / Path(r["destination"]).name).read_bytes() == Path(
            r["source"]
        ).read_bytes()


def test_a_full_disk_mid_export_stops_with_a_manifest_of_what_was_done(
    tagged, tmp_path, monkeypatch
):
    """The same, by fault injection (runs everywhere): the 4th copy and the manifest's writes
    from then on meet ENOSPC until the failed copy's temp file is gone."""
    lib, _, paths, _ = tagged
    real_copy = shutil.copyfile
    calls = {"n": 0}

    def filling_copy(src, dst, *a, **k):
        calls["n"] += 1
        if calls["n"] == 4:
            raise OSError(28, "No space left on device", dst)
        return real_copy(src, dst, *a, **k)

    monkeypatch.setattr(placing.shutil, "copyfile", filling_copy)
    monkeypatch.setattr(exporter, "_room_for", lambda source, base: False)
    dest = tmp_path / "out"
    summary = lib.export(ExportRequest(["dog"], dest))
    assert summary.stopped and "full" in summary.line() and summary.done == 3
    assert summary.failed == 1 and len(summary.items) == 4  # the rest were never tried
    rows = _rows(summary.manifest)
    assert [r["destination"] for r in rows] == [i.destination for i in summary.items[:3]]
    assert sorted(p.name for p in (dest / "dog").iterdir()) == sorted(
        Path(r["destination"]).name for r in rows
    )


def test_manifest_rows_refused_by_a_full_disk_are_written_later(tmp_path):
    """A write the disk refuses leaves no half row; the row comes back at the next flush."""
    manifest = exporter.Manifest.open(str(tmp_path))

    class Full:
        def __init__(self, fh):
            self.fh, self.fail = fh, True

        def write(self, text):
            if self.fail:
                self.fh.write(text[:7])  # part of it reached the file
                self.fh.flush()
                raise OSError(28, "No space left on device")
            return self.fh.write(text)

        def __getattr__(self, name):
            return getattr(self.fh, name)

    manifest.add(["/a.jpg", "/out/a.jpg", "t", "copy"])
    manifest._fh = Full(manifest._fh)
    manifest.add(["/b.jpg", "/out/b.jpg", "t", "copy"])  # refused
    assert manifest.close() is None  # written at close, after the reopen
    rows = _rows(manifest.path)
    assert [r["source"] for r in rows] == ["/a.jpg", "/b.jpg"]


# -- finding 18: names and the manifest ---------------------------------------------------------
def test_names_that_lie_formulas_and_dot_tags(tagged, tmp_path):
    lib, _, _, ids = tagged
    hostile = ["\u202egpj.exe", "zero\u200bwidth", ".", "..", "...", '=HYPERLINK("http://x")']
    lib.tag_photos([ids[0]], add=hostile)
    dest = tmp_path / "out"
    summary = lib.export(ExportRequest(hostile, dest))
    assert summary.failed == 0 and summary.done == len(hostile)
    folders = sorted(p.name for p in dest.iterdir() if p.is_dir())
    assert len(folders) == len(hostile)  # ".", ".." and "..." do not merge
    for name in folders:
        assert not any(ch in name for ch in "\u202e\u200b")
        assert not name.startswith(".")
        assert (dest / name).resolve().parent == dest.resolve()
    assert "gpj.exe" in folders and "zerowidth" in folders
    with open(summary.manifest, newline="", encoding="utf-8") as fh:
        cells = [cell for row in csv.reader(fh) for cell in row]
    assert not any(c.startswith(("=", "+", "-", "@")) for c in cells)
    assert '\'=HYPERLINK("http://x")' in cells


# -- issue 14: export twice, typos, search results ----------------------------------------------
def test_the_same_export_twice_copies_nothing_and_keeps_one_manifest(tagged, tmp_path):
    lib, _, paths, ids = tagged
    dest = tmp_path / "out"
    first = lib.export(ExportRequest(["dog"], dest))
    assert first.done == 6
    dry = lib.export(ExportRequest(["dog"], dest, dry_run=True))
    assert dry.line().endswith("would have copied 0 photos into " + str(dest) + ", 6 already there")
    again = lib.export(ExportRequest(["dog"], dest))
    assert again.done == 0 and again.skipped == 6 and "6 already there" in again.line()
    assert sorted(p.name for p in dest.iterdir()) == ["dog", "manifest.csv"]
    assert len(list((dest / "dog").iterdir())) == 6
    # a new photo joins the tag: only it is copied, and the same manifest grows
    new = draw_photo(paths[0].parent / "IMG_new.jpg", seed=777)
    lib.scan()
    lib.tag_photos([lib.catalog.photo_by_path(str(new)).id], add=["dog"])
    third = lib.export(ExportRequest(["dog"], dest))
    assert third.done == 1 and third.skipped == 6 and third.manifest == first.manifest
    assert len(_rows(first.manifest)) == 7
    # same name, other content: a copy beside it, never "already there"
    (dest / "dog" / "IMG_0.jpg").write_bytes(b"edited elsewhere")
    fourth = lib.export(ExportRequest(["dog"], dest))
    assert (
        fourth.done == 1 and (dest / "dog" / "IMG_0 (2).jpg").read_bytes() == paths[0].read_bytes()
    )


def test_an_unknown_tag_is_an_error_with_a_suggestion(tagged, tmp_path):
    lib, *_ = tagged
    with pytest.raises(UnknownNameError, match="unknown tag 'dgo'; did you mean 'dog'"):
        lib.export(ExportRequest(["dgo"], tmp_path / "out"))
    assert not (tmp_path / "out").exists()


@pytest.fixture
def cli(tagged, tmp_path, tiny_model, capsys):
    lib, root, paths, ids = tagged
    lib.close()
    base = ["--library", str(lib.folder), "--model", tiny_model, "--device", "cpu"]

    def run(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main([*base, *args])
        out = capsys.readouterr()
        return code, out.out, out.err

    return run, root, paths


def test_cli_export_typo_search_results_and_paths(cli, tmp_path):
    run, root, paths = cli
    code, out, err = run("export", "--tag", "dgo", "--to", str(tmp_path / "x"))
    assert code == 2 and err.strip() == ("photosort: error: unknown tag 'dgo'; did you mean 'dog'?")
    assert out == "" and not (tmp_path / "x").exists()

    code, out, _ = run("export", "--query", "a photo", "--top", "2", "--to", str(tmp_path / "q"))
    assert code == 0 and "2 photos copied" in out
    assert len(list((tmp_path / "q").glob("*.jpg"))) == 2

    picked = [str(paths[1]), str(paths[4])]
    code, out, _ = run("export", "--paths", *picked, "--to", str(tmp_path / "p"), "--json")
    summary = json.loads(out)
    assert code == 0 and summary["done"] == 2
    assert sorted(p.name for p in (tmp_path / "p").glob("*.jpg")) == ["IMG_1.jpg", "IMG_4.jpg"]

    code, out, _ = run("export", "--paths", str(root), "--tag", "dog", "--to", str(tmp_path / "t"))
    assert code == 0 and "6 photos copied" in out and (tmp_path / "t" / "dog").is_dir()

    code, _, err = run("export", "--paths", str(tmp_path / "nope.jpg"), "--to", str(tmp_path))
    assert code == 2 and "not a photo or folder of this library" in err
