"""``photosort watch`` headless: follows new, moved and deleted photos, stops on Ctrl-C."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from conftest import draw_photo
from photosort.cli import main
from photosort.core.progress import CancelToken
from photosort.core.watch import watch_loop


def _watch(library: Path, tiny_model: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    code = "import sys; from photosort.cli import main; sys.exit(main())"
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            code,
            "--library",
            str(library),
            "--model",
            tiny_model,
            "--device",
            "cpu",
            "watch",
            "--json",
            "--settle",
            "0.3",
        ],  # fmt: skip
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


@pytest.mark.slow  # a subprocess loads torch and the model: about a minute on a busy machine
def test_watch_indexes_changes_until_ctrl_c(tmp_path, tiny_model, photo_tree):
    library = tmp_path / "lib"
    base = ["--library", str(library), "--model", tiny_model, "--device", "cpu"]
    assert main([*base, "scan", str(photo_tree), "--no-progress"]) == 0

    proc = _watch(library, tiny_model)
    lines: queue.Queue[dict] = queue.Queue()

    def read() -> None:
        for line in proc.stdout:
            if line.strip().startswith("{"):
                lines.put(json.loads(line))

    threading.Thread(target=read, daemon=True).start()

    def next_pass(timeout: float = 60.0) -> dict:
        return lines.get(timeout=timeout)

    try:
        first = next_pass(120.0)  # the catch-up scan
        assert first["new"] == 0 and first["unchanged"] == 12
        time.sleep(1.0)  # the watcher is running once the catch-up pass is printed

        draw_photo(photo_tree / "family" / "arrived.jpg", seed=99)
        result = next_pass()
        assert (result["new"], result["embedded"]) == (1, 1)

        os.rename(photo_tree / "trips" / "img_01.png", photo_tree / "family" / "img_01.png")
        assert next_pass()["moved"] == 1

        (photo_tree / "family" / "img_00.jpg").unlink()
        assert next_pass()["removed"] == 1

        started = time.monotonic()
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
        assert time.monotonic() - started < 5
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()

    code = main([*base, "status", "--json"])
    assert code == 0


def test_the_watch_loop_keeps_a_library_current(make_library, photo_tree):
    lib = make_library()
    lib.scan([photo_tree])
    token = CancelToken()
    passes: list = []
    watcher = lib.watcher(settle_s=0.3)
    watcher.start()
    loop = threading.Thread(
        target=watch_loop,
        args=(
            watcher,
            lambda roots: lib.scan(roots, should_cancel=token),
            lambda batch, summary: passes.append(summary),
            token,
        ),  # fmt: skip
        daemon=True,
    )
    loop.start()
    try:
        time.sleep(0.5)
        for i in range(5):
            draw_photo(photo_tree / "burst" / f"new_{i}.jpg", seed=200 + i)
        deadline = time.monotonic() + 60
        while sum(s.new for s in passes) < 5 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert sum(s.new for s in passes) == 5
        assert len(passes) <= 2  # batched, not one scan per file
        assert lib.status().photos == 17
    finally:
        token.set()
        loop.join(timeout=10)
        watcher.stop()
    assert not loop.is_alive()
