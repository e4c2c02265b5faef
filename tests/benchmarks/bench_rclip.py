"""Side by side with rclip 3.3.0 on the same 12 MP photos, in the same run (issue 13).

Three things a user of either tool meets, each a fresh process of that tool with its own
HOME and data folder: indexing a folder from scratch, rerunning with nothing changed, and
one cold text search. Rounds are interleaved (the order of the two tools alternates), so
both see the same machine load; min / median wall seconds and peak RSS (the child's own
VmHWM: ``ru_maxrss`` of a child also counts the benchmark process it was forked from).

- photosort: ``photosort scan FOLDER`` (twice: from scratch, then nothing changed) and
  ``photosort search "…"``; ViT-B-32 at random weights (``local-dir:``). A default scan
  also reads text in photos (OCR) after they are searchable, which rclip never does: the
  from-scratch scan is measured both ways, and with ``PHOTOSORT_OCR=off`` it does the
  work rclip does (plus auto-tagging); ``searchable_s`` is the default scan's own
  timing of when search works.
- rclip: ``init_rclip`` (what its CLI runs before every query: walk, compare, embed what
  is new; its CLI has no index-only command, so neither side pays a search here) and
  ``rclip --no-indexing "…"``; its default ViT-B-32-256 on ONNX Runtime, offline, with
  random weights of the same shapes in ``$RCLIP_DATADIR`` (a present model is never
  downloaded).

Both tools' model files sit on disk before the first round, as after an install: an
unmeasured warm-up run of each reads the photos into the page cache and lets photosort
export its ONNX towers once into the bench cache's model cache (as bench_indexing), which
the measured rounds share. rclip lives
in its own virtualenv, ``~/.cache/photosort-bench/rclip-venv`` (``$PHOTOSORT_BENCH_RCLIP``);
without it, or without its model files, the comparison is skipped.

``PHOTOSORT_BENCH_BASELINE=CHECKOUT`` (another photosort checkout, e.g. ``main``) adds that
checkout's from-scratch ``PHOTOSORT_OCR=off`` scan to each round, so a change is measured
against its baseline in the same run (``index_baseline_no_ocr``).
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.benchmarks.bench_coldstart import _summary
from tests.benchmarks.workload import CACHE, twelve_mp_jpegs, vit_b32_folder

REPO = Path(__file__).resolve().parents[2]
RCLIP_VENV = Path(os.environ.get("PHOTOSORT_BENCH_RCLIP", CACHE / "rclip-venv"))
# random-weight ONNX files of rclip's model, plus its tokenizer (see the module docstring)
RCLIP_DATA = CACHE / "rclip-data"
RCLIP_MODEL = "ViT-B-32-256-datacomp_s34b_b86k"
QUERY = "a red car on a sunny beach"
TOP = 10

PEAK = (
    "sys.stdout.flush()\n"
    "try:\n"
    "    peak = int(open('/proc/self/status').read().split('VmHWM:')[1].split()[0])\n"
    "except (OSError, IndexError):\n"
    "    import resource\n"
    "    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
    "print('PEAK_KB', peak, file=sys.stderr)\n"
    "sys.exit(rc)\n"
)
PHOTOSORT_RUNNER = "import sys\nfrom photosort.cli import main\nrc = main(sys.argv[1:])\n" + PEAK
RCLIP_RUNNER = (
    "import os, sys\n"
    "rc = 0\n"
    "if sys.argv[1] == 'index':\n"
    "    from rclip.main import init_rclip\n"
    "    rclip, model, db = init_rclip(os.getcwd(), 8)\n"
    "    rclip.close(); model.close(); db.close()\n"
    "else:\n"
    "    sys.argv = ['rclip', *sys.argv[2:]]\n"
    "    from rclip.main import main\n"
    "    try:\n"
    "        main()\n"
    "    except SystemExit as exc:\n"
    "        rc = exc.code or 0\n" + PEAK
)


def rclip_python() -> Path | None:
    """The rclip virtualenv's interpreter, when rclip and its offline model files are there."""
    python = RCLIP_VENV / "bin" / "python"
    model = RCLIP_DATA / RCLIP_MODEL
    if not (RCLIP_VENV / "bin" / "rclip").exists() or not python.exists():
        return None
    if not all((model / name).is_file() for name in ("visual.onnx", "textual.onnx")):
        return None
    if not (RCLIP_DATA / "tokenizer").is_dir():
        return None
    return python


