"""Text recognition in photos with RapidOCR (PP-OCR models shipped inside its package).

The models come with the ``rapidocr`` wheel and run on onnxruntime on the CPU, so reading
text works offline on a fresh install. The shipped PP-OCRv6 "small" models read Chinese
(simplified and traditional), English, Japanese and the Latin-script languages (French,
German, Spanish, Portuguese, Italian, Dutch, Polish, Czech, Turkish, Vietnamese, ...);
other scripts (Cyrillic, Arabic, Devanagari, Korean, ...) need RapidOCR's per-language
models, chosen with ``PHOTOSORT_OCR_LANG`` (e.g. ``cyrillic``), which RapidOCR downloads
once.

Nothing here knows the catalog: ``Recognizer.read`` turns an image into lines and words
with boxes, in fractions of the image's width and height so a preview of any size can
draw them.
"""

from __future__ import annotations

import logging
import os
import threading
import unicodedata
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from photosort.core.errors import PhotosortError
from photosort.core.lazy_import import lazy_module, np

# Pillow on first use: a rescan's text stage with nothing to read never needs it (issue 13).
if TYPE_CHECKING:
    from PIL import Image
else:
    Image = lazy_module("PIL.Image")

log = logging.getLogger(__name__)

#: Bumped when recognition changes enough that stored text should be read again.
ENGINE_VERSION = "rapidocr-ppocrv6-small-1"
#: Languages the shipped models read (stated in the README); others: ``PHOTOSORT_OCR_LANG``.
SHIPPED_LANGUAGES = "Chinese, English, Japanese and Latin-script languages"
#: The longest side OCR sees: enough for receipt print on a phone photo, and 4x fewer
#: pixels than a 12 MP original (detection itself runs at DETECT_SIDE).
MAX_SIDE = 1600
DETECT_SIDE = 960
#: A line the recogniser is less sure of is dropped (RapidOCR's own default).
MIN_SCORE = 0.5
#: The quick look: the text detector alone on a copy this long (no recognition), tens of
#: milliseconds where reading costs seconds. Bumped with LOOK_VERSION.
LOOK_SIDE = 320
LOOK_VERSION = "look-320-1"

Box = tuple[float, float, float, float]  # x0, y0, x1, y1 as fractions of width and height


class OcrError(PhotosortError):
    """Text recognition is unavailable (the OCR package is missing or broken)."""


@dataclass(frozen=True)
class Word:
    text: str
    box: Box
    score: float = 1.0


@dataclass(frozen=True)
class Line:
    text: str
    box: Box
    score: float
    words: tuple[Word, ...] = ()


@dataclass
class OcrResult:
    """The lines read in one image, top to bottom."""

    lines: list[Line] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)

    @property
    def words(self) -> list[Word]:
        return [w for line in self.lines for w in line.words]

    def as_dict(self) -> dict:
        return {
            "text": self.text,
            "lines": [
                {
                    "text": ln.text,
                    "box": [round(x, 4) for x in ln.box],
                    "score": round(ln.score, 3),
                    "words": [[w.text, *(round(x, 4) for x in w.box)] for w in ln.words],
                }
                for ln in self.lines
            ],
        }

    @classmethod
    def from_dict(cls, data: dict) -> OcrResult:
        lines = []
        for ln in data.get("lines", []):
            words = tuple(Word(w[0], tuple(w[1:5])) for w in ln.get("words", []))
            lines.append(Line(ln["text"], tuple(ln["box"]), ln.get("score", 1.0), words))
        return cls(lines)


