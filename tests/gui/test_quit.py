"""Quitting after a session of use (issue 11 #20): no Qt ownership warning, no crash.

Runs the real entry point (``run_app``) in a child process, so what happens after the
window closes — pool threads, relays, the QApplication and interpreter shutdown — is
checked too; a crash there is invisible inside a pytest process.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

SESSION = textwrap.dedent(
    """
    import random, sys
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox
    from photosort.gui import app as app_module
    QMessageBox.question = lambda *a, **k: QMessageBox.StandardButton.No
    rng = random.Random(3)
    def session():
        window = next(w for w in QApplication.topLevelWidgets() if type(w).__name__ == "MainWindow")
        steps = iter(range(600))
        def step():
            if next(steps, None) is None:
                window.close()
                return
            ids = window.grid.photo_model.ids
            kind = rng.randrange(6)
            if kind == 0:
                window.search_bar.set_text(rng.choice(["a red ball", "night", "a car"]))
            elif kind == 1:
                window.back_to_browsing()
            elif kind == 2 and ids:
                window.grid.select_ids(rng.sample(ids, min(3, len(ids))))
            elif kind == 3:
                window.toggle_tag("keep")
            elif kind == 4:
                window.undo_stack.undo()
            elif ids:
                window.open_preview(rng.choice(ids))
            QTimer.singleShot(rng.choice([0, 1, 5]), step)
        step()
        QTimer.singleShot(200, window.rescan)  # and quit with a scan maybe still running
    app_module.application()  # timers need the QApplication's event loop
    QTimer.singleShot(500, session)
    sys.exit(app_module.run_app(sys.argv[1], sys.argv[2], "cpu"))
    """
)


def test_quit_after_use_is_clean(indexed_template, tiny_model, tmp_path):
    import shutil

    library = tmp_path / "library"
    shutil.copytree(indexed_template, library)
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "QT_QPA_PLATFORM": "offscreen",
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "PYTHONFAULTHANDLER": "1",
    }
    done = subprocess.run(
        [sys.executable, "-c", SESSION, str(library), tiny_model],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    noise = [
        line
        for line in done.stderr.splitlines()
        if line.strip() and "propagateSizeHints" not in line and "No pretrained weights" not in line
    ]
    assert done.returncode == 0, done.stderr[-3000:]
    assert not [line for line in noise if "QObject" in line or "Fatal" in line], noise