def photosort_source() -> Path:
    """Where the children import photosort from: the first ``$PYTHONPATH`` entry holding
    it (a branch under test), else this checkout."""
    for entry in os.environ.get("PYTHONPATH", "").split(os.pathsep):
        if entry and (Path(entry) / "photosort" / "__init__.py").is_file():
            return Path(entry).resolve()
    return REPO


def _fresh_home(path: Path) -> dict[str, str]:
    """An empty HOME (and XDG folders in it): nothing of one tool's state leaks to the other."""
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "PHOTOSORT_"))}
    env.pop("PYTHONPATH", None)
    env.update(
        HOME=str(path),
        XDG_DATA_HOME=str(path / ".local" / "share"),
        XDG_CACHE_HOME=str(path / ".cache"),
        XDG_CONFIG_HOME=str(path / ".config"),
        HF_HUB_OFFLINE="1",
    )
    return env


class Photosort:
    name = "photosort"

    def __init__(
        self, base: Path, photos: Path, src: Path, model_cache: Path, ocr: bool = True
    ) -> None:
        self.base, self.photos, self.src, self.model_cache = base, photos, src, model_cache
        self.ocr = ocr
        self.model = f"local-dir:{vit_b32_folder()}"
        self.env: dict[str, str] = {}
        self.searchable_s: list[float] = []

    def reset(self) -> None:
        self.env = _fresh_home(self.base / "home")
        self.env.update(PYTHONPATH=str(self.src), PHOTOSORT_MODEL_CACHE=str(self.model_cache))
        if not self.ocr:
            self.env["PHOTOSORT_OCR"] = "off"

    def _run(self, *args: str) -> tuple[float, float, str]:
        library = self.base / "home" / "library"
        cmd = ["--library", str(library), "--model", self.model, "--device", "cpu", *args]
        return _timed([sys.executable, "-c", PHOTOSORT_RUNNER, *cmd], self.env, self.base / "home")

    def index(self) -> tuple[float, float, str]:
        wall, peak, stdout = self._run("scan", "--json", str(self.photos))
        self.searchable_s.append(json.loads(stdout)["timings_s"].get("searchable", wall))
        return wall, peak, stdout

    def search(self) -> tuple[float, float, str]:
        return self._run("search", QUERY, "--top", str(TOP))


class Rclip:
    name = "rclip"

    def __init__(self, base: Path, photos: Path, python: Path) -> None:
        self.base, self.photos, self.python = base, photos, python
        self.env: dict[str, str] = {}

    def reset(self) -> None:
        home = self.base / "home"
        self.env = _fresh_home(home)
        data = home / "rclip-data"
        data.mkdir()
        # the model "already downloaded": links to the cached random-weight files
        (data / RCLIP_MODEL).symlink_to(RCLIP_DATA / RCLIP_MODEL, target_is_directory=True)
        (data / "tokenizer").symlink_to(RCLIP_DATA / "tokenizer", target_is_directory=True)
        self.env["RCLIP_DATADIR"] = str(data)

    def index(self) -> tuple[float, float, str]:
        return _timed([str(self.python), "-c", RCLIP_RUNNER, "index"], self.env, self.photos)

    def search(self) -> tuple[float, float, str]:
        args = ["search", "--no-indexing", "--top", str(TOP), QUERY]
        return _timed([str(self.python), "-c", RCLIP_RUNNER, *args], self.env, self.photos)


