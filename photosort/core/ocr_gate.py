"""Which photos likely hold text, from the image vectors already stored (no pixels read).

OCR costs a second or more per photo on a CPU; the image model has already seen every
photo. The gate is a linear probe on the stored vectors, trained per model on a few dozen
pictures of text drawn here (documents, receipts, screenshots, slides, signs, posters,
half of them with a photographed look) against the same pictures *without* their text.

Calibration, per model: a held-out set of drawn pictures is scored, and the threshold is
the one with the best balanced accuracy there. Photos or folders named explicitly
(``photosort ocr PATH``) are always read.

Drawn pictures are not a library: on a new library this probe lets about half of the
text-free photos through, so ``ocr_store`` adds two steps. A quick look (the text
detector alone on a small copy, ``Recognizer.has_text``) checks what the vectors pass;
and once the library has enough outcomes of its own (photos read, with and without
text), ``fit_outcomes`` learns a probe from them, which then replaces the drawn one.
"""

from __future__ import annotations

import functools
import random
from dataclasses import dataclass
from typing import TYPE_CHECKING

from photosort.core.lazy_import import lazy_module, np

# Pillow draws the exemplars, once per model: a rescan that reuses the stored gate (or has
# nothing to read) never imports it (issue 13).
if TYPE_CHECKING:
    from PIL import Image, ImageDraw, ImageFilter, ImageFont
else:
    Image = lazy_module("PIL.Image")
    ImageDraw = lazy_module("PIL.ImageDraw")
    ImageFilter = lazy_module("PIL.ImageFilter")
    ImageFont = lazy_module("PIL.ImageFont")

#: Bumped when the gate changes: decisions made by an older gate are made again.
GATE_VERSION = "gate-3"
TARGET_RECALL = 0.95
#: A library's own outcomes train its gate once it has this many photos with text and
#: this many without (fewer: the drawn probe goes on deciding).
MIN_OUTCOMES = 8
KINDS = ("document", "receipt", "screenshot", "slide", "sign", "poster")
_WORDS = [
    "total",
    "store",
    "receipt",
    "invoice",
    "date",
    "amount",
    "paid",
    "card",
    "cash",
    "tax",
    "price",
    "item",
    "order",
    "number",
    "meeting",
    "agenda",
    "project",
    "report",
    "summary",
    "notes",
    "results",
    "quarter",
    "targets",
    "revenue",
    "plan",
    "street",
    "avenue",
    "exit",
    "open",
    "closed",
    "welcome",
    "station",
    "platform",
    "parking",
    "entrance",
    "north",
    "south",
    "settings",
    "battery",
    "search",
    "messages",
    "account",
    "profile",
    "download",
    "share",
    "photos",
    "calendar",
    "coffee",
    "bread",
    "milk",
    "apples",
    "cheese",
    "pasta",
    "sale",
    "offer",
    "concert",
    "tickets",
    "festival",
    "museum",
]


@dataclass(frozen=True)
class Exemplar:
    image: Image.Image
    has_text: bool
    kind: str


@functools.lru_cache(maxsize=32)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)  # ships with Pillow: same on every machine


def _words(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(n))


