"""Background reads borrow a connection and give it back: an app that runs for hours never
piles up open files, and closing the catalog never pulls a connection from under a query."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from photosort.core.catalog import Catalog, CatalogError


def open_files() -> int:
    return len(os.listdir("/proc/self/fd" if os.path.isdir("/proc/self/fd") else "/dev/fd"))


def read_in_new_thread(catalog: Catalog) -> None:
    """One read on a thread that ends afterwards, as each Qt pool task looks to Python."""
    thread = threading.Thread(target=lambda: catalog.query("SELECT count(*) FROM photos"))
    thread.start()
    thread.join()


def test_reads_from_short_lived_threads_leave_no_open_connections_behind(tmp_path: Path) -> None:
    catalog = Catalog(tmp_path / "catalog.sqlite")
    read_in_new_thread(catalog)
    before = open_files()
    for _ in range(150):
        read_in_new_thread(catalog)
    assert open_files() - before <= 2
    assert catalog.idle_reader_count() == 1
    catalog.close()


def test_parallel_reads_open_no_more_connections_than_ran_at_once(tmp_path: Path) -> None:
    catalog = Catalog(tmp_path / "catalog.sqlite")
    start = threading.Barrier(4)

    def read() -> None:
        start.wait()
        for _ in range(20):
            catalog.query("SELECT count(*) FROM photos")

    threads = [threading.Thread(target=read) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert 1 <= catalog.idle_reader_count() <= 4
    catalog.close()


def test_closing_during_a_long_read_lets_the_read_finish(tmp_path: Path) -> None:
    catalog = Catalog(tmp_path / "catalog.sqlite")
    slow = (
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000000) "
        "SELECT count(*) FROM n"
    )
    answers: list[object] = []
    reading = threading.Thread(target=lambda: answers.append(catalog.query(slow)[0][0]))
    reading.start()
    while catalog._readers_made == 0:  # the read has its connection (and starts at once)
        time.sleep(0.001)
    time.sleep(0.05)
    catalog.close()
    reading.join()
    assert answers == [1000000]
    with pytest.raises(CatalogError, match="closed"):
        catalog.query("SELECT 1")
