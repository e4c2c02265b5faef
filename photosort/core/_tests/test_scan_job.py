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
        cache_image_encoder=unused,
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


def test_the_photos_to_embed_come_a_page_at_a_time_and_none_is_missed(tmp_path: Path, monkeypatch):
    """A scan reads the photos it embeds from the catalog a page at a time (a list of
    100k of them was held through the whole scan, issue 13): every one comes once, in
    path order, also one whose embedding fails while the pages are read."""
    from photosort.core._tests.test_catalog import add_photo

    monkeypatch.setattr(scan_job.PendingPhotos, "PAGE", 3)
    catalog = Catalog(tmp_path / "catalog.sqlite")
    with catalog.transaction() as conn:
        paths = [f"/p/{i:02d}.jpg" for i in range(10)]
        for path in reversed(paths):
            add_photo(conn, path)
        add_photo(conn, "/p/broken.jpg", "failed", "content")  # not retried
    jobs = scan_job.embed_jobs(catalog, "m", [1], retry_failed=False)
    assert len(jobs) == 10
    seen = []
    for job in jobs:
        seen.append(job.path)
        with catalog.transaction() as conn:  # what embedding a photo leaves meanwhile
            conn.execute(
                "UPDATE photos SET status = 'failed', failure_kind = 'io' WHERE id = ?",
                (job.photo_id,),
            )
    assert seen == paths
    catalog.close()
