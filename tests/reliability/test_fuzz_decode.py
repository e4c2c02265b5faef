"""Structure-aware fuzzing of the decoding entry points (beyond core/_tests' byte flips):
PNG chunks with valid CRCs, JPEG marker segments, WebP RIFF/VP8X headers, through
decode_photo, read_meta and load_thumbnail, from bytes and from files. No crash (only
DecodeError), no hang (each input well under a few seconds), bounded memory (peak RSS)."""

from __future__ import annotations

import contextlib
import io
import resource
import struct
import time
import zlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from photosort.core.imaging import DecodeError, decode_photo, load_thumbnail, read_meta

PER_INPUT_S = 5.0
RSS_GROWTH_MB = 400


def _encode(fmt: str, size=(48, 32), mode="RGB", **kw) -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size, (200, 40, 40) if mode == "RGB" else 128).save(buf, fmt, **kw)
    return buf.getvalue()


JPEG = _encode("JPEG", quality=80)
PROGRESSIVE = _encode("JPEG", progressive=True)
PNG = _encode("PNG")
WEBP_LOSSY = _encode("WEBP", quality=60)
WEBP_LOSSLESS = _encode("WEBP", lossless=True)
WEBP_ALPHA = _encode("WEBP", mode="RGBA")


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


@st.composite
def png_inputs(draw) -> bytes:
    """A PNG rebuilt from mutated chunks, CRCs fixed so the decoder itself is exercised."""
    width = draw(st.sampled_from([0, 1, 48, 65535, 2**31 - 1, 2**32 - 1]))
    height = draw(st.sampled_from([0, 1, 32, 65535, 2**31 - 1]))
    depth = draw(st.sampled_from([1, 2, 4, 8, 16, 3, 0]))
    colour = draw(st.sampled_from([0, 2, 3, 4, 6, 5]))
    interlace = draw(st.sampled_from([0, 1, 2]))
    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, interlace)
    raw = draw(st.binary(max_size=4096))
    idat = zlib.compress(raw) if draw(st.booleans()) else raw
    chunks = [_png_chunk(b"IHDR", ihdr)]
    if colour == 3 and draw(st.booleans()):
        chunks.append(_png_chunk(b"PLTE", draw(st.binary(max_size=800))))
    extra = draw(
        st.lists(
            st.sampled_from(
                [b"tEXt", b"zTXt", b"iCCP", b"eXIf", b"tRNS", b"acTL", b"fcTL", b"fdAT"]
            ),
            max_size=3,
        )
    )
    chunks += [_png_chunk(k, draw(st.binary(max_size=256))) for k in extra]
    chunks += [_png_chunk(b"IDAT", idat), _png_chunk(b"IEND", b"")]
    middle = draw(st.permutations(chunks[1:-1]))  # IDAT before PLTE, text after IDAT, ...
    return b"\x89PNG\r\n\x1a\n" + b"".join([chunks[0], *middle, chunks[-1]])


@st.composite
def jpeg_inputs(draw) -> bytes:
    """A JPEG with a marker segment rewritten, duplicated or inserted (SOF sizes, DQT, DHT)."""
    data = bytearray(draw(st.sampled_from([JPEG, PROGRESSIVE])))
    action = draw(st.sampled_from(["size", "insert", "segment", "cut"]))
    if action == "size":
        for marker in (b"\xff\xc0", b"\xff\xc2"):
            pos = data.find(marker)
            if pos >= 0:
                w = draw(st.sampled_from([0, 1, 65535, 30000]))
                h = draw(st.sampled_from([0, 1, 65535, 30000]))
                data[pos + 5 : pos + 9] = struct.pack(">HH", h, w)
                data[pos + 9] = draw(st.integers(0, 255))  # component count
    elif action == "insert":
        kind = draw(st.sampled_from([0xC0, 0xC4, 0xDB, 0xDD, 0xE1, 0xFE, 0xDA, 0xD9]))
        body = draw(st.binary(max_size=300))
        segment = bytes([0xFF, kind]) + struct.pack(">H", (len(body) + 2) & 0xFFFF) + body
        data[2:2] = segment
    elif action == "segment":
        pos = draw(st.integers(2, 200))
        data[pos : pos + 4] = draw(st.binary(min_size=4, max_size=4))
    else:
        data = data[: draw(st.integers(2, len(data)))]
    return bytes(data)


@st.composite
def webp_inputs(draw) -> bytes:
    """WebP with RIFF/VP8X sizes and canvas dimensions rewritten, or chunks swapped."""
    data = bytearray(draw(st.sampled_from([WEBP_LOSSY, WEBP_LOSSLESS, WEBP_ALPHA])))
    action = draw(st.sampled_from(["riff", "vp8x", "chunk", "flip"]))
    if action == "riff":
        data[4:8] = struct.pack("<I", draw(st.sampled_from([0, 4, 2**31, 2**32 - 1, len(data)])))
    elif action == "vp8x":
        w = draw(st.integers(0, 2**24 - 1))
        h = draw(st.integers(0, 2**24 - 1))
        flags = draw(st.integers(0, 255))
        vp8x = b"VP8X" + struct.pack("<I", 10) + bytes([flags, 0, 0, 0])
        vp8x += (w).to_bytes(3, "little") + (h).to_bytes(3, "little")
        data[12:12] = vp8x
    elif action == "chunk":
        data[12:16] = draw(st.sampled_from([b"VP8 ", b"VP8L", b"VP8X", b"ANIM", b"ALPH", b"XXXX"]))
        data[16:20] = struct.pack("<I", draw(st.integers(0, 2**32 - 1)))
    else:
        for _ in range(draw(st.integers(1, 6))):
            pos = draw(st.integers(12, min(len(data) - 1, 80)))
            data[pos] = draw(st.integers(0, 255))
    return bytes(data)


def _exercise(data: bytes, tmp_path) -> None:
    started = time.monotonic()
    for call in (
        lambda src: decode_photo(src, min_side=16),
        read_meta,
        lambda src: load_thumbnail(src, 32),
    ):
        try:
            result = call(data)
        except DecodeError as exc:
            assert str(exc) and "\n" not in str(exc)
            continue
        image = getattr(result, "image", result)
        if hasattr(image, "mode"):
            assert image.mode == "RGB" and min(image.size) > 0
    path = tmp_path / "fuzz.bin"
    path.write_bytes(data)
    with contextlib.suppress(DecodeError):
        decode_photo(path, min_side=16)
    assert time.monotonic() - started < PER_INPUT_S


@pytest.fixture(scope="module")
def rss_budget():
    start = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    yield
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - start) / 1024
    assert grown_mb < RSS_GROWTH_MB, f"peak memory grew by {grown_mb:.0f} MB while fuzzing"


@pytest.mark.filterwarnings("ignore::UserWarning")
@settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=st.one_of(png_inputs(), jpeg_inputs(), webp_inputs()))
def test_structured_fuzz_of_decoding(data: bytes, tmp_path, rss_budget) -> None:
    _exercise(data, tmp_path)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::UserWarning")
@settings(
    max_examples=3000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=st.one_of(png_inputs(), jpeg_inputs(), webp_inputs(), st.binary(max_size=4096)))
def test_long_fuzz_of_decoding(data: bytes, tmp_path, rss_budget) -> None:
    _exercise(data, tmp_path)
