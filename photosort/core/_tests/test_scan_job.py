"""The end of a scan: new photos are tagged, and a tagging failure is a warning on the
scan's summary, never a lost scan."""

from __future__ import annotations

from pathlib import Path

from photosort.core import scan_job
from photosort.core.catalog import Catalog
from photosort.core.categories import CategoryError


def _wiring(catalog: Catalog, autotag) -> scan_job.ScanWiring:
    def unused(*_a, **_k):
        raise AssertionError("not part of this step")

    return scan_job.ScanWiring(
        catalog=catalog,
        model_spec="m",
        known_model_id=unused,
        model_id=unused,
        embedder=unused,
        record_model=unused,
        index=unused,
        forget_index=unused,
        save_index=unused,
        recover_moves=unused,
        update_sun=unused,
        autotag=autotag,
        import_keywords=unused,
        cache_text_encoder=unused,
        ocr_stage=unused,
    )


def test_changed_photos_are_tagged_and_a_failure_is_a_warning(tmp_path: Path) -> None:
    catalog = Catalog(tmp_path / "catalog.sqlite")
    tagged: list[list[int]] = []
    summary = scan_job.ScanSummary(new=2, embedded=2, changed_ids=[1, 2])
    scan_job.autotag_after_scan(_wiring(catalog, tagged.append), summary)
    assert tagged == [[1, 2]] and summary.warnings == []

    def broken(ids: list[int]) -> None:
        raise CategoryError("categories.toml: bad threshold")

    scan_job.autotag_after_scan(_wiring(catalog, broken), summary)
    assert summary.warnings == ["auto-tagging failed: categories.toml: bad threshold"]
    catalog.close()


def test_a_scan_that_changed_nothing_tags_nothing(tmp_path: Path) -> None:
    catalog = Catalog(tmp_path / "catalog.sqlite")
    tagged: list[list[int]] = []
    scan_job.autotag_after_scan(_wiring(catalog, tagged.append), scan_job.ScanSummary(unchanged=5))
    assert tagged == []
    catalog.close()
