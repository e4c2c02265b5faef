"""How a photo's vector is stored in the catalog: fp16 behind a one-byte marker.

A 512-d float32 vector is a 2,048-byte blob, and SQLite gives such a row a 4 KB page of
its own: 4.1 KB per photo, 4.45 GB at 1M (issue 13). In fp16 the same vector is 1,024
bytes, with a cosine to the float32 one above 0.9999 (CLIP vectors are unit length, so
every component is far inside fp16's range and its 11-bit mantissa is the only loss).

The marker byte makes an fp16 blob's length odd (``1 + 2·dim``) while a float32 blob of
an older catalog has a length that is a multiple of 4: both stay readable, so a catalog
half-way through its migration, a backup restored from before it or a staged re-index
vector are all decoded by the same functions. Vectors are always handed out as float32.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence

from photosort.core.lazy_import import np

log = logging.getLogger(__name__)

#: The first byte of an fp16 blob (version 1 of the format).
FP16_MARKER = b"\x01"


def encode(vector: np.ndarray) -> bytes:
    """One vector as a catalog blob (fp16 with its marker)."""
    return FP16_MARKER + np.asarray(vector, dtype=np.float32).astype("<f2").tobytes()


def encode_many(matrix: np.ndarray) -> list[bytes]:
    """Each row of ``matrix`` as a catalog blob (one conversion for the whole batch)."""
    half = np.ascontiguousarray(np.asarray(matrix, dtype=np.float32).astype("<f2"))
    return [FP16_MARKER + row.tobytes() for row in half]


def as_stored(matrix: np.ndarray) -> np.ndarray:
    """``matrix`` rounded as the catalog stores it: the vector index gets exactly what a
    rebuild from the catalog would give it, so tags scored from either agree."""
    return np.asarray(matrix, dtype=np.float32).astype("<f2").astype(np.float32)


def is_fp16(blob: bytes) -> bool:
    return len(blob) % 2 == 1


def blob_length(dim: int) -> int:
    """The length of a ``dim``-d vector written today (doctor checks stored ones with it)."""
    return 1 + 2 * dim


def legacy_length(dim: int) -> int:
    """The length of a ``dim``-d float32 vector an older photosort wrote."""
    return 4 * dim


def decode(blob: bytes) -> np.ndarray:
    """A catalog blob (fp16 or a legacy float32 one) as a writable float32 vector."""
    if is_fp16(blob):
        return np.frombuffer(blob, dtype="<f2", offset=1).astype(np.float32)
    return np.frombuffer(blob, dtype="<f4").astype(np.float32)


def decode_many(blobs: Sequence[bytes]) -> np.ndarray:
    """Blobs of one model as an (n, dim) float32 matrix, in one conversion when they share
    a format (the usual case); mixed formats (a catalog mid-migration) row by row."""
    if not blobs:
        return np.empty((0, 0), np.float32)
    size = len(blobs[0])
    if any(len(b) != size for b in blobs):
        return np.stack([decode(b) for b in blobs])
    raw = np.frombuffer(b"".join(blobs), dtype=np.uint8).reshape(len(blobs), size)
    if size % 2 == 1:
        half = np.ascontiguousarray(raw[:, 1:]).view("<f2")
        return half.astype(np.float32)
    return raw.view("<f4").astype(np.float32)


def _dim(blob: bytes) -> int:
    """The vector length a blob holds, or -1 for a length neither format can have."""
    if is_fp16(blob):
        return (len(blob) - 1) // 2
    return len(blob) // 4 if len(blob) % 4 == 0 else -1


def decode_rows(ids: Sequence[int], blobs: Sequence[bytes]) -> tuple[np.ndarray, np.ndarray]:
    """(ids, matrix) of rows read together, leaving out a damaged vector (a length no other
    row of the batch has, e.g. a hand-edited or truncated catalog) with a one-line warning.

    Every reader of many vectors goes through here, so one damaged row costs its photo's
    vector (``photosort doctor --fix`` re-embeds it), never the whole job."""
    dims = [_dim(b) for b in blobs]
    counts = Counter(dims)  # the length most rows share; on a tie the longer (truncation)
    expected = max(counts, key=lambda d: (counts[d], d)) if counts else 0
    keep = [i for i, d in enumerate(dims) if d == expected and d > 0]
    if len(keep) < len(blobs):
        log.warning(
            "%d stored vectors are damaged and were left out (photosort doctor --fix re-embeds)",
            len(blobs) - len(keep),
        )
        ids, blobs = [ids[i] for i in keep], [blobs[i] for i in keep]
    return np.asarray(ids, dtype=np.int64), decode_many(blobs)
