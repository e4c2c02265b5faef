"""The schema is one ordered list of named migrations, and every declaring module is listed."""

from __future__ import annotations

import ast
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from photosort.core import catalog

#: Shipped migrations, in the order they apply. Never edit or reorder one; new ones sort after.
SHIPPED = [
    "0001_initial",
    "0002_tags",
    "0003_move_journal",
    "0004_a_move_journal_owner",
    "0004_b_kept_manual_tags",
    "0004_c_root_follow_links",
    "0004_d_failure_kind",
    "0005_a_tag_case",
    "0005_b_applies_if",
    "0006_sun",
    "0007_taught_tags",
    "0008_duplicates",
    "0009_a_photo_pairs",
    "0009_b_keyword_imports",
    "0010_ocr",
    "0010_ocr_b_learned_gates",
    "0012_category_template",
    "0015_staged_vectors",
    "0016_fp16_vectors",
    "0017_browse_indexes",
]

CORE = Path(catalog.__file__).parent


def test_the_schema_is_one_list_declared_in_the_catalog() -> None:
    """Every step is named in ``catalog.MIGRATIONS`` and resolves to a function; no module
    adds one when it is imported (the order once depended on the import sorter)."""
    assert [m.name for m in catalog.MIGRATIONS] == SHIPPED
    assert all(callable(m.function()) for m in catalog.MIGRATIONS)
    registering = [
        path.name
        for path in CORE.rglob("*.py")
        if "_tests" not in path.parts and "register_migration" in path.read_text("utf-8")
    ]
    assert registering == []


def test_opening_an_up_to_date_catalog_imports_no_feature_module(tmp_path: Path) -> None:
    """A no-change rescan opens the catalog: the modules owning schema steps are imported
    only when a step must run, never to open a catalog that has them all."""
    catalog.Catalog(tmp_path / "catalog.sqlite").close()
    code = (
        "import sys\n"
        "from photosort.core.catalog import Catalog\n"
        f"Catalog({str(tmp_path / 'catalog.sqlite')!r}).close()\n"
        "print(sorted(m for m in sys.modules if m.startswith('photosort.core.')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(ast.literal_eval(out.stdout.strip()))
    owners = {f"photosort.core.{str(m.step).partition(':')[0]}" for m in catalog.MIGRATIONS[1:]}
    assert loaded & owners == set()


def test_a_new_catalog_applies_the_shipped_migrations_first_in_name_order(tmp_path: Path) -> None:
    cat = catalog.Catalog(tmp_path / "catalog.sqlite")
    cat.close()
    conn = sqlite3.connect(tmp_path / "catalog.sqlite")
    applied = [r[0] for r in conn.execute("SELECT name FROM migrations ORDER BY rowid")]
    conn.close()
    assert applied[: len(SHIPPED)] == SHIPPED
    assert applied == sorted(applied)
    assert all(re.fullmatch(r"\d{4}(_[a-z])?_[a-z0-9_]+", name) for name in applied)


@pytest.mark.parametrize("last", ["0001_initial", "0004_d_failure_kind", "0009_a_photo_pairs"])
def test_a_catalog_made_at_an_earlier_schema_upgrades_with_its_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, last: str
) -> None:
    earlier = [m for m in catalog.MIGRATIONS if m.name <= last]
    path = tmp_path / "catalog.sqlite"
    with monkeypatch.context() as patch:  # a catalog as an older photosort left it
        patch.setattr(catalog, "MIGRATIONS", earlier)
        old = catalog.Catalog(path)
        with old.transaction() as conn:
            conn.execute("INSERT INTO roots (id, path, added_at) VALUES (1, '/p', 'then')")
            conn.execute(
                "INSERT INTO photos (id, root_id, path, folder, size, mtime_ns, status, "
                "added_at, updated_at) VALUES (7, 1, '/p/a.jpg', '/p', 10, 1, 'ok', 'a', 'u')"
            )
            conn.execute("INSERT INTO embeddings VALUES (7, 'm', x'0000803f')")
        old.close()

    upgraded = catalog.Catalog(path, backup_dir=tmp_path / "backups")
    applied = [r[0] for r in upgraded.query("SELECT name FROM migrations ORDER BY rowid")]
    assert applied == sorted(m.name for m in catalog.MIGRATIONS)
    assert [tuple(r) for r in upgraded.query("SELECT id, path, status FROM photos")] == [
        (7, "/p/a.jpg", "ok")
    ]
    assert upgraded.count_vectors("m") == 1
    upgraded.close()
    assert list((tmp_path / "backups").glob(f"*before-{applied[len(earlier)]}*"))
