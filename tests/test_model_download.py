"""The first-run model download, end to end against a local hub on 127.0.0.1 (finding 21).

The hub serves the repo's tiny CLIP as ``photosort/tiny-clip`` in the hub's layout; the
user names it ``hf-hub:photosort/tiny-clip``, exactly as a model on huggingface.co.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from photosort.core import model_download
from photosort.core.embedder import Embedder, ModelError, ModelSpec, download_weights
from photosort.core.progress import Cancelled, CancelToken
from tests.fixtures.hub_server import HubState, LocalHub, LocalProxy

REPO = Path(__file__).resolve().parents[1]
TINY = REPO / "tests" / "fixtures" / "tiny_clip"
FILES = ["open_clip_config.json", "open_clip_model.safetensors"]
SPEC = "hf-hub:photosort/tiny-clip"


@pytest.fixture
def hub_state() -> HubState:
    state = HubState()
    state.add_folder("photosort/tiny-clip", TINY, FILES)
    return state


@pytest.fixture
def online(monkeypatch, tmp_path):
    """A fresh model cache, the hub client allowed online, no proxy from the machine."""
    monkeypatch.setenv("PHOTOSORT_MODEL_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "")
    monkeypatch.setenv("no_proxy", "")
    return tmp_path / "cache" / "models"


def weights_size() -> int:
    return sum((TINY / f).stat().st_size for f in FILES)


def test_download_shows_progress_verifies_and_loads_offline(hub_state, online, monkeypatch):
    reports = []
    with LocalHub(hub_state) as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        download_weights(ModelSpec.parse(SPEC), reports.append)
    assert reports and reports[-1].done == reports[-1].total == weights_size()
    assert [r.done for r in reports] == sorted(r.done for r in reports)
    assert {r.unit for r in reports} == {"B"}
    # the hub's cache layout: blobs named by etag, a snapshot per commit, refs/main
    folder = online / "models--photosort--tiny-clip"
    assert (folder / "refs" / "main").read_text().strip()
    for name in FILES:
        assert (folder / "snapshots" / (folder / "refs" / "main").read_text() / name).is_file()
    assert not list(folder.rglob("*.incomplete"))
    # the server is gone: the model loads from the cache and embeds like the local copy
    loaded = Embedder(ModelSpec.parse(SPEC), device="cpu")
    local = Embedder(ModelSpec.parse(f"local-dir:{TINY}"), device="cpu")
    texts = ["a red ball", "a car at night"]
    assert np.allclose(loaded.encode_texts(texts), local.encode_texts(texts), atol=1e-5)


def test_cancel_keeps_the_part_and_the_next_run_resumes(hub_state, online, monkeypatch):
    hub_state.rate = 400_000  # ~2 s for the weights
    token = CancelToken()
    total = weights_size()

    def progress(p) -> None:
        if p.done > total // 3:
            token.set()

    with LocalHub(hub_state) as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        with pytest.raises(Cancelled):
            download_weights(ModelSpec.parse(SPEC), progress, token)
        partial = list(online.rglob("*.incomplete"))
        assert len(partial) == 1 and 0 < partial[0].stat().st_size < total
        have = partial[0].stat().st_size
        hub_state.rate = None
        reports = []
        download_weights(ModelSpec.parse(SPEC), reports.append)
    ranges = [r for _verb, _path, r in hub_state.requests if r]
    assert ranges == [f"bytes={have}-"], "the second run asked only for the rest"
    assert reports[0].done >= have
    assert not list(online.rglob("*.incomplete"))
    Embedder(ModelSpec.parse(SPEC), device="cpu")  # complete and loadable


def test_a_corrupt_download_is_refused_and_deleted(hub_state, online, monkeypatch):
    hub_state.corrupt = True
    with LocalHub(hub_state) as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        with pytest.raises(ModelError, match="checksum"):
            download_weights(ModelSpec.parse(SPEC))
    assert not list(online.rglob("*.incomplete"))
    assert not [p for p in online.rglob("blobs/*") if p.stat().st_size > 100_000]


def test_offline_gives_one_line_quickly(online, monkeypatch):
    import socket

    with socket.socket() as s:  # a port with nobody listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    started = time.monotonic()
    with pytest.raises(ModelError) as err:
        Embedder(ModelSpec.parse(SPEC), device="cpu")
    assert time.monotonic() - started < 5
    assert err.value.offline
    assert f"127.0.0.1:{port}" in str(err.value) and "\n" not in str(err.value)
    assert "--model" not in err.value.reason  # the app shows this part: no CLI advice


def test_hf_endpoint_and_proxy_are_respected(hub_state, online, monkeypatch):
    with LocalHub(hub_state) as hub, LocalProxy(hub.url) as proxy:
        monkeypatch.setenv("HF_ENDPOINT", "http://hub.photosort-test.invalid")
        assert not model_download.hub_reachable(timeout_s=2)  # no such host without the proxy
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        monkeypatch.setenv("http_proxy", proxy.url)
        assert model_download.hub_reachable()
        download_weights(ModelSpec.parse(SPEC))
    assert any(p.startswith("http://hub.photosort-test.invalid/photosort/") for p in proxy.seen)
    assert any(verb == "GET" and path.startswith("/cdn/") for verb, path, _ in hub_state.requests)
    Embedder(ModelSpec.parse(SPEC), device="cpu")


def _cli(args: list[str], env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "photosort", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_cli_download_shows_progress_and_resumes_after_kill(hub_state, online, monkeypatch):
    hub_state.rate = 300_000
    env = {**os.environ, "HF_HUB_OFFLINE": "0", "PYTHONPATH": str(REPO)}
    with LocalHub(hub_state) as hub:
        env["HF_ENDPOINT"] = hub.url
        proc = _cli(["download-model", "--model", SPEC], env)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any(
            p.stat().st_size > 200_000 for p in online.rglob("*.incomplete")
        ):
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
        partial = list(online.rglob("*.incomplete"))
        assert len(partial) == 1
        have = partial[0].stat().st_size
        hub_state.rate = 2_000_000
        proc = _cli(["download-model", "--model", SPEC], env)
        out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert "downloaded into" in out
    assert "downloading" in err and "B" in err  # the progress bar, on stderr
    assert f"bytes={have}-" in [r for _v, _p, r in hub_state.requests if r]
    rerun = subprocess.run(
        [sys.executable, "-m", "photosort", "download-model", "--model", SPEC],
        env={**env, "HF_HUB_OFFLINE": "1"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert rerun.returncode == 0 and "already here" in rerun.stdout
