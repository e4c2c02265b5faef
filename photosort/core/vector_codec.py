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

from collections.abc import Sequence

from photosort.core.lazy_import import np

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
