"""``photosort`` starts fast: importing the command line imports no heavy library.

A no-change rescan and a cold text search are a fraction of a second; importing torch
alone takes seconds, and numpy, SQLite, Pillow or faiss each tens to hundreds of
milliseconds on a laptop. Each command imports what it needs when it runs.
"""

from __future__ import annotations

import subprocess
import sys

from conftest import REPO

HEAVY = ("torch", "open_clip", "faiss", "onnxruntime", "numpy", "PIL", "sqlite3", "tqdm")


def _modules_after(code: str) -> set[str]:
    script = f"import sys\n{code}\nprint(' '.join(sorted(sys.modules)))\n"
    out = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    return {m.split(".")[0] for m in out.stdout.split()}


def test_importing_the_command_line_imports_no_heavy_library() -> None:
    loaded = _modules_after("import photosort.cli")
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


def test_a_commands_parser_is_built_without_importing_the_core() -> None:
    """``main`` builds the options of the command it runs only: the parser of ``scan``
    needs no core module (export's needs its modes, and is not built)."""
    loaded = _modules_after(
        "from photosort.cli import build_parser, _command_named\n"
        "argv = ['--library', '/nowhere', 'scan', '--json', 'DIR']\n"
        "args = build_parser(_command_named(argv)).parse_args(argv)\n"
        "assert args.paths == ['DIR'] and args.json and args.library == '/nowhere'\n"
    )
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


def test_the_device_choices_are_the_embedders() -> None:
    from photosort.cli import DEVICES
    from photosort.core.embedder import DEVICES as EMBEDDER_DEVICES

    assert DEVICES == EMBEDDER_DEVICES
