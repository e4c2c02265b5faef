"""A library an older photosort indexed (float32 vectors) opens, migrates its vectors to
fp16 after a backup, and its auto tags stay exactly the same (issue 13)."""

from __future__ import annotations

import numpy as np
import pytest

from photosort.core import catalog, vector_codec
from tests.fixtures.scenes import write_library


def _tags(lib) -> dict[str, set[tuple[str, str]]]:
    ids = lib.browse()
    details = lib.photo_details(ids)
    return {
        details[i]["path"]: {(t.name, t.state) for t in tags if t.source == "auto"}
        for i, tags in lib.photo_tags(ids).items()
    }


@pytest.mark.slow  # a scan and two re-tags: about 45 s on the shared build machine
def test_float32_library_migrates_and_keeps_its_auto_tags(
    tmp_path, make_library, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_library(tmp_path / "photos", 40, seed=11)
    with monkeypatch.context() as patch:  # photosort before fp16: float32 blobs, no 0016
        patch.setattr(
            catalog, "MIGRATIONS", [m for m in catalog.MIGRATIONS if m.name < "0016_fp16_vectors"]
        )
        patch.setattr(vector_codec, "encode", lambda v: np.asarray(v, np.float32).tobytes())
        old = make_library()
        assert old.scan([tmp_path / "photos"]).embedded == 40
        before = _tags(old)
        lengths = old.catalog.query("SELECT DISTINCT length(vector) FROM embeddings")
        assert all(r[0] % 4 == 0 for r in lengths)
        old.close()

    lib = make_library()
    assert "0016_fp16_vectors" in lib.catalog.applied_migrations()
    assert list((tmp_path / "library" / "backups").glob("catalog-*-before-0016*"))
    lengths = lib.catalog.query("SELECT DISTINCT length(vector) FROM embeddings")
    assert all(vector_codec.is_fp16(b"\0" * r[0]) for r in lengths)
    lib.autotag()
    after = _tags(lib)
    assert sum(len(t) for t in before.values()) > 40  # the test library has tags to compare
    assert after == before
