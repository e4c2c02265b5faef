"""A taught tag follows the library: re-learned from the same clicks after a change of
model, and retrained fast after each decision (the kept whitening and nearest examples)."""

from __future__ import annotations

import numpy as np

from tests.benchmarks.bench_retag import build

DIM = 64


def _subject(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    """Photos of one particular thing: vectors near one direction."""
    centre = rng.normal(size=dim)
    vecs = centre / np.linalg.norm(centre) + 0.9 * rng.normal(size=(n, dim)) / np.sqrt(dim)
    return (vecs / np.linalg.norm(vecs, axis=1, keepdims=True)).astype(np.float32)


def _set_vectors(lib, model_id: str, ids: np.ndarray, vecs: np.ndarray) -> None:
    with lib.catalog.transaction() as conn:
        conn.executemany(
            "INSERT OR REPLACE INTO embeddings (photo_id, model, vector) VALUES (?, ?, ?)",
            [(int(i), model_id, v.tobytes()) for i, v in zip(ids, vecs, strict=True)],
        )
        lib.catalog.set_meta("model_id", model_id, conn)
        lib.catalog.bump_vectors_version(conn)


def _suggested(lib, tag: str) -> set[int]:
    return set(lib.photos_with_tag(tag))


def _scores(lib, tag: str) -> dict[int, float]:
    rows = lib.catalog.query(
        "SELECT a.photo_id, a.score FROM auto_tags a JOIN labels l ON l.id = a.label_id "
        "WHERE l.name = ?",
        (tag,),
    )
    return {r[0]: r[1] for r in rows}


def test_a_taught_tag_is_relearned_from_the_same_examples_after_a_model_change(tmp_path):
    rng = np.random.default_rng(3)
    lib = build(tmp_path, 3000, DIM)
    _, ids, matrix = lib._versioned_vectors()
    subject = rng.choice(ids, 60, replace=False)
    vecs_a = matrix.copy()
    vecs_a[np.isin(ids, subject)] = _subject(rng, 60, DIM)
    _set_vectors(lib, "bench:random", ids, vecs_a)
    examples = subject[:15].tolist()
    lib.tag_photos(examples, add=["rex"])
    summary = lib.teacher.teach("rex")
    found = _suggested(lib, "rex") - set(examples)
    hidden = set(subject.tolist()) - set(examples)
    assert len(found & hidden) >= 0.5 * len(hidden)
    assert len(found - hidden) <= 5
    assert "in 10 suggestions right (from 15 examples)" in summary.estimate.line()

    scores_a = _scores(lib, "rex")
    # another model: other vectors for every photo (rotated and noisier; the subject is
    # still one thing), and the taught tag learns it again from the same 15 clicks
    rotation, _ = np.linalg.qr(rng.normal(size=(DIM, DIM)))
    vecs_b = vecs_a @ rotation + 0.15 * rng.normal(size=vecs_a.shape) / np.sqrt(DIM)
    vecs_b = (vecs_b / np.linalg.norm(vecs_b, axis=1, keepdims=True)).astype(np.float32)
    _set_vectors(lib, "bench:other-model", ids, vecs_b)
    assert lib.model_id == "bench:other-model"
    lib.teacher.apply_all()
    found_b = _suggested(lib, "rex") - set(examples)
    assert len(found_b & hidden) >= 0.5 * len(hidden)
    assert len(found_b - hidden) <= 5
    scores_b = _scores(lib, "rex")
    assert sum(abs(scores_b.get(i, 0) - s) > 1e-4 for i, s in scores_a.items()) >= 10
    assert lib.catalog.scalar("SELECT model FROM taught_tags WHERE tag = 'rex'") == (
        "bench:other-model"
    )
    lib.close()


def test_a_rejection_and_a_new_example_retrain_from_kept_state(tmp_path):
    """After a click only the new example costs a product with the library; the result is
    the same as a retrain from nothing."""
    rng = np.random.default_rng(4)
    lib = build(tmp_path, 2000, DIM)
    _, ids, matrix = lib._versioned_vectors()
    subject = rng.choice(ids, 50, replace=False)
    vecs = matrix.copy()
    vecs[np.isin(ids, subject)] = _subject(rng, 50, DIM)
    _set_vectors(lib, "bench:random", ids, vecs)
    lib.tag_photos(subject[:10].tolist(), add=["rex"])
    lib.teacher.teach("rex")
    lib.tag_photos(subject[10:11].tolist(), add=["rex"])
    lib.reject_tags([int(ids[~np.isin(ids, subject)][0])], ["rex"])
    warm = lib.teacher.teach("rex")
    warm_tags = _suggested(lib, "rex")
    lib._teach_cache = type(lib._teach_cache)()  # nothing kept
    cold = lib.teacher.teach("rex")
    assert warm_tags == _suggested(lib, "rex")
    assert warm.suggested == cold.suggested and warm.estimate.line() == cold.estimate.line()
    lib.close()