def fold(text: str) -> str:
    """Case and diacritics folded, as FTS5's ``unicode61 remove_diacritics 2`` does, so the
    app can find which recognised words a query matched (to highlight them)."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _quad_box(quad: object, width: int, height: int) -> Box:
    pts = np.asarray(quad, dtype=np.float64).reshape(-1, 2)
    x0, y0 = pts.min(axis=0)
    x1, y1 = pts.max(axis=0)

    def clip(v: float, n: int) -> float:
        return float(min(max(v / max(n, 1), 0.0), 1.0))

    return (clip(x0, width), clip(y0, height), clip(x1, width), clip(y1, height))


class Recognizer:
    """One RapidOCR engine, loaded on first use (a second or two) and shared by threads."""

    def __init__(self, threads: int | None = None, lang: str | None = None) -> None:
        self.threads = threads if threads is not None else ocr_threads()
        self.lang = lang or os.environ.get("PHOTOSORT_OCR_LANG") or None
        self._engine: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        if self._engine is None:
            try:
                from rapidocr import RapidOCR
            except ImportError as exc:  # a broken install: one line, not a traceback
                raise OcrError(f"text recognition needs the rapidocr package ({exc})") from exc
            params: dict = {
                "Global.log_level": "error",
                "Global.return_word_box": True,
                "Global.use_cls": False,  # photos are turned upright from EXIF already
                "Global.text_score": MIN_SCORE,
                "Det.limit_type": "max",
                "Det.limit_side_len": DETECT_SIDE,
            }
            if self.threads:
                params["EngineConfig.onnxruntime.intra_op_num_threads"] = self.threads
            if self.lang:
                params["Rec.lang_type"] = self.lang
            try:
                self._engine = RapidOCR(params=params)
            except Exception as exc:  # a missing model file, a bad language name
                raise OcrError(f"text recognition could not start: {exc}") from exc
        return self._engine

    def has_text(self, image: Image.Image) -> bool:
        """The quick look: does the text detector, on a LOOK_SIDE-pixel copy, find any
        text region? Used to skip photos the image vectors let through."""
        image = image.convert("RGB")
        if max(image.size) > LOOK_SIDE:
            image = image.copy()
            image.thumbnail((LOOK_SIDE, LOOK_SIDE), Image.Resampling.BILINEAR)
        arr = np.ascontiguousarray(np.asarray(image)[:, :, ::-1])
        with self._lock:  # flags per call: RapidOCR keeps the last ones as its defaults
            out = self._load()(arr, use_det=True, use_cls=False, use_rec=False)
        boxes = getattr(out, "boxes", None)
        return boxes is not None and len(boxes) > 0

    def read(self, image: Image.Image) -> OcrResult:
        """The text in ``image`` (any mode; made RGB and at most MAX_SIDE pixels long)."""
        image = image.convert("RGB")
        if max(image.size) > MAX_SIDE:
            image = image.copy()
            image.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
        width, height = image.size
        # RapidOCR takes OpenCV's BGR order for arrays.
        arr = np.ascontiguousarray(np.asarray(image)[:, :, ::-1])
        with self._lock:
            engine = self._load()
            out = engine(arr, use_det=True, use_cls=False, use_rec=True)
        if out is None or not getattr(out, "txts", None):
            return OcrResult()
        word_groups = getattr(out, "word_results", None) or [()] * len(out.txts)
        lines = []
        for quad, text, score, words in zip(
            out.boxes, out.txts, out.scores, word_groups, strict=False
        ):
            text = _clean(text)
            if not text:
                continue
            kept = tuple(
                Word(_clean(w[0]), _quad_box(w[2], width, height), float(w[1]))
                for w in words
                if _clean(w[0])
            )
            lines.append(Line(text, _quad_box(quad, width, height), float(score), kept))
        lines.sort(key=lambda ln: (round(ln.box[1], 2), ln.box[0]))
        return OcrResult(lines)


def ocr_threads() -> int:
    """onnxruntime threads for OCR: ``$PHOTOSORT_OCR_THREADS``, default 1 (OCR is a
    background job: indexing keeps the other cores)."""
    return _env_int("PHOTOSORT_OCR_THREADS", 1, 1, 64)


def ocr_nice() -> int:
    """How much lower than the app the OCR thread runs: ``$PHOTOSORT_OCR_NICE``, default 10
    (0 to 19; 0 keeps the app's priority)."""
    return _env_int("PHOTOSORT_OCR_NICE", 10, 0, 19)


def _env_int(name: str, default: int, low: int, high: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return min(max(int(raw), low), high)
    except ValueError:
        log.warning("ignoring %s=%r: not a whole number", name, raw)
        return default


def _clean(text: str) -> str:
    """One line of printable text (control characters from a model never reach SQLite)."""
    return " ".join("".join(c if c.isprintable() else " " for c in str(text)).split())
