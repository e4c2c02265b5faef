"""The first-run model dialog (issue 14, first bullet; issue 11 finding 21 in the app):
one dialog, real download progress with Cancel and resume, a model folder as the way out,
text that fits and speaks to an app user."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QDialog, QFileDialog

from photosort.core.embedder import ModelError
from photosort.gui.model_setup import ModelSetupDialog
from tests.fixtures.hub_server import HubState, LocalHub
from tests.gui.conftest import wait_idle

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / "tests" / "fixtures" / "tiny_clip"
SPEC = "hf-hub:photosort/tiny-clip"


@pytest.fixture
def hub(monkeypatch, tmp_path):
    state = HubState()
    state.add_folder(
        "photosort/tiny-clip", TINY, ["open_clip_config.json", "open_clip_model.safetensors"]
    )
    monkeypatch.setenv("PHOTOSORT_MODEL_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    with LocalHub(state) as server:
        monkeypatch.setenv("HF_ENDPOINT", server.url)
        yield state


def model_dialogs() -> list[ModelSetupDialog]:
    return [
        w
        for w in QApplication.topLevelWidgets()
        if isinstance(w, ModelSetupDialog) and w.isVisible()
    ]


def test_one_dialog_however_many_model_errors(make_window, library, qtbot):
    window = make_window(library)
    seen = {}

    def while_open() -> None:
        dialogs = model_dialogs()
        seen["first"] = len(dialogs)
        # a search failing meanwhile: no second dialog, the message updates
        window.model_problem(
            ModelError(
                "cannot load model x: offline. use --model local-dir:PATH", reason="Offline."
            )
        )
        seen["after"] = len(model_dialogs())
        seen["text"] = dialogs[0].message.text()
        seen["buttons"] = [b.text() for b in (dialogs[0].download_button, dialogs[0].folder_button)]
        dialogs[0].reject()

    QTimer.singleShot(200, while_open)
    window.model_problem()
    assert seen == {
        "first": 1,
        "after": 1,
        "text": "Offline.",
        "buttons": ["Download now", "Choose a model folder…"],
    }
    assert window._model_dialog is None


def test_download_progress_cancel_then_resume_loads_the_model(qtbot, hub, make_library, tmp_path):
    library = make_library(tmp_path / "lib", model=SPEC)
    hub.rate = 300_000
    dialog = ModelSetupDialog(library.model_spec, None, None, library=library)
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.download_button.isVisible()
    dialog.download_button.click()
    qtbot.waitUntil(lambda: 50 < dialog.progress.value() < 900, timeout=20000)
    assert "MB" in dialog.progress.format() and dialog.cancel_button.isVisible()
    dialog.cancel_button.click()
    qtbot.waitUntil(lambda: not dialog.downloading, timeout=20000)
    assert "continues where it left off" in dialog.message.text()
    assert dialog.result() != QDialog.DialogCode.Accepted
    assert list((tmp_path / "cache").rglob("*.incomplete"))
    hub.rate = None
    dialog.download_button.click()  # "Try again"
    qtbot.waitUntil(lambda: dialog.result() == QDialog.DialogCode.Accepted, timeout=90000)
    assert library._embedder is not None  # loaded: the window can search at once
    assert any(r for _v, _p, r in hub.requests if r), "the second try resumed with a Range"


def test_offline_download_says_so_without_cli_advice(qtbot, make_library, tmp_path, monkeypatch):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("PHOTOSORT_MODEL_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    library = make_library(tmp_path / "lib", model=SPEC)
    dialog = ModelSetupDialog(library.model_spec, None, None, library=library)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.download_button.click()
    qtbot.waitUntil(lambda: not dialog.downloading, timeout=20000)
    text = dialog.message.text()
    assert "cannot reach the model hub" in text and "choose a model folder" in text
    assert "--model" not in text
    # the text fits: nothing clipped, nothing drawn over the explanation
    QApplication.processEvents()
    message, intro = dialog.message, dialog.intro
    assert message.height() >= message.heightForWidth(message.width())
    assert not message.geometry().intersects(intro.geometry())
    assert dialog.height() >= dialog.layout().minimumSize().height()


def test_a_model_folder_is_the_way_out(qtbot, tmp_path, monkeypatch, make_library):
    monkeypatch.setenv("PHOTOSORT_MODEL_CACHE", str(tmp_path / "cache"))
    library = make_library(tmp_path / "lib", model="ViT-B-32:laion2b_s34b_b79k")
    dialog = ModelSetupDialog(library.model_spec, None, None, library=library)
    qtbot.addWidget(dialog)
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(tmp_path))
    dialog.choose_folder()
    assert dialog.chosen_model is None and "open_clip_config.json" in dialog.message.text()
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(TINY))
    dialog.choose_folder()
    assert dialog.chosen_model == f"local-dir:{TINY}"
    assert dialog.result() == QDialog.DialogCode.Accepted


def test_first_run_window_downloads_then_searches(qtbot, hub, make_library, tmp_path, settings):
    """No model cached: the window's one dialog downloads it, and search then works."""
    from photosort.gui.main_window import MainWindow

    library = make_library(tmp_path / "lib", model=SPEC)
    window = MainWindow(library, settings)
    qtbot.addWidget(window)
    window.show()

    def click_download() -> None:
        dialogs = model_dialogs()
        assert len(dialogs) == 1
        dialogs[0].download_button.click()

    QTimer.singleShot(200, click_download)
    window.model_problem()
    assert library._embedder is not None
    window.search_bar.set_text("a red ball")
    wait_idle(qtbot, window)
    assert window.status_note.text().endswith("photos searched")  # the search ran
    window.close()
