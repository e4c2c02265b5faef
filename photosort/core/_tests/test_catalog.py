"""The catalog: readers never wait for a writer, a failed write leaves nothing behind, and
every problem the user can act on (busy, damaged, newer, read-only) is one line."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest

from photosort.core.catalog import Catalog, CatalogError


def add_photo(conn: sqlite3.Connection, path: str, status: str = "pending", kind: str = "") -> int:
    """A photo row as a walk (and maybe an embedding pass) leaves it."""
    conn.execute("INSERT OR IGNORE INTO roots (id, path, added_at) VALUES (1, '/p', 'then')")
    cursor = conn.execute(
        "INSERT INTO photos (root_id, path, folder, size, mtime_ns, status, failure_kind, "
        "added_at, updated_at) VALUES (1, ?, '/p', 1, 1, ?, ?, 'then', 'then')",
        (path, status, kind or None),
    )
    return int(cursor.lastrowid or 0)


@pytest.fixture
def cat(tmp_path: Path):
    catalog = Catalog(tmp_path / "catalog.sqlite")
    yield catalog
    catalog.close()


def test_a_first_read_on_a_new_thread_never_waits_for_a_long_write(cat: Catalog) -> None:
    """The app's first read on a thread (the GUI thread, a pool task) answers at once
    while a scan holds a long write transaction, and sees only committed rows."""
    writing, done = threading.Event(), threading.Event()

    def long_write() -> None:
        with cat.transaction() as conn:
            add_photo(conn, "/p/uncommitted.jpg")
            writing.set()
            done.wait(10)

    writer = threading.Thread(target=long_write)
    writer.start()
    assert writing.wait(10)
    answers: list[int] = []
    reader = threading.Thread(
        target=lambda: answers.append(cat.scalar("SELECT COUNT(*) FROM photos"))
    )
    started = time.monotonic()
    reader.start()
    reader.join(5)
    waited = time.monotonic() - started
    done.set()
    writer.join()
    assert answers == [0], "the read waited for the writer (or saw its uncommitted row)"
    assert waited < 5
    assert cat.scalar("SELECT COUNT(*) FROM photos") == 1


def test_the_writer_sees_its_own_uncommitted_rows(cat: Catalog) -> None:
    with cat.transaction() as conn:
        add_photo(conn, "/p/a.jpg")
        assert cat.photo_by_path("/p/a.jpg") is not None


def test_a_failed_transaction_leaves_nothing(cat: Catalog) -> None:
    with pytest.raises(ValueError, match="half way"), cat.transaction() as conn:
        add_photo(conn, "/p/a.jpg")
        cat.set_meta("note", "written", conn)
        raise ValueError("half way")
    assert cat.scalar("SELECT COUNT(*) FROM photos") == 0
    assert cat.scalar("SELECT COUNT(*) FROM roots") == 0
    assert cat.get_meta("note") is None
    cat.add_root("/q")  # and the next write goes through
    assert cat.root_id("/q") is not None


def test_an_sql_failure_inside_a_write_is_one_line_and_rolled_back(cat: Catalog) -> None:
    with pytest.raises(CatalogError) as caught, cat.transaction() as conn:
        add_photo(conn, "/p/a.jpg")
        conn.execute("INSERT INTO no_such_table VALUES (1)")
    assert "\n" not in str(caught.value)
    assert cat.scalar("SELECT COUNT(*) FROM photos") == 0


def test_a_write_while_another_process_writes_says_busy_instead_of_hanging(
    tmp_path: Path,
) -> None:
    path = tmp_path / "catalog.sqlite"
    Catalog(path).close()
    other = sqlite3.connect(path, isolation_level=None)  # another photosort, mid-write
    other.execute("BEGIN IMMEDIATE")
    cat = Catalog(path, busy_timeout_s=0.2)
    try:
        started = time.monotonic()
        with pytest.raises(CatalogError, match="busy: another photosort process"):
            cat.add_root("/p")
        assert time.monotonic() - started < 5
        assert cat.roots() == []  # reads still answer meanwhile
    finally:
        other.execute("ROLLBACK")
        other.close()
        cat.close()


def test_a_read_only_catalog_answers_reads_and_refuses_writes(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite"
    writer = Catalog(path)
    writer.add_root("/p")
    writer.close()
    reader = Catalog(path, read_only=True)
    try:
        assert [r["path"] for r in reader.roots()] == ["/p"]
        with pytest.raises(CatalogError, match="reading only"):
            reader.add_root("/q")
    finally:
        reader.close()


def test_a_damaged_catalog_names_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite"
    path.write_bytes(b"this is not a database, a sync tool wrote over it" * 100)
    with pytest.raises(CatalogError, match="damaged.*doctor --restore"):
        Catalog(path)


def test_a_catalog_from_a_newer_photosort_is_never_written(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite"
    newer = Catalog(path)
    with newer.transaction() as conn:
        conn.execute("INSERT INTO migrations VALUES ('9999_from_the_future', 'later')")
        newer.set_meta("photosort_version", "999.0", conn)
    newer.close()
    before = path.read_bytes()
    with pytest.raises(CatalogError, match="newer than this photosort.*nothing was changed"):
        Catalog(path)
    assert path.read_bytes() == before


def test_an_unchanged_bad_file_is_not_retried_but_one_that_failed_to_read_is(
    cat: Catalog,
) -> None:
    with cat.transaction() as conn:
        pending = add_photo(conn, "/p/new.jpg")
        unreadable = add_photo(conn, "/p/unplugged.jpg", "failed", "io")
        add_photo(conn, "/p/broken.jpg", "failed", "content")
        add_photo(conn, "/p/done.jpg", "ok")  # no vector of this model yet: needs one
    due = {r["path"] for r in cat.photos_needing_embedding("m")}
    assert due == {"/p/new.jpg", "/p/unplugged.jpg", "/p/done.jpg"}
    retried = {r["path"] for r in cat.photos_needing_embedding("m", retry_failed=True)}
    assert "/p/broken.jpg" in retried
    assert {r["id"] for r in cat.photos_needing_embedding("m", root_ids=[2])} == set()
    assert {pending, unreadable} <= {r["id"] for r in cat.photos_needing_embedding("m", [1])}


def test_a_closed_catalog_says_so(tmp_path: Path) -> None:
    cat = Catalog(tmp_path / "catalog.sqlite")
    cat.close()
    with pytest.raises(CatalogError, match="closed"):
        cat.roots()
