"""The probe learns a tag from a few examples, calibrates it and estimates its quality."""

from __future__ import annotations

import numpy as np

from photosort.core import teaching


def _clusters(rng: np.random.Generator, centres: np.ndarray, n: int) -> np.ndarray:
    picks = centres[rng.integers(0, len(centres), n)]
    vecs = picks + 0.25 * rng.normal(size=picks.shape) / np.sqrt(picks.shape[1])
    return (vecs / np.linalg.norm(vecs, axis=1, keepdims=True)).astype(np.float32)


def test_scattered_examples_are_learned_better_than_their_mean():
    """A tag whose examples sit in three unrelated places: the probe ranks their
    neighbours first, where the mean of the examples (one direction) cannot."""
    rng = np.random.default_rng(0)
    dim = 64
    centres = rng.normal(size=(40, dim))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    mine = centres[:3]
    between = mine.mean(axis=0, keepdims=True)  # other photos where the examples' mean points
    between /= np.linalg.norm(between)
    library = np.vstack([_clusters(rng, centres[3:], 3000), _clusters(rng, between, 100)])
    positives = _clusters(rng, mine, 60)
    examples, hidden = positives[:10], positives[10:]
    matrix = np.vstack([library, hidden])
    truth = np.r_[np.zeros(len(library)), np.ones(len(hidden))]
    trained = teaching.train(examples, examples[:0], library[:1000], unlabelled=len(matrix))
    top = np.argsort(-trained.probe.scores(matrix))[:20]
    mean = examples.mean(axis=0)
    top_mean = np.argsort(-(matrix @ mean))[:20]
    assert truth[top].mean() >= 0.9
    assert truth[top].mean() > truth[top_mean].mean()
    probs = trained.probe.probability(matrix)
    assert probs[truth == 1].mean() > 0.5 > probs[truth == 0].mean()
    assert trained.estimate.recall is not None and trained.estimate.recall >= 0.5


def test_rejections_push_a_lookalike_down():
    rng = np.random.default_rng(1)
    dim = 32
    centres = rng.normal(size=(10, dim))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    pos = _clusters(rng, centres[:1], 12)
    lookalike = _clusters(rng, (centres[:1] + 0.8 * centres[1:2]), 12)
    background = _clusters(rng, centres[2:], 500)
    before = teaching.train(pos, pos[:0], background).probe.probability(lookalike[6:]).mean()
    after = teaching.train(pos, lookalike[:6], background).probe.probability(lookalike[6:]).mean()
    assert after < before


def test_few_examples_come_with_a_warning_and_no_estimate():
    rng = np.random.default_rng(2)
    vecs = _clusters(rng, np.eye(16)[:4], 200)
    trained = teaching.train(vecs[:2], vecs[:0], vecs[2:])
    assert trained.estimate.precision is None and trained.estimate.recall is None
    assert "only 2 examples" in (trained.estimate.warning or "")
    assert "no estimate" in trained.estimate.line()


def test_one_particular_thing_is_found_among_lookalikes():
    """Our car among other cars of nearly the same colour: the difference lives in a
    direction the library hardly varies along, which whitening weighs up and the plain
    mean of the examples (or their nearest neighbours) drowns in the big directions."""
    rng = np.random.default_rng(5)
    dim, n = 48, 4000
    big = rng.normal(size=(n, 6)) @ rng.normal(size=(6, dim))  # time of day, setting, ...
    lib = big + 0.3 * rng.normal(size=(n, dim))
    car, ours = rng.normal(size=dim), rng.normal(size=dim)
    is_car, truth = np.zeros(n, bool), np.zeros(n, bool)
    is_car[:400], truth[:60] = True, True
    lib[is_car] += 2.0 * car  # 400 cars, all alike ...
    lib[truth] += 0.3 * np.sqrt(dim) * ours / np.linalg.norm(ours)  # ... 60 of them ours
    lib = (lib / np.linalg.norm(lib, axis=1, keepdims=True)).astype(np.float32)
    examples = np.arange(10)
    rest = np.arange(10, n)
    trained = teaching.train(lib[examples], lib[:0], lib[rest[::2]], unlabelled=len(rest))
    scores = trained.probe.scores(lib[rest])
    top = truth[rest][np.argsort(-scores)[:20]].mean()
    by_mean = truth[rest][np.argsort(-(lib[rest] @ lib[examples].mean(axis=0)))[:20]].mean()
    assert top >= 0.9
    assert by_mean <= 0.5


def test_an_estimate_from_few_labels_is_a_flagged_range():
    """The cross-validated precision is off by 0.2-0.25 from 5 to 34 labels (measured), so
    below 50 labels (examples + rejections) the user sees a range and a flag; above, one
    number. The range is never narrower than the error measured."""
    few = teaching.Estimate(recall=0.4, fpr=0.01, precision=0.6, examples=10)
    assert few.uncertain
    low, high = few.precision_range() or (0.0, 0.0)
    assert low < 0.6 < high and high - low > 0.5  # wide: 10 labels say little
    assert "uncertain: between 3 and 8 in 10 right" in few.line()
    assert teaching.Estimate(0.4, 0.01, 0.6, examples=34).uncertain  # two review pages
    many = teaching.Estimate(recall=0.4, fpr=0.01, precision=0.6, examples=60)
    assert not many.uncertain and "uncertain" not in many.line()
    m_low, m_high = many.precision_range() or (0.0, 0.0)
    assert low < m_low and m_high <= high and m_high - m_low >= 0.5 - 1e-9
    assert teaching.Estimate(None, None, None, examples=60).uncertain  # no estimate at all
    info = teaching.TaughtInfo("rex", "Taught", 10, 2, 30, 0.6, 0.4, None).as_dict()
    assert info["estimate_uncertain"] is True and info["precision"] == 0.6
    assert info["precision_range"][0] < 0.6 < info["precision_range"][1]


def test_rejected_lookalikes_teach_what_tells_the_tag_apart():
    """Our car among many other cars: the shade that tells it apart is a small part of the
    vector. Rejecting a few look-alikes (a review page) must rank the remaining ones below
    our car, not only lower the whole group."""
    rng = np.random.default_rng(3)
    dim = 48
    basis = np.linalg.qr(rng.normal(size=(dim, dim)))[0]
    car, ours = basis[0], basis[1]
    others = _clusters(rng, basis[2:20], 2000)
    cars = _clusters(rng, car + 0.1 * basis[20:30], 300)  # other cars, in ten shades
    mine = _clusters(rng, (car + 0.1 * ours)[None], 60)
    examples, hidden = mine[:10], mine[10:]
    rejected, unseen = cars[:12], cars[12:]
    matrix = np.vstack([others, unseen, hidden])
    truth = np.r_[np.zeros(len(others) + len(unseen)), np.ones(len(hidden))]

    def p_at_20(rejections: np.ndarray) -> float:
        probe = teaching.train(examples, rejections, others[:1000], unlabelled=len(matrix)).probe
        return float(truth[np.argsort(-probe.scores(matrix))[:20]].mean())

    assert p_at_20(rejected) >= 0.9
    assert p_at_20(rejected) > p_at_20(rejected[:0])
