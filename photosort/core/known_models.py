"""The models photosort knows well, with their published numbers (``photosort models``).

Zero-shot ImageNet-1k top-1 accuracy and parameter counts are the published ones:
open_clip's benchmark table (``docs/openclip_results.csv`` in mlfoundations/open_clip)
for the CLIP and SigLIP models, and the MobileCLIP paper (Vasu et al., CVPR 2024, Table 7)
for MobileCLIP. Whether a model is cached comes from the model cache, and its speed on
this machine from the last ``photosort bench`` of it (``core/bench.py``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from photosort.core import bench, scoring


@dataclass(frozen=True)
class KnownModel:
    name: str
    pretrained: str
    imagenet: float  # zero-shot top-1, percent
    params_m: float  # millions (image + text towers)
    source: str
    note: str = ""

    @property
    def spec(self) -> str:
        return f"{self.name}:{self.pretrained}"

    @property
    def family(self) -> str:
        return "SigLIP" if scoring.is_sigmoid_model(self.name) else "CLIP"

    @property
    def size_mb(self) -> float:
        """Download size, about: fp32 weights."""
        return self.params_m * 4


_OPEN_CLIP = "open_clip results"
_MOBILECLIP = "MobileCLIP paper"

KNOWN: tuple[KnownModel, ...] = (
    KnownModel("ViT-B-32", "laion2b_s34b_b79k", 66.6, 151.3, _OPEN_CLIP, "photosort's default"),
    KnownModel("ViT-B-32", "openai", 63.3, 151.3, _OPEN_CLIP),
    KnownModel("ViT-B-16", "laion2b_s34b_b88k", 70.2, 149.6, _OPEN_CLIP),
    KnownModel("ViT-B-16", "openai", 68.3, 149.6, _OPEN_CLIP),
    KnownModel("ViT-B-16", "datacomp_xl_s13b_b90k", 73.5, 149.6, _OPEN_CLIP),
    KnownModel("ViT-L-14", "laion2b_s32b_b82k", 75.3, 427.6, _OPEN_CLIP),
    KnownModel("MobileCLIP-S1", "datacompdr", 72.6, 84.9, _MOBILECLIP, "fast on laptops"),
    KnownModel("MobileCLIP-S2", "datacompdr", 74.4, 99.1, _MOBILECLIP, "fast on laptops"),
    KnownModel("MobileCLIP-B", "datacompdr", 76.8, 149.8, _MOBILECLIP),
    KnownModel("ViT-B-16-SigLIP", "webli", 76.0, 203.2, _OPEN_CLIP, "sigmoid scores"),
    KnownModel("ViT-B-16-SigLIP-256", "webli", 76.5, 203.2, _OPEN_CLIP, "sigmoid scores"),
    KnownModel("ViT-L-16-SigLIP-256", "webli", 80.5, 652.2, _OPEN_CLIP, "sigmoid scores"),
    KnownModel("ViT-SO400M-14-SigLIP", "webli", 82.0, 877.4, _OPEN_CLIP, "sigmoid scores"),
    KnownModel("ViT-SO400M-14-SigLIP-384", "webli", 83.1, 878.0, _OPEN_CLIP, "sigmoid scores"),
)


@dataclass
class ModelRow:
    """One line of the model picker: published numbers, and what this machine knows."""

    spec: str
    family: str
    imagenet: float | None
    params_m: float | None
    size_mb: float | None
    cached: bool
    images_per_s: float | None
    measured_on: str | None
    current: bool
    note: str

    def as_dict(self) -> dict:
        return asdict(self)


def rows(current: str, cached: dict[str, bool], bench_path: Path | None = None) -> list[ModelRow]:
    """Every known model, plus the library's own model when it is not one of them."""
    out = []
    specs = [m.spec for m in KNOWN]
    for m in KNOWN:
        speed = bench.measured_speed(m.spec, bench_path)
        out.append(
            ModelRow(
                m.spec,
                m.family,
                m.imagenet,
                m.params_m,
                round(m.size_mb),
                cached.get(m.spec, False),
                None if speed is None else speed[0],
                None if speed is None else speed[1],
                m.spec == current,
                m.note,
            )
        )
    if current not in specs:
        speed = bench.measured_speed(current, bench_path)
        out.append(
            ModelRow(
                current,
                "SigLIP" if scoring.is_sigmoid_model(current, _local_dir(current)) else "CLIP",
                None,
                None,
                None,
                cached.get(current, True),
                None if speed is None else speed[0],
                None if speed is None else speed[1],
                True,
                "this library's model",
            )
        )
    return out


def _local_dir(spec: str) -> Path | None:
    prefix = "local-dir:"
    return Path(spec[len(prefix) :]) if spec.startswith(prefix) else None


def table(model_rows: list[ModelRow]) -> list[str]:
    """The CLI's lines."""
    head = (
        f"  {'model':<36} {'family':<7} {'ImageNet':>8} {'params':>7} {'size':>7} "
        f"{'cached':>6} {'img/s here':>11}"
    )
    out = [head]
    for r in model_rows:
        acc = "-" if r.imagenet is None else f"{r.imagenet:.1f}%"
        params = "-" if r.params_m is None else f"{r.params_m:.0f}M"
        size = "-" if r.size_mb is None else f"{r.size_mb:,.0f}MB"
        speed = "-" if r.images_per_s is None else f"{r.images_per_s:,.1f}"
        mark = "*" if r.current else " "
        spec = r.spec if len(r.spec) <= 36 else "…" + r.spec[-35:]
        out.append(
            f"{mark} {spec:<36} {r.family:<7} {acc:>8} {params:>7} {size:>7} "
            f"{'yes' if r.cached else 'no':>6} {speed:>11}" + (f"  {r.note}" if r.note else "")
        )
    out.append(
        "* the library's model. ImageNet: published zero-shot top-1; img/s: the best of the "
        "last 'photosort bench' of that model here (- until measured)."
    )
    return out
