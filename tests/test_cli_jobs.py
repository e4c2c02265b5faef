"""The one CLI helper for long jobs: progress bar, Ctrl-C asks the job to stop, one-line exit."""

from __future__ import annotations

import argparse
import os
import signal
import time

import pytest

from photosort.cli import COMMANDS, Command, main, run_job
from photosort.core.progress import Cancelled, CancelToken, Progress, ProgressCallback


def _job_interrupted_once(on_progress: ProgressCallback, should_cancel: CancelToken) -> str:
    on_progress(Progress("working", 1, 10))
    os.kill(os.getpid(), signal.SIGINT)  # the user presses Ctrl-C once
    deadline = time.monotonic() + 1.0
    while not should_cancel() and time.monotonic() < deadline:
        time.sleep(0.01)
    return "stopped cleanly" if should_cancel() else "ran on"


def test_the_first_ctrl_c_asks_the_job_to_stop_and_its_result_comes_back(capsys) -> None:
    args = argparse.Namespace(no_progress=False, json=True)
    assert run_job(args, _job_interrupted_once) == "stopped cleanly"
    err = capsys.readouterr().err
    assert "stopping after the current batch" in err
    assert "working" not in err  # --json: no progress bar on stderr
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handler restored


def test_a_job_stopped_without_a_result_exits_with_one_line(monkeypatch, capsys) -> None:
    def run(args: argparse.Namespace) -> int:
        def job(on_progress: ProgressCallback, should_cancel: CancelToken) -> int:
            raise Cancelled()

        return run_job(args, job)

    monkeypatch.setitem(COMMANDS, "stoppable", Command(lambda p: None, run, "a test job"))
    assert main(["stoppable"]) == 130
    err = capsys.readouterr().err
    assert err.strip() == "photosort: error: stopped (Ctrl-C)"


@pytest.mark.parametrize("flags", [["--no-progress"], []])
def test_the_bar_shows_only_on_a_terminal_unless_asked(flags: list[str], capsys) -> None:
    args = argparse.Namespace(no_progress="--no-progress" in flags, json=False)

    def job(on_progress: ProgressCallback, should_cancel: CancelToken) -> None:
        on_progress(Progress("downloading", 5, 10, unit="B"))

    run_job(args, job, only_on_terminal=False)
    err = capsys.readouterr().err
    assert ("downloading" in err) is (not flags)
