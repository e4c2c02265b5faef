"""The SQL ``doctor`` runs: SQLite's own checks, and the vectors version of a catalog file.

These take a ``Handle`` like every store, so they also work on a bare connection to a
backup or to a catalog being restored (no ``Catalog`` is open then).
"""

from __future__ import annotations

from photosort.core.store.sql import Store


class CatalogHealth(Store):
    """SQLite's integrity and foreign-key checks, and the vectors version in meta."""

    def integrity(self) -> list[str]:
        """SQLite's integrity check: ``["ok"]`` when sound, else one line per problem."""
        return [r[0] for r in self.db.rows("PRAGMA integrity_check")]

    def foreign_key_problems(self) -> int:
        return len(self.db.rows("PRAGMA foreign_key_check"))

    def vectors_version(self) -> int | None:
        """The stored vectors version, or None when meta has none."""
        value = self.db.scalar("SELECT value FROM meta WHERE key = 'vectors_version'")
        return None if value is None else int(value)

    def set_vectors_version(self, version: int) -> None:
        """Move the vectors version (so no process trusts an index cache made before)."""
        with self.db.write() as conn:
            conn.execute(
                "INSERT INTO meta (key, value) VALUES ('vectors_version', ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (str(version),),
            )