def _background(rng: random.Random, size: tuple[int, int]) -> Image.Image:
    """A photo-like backdrop: a gradient of a random colour with a blob and grain."""
    w, h = size
    a = np.array([rng.randrange(256) for _ in range(3)], np.float32)
    b = np.array([rng.randrange(256) for _ in range(3)], np.float32)
    t = np.linspace(0, 1, h, dtype=np.float32)[:, None, None]
    arr = np.broadcast_to(a * (1 - t) + b * t, (h, w, 3)).copy()
    arr += np.random.default_rng(rng.randrange(1 << 30)).normal(0, 6, arr.shape)
    img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(img)
    x, y = rng.randrange(w), rng.randrange(h)
    r = rng.randrange(w // 8, w // 3)
    draw.ellipse([x - r, y - r, x + r, y + r], fill=tuple(rng.randrange(256) for _ in range(3)))
    return img


def _draw(
    kind: str, rng: random.Random, text: bool, size: tuple[int, int] = (320, 240)
) -> Image.Image:
    """One picture of ``kind``; without ``text`` the same layout keeps its shapes only."""
    w, h = size
    ink = (20, 20, 20)

    def lines(
        draw: ImageDraw.ImageDraw,
        x: int,
        y: int,
        width: int,
        step: int,
        fsize: int,
        n: int,
        fill: tuple[int, int, int] = ink,
    ) -> None:
        for i in range(n):
            if text:
                draw.text((x, y + i * step), _words(rng, 3 + rng.randrange(4)), fill, _font(fsize))
            else:
                rng.random()  # same random sequence either way

    img = _background(rng, size)
    draw = ImageDraw.Draw(img)
    if kind in ("document", "receipt"):
        pw = int(w * (0.8 if kind == "document" else 0.4))
        x0, y0 = (w - pw) // 2, int(h * 0.05)
        draw.rectangle([x0, y0, x0 + pw, h - y0], fill=(245, 244, 238))
        fs = 11 if kind == "document" else 10
        lines(draw, x0 + 8, y0 + 8, pw - 16, fs + 5, fs, (h - 2 * y0 - 16) // (fs + 5))
    elif kind == "screenshot":
        img = Image.new("RGB", size, (250, 250, 252) if rng.random() < 0.6 else (30, 32, 36))
        draw = ImageDraw.Draw(img)
        corner = img.getpixel((0, 0))
        dark = isinstance(corner, tuple) and corner[0] <= 128
        fill = (230, 230, 230) if dark else (20, 20, 20)
        draw.rectangle([0, 0, w, 22], fill=tuple(rng.randrange(256) for _ in range(3)))
        lines(draw, 10, 30, w - 20, 22, 14, (h - 40) // 22, fill)
    elif kind == "slide":
        bg = tuple(rng.randrange(40, 256) for _ in range(3))
        img = Image.new("RGB", size, bg)
        draw = ImageDraw.Draw(img)
        fill = (0, 0, 0) if sum(bg) > 380 else (255, 255, 255)
        if text:
            draw.text((20, 18), _words(rng, 3).title(), fill, _font(24))
        lines(draw, 34, 70, w - 60, 30, 16, 5, fill)
    else:  # sign, poster: big words on a board in a photo
        bw, bh = int(w * rng.uniform(0.45, 0.8)), int(h * rng.uniform(0.3, 0.6))
        x0, y0 = rng.randrange(w - bw), rng.randrange(h - bh)
        board = tuple(rng.randrange(256) for _ in range(3))
        draw.rectangle([x0, y0, x0 + bw, y0 + bh], fill=board)
        fill = (0, 0, 0) if sum(board) > 380 else (255, 255, 255)
        n = 2 if kind == "sign" else 4
        lines(draw, x0 + 8, y0 + 6, bw - 16, bh // (n + 1), max(12, bh // (n + 2)), n, fill)
    return img


def _photographed(img: Image.Image, rng: random.Random) -> Image.Image:
    """The picture as a phone sees it: tilted, soft, noisy, sometimes dim."""
    img = img.rotate(rng.uniform(-8, 8), resample=Image.Resampling.BICUBIC, expand=False)
    img = img.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.2)))
    arr = np.asarray(img, np.float32) * rng.uniform(0.45, 1.0)
    arr += np.random.default_rng(rng.randrange(1 << 30)).normal(0, 7, arr.shape)
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))


def exemplars(seed: int, per_kind: int = 4) -> list[Exemplar]:
    """Pairs of pictures with and without text, half of them photographed-looking."""
    out: list[Exemplar] = []
    for kind in KINDS:
        for i in range(per_kind):
            for has_text in (True, False):
                rng = random.Random(f"{seed}:{kind}:{i}")  # same layout with and without text
                img = _draw(kind, rng, has_text)
                if i % 2:
                    img = _photographed(img, rng)
                out.append(Exemplar(img, has_text, kind))
    return out


