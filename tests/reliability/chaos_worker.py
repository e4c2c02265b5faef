"""One process of the chaos test: random operations on one library until the stop file
appears (or its time is up, or a ``kill -9`` ends it). Every manual tag it applied is
logged, fsynced, after it was committed, so the test knows which decisions must survive.

Usage: python -m tests.reliability.chaos_worker LIBRARY MODEL CONFIG_JSON LOG SEED UNTIL
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
from pathlib import Path

TAGS = ("keep", "sea", "hills")


def main(argv: list[str]) -> int:
    library, model, config_json, log_path, seed, until = argv
    config = json.loads(config_json)
    rng = random.Random(int(seed))
    from photosort.core.categories import Category, Label
    from photosort.core.errors import PhotosortError
    from photosort.core.export import ExportRequest
    from photosort.core.library import Library

    log = open(log_path, "a", encoding="utf-8")  # noqa: SIM115 - open for the whole run

    def note(**event) -> None:
        log.write(json.dumps(event) + "\n")
        log.flush()
        os.fsync(log.fileno())

    lib = Library(library, model=model, device="cpu")
    lib.model_id  # noqa: B018 - load what a first command would, before saying ready
    note(event="ready", pid=os.getpid())
    n = 0

    def tag() -> None:
        rows = lib.catalog.query(
            "SELECT id, content_hash FROM photos WHERE content_hash IS NOT NULL "
            "ORDER BY random() LIMIT 3"
        )
        if not rows:
            return
        name = rng.choice(TAGS)
        lib.tag_photos([r[0] for r in rows], add=[name])
        # A root removed by another process in between: its photos got no tag, and that
        # is no loss. Log only what the catalog holds now (on the photo, or kept by hash).
        for pid, digest in rows:
            held = lib.catalog.scalar(
                "SELECT EXISTS (SELECT 1 FROM manual_tags WHERE photo_id = ? AND tag = ?) "
                "OR EXISTS (SELECT 1 FROM kept_manual_tags WHERE content_hash = ? AND tag = ?)",
                (pid, name, digest, name),
            )
            if held:
                note(event="tagged", hash=digest, tag=name)

    def scan() -> None:
        roots = rng.sample(config["roots"], rng.randint(1, len(config["roots"])))
        lib.scan(roots if rng.random() < 0.7 else None)

    def export(mode: str) -> None:
        dest = config["moves"] if mode == "move" else os.path.join(config["copies"], f"{seed}-{n}")
        lib.export(ExportRequest([rng.choice(TAGS)], dest, mode=mode))

    def edit_category() -> None:
        label = rng.choice(("chaos-a", "chaos-b", "chaos-c"))

        def change(cat: Category | None) -> Category:
            cat = cat or Category("chaos")
            cat.labels = [x for x in cat.labels if x.name != label] + [Label(label)]
            return cat

        lib.update_category("chaos", change)

    def remove_root() -> None:
        roots = lib.roots()
        if roots:
            lib.remove_root(rng.choice(roots)["path"])

    ops = [
        ("tag", tag, 4),
        ("scan", scan, 3),
        ("export-copy", lambda: export("copy"), 2),
        ("export-move", lambda: export("move"), 2),
        ("autotag", lambda: lib.autotag(), 1),
        ("category", edit_category, 1),
        ("roots-remove", remove_root, 1),
    ]
    names, calls, weights = zip(*ops, strict=True)
    stop = Path(config["stop"])
    while time.time() < float(until) and not stop.exists():
        n += 1
        i = rng.choices(range(len(ops)), weights)[0]
        try:
            calls[i]()
            note(event="done", op=names[i])
        except PhotosortError as exc:  # "library is busy" and the like: one line, go on
            note(event="refused", op=names[i], reason=str(exc))
            time.sleep(rng.uniform(0.05, 0.3))
    lib.close()
    note(event="finished")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    sys.exit(main(sys.argv[1:]))
