"""What the app and the command line see of tags: tags on a photo, counts, summaries."""

from __future__ import annotations

from dataclasses import dataclass, field

from photosort.core.lazy_import import np

UNCERTAIN = "uncertain"


@dataclass(frozen=True)
class PhotoTag:
    name: str
    source: str  # "auto" | "manual"
    state: str  # "on" (applied) | "off" (manually rejected, not applied)
    score: float | None
    category: str | None


@dataclass(frozen=True)
class TagCount:
    name: str
    category: str | None
    count: int

    def as_dict(self) -> dict:
        return {"name": self.name, "category": self.category, "count": self.count}


@dataclass
class LabelPreview:
    """What a label would do if saved: its count and every photo's score (for a histogram)."""

    label: str
    count: int
    threshold: float
    scores: np.ndarray  # float32, one per photo with a vector
    photo_ids: np.ndarray  # int64, aligned with scores


@dataclass
class AutotagSummary:
    photos: int = 0
    labels: int = 0
    tagged: int = 0  # auto tags now held
    added: int = 0
    removed: int = 0
    changed: int = 0
    uncertain: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    cancelled: bool = False

    def line(self) -> str:
        text = (
            f"{_n(self.photos, 'photo')} × {_n(self.labels, 'label')}: "
            f"{_n(self.tagged, 'auto tag')} "
            f"({self.added} added, {self.removed} removed, {self.changed} rescored) "
            f"in {self.seconds:.1f}s"
        )
        return ("cancelled: " if self.cancelled else "") + text

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")
