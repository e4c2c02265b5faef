"""Render the app icon's platform containers from ``resources/icons/photosort.svg``.

    python packaging/make_icons.py

writes ``packaging/icons/photosort.ico`` (Windows: 16-256 px), ``photosort.icns``
(macOS: 16-1024 px) and ``photosort-512.png`` (AppStream, macOS). The PNG sizes the app
itself uses live in ``resources/icons/``. Needs PySide6 (QtSvg) and Pillow; the outputs
are committed, so a bundle build does not need to run this.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SVG = ROOT / "resources" / "icons" / "photosort.svg"
OUT = ROOT / "packaging" / "icons"


def render(size: int):
    """The SVG drawn at size x size pixels, as a Pillow image."""
    from PIL import Image
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    _app = QGuiApplication.instance() or QGuiApplication(["make_icons", "-platform", "offscreen"])
    renderer = QSvgRenderer(str(SVG))
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    return Image.open(io.BytesIO(bytes(data))).convert("RGBA")


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    big = render(1024)
    render(512).save(OUT / "photosort-512.png")
    ico_sizes = [16, 24, 32, 48, 64, 128, 256]
    render(256).save(OUT / "photosort.ico", sizes=[(s, s) for s in ico_sizes])
    big.save(OUT / "photosort.icns")
    for name in ("photosort.ico", "photosort.icns", "photosort-512.png"):
        print(OUT / name, (OUT / name).stat().st_size)
    return 0


if __name__ == "__main__":
    sys.exit(main())