@dataclass
class TextGate:
    """A linear probe on the image vectors: drawn text pictures against the same pictures
    without their text, so it learns what text adds, not what a library looks like."""

    weights: np.ndarray  # (d,)
    bias: float
    threshold: float = 0.5

    def scores(self, vectors: np.ndarray) -> np.ndarray:
        """The probability that each photo holds text."""
        if len(vectors) == 0:
            return np.empty(0, np.float32)
        logits = np.asarray(vectors, np.float32) @ self.weights + self.bias
        return (1.0 / (1.0 + np.exp(-np.clip(logits, -60, 60)))).astype(np.float32)

    def passes(self, vectors: np.ndarray) -> np.ndarray:
        return self.scores(vectors) >= self.threshold

    @classmethod
    def fit(
        cls,
        text: np.ndarray,
        plain: np.ndarray,
        held_text: np.ndarray | None = None,
        held_plain: np.ndarray | None = None,
    ) -> TextGate:
        """Train on (text, plain); the threshold is calibrated on the held-out sets."""
        x = np.concatenate([text, plain]).astype(np.float64)
        y = np.concatenate([np.ones(len(text)), np.zeros(len(plain))])
        weights, bias = _logistic(x, y)
        gate = cls(weights.astype(np.float32), float(bias))
        if held_text is not None and held_plain is not None and len(held_text):
            gate.threshold = calibrate(gate.scores(held_text), gate.scores(held_plain))
        return gate


def _logistic(
    x: np.ndarray, y: np.ndarray, l2: float = 1e-4, steps: int = 30
) -> tuple[np.ndarray, float]:
    """Class-balanced, L2-regularised logistic regression by Newton steps (numpy only; a
    few hundred vectors of a few hundred dimensions: milliseconds)."""
    n = len(y)
    xb = np.hstack([x, np.ones((n, 1))])
    weight = np.where(y > 0, 0.5 / max(y.sum(), 1), 0.5 / max(n - y.sum(), 1))
    beta = np.zeros(xb.shape[1])
    reg = np.full(xb.shape[1], l2)
    reg[-1] = 0.0  # the bias is not shrunk
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-np.clip(xb @ beta, -60, 60)))
        grad = xb.T @ (weight * (p - y)) + reg * beta
        hess = (xb * (weight * p * (1 - p))[:, None]).T @ xb + np.diag(reg + 1e-9)
        step = np.linalg.solve(hess, grad)
        beta -= step
        if np.abs(step).max() < 1e-6:
            break
    return beta[:-1], float(beta[-1])


def calibrate(text_scores: np.ndarray, plain_scores: np.ndarray) -> float:
    """The threshold with the best balanced accuracy on held-out pictures (Youden's J),
    lowered if needed to keep ``TARGET_RECALL`` of the text ones a probe finds easy
    (those above 0.5): a photo of text is worth a second of OCR more than a skip."""
    cands = np.unique(np.concatenate([text_scores, plain_scores, [0.5]]))
    best, best_j = 0.5, -1.0
    for t in cands:
        j = (text_scores >= t).mean() + (plain_scores < t).mean()
        if j > best_j + 1e-9:
            best, best_j = float(t), j
    easy = text_scores[text_scores >= 0.5]
    if len(easy):
        best = min(best, float(np.quantile(easy, 1.0 - TARGET_RECALL)))
    return best


def fit_outcomes(vectors: np.ndarray, has_text: np.ndarray, folds: int = 4) -> TextGate:
    """A probe learned from a library's own outcomes (vectors of photos that were looked
    at, and whether text was found). The threshold is calibrated on out-of-fold scores,
    so it is not set on the photos each fold was trained on."""
    x = np.asarray(vectors, np.float64)
    y = np.asarray(has_text, bool)
    weights, bias = _logistic(x, y.astype(np.float64), l2=1e-3)
    gate = TextGate(weights.astype(np.float32), bias)
    held = np.empty(len(y), np.float32)
    order = np.random.default_rng(0).permutation(len(y))
    for k in range(folds):
        test = order[k::folds]
        train = np.setdiff1d(order, test)
        if y[train].all() or not y[train].any():
            held[test] = 0.5
            continue
        w, b = _logistic(x[train], y[train].astype(np.float64), l2=1e-3)
        held[test] = TextGate(w.astype(np.float32), b).scores(x[test])
    gate.threshold = calibrate(held[y], held[~y])
    return gate
