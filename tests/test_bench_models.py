"""``photosort bench`` measures this machine with the library's model on the CPU (a short
budget here) and prints its table; ``photosort models`` lists the models photosort knows
with published numbers, whether they are cached, and the speed bench measured."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from photosort.cli import main
from photosort.core import bench
from photosort.core.embedder import Embedder, ModelSpec


@pytest.fixture
def cli(tmp_path: Path, tiny_model: str, photo_tree: Path, capsys):
    base = ["--library", str(tmp_path / "lib"), "--model", tiny_model, "--device", "cpu"]

    def run(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main([*base, *args])
        out = capsys.readouterr()
        return code, out.out, out.err

    code, _, err = run("scan", str(photo_tree), "--no-progress")
    assert code == 0, err
    return run


def test_bench_prints_its_table_and_models_shows_the_speed(cli, tiny_model):
    code, out, _ = cli("models")
    assert code == 0
    mine = next(line for line in out.splitlines() if line.startswith("* "))
    assert mine.rstrip().endswith("this library's model") and " - " in mine  # not measured yet

    code, out, err = cli("bench", "--budget", "4", "--batch-sizes", "1,4")
    assert code == 0, err
    lines = out.splitlines()
    assert "images per second" in lines[0] and "batch 1" in lines[1] and "batch 4" in lines[1]
    cpu = next(line for line in lines if line.startswith("cpu    fp32"))
    assert float(cpu.split()[2].replace(",", "")) > 0  # batch 1 measured
    assert any(line.startswith("decode (read + decode + preprocess):") for line in lines)
    assert any("pending: about" in line for line in lines)

    code, out, _ = cli("models", "--json")
    rows = {r["spec"]: r for r in json.loads(out)}
    assert rows[tiny_model]["current"] and rows[tiny_model]["images_per_s"] > 0
    assert "cpu" in rows[tiny_model]["measured_on"]


def test_models_lists_the_families_the_issue_names(cli):
    code, out, _ = cli("models", "--json")
    rows = {r["spec"]: r for r in json.loads(out)}
    assert rows["ViT-B-32:laion2b_s34b_b79k"]["imagenet"] == pytest.approx(66.6)
    assert any(s.startswith("ViT-B-16:") for s in rows)
    siglip = [r for r in rows.values() if r["family"] == "SigLIP"]
    assert {"ViT-B-16-SigLIP:webli", "ViT-SO400M-14-SigLIP:webli"} <= {r["spec"] for r in siglip}
    assert any(s.startswith("MobileCLIP-") for s in rows)
    for row in rows.values():
        if row["imagenet"] is not None:
            assert 50 < row["imagenet"] < 90 and row["params_m"] > 10 and row["size_mb"] > 40
            assert row["cached"] is False  # the test cache is empty: nothing is claimed


def test_the_estimate_is_the_slower_of_model_and_decode(tiny_model, photo_tree):
    paths = sorted(str(p) for p in photo_tree.rglob("*.jpg"))
    spec = ModelSpec.parse(tiny_model)
    report = bench.run(
        tiny_model,
        lambda device, precision: Embedder(spec, device, precision=precision),
        [("cpu", "fp32")],
        paths,
        pending=1000,
        scan_device="cpu",
        batch_sizes=[1, 4],
        budget_s=2.0,
        decode_workers=2,
    )
    best = report.best("cpu")
    assert best is not None and best.images_per_s > 0 and report.decode_per_s > 0
    rate = min(best.images_per_s, report.decode_per_s * 2)
    assert report.estimate_s == pytest.approx(1000 / rate)
    assert any("1000 photos pending: about" in line for line in report.lines())


def test_a_device_that_cannot_load_is_a_row_not_a_failure(tiny_model):
    spec = ModelSpec.parse(tiny_model)
    report = bench.run(
        tiny_model,
        lambda device, precision: Embedder(spec, device, precision=precision),
        [("cuda-missing", "fp16"), ("cpu", "fp32")],
        [],
        pending=0,
        scan_device="cpu",
        batch_sizes=[1],
        budget_s=1.0,
    )
    broken, cpu = report.cells
    assert broken.images_per_s is None and broken.note.startswith("cannot load:")
    assert cpu.images_per_s and cpu.images_per_s > 0
