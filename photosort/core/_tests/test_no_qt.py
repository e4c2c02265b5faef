"""The core must import and work with no Qt at all: it is shared by the CLI and the GUI."""

import subprocess
import sys
from pathlib import Path

CORE = Path(__file__).resolve().parents[1]


def test_core_modules_import_with_qt_blocked():
    modules = sorted(f"photosort.core.{p.stem}" for p in CORE.glob("*.py") if p.stem != "__init__")
    script = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('PySide6', 'shiboken6', 'PyQt5', 'PyQt6', 'qtpy'):\n"
        "            raise ImportError('Qt is not allowed in photosort.core: ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        f"for m in {modules!r}:\n"
        "    __import__(m)\n"
        "import photosort.cli\n"
        "assert not any(k.startswith('PySide6') for k in sys.modules)\n"
        "print(len(" + repr(modules) + "))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert int(out.stdout.strip()) >= 10
