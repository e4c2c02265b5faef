"""Model files are data from the internet: never unpickled, and every broken one is a clear
one-line ModelError (through the CLI too)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from photosort.core.embedder import Embedder, ModelError, ModelSpec
from tests.reliability.helpers import REPO

MARKER_ENV = "PHOTOSORT_TEST_PWNED"


class _Exploit:
    """Unpickling this runs code: it creates the marker file."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.makedirs, (str(self.marker),))


@pytest.fixture
def model_dir(tmp_path, tiny_model) -> Path:
    """A copy of the test model's config, for weights of our choosing."""
    folder = tmp_path / "model"
    folder.mkdir()
    source = Path(tiny_model.removeprefix("local-dir:"))
    shutil.copy(source / "open_clip_config.json", folder)
    return folder


def _load(folder: Path) -> str:
    with pytest.raises(ModelError) as info:
        Embedder(ModelSpec.parse(f"local-dir:{folder}"), "cpu")
    message = str(info.value)
    assert message and "\n" not in message
    return message


def test_corrupt_safetensors(model_dir, tiny_model):
    source = Path(tiny_model.removeprefix("local-dir:")) / "open_clip_model.safetensors"
    data = source.read_bytes()
    (model_dir / "open_clip_model.safetensors").write_bytes(data[: len(data) // 2])
    assert "cannot load model" in _load(model_dir)
    (model_dir / "open_clip_model.safetensors").write_bytes(b"\xff" * 64)
    assert "cannot load model" in _load(model_dir)


def test_weights_of_another_shape(model_dir, tiny_model):
    source = Path(tiny_model.removeprefix("local-dir:"))
    shutil.copy(source / "open_clip_model.safetensors", model_dir)
    config = json.loads((model_dir / "open_clip_config.json").read_text())
    config["model_cfg"]["embed_dim"] = config["model_cfg"]["embed_dim"] * 2
    (model_dir / "open_clip_config.json").write_text(json.dumps(config))
    message = _load(model_dir)
    assert "cannot load model" in message and "size mismatch" in message


def test_pickle_checkpoint_is_never_executed(model_dir, tmp_path):
    import torch

    marker = tmp_path / "pwned"
    torch.save({"state_dict": _Exploit(marker)}, model_dir / "open_clip_pytorch_model.bin")
    message = _load(model_dir)
    assert not marker.exists(), "loading the model ran code from the checkpoint"
    assert "cannot load model" in message


def test_pickle_checkpoint_through_the_cli(model_dir, tmp_path):
    import torch

    marker = tmp_path / "pwned-cli"
    torch.save(_Exploit(marker), model_dir / "open_clip_pytorch_model.bin")
    photos = tmp_path / "photos"
    photos.mkdir()
    from PIL import Image

    Image.new("RGB", (64, 48), "red").save(photos / "one.jpg")
    proc = subprocess.run(
        [  # a scan loads the model (a search on a library that does not exist loads none)
            sys.executable,
            "-m",
            "photosort",
            "scan",
            str(photos),
            "--library",
            str(tmp_path / "lib"),
            "--model",
            f"local-dir:{model_dir}",
            "--device",
            "cpu",
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    assert proc.returncode == 2 and not marker.exists()
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith("photosort: error: cannot load model") and "Traceback" not in line


def test_missing_config_and_weights(tmp_path, model_dir):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "no open_clip_config.json" in _load(empty)
    assert "has no weights" in _load(model_dir)
    (model_dir / "open_clip_config.json").write_text("{not json")
    (model_dir / "open_clip_model.safetensors").write_bytes(b"")
    assert "cannot load model" in _load(model_dir)