def _timed(cmd: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float, str]:
    """(wall seconds, peak RSS MB, stdout) of one fresh process."""
    started = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=cwd, timeout=900)
    wall = time.perf_counter() - started
    if out.returncode != 0:
        raise RuntimeError(f"{cmd[0]} {' '.join(cmd[3:])} failed: {out.stderr[-800:]}")
    peak = next(int(x.split()[1]) for x in out.stderr.splitlines() if x.startswith("PEAK_KB"))
    return wall, peak / 1024, out.stdout


def _hits(tool: str, stdout: str) -> int:
    """Result lines of a search: both tools must have found the indexed photos."""
    lines = [line for line in stdout.splitlines() if ".jpg" in line]
    if not lines:
        raise RuntimeError(f"{tool} search found nothing: {stdout[-400:]}")
    return len(lines)


def _compile_bytecode(src: Path) -> None:
    """Write photosort's ``.pyc`` files first, as an installed package has them (rclip's
    virtualenv has its own): with ``PYTHONDONTWRITEBYTECODE`` set every cold start would
    otherwise compile each module from source."""
    import compileall

    compileall.compile_dir(str(src / "photosort"), quiet=1)


def _git_head(src: Path) -> str:
    """The commit the children run, and whether the checkout has uncommitted changes."""
    head = subprocess.run(
        ["git", "-C", str(src), "log", "-1", "--format=%h %D"], capture_output=True, text=True
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "-C", str(src), "status", "--porcelain", "--untracked-files=no", "photosort"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    return f"{head}{', uncommitted changes' if dirty else ''}" if head else "not a git checkout"


def _baseline(base: Path, photos: Path, model_cache: Path) -> Photosort | None:
    """The ``PHOTOSORT_BENCH_BASELINE`` checkout's scan without OCR, when it is one."""
    folder = os.environ.get("PHOTOSORT_BENCH_BASELINE")
    if not folder or not (Path(folder) / "photosort" / "__init__.py").is_file():
        return None
    src = Path(folder).resolve()
    _compile_bytecode(src)
    tool = Photosort(base / "photosort-baseline", photos, src, model_cache, ocr=False)
    tool.name = "photosort_baseline_no_ocr"
    return tool


def _ratios(ps: dict, rc: dict) -> dict:
    return {
        "photosort_over_rclip_median": round(ps["median_s"] / rc["median_s"], 2),
        "photosort_over_rclip_min": round(ps["min_s"] / rc["min_s"], 2),
    }


def run(quick: bool = False) -> dict:
    python = rclip_python()
    if python is None:
        message = (
            f"rclip comparison skipped: no rclip in {RCLIP_VENV} or no random-weight model "
            f"in {RCLIP_DATA / RCLIP_MODEL} (see bench_rclip's docstring)"
        )
        print(message, file=sys.stderr)
        return {"skipped": message, "pass": True}
    n_photos, rounds = (24, 3) if quick else (120, 5)
    photos = twelve_mp_jpegs(n_photos)
    src = photosort_source()
    _compile_bytecode(src)
    out: dict = {
        "photos": f"{n_photos} JPEGs 4000x3000",
        "rounds": rounds,
        "photosort_src": f"{src} ({_git_head(src)})",
        "rclip": subprocess.run(
            [str(RCLIP_VENV / "bin" / "rclip"), "--version"], capture_output=True, text=True
        ).stdout.strip(),
        "load_average_start": [round(x, 1) for x in os.getloadavg()],
    }
    print(f"rclip: {out['photosort_src']} vs {out['rclip']}", file=sys.stderr, flush=True)
    model_cache = CACHE / "model-cache"
    with tempfile.TemporaryDirectory(prefix="photosort-bench-rclip-") as tmp:
        base = Path(tmp)
        photosort = Photosort(base / "photosort", photos, src, model_cache)
        no_ocr = Photosort(base / "photosort-no-ocr", photos, src, model_cache, ocr=False)
        no_ocr.name = "photosort_no_ocr"
        rclip = Rclip(base / "rclip", photos, python)
        tools: list[Photosort | Rclip] = [photosort, no_ocr, rclip]
        baseline = _baseline(base, photos, model_cache)
        if baseline is not None:
            tools.insert(2, baseline)
            out["baseline_src"] = f"{baseline.src} ({_git_head(baseline.src)})"
        samples: dict[str, dict[str, list[tuple[float, float]]]] = {
            tool.name: {"index": [], "rerun": [], "search": []} for tool in tools
        }
        for tool in (photosort, rclip):  # warm-up: page cache, photosort's ONNX exports
            tool.reset()
            wall = tool.index()[0]
            out[f"{tool.name}_warm_up_s"] = round(wall, 1)
            print(f"rclip: warm-up {tool.name} {wall:.1f} s", file=sys.stderr, flush=True)
        photosort.searchable_s.clear()
        for r in range(rounds):
            order = tools if r % 2 == 0 else tools[::-1]
            for tool in order:
                tool.reset()
            for op in ("index", "rerun", "search"):
                for tool in order:
                    if tool in (no_ocr, baseline) and op != "index":
                        continue  # a rerun or a search is the same with or without OCR
                    if op == "index":
                        wall, peak, _ = tool.index()
                    elif op == "rerun":
                        wall, peak, _ = tool.index()
                        if isinstance(tool, Photosort):
                            tool.searchable_s.pop()  # only the scans from scratch
                    else:
                        wall, peak, stdout = tool.search()
                        _hits(tool.name, stdout)
                    samples[tool.name][op].append((wall, peak))
                    print(
                        f"rclip: round {r + 1} {tool.name} {op} {wall:.2f} s {peak:.0f} MB",
                        file=sys.stderr,
                        flush=True,
                    )
    summaries = {
        name: {op: _summary(v) for op, v in ops.items() if v} for name, ops in samples.items()
    }
    for op in ("index", "rerun", "search"):
        ps, rc = summaries["photosort"][op], summaries["rclip"][op]
        out[op] = {"photosort": ps, "rclip": rc, **_ratios(ps, rc)}
    ps_index = out["index"]["photosort"]
    ps_index["searchable_min_s"] = round(min(photosort.searchable_s), 3)
    ps_index["searchable_median_s"] = round(statistics.median(photosort.searchable_s), 3)
    nocr = summaries["photosort_no_ocr"]["index"]
    out["index_no_ocr"] = {"photosort": nocr, "rclip": out["index"]["rclip"]}
    out["index_no_ocr"].update(_ratios(nocr, out["index"]["rclip"]))
    rclip_index = out["index"]["rclip"]["median_s"]
    out["index"]["photosort_speedup"] = round(rclip_index / ps_index["median_s"], 2)
    out["index_no_ocr"]["photosort_speedup"] = round(rclip_index / nocr["median_s"], 2)
    if "photosort_baseline_no_ocr" in summaries:
        old = summaries["photosort_baseline_no_ocr"]["index"]
        out["index_baseline_no_ocr"] = {"photosort_baseline": old, "rclip": out["index"]["rclip"]}
        out["index_baseline_no_ocr"].update(_ratios(old, out["index"]["rclip"]))
        out["index_baseline_no_ocr"]["photosort_speedup"] = round(rclip_index / old["median_s"], 2)
        out["index_no_ocr"]["speedup_over_baseline"] = round(old["median_s"] / nocr["median_s"], 2)
    out["load_average_end"] = [round(x, 1) for x in os.getloadavg()]
    search = out["search"]["photosort"]
    out["targets"] = {
        "1_rerun_faster_than_rclip": out["rerun"]["photosort_over_rclip_median"] < 1,
        "2_search_faster_than_rclip": out["search"]["photosort_over_rclip_median"] < 1,
        "2_search_le_0.7s": search["median_s"] <= 0.7,
        "2_search_peak_le_0.5GB": search["peak_rss_mb"] <= 512,
        "5_index_ge_1.5x_rclip": out["index_no_ocr"]["photosort_speedup"] >= 1.5,
    }
    out["pass"] = all(out["targets"].values())
    return out


if __name__ == "__main__":
    print(json.dumps(run("--quick" in sys.argv), indent=2))
