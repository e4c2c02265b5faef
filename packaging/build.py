"""Build the desktop bundle for the current OS with PyInstaller.

    python packaging/build.py            # dist/photosort/ (Linux, Windows), dist/PhotoSort.app
    python packaging/build.py --check    # then run --version and a headless scan + search

Run it from an environment where photosort is installed (``pip install -e .`` or a
wheel) together with ``pyinstaller``; the bundle holds that environment's torch, so for
a small Linux or Windows bundle install the CPU-only torch build first. On Linux, a
``.tar.gz`` of the folder with the ``.desktop`` entry, AppStream metainfo and icons is
written next to it with ``--archive``.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "packaging" / "photosort.spec"
DIST = ROOT / "dist"
WORK = ROOT / "build" / "pyinstaller"


def bundle_dir() -> Path:
    """The folder holding the built executable."""
    if sys.platform == "darwin":
        return DIST / "PhotoSort.app" / "Contents" / "MacOS"
    return DIST / "photosort"


def executable() -> Path:
    return bundle_dir() / ("photosort.exe" if sys.platform == "win32" else "photosort")


def folder_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


def build(clean: bool) -> None:
    try:
        importlib.metadata.version("photosort")
    except importlib.metadata.PackageNotFoundError:
        sys.exit("photosort is not installed here: run `pip install -e .` first")
    command = [sys.executable, "-m", "PyInstaller", "--noconfirm", "--distpath", str(DIST)]
    command += ["--workpath", str(WORK)]
    if clean:
        command.append("--clean")
    command.append(str(SPEC))
    print("+", " ".join(command), flush=True)
    subprocess.run(command, cwd=ROOT, check=True)


def timed(command: list[str], env: dict[str, str]) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"failed ({done.returncode}): {' '.join(command)}\n{done.stdout}{done.stderr}")
    return elapsed, done.stdout


def check(model: str) -> None:
    """Run the bundle headless: --version, then scan and search a few generated photos."""
    from PIL import Image

    exe = str(executable())
    with tempfile.TemporaryDirectory() as tmp:
        photos = Path(tmp) / "photos"
        photos.mkdir()
        for i, colour in enumerate(["red", "green", "blue", "yellow"]):
            Image.new("RGB", (96, 64), colour).save(photos / f"{i}_{colour}.jpg")
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen", HF_HUB_OFFLINE="1")
        env["PHOTOSORT_LIBRARY"] = str(Path(tmp) / "library")
        elapsed, out = timed([exe, "--version"], env)
        print(f"{out.strip()}  ({elapsed:.2f} s)")
        elapsed, out = timed(
            [exe, "scan", str(photos), "--model", model, "--device", "cpu", "--no-progress"], env
        )
        print(f"scan: {out.strip()}  ({elapsed:.2f} s)")
        elapsed, out = timed([exe, "search", "a red photo", "--top", "2", "--json"], env)
        print(f"search ({elapsed:.2f} s):\n{out.strip()}")
    print(f"bundle size: {folder_size(DIST / 'photosort') / 2**20:.0f} MiB")


def archive() -> Path:
    """Linux: dist/photosort-VERSION-linux-ARCH.tar.gz with the desktop integration files."""
    version = importlib.metadata.version("photosort")
    share = bundle_dir() / "share"
    (share / "applications").mkdir(parents=True, exist_ok=True)
    (share / "metainfo").mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "resources" / "photosort.desktop", share / "applications")
    shutil.copy(
        ROOT / "packaging" / "linux" / "org.photosort.PhotoSort.metainfo.xml", share / "metainfo"
    )
    pngs = [*(ROOT / "resources" / "icons").glob("photosort-*.png")]
    pngs.append(ROOT / "packaging" / "icons" / "photosort-512.png")
    for png in pngs:
        size = png.stem.rsplit("-", 1)[1]
        target = share / "icons" / "hicolor" / f"{size}x{size}" / "apps"
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy(png, target / "photosort.png")
    scalable = share / "icons" / "hicolor" / "scalable" / "apps"
    scalable.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "resources" / "icons" / "photosort.svg", scalable)
    name = f"photosort-{version}-linux-{os.uname().machine}.tar.gz"
    path = DIST / name
    with tarfile.open(path, "w:gz") as tar:
        tar.add(bundle_dir(), arcname=f"photosort-{version}")
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clean", action="store_true", help="empty PyInstaller's cache first")
    parser.add_argument("--skip-build", action="store_true", help="only check or archive")
    parser.add_argument(
        "--check", action="store_true", help="run --version and a scan + search from the bundle"
    )
    parser.add_argument(
        "--model",
        default=f"local-dir:{ROOT / 'tests' / 'fixtures' / 'tiny_clip'}",
        help="model for --check (default: the tiny test model)",
    )
    parser.add_argument("--archive", action="store_true", help="Linux: also write a .tar.gz")
    args = parser.parse_args()
    if not args.skip_build:
        start = time.perf_counter()
        build(args.clean)
        print(f"built {bundle_dir()} in {time.perf_counter() - start:.0f} s")
    if args.check:
        check(args.model)
    if args.archive and sys.platform.startswith("linux"):
        print(f"archive: {archive()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
