"""How a model's cosines become label probabilities: CLIP's softmax or SigLIP's sigmoid.

CLIP (OpenAI, LAION, MobileCLIP) was trained with a softmax over the captions of a batch,
so its probabilities only mean something against alternatives: an exclusive group's
other labels, or a neutral caption for a free tag (see ``core/tagging.py``).

SigLIP (open_clip's ``ViT-B-16-SigLIP``, ``ViT-SO400M-14-SigLIP``, ...) was trained with a
*sigmoid* loss: every (image, caption) pair is its own yes/no decision,
``sigmoid(exp(logit_scale) * cos + logit_bias)``, with the learned bias (about -10 at
initialisation, -12 to -17 trained). That is how the model scores a label, and how the
Hugging Face pipeline shows it: each label on its own, no normalising over the others.

Which family a model is comes from its config (``init_logit_bias`` makes open_clip build
the ``logit_bias`` parameter), so it is known without loading the weights.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from photosort.core.lazy_import import np

SOFTMAX = "softmax"
SIGMOID = "sigmoid"


@dataclass(frozen=True)
class Scoring:
    """A model's scoring constants: ``exp(logit_scale)`` and, for SigLIP, ``logit_bias``."""

    scale: float
    bias: float | None = None  # None: a CLIP-family model (softmax)

    @property
    def kind(self) -> str:
        return SOFTMAX if self.bias is None else SIGMOID

    @classmethod
    def of(cls, value: float | Scoring) -> Scoring:
        """A bare float is a CLIP logit scale (callers written before SigLIP)."""
        return value if isinstance(value, Scoring) else cls(float(value))

    def sigmoid(self, cos: np.ndarray) -> np.ndarray:
        """Each label on its own: ``sigmoid(scale * cos + bias)`` (float32, new array)."""
        logits = np.asarray(cos, np.float32) * np.float32(self.scale)
        logits += np.float32(self.bias or 0.0)
        np.negative(logits, out=logits)
        np.exp(logits, out=logits)
        logits += 1.0
        np.reciprocal(logits, out=logits)
        return logits


def from_model(model: Any) -> Scoring:
    """The constants of a loaded open_clip model (its own parameters, not defaults)."""
    scale = float(model.logit_scale.exp().item())
    bias = getattr(model, "logit_bias", None)
    return Scoring(scale, None if bias is None else float(bias.reshape(-1)[0].item()))


def is_sigmoid_config(model_cfg: dict) -> bool:
    """open_clip builds a ``logit_bias`` (the sigmoid head) exactly when this key is set."""
    return model_cfg.get("init_logit_bias") is not None


def is_sigmoid_model(name: str, local_dir: Path | None = None) -> bool:
    """Whether a model spec is SigLIP-family, from its config alone (no weights loaded).

    A local folder answers from its ``open_clip_config.json``; a hub model from its name
    (every open_clip SigLIP config, and their hf-hub repos, carry "SigLIP" in the name).
    """
    if local_dir is not None:
        try:
            config = json.loads((Path(local_dir) / "open_clip_config.json").read_text())
        except (OSError, ValueError):
            return False
        return is_sigmoid_config(config.get("model_cfg", config))
    return "siglip" in name.casefold()
