"""How well a taught tag works, against the scene generator's truth, next to zero-shot.

    python3 -m tests.benchmarks.eval_teaching [--photos 2000] [--reps 5]

A library of generated scenes is written to disk and scanned with the repo's tiny CLIP
(the real pipeline). The concept is one no caption names: the user's own pick of five
unrelated scenes (a red house at dawn, a white tree at dawn, a white house at night, a
red car by day, a blue car at dawn), about 14 photos each, like a personal tag whose
photos look like nothing in common. For 5, 10 and 20 examples (random, several seeds)
the tag is taught through ``Library.teacher`` and scored on the photos the user did not
tag: precision of the 20 most likely (P@20), recall and precision of the suggestions
(probability >= the threshold), and the tool's own estimate. The zero-shot baseline is
the best P@20 of every text query the captions' words can make (colour + object,
with each time of day or indoors, and every two-object caption), chosen with hindsight.
"""

from __future__ import annotations

import argparse
import itertools
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from photosort.core.library import Library
from photosort.core.search import SearchQuery
from tests.fixtures.scenes import COLORS, OBJECTS, TIMES_OF_DAY, SceneTruth, write_library

TINY = Path(__file__).resolve().parents[1] / "fixtures" / "tiny_clip"
TAG = "my pick"
PARTS = (
    ("red", "house", "dawn"),
    ("white", "tree", "dawn"),
    ("white", "house", "night"),
    ("red", "car", "day"),
    ("blue", "car", "dawn"),
)


def in_concept(truth: SceneTruth) -> bool:
    return any(
        truth.has(colour, thing)
        and (truth.setting == "indoor" if when == "indoor" else truth.time_of_day == when)
        for colour, thing, when in PARTS
    )


def zero_shot_queries() -> list[str]:
    out = []
    for colour, thing in itertools.product(COLORS, OBJECTS):
        out.append(f"a photo of a {colour} {thing}")
        out.append(f"a photo of a {colour} {thing} indoors")
        out += [f"a photo of a {colour} {thing} outdoors at {t}" for t in TIMES_OF_DAY]
    pairs = list(itertools.product(COLORS, OBJECTS))
    out += [f"a photo of a {c1} {o1} and a {c2} {o2}" for (c1, o1), (c2, o2) in
            itertools.combinations(pairs, 2)]  # fmt: skip
    return out


def run(photos: int = 2000, reps: int = 5, seed: int = 5) -> dict:
    out: dict = {"photos": photos, "reps": reps, "concept": [" ".join(p) for p in PARTS]}
    with tempfile.TemporaryDirectory() as tmp:
        generated = write_library(Path(tmp) / "photos", photos, seed=seed)
        lib = Library(Path(tmp) / "lib", model=f"local-dir:{TINY}", device="cpu")
        t0 = time.perf_counter()
        summary = lib.scan([Path(tmp) / "photos"])
        out["scan_s"] = round(time.perf_counter() - t0, 1)
        assert summary.failed == 0
        truth = {str(p.path): in_concept(p.truth) for p in generated}
        id_of = {d["path"]: pid for pid, d in lib.photo_details(
            [r[0] for r in lib.catalog.query("SELECT id FROM photos")]).items()}  # fmt: skip
        positive_ids = np.array(sorted(id_of[p] for p, yes in truth.items() if yes))
        is_pos = {id_of[p]: yes for p, yes in truth.items()}
        out["positives_in_library"] = len(positive_ids)

        best = (0.0, "")
        for query in zero_shot_queries():
            hits = lib.search(SearchQuery(text=query, top=20))
            score = sum(truth[r.path] for r in hits) / 20
            best = max(best, (score, query))
        out["zero_shot"] = {"p_at_20": best[0], "query": best[1]}

        rows = []
        all_ids = list(id_of.values())
        for k in (5, 10, 20):
            stats: dict[str, list] = {}
            for rep in range(reps):
                rng = np.random.default_rng(rep)
                examples = rng.choice(positive_ids, k, replace=False).tolist()
                lib.clear_manual(all_ids, [TAG])
                lib.tag_photos(examples, add=[TAG])
                t0 = time.perf_counter()
                taught = lib.teacher.teach(TAG)
                seconds = time.perf_counter() - t0
                ids, probs, labelled = lib.teacher.ranking(TAG)
                y = np.array([is_pos[int(i)] for i in ids])[~labelled]
                p = probs[~labelled]
                chosen = p >= 0.5
                stats.setdefault("p_at_20", []).append(y[:20].mean())
                stats.setdefault("recall", []).append(y[chosen].sum() / max(y.sum(), 1))
                stats.setdefault("precision", []).append(y[chosen].mean() if chosen.any() else 0)
                stats.setdefault("estimated_precision", []).append(taught.estimate.precision or 0.0)
                stats.setdefault("estimated_recall", []).append(taught.estimate.recall or 0.0)
                stats.setdefault("suggested", []).append(int(chosen.sum()))
                stats.setdefault("teach_s", []).append(seconds)
            rows.append({"examples": k, **{key: round(float(np.mean(v)), 3)
                                            for key, v in stats.items()}})  # fmt: skip
        out["taught"] = rows
        lib.close()
    return out


def table(result: dict) -> str:
    zs = result["zero_shot"]
    lines = [
        "| examples | taught P@20 | recall | precision (estimate) | best zero-shot P@20 |",
        "|---|---|---|---|---|",
    ]
    for row in result["taught"]:
        lines.append(
            f"| {row['examples']} | **{row['p_at_20']:.2f}** | {row['recall']:.2f} | "
            f"{row['precision']:.2f} ({row['estimated_precision']:.2f}) | "
            f'{zs["p_at_20"]:.2f} ("{zs["query"]}") |'
        )
    return "\n".join(lines)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--photos", type=int, default=2000)
    ap.add_argument("--reps", type=int, default=5)
    args = ap.parse_args()
    result = run(args.photos, args.reps)
    print(json.dumps(result, indent=2))
    print(table(result))
