"""open_clip's image transform in Pillow and NumPy, for a scan that must not import torch.

Importing torch, torchvision and open_clip took 18 s of a 45 s from-scratch scan on a
2-core laptop CPU, only to preprocess images for an image tower that already runs on
ONNX Runtime (``image_engine``). The evaluation transform of an open_clip model is a few
fixed steps: resize the shortest side (bicubic or bilinear, Pillow's own resampling),
center crop, convert to RGB, scale to [0, 1] and normalise with the model's mean and std.
``Preprocess.of`` reads those steps off the model's torchvision transform when the image
tower is exported, and refuses (None) anything else; the export records them in its
``image.json``, and ``Preprocess`` replays them with the same Pillow calls and float32
arithmetic, so the arrays equal torchvision's (tests compare them exactly).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from PIL import Image

__all__ = ["Preprocess"]

_RESAMPLE = {"bicubic": 3, "bilinear": 2}  # PIL.Image.Resampling.BICUBIC / BILINEAR


@dataclass(frozen=True)
class Preprocess:
    """A square CLIP input: shortest side to ``size``, center crop, RGB, normalised."""

    size: int
    interpolation: str
    mean: tuple[float, float, float]
    std: tuple[float, float, float]

    def __post_init__(self) -> None:
        if self.interpolation not in _RESAMPLE or self.size < 1:
            raise ValueError(f"unsupported preprocessing {self}")
        if len(self.mean) != 3 or len(self.std) != 3 or min(self.std) <= 0:
            raise ValueError(f"unsupported preprocessing {self}")

    def __call__(self, image: Image.Image) -> np.ndarray:
        """``image`` as a (3, size, size) float32 array, as open_clip's transform makes it."""
        image = self._resize(image)
        image = self._center_crop(image)
        if image.mode != "RGB":
            image = image.convert("RGB")
        pixels = np.asarray(image, dtype=np.uint8).transpose(2, 0, 1).astype(np.float32)
        pixels /= np.float32(255)  # torchvision: to float, then div(255), then sub, div
        pixels -= np.asarray(self.mean, np.float32)[:, None, None]
        pixels /= np.asarray(self.std, np.float32)[:, None, None]
        return pixels

    def _resize(self, image: Image.Image) -> Image.Image:
        """torchvision's ``Resize(size)`` on a PIL image: the long side truncated, never
        rounded; an image already that size is left alone."""
        w, h = image.size
        short, long = (w, h) if w <= h else (h, w)
        new_short, new_long = self.size, int(self.size * long / short)
        new_w, new_h = (new_short, new_long) if w <= h else (new_long, new_short)
        if (new_w, new_h) == (w, h):
            return image
        return image.resize((new_w, new_h), _RESAMPLE[self.interpolation])

    def _center_crop(self, image: Image.Image) -> Image.Image:
        """torchvision's ``CenterCrop``: Python's round of half the margin (after a black
        pad where the image is smaller than the crop, which a shortest-side resize never
        leaves)."""
        size = self.size
        w, h = image.size
        if size > w or size > h:
            from PIL import ImageOps

            left, top = (size - w) // 2 if size > w else 0, (size - h) // 2 if size > h else 0
            right = (size - w + 1) // 2 if size > w else 0
            bottom = (size - h + 1) // 2 if size > h else 0
            image = ImageOps.expand(image, (left, top, right, bottom), fill=0)
            w, h = image.size
            if (w, h) == (size, size):
                return image
        top, left = int(round((h - size) / 2.0)), int(round((w - size) / 2.0))
        return image.crop((left, top, left + size, top + size))

    def to_meta(self) -> dict[str, Any]:
        return {
            "resize": "shortest",
            "size": self.size,
            "interpolation": self.interpolation,
            "mean": list(self.mean),
            "std": list(self.std),
        }

    @classmethod
    def from_meta(cls, meta: Any) -> Preprocess:
        """The steps an export recorded; ValueError when they are not ones this replays."""
        if not isinstance(meta, dict) or meta.get("resize") != "shortest":
            raise ValueError(f"unknown preprocessing {meta!r}")
        try:
            mean, std = _three(meta["mean"]), _three(meta["std"])
            if mean is None or std is None:
                raise ValueError(f"mean and std need 3 values: {meta!r}")
            return cls(int(meta["size"]), str(meta["interpolation"]), mean, std)
        except (KeyError, TypeError) as exc:
            raise ValueError(f"unknown preprocessing {meta!r}") from exc

    @classmethod
    def of(cls, transform: Any) -> Preprocess | None:
        """The steps of open_clip's evaluation transform (a torchvision ``Compose``), or
        None when it holds anything this does not replay exactly (another resize mode,
        a non-square input, a custom step): such a model keeps torch."""
        from torchvision import transforms as tv

        steps = list(getattr(transform, "transforms", []))
        if len(steps) != 5:
            return None
        resize, crop, convert, to_tensor, normalize = steps
        if type(resize) is not tv.Resize or resize.max_size is not None:
            return None
        size = resize.size
        if isinstance(size, list | tuple):
            if len(size) != 1:
                return None  # (h, w): squash, not shortest side
            size = size[0]
        interpolation = {
            tv.InterpolationMode.BICUBIC: "bicubic",
            tv.InterpolationMode.BILINEAR: "bilinear",
        }.get(resize.interpolation)
        if interpolation is None or not isinstance(size, int):
            return None
        if type(crop) is not tv.CenterCrop or tuple(crop.size) != (size, size):
            return None
        if not _is_rgb_step(convert) or not isinstance(to_tensor, tv.ToTensor):
            return None
        if type(normalize) is not tv.Normalize:
            return None
        mean, std = _three(normalize.mean), _three(normalize.std)
        if mean is None or std is None:
            return None
        return cls(size, interpolation, mean, std)


def _is_rgb_step(step: Any) -> bool:
    """open_clip's ``MaybeConvertMode("RGB")`` (older releases: ``_convert_to_rgb``)."""
    if type(step).__name__ == "MaybeConvertMode":
        return getattr(step, "mode", None) == "RGB"
    return getattr(step, "__name__", None) == "_convert_to_rgb"


def _three(values: Any) -> tuple[float, float, float] | None:
    out = tuple(float(v) for v in values)
    return (out[0], out[1], out[2]) if len(out) == 3 else None
