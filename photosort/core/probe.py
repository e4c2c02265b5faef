"""The probe behind a taught tag: learned from a few examples in milliseconds (no Qt, no torch).

Three features per photo, all computed from the stored vectors:

* a **whitened mean direction** (shrinkage LDA): ``x · P (mean(examples) - mean(others))``
  with ``P`` the inverse of the library's (shrunk) covariance. CLIP vectors of one library
  share a few dominant directions (time of day, setting, "a photo"); whitening weighs the
  rest up, which is where the difference between *our* car and every other red car lives.
  On the tiny model's scenes this alone takes precision@20 for one object among look-alikes
  from about 0.5 (the plain mean, or unwhitened logistic regression) to about 0.9;
* the cosine to the **nearest example**, which keeps a tag whose examples look like nothing
  in common (the user's own pick of unrelated scenes) from collapsing into their mean;
* once the user rejected some photos, the **whitened difference between the examples and
  the rejections** (zero before). Rejections only pulling the "others" mean made review
  pages of look-alikes barely help (measured on photos no review page showed: 0.72 ->
  0.80 from two pages on the tiny model's cars); with this feature 0.72 -> 0.85.

A class-balanced logistic regression over these features (out-of-fold scores for the
examples and the rejections, so their own vector does not flatter them) weighs them per
tag; Platt scaling of cross-validated scores makes the result a probability and gives the
honest estimate. All of it is closed form or a 4-parameter Newton fit: retraining costs a
few milliseconds, and the probe collapses to one weight vector, so applying it is one
matrix-vector product plus the nearest-example feature (which the caller keeps between
retrains).
"""

from __future__ import annotations

from dataclasses import dataclass

from photosort.core.lazy_import import np

DEFAULT_THRESHOLD = 0.5
FEW_EXAMPLES = 10  # fewer: the estimate comes with a warning
#: Fewer labels (examples + rejections) than this: the estimate is shown as a range and
#: flagged uncertain. Measured (``tests.benchmarks.eval_teaching``, 90 draws of 5 to 34
#: labels): the estimate missed the true precision by 0.20-0.25 on average at every size,
#: so no size measured so far earns one number.
RELIABLE_LABELS = 50
RANGE_Z = 1.96  # the range is a 95 % Wilson interval, as if each label were one trial...
RANGE_MARGIN = 0.25  # ...and at least this either side: the error measured above
MAX_ANCHORS = 64  # examples used for the nearest-example feature
FOLDS = 5
#: Covariance shrinkage toward the mean variance (share of it added to the diagonal).
SHRINK = 0.01
#: Weight of one rejection against one background photo when fitting; rejections also pull
#: the "others" mean toward themselves (up to half of it, at REJECT_HALF rejections and more).
HARD = 5.0
REJECT_HALF = 5
#: L2 strength of the feature combination (each class's weights sum to 1/2). Strong: from
#: ten examples the fit should stay near "each feature by how well it alone separates";
#: on a development set of scenes (other shades and seed than the README's evaluation) 0.1
#: took precision@20 from 10 examples from 0.77 to 0.80 (5e-3 before; 0.3: 0.80).
COMBINE_RIDGE = 0.1


@dataclass
class Whitening:
    """The library's mean vector and inverse shrunk covariance (computed once per library
    version, from a fixed sample of a few thousand photos)."""

    mean: np.ndarray  # (D,) float64
    precision: np.ndarray  # (D, D) float64

    @classmethod
    def of(cls, sample: np.ndarray) -> Whitening:
        x = np.asarray(sample, np.float64)
        mean = x.mean(axis=0)
        centred = x - mean
        cov = centred.T @ centred / max(len(x), 1)
        ridge = SHRINK * max(float(np.trace(cov)) / len(cov), 1e-12)
        return cls(mean, np.linalg.inv(cov + ridge * np.eye(len(cov))))

    def direction(self, pos: np.ndarray, rejected: np.ndarray) -> np.ndarray:
        """The whitened difference between the examples and the rest (rejections count more)."""
        others = self.mean
        if len(rejected):
            share = 0.5 * min(1.0, len(rejected) / REJECT_HALF)
            others = (1 - share) * self.mean + share * rejected.mean(axis=0)
        return self.precision @ (pos.mean(axis=0) - others)

    def against(self, pos: np.ndarray, rejected: np.ndarray) -> np.ndarray:
        """The whitened difference between the examples and the rejections alone (zero
        without rejections): what tells the tag apart from its look-alikes."""
        if not len(rejected) or not len(pos):
            return np.zeros(len(self.mean))
        return self.precision @ (pos.mean(axis=0) - rejected.mean(axis=0))


@dataclass
class Probe:
    """score(x) = w·x + w_near·max_a(a·x) + b; probability = sigmoid(cal_a·score + cal_b) / PU."""

    weights: np.ndarray  # (D,) float32
    near_weight: float
    bias: float
    anchors: np.ndarray  # (A, D) float32: the examples of the nearest-example feature
    cal_a: float = 1.0
    cal_b: float = 0.0
    cal_c: float = 1.0  # the calibrated probability a held-out example gets (PU correction)

    def nearest(self, matrix: np.ndarray, chunk: int = 32768) -> np.ndarray:
        return nearest(matrix, self.anchors, chunk)

    def scores(
        self, matrix: np.ndarray, near: np.ndarray | None = None, linear: np.ndarray | None = None
    ) -> np.ndarray:
        """Uncalibrated scores; ``near`` (the photos' nearest-example cosines) and ``linear``
        (``matrix @ weights``) when already known."""
        if near is None:
            near = self.nearest(matrix) if self.near_weight else np.zeros(len(matrix), np.float32)
        out = matrix @ self.weights if linear is None else linear
        out += np.float32(self.near_weight) * near + np.float32(self.bias)
        return out

    def probability(self, matrix: np.ndarray) -> np.ndarray:
        return self.calibrate(self.scores(matrix))

    def calibrate(self, scores: np.ndarray) -> np.ndarray:
        # the positive-unlabelled correction as a shift of the log-odds (a change of prior)
        logit = self.cal_a * scores + self.cal_b - np.log(self.cal_c)
        return _sigmoid(logit).astype(np.float32)


def nearest(matrix: np.ndarray, anchors: np.ndarray, chunk: int = 32768) -> np.ndarray:
    """Each row's cosine to its nearest anchor (0 without anchors)."""
    out = np.zeros(len(matrix), np.float32)
    if not len(anchors) or not len(matrix):
        return out
    for start in range(0, len(matrix), chunk):
        out[start : start + chunk] = (matrix[start : start + chunk] @ anchors.T).max(axis=1)
    return out


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -40, 40)))


def _newton_logistic(
    x: np.ndarray, labels: np.ndarray, weights: np.ndarray, ridge: float
) -> np.ndarray:
    """Weighted L2 logistic regression on a few features by Newton's method; returns the
    coefficients with the bias last (the bias is never penalised)."""
    x = np.hstack([x, np.ones((len(x), 1))])
    reg = np.full(x.shape[1], ridge)
    reg[-1] = 1e-9
    theta = np.zeros(x.shape[1])
    for _ in range(25):
        p = _sigmoid(x @ theta)
        grad = x.T @ (weights * (p - labels)) + reg * theta
        hess = (x * (weights * p * (1 - p))[:, None]).T @ x + np.diag(reg)
        step = np.linalg.solve(hess, grad)
        theta -= step
        if np.max(np.abs(step)) < 1e-6:
            break
    return theta


def _balanced(n_pos: int, n_rej: int, n_bg: int) -> np.ndarray:
    """Sample weights: positives sum to 1/2, negatives to 1/2 with a rejection worth HARD."""
    neg = np.r_[np.full(n_rej, HARD), np.ones(n_bg)]
    return np.r_[np.full(n_pos, 0.5 / max(n_pos, 1)), 0.5 * neg / max(neg.sum(), 1e-12)]


@dataclass
class Estimate:
    """Cross-validated quality from the user's own examples."""

    recall: float | None  # share of held-out examples above the threshold
    fpr: float | None  # share of held-out background photos above the threshold
    precision: float | None = None  # filled in once the library's probabilities are known
    examples: int = 0
    warning: str | None = None

    @property
    def uncertain(self) -> bool:
        """Whether the estimate is too rough to be shown as one number."""
        return estimate_uncertain(self.precision, self.examples)

    def precision_range(self) -> tuple[float, float] | None:
        return precision_range(self.precision, self.examples)

    def line(self) -> str:
        if self.precision is None:
            text = f"no estimate yet (from {self.examples} examples)"
        else:
            right = round(self.precision * 10)
            text = f"about {right} in 10 suggestions right (from {self.examples} examples)"
            if self.recall is not None:
                text += f", finds about {round(self.recall * 100)} % of them"
            span = self.precision_range()
            if self.uncertain and span is not None:
                low, high = round(span[0] * 10), round(span[1] * 10)
                text += f"; uncertain: between {low} and {high} in 10 right"
        return text + (f"; {self.warning}" if self.warning else "")


def precision_range(precision: float | None, labels: int) -> tuple[float, float] | None:
    """A plausible range for an estimated precision learned from ``labels`` decisions
    (examples + rejections): the Wilson interval of that share over that many trials.
    Few labels make the cross-validated estimate swing by tenths, so one number would
    claim more than the tool knows."""
    if precision is None or labels <= 0:
        return None
    z2 = RANGE_Z * RANGE_Z
    centre = (precision + z2 / (2 * labels)) / (1 + z2 / labels)
    half = (
        RANGE_Z
        * float(np.sqrt(precision * (1 - precision) / labels + z2 / (4 * labels * labels)))
        / (1 + z2 / labels)
    )
    low = min(centre - half, precision - RANGE_MARGIN)
    high = max(centre + half, precision + RANGE_MARGIN)
    return max(0.0, low), min(1.0, high)


def estimate_uncertain(precision: float | None, labels: int) -> bool:
    """The rule for flagging an estimate: no estimate at all, or fewer than
    ``RELIABLE_LABELS`` examples and rejections behind it."""
    return precision is None or labels < RELIABLE_LABELS


@dataclass
class Trained:
    probe: Probe
    estimate: Estimate


def train(
    pos: np.ndarray,
    rejected: np.ndarray,
    background: np.ndarray,
    threshold: float = DEFAULT_THRESHOLD,
    unlabelled: int | None = None,
    whitening: Whitening | None = None,
) -> Trained:
    """Fit the probe, calibrate it on cross-validated scores and estimate its quality.

    ``background`` is a sample of the photos without a decision (mostly negatives);
    ``whitening`` the library's (else computed from the background). Calibration weighs
    the background as the ``unlabelled`` photos it stands for, so the probability is about
    the library, not the balanced training set; as the untagged positives hide in that
    background, the result is divided by the probability a held-out example gets (Elkan
    and Noto's correction for positive-unlabelled data), applied as a shift of the log-odds.
    """
    pos, rejected, background = (np.asarray(a, np.float32) for a in (pos, rejected, background))
    n, n_rej, n_bg = len(pos), len(rejected), len(background)
    whitening = whitening or Whitening.of(background if n_bg > 1 else np.vstack([pos, rejected]))
    anchors = pos[:MAX_ANCHORS]
    folds = max(2, min(FOLDS, n))
    fold_of = [np.arange(len(a)) % folds for a in (pos, rejected, background)]
    anchor_fold = np.arange(len(anchors)) % folds
    sims = [a @ anchors.T for a in (pos, rejected, background)]  # small: (rows, A)

    # -- the full probe: out-of-fold features for the examples and the rejections -------
    # Two linear features: the examples against the library (the rejections pulling its
    # mean), and the examples against the rejections alone, whose weight the fit decides:
    # a rejected look-alike then moves the probe along what tells it apart, not only the
    # "others" mean. Both fold into one weight vector, so applying costs nothing more.
    lin = (
        lambda p, r: whitening.direction(p, r),
        lambda p, r: whitening.against(p, r),
    )
    w_full = [d(pos, rejected) for d in lin]
    feats_lin = [np.empty((len(a), 2)) for a in (pos, rejected)]
    for f in range(folds):
        w_f = [d(pos[fold_of[0] != f], rejected[fold_of[1] != f]) for d in lin]
        for part, rows in enumerate((pos, rejected)):
            held = fold_of[part] == f
            feats_lin[part][held] = np.c_[tuple(rows[held] @ w for w in w_f)]
    own = sims[0].copy()
    own[np.arange(len(anchors)), np.arange(len(anchors))] = -np.inf  # an example is not its own
    near_pos = own.max(axis=1)
    linear = np.vstack([*feats_lin, np.c_[tuple(background @ w for w in w_full)]])
    near = np.concatenate([near_pos, sims[1].max(axis=1, initial=-1.0), sims[2].max(axis=1)])
    # standardise over the background, so one ridge suits every model and library
    ref = slice(n + n_rej, None) if n_bg > 1 else slice(None)
    raw = np.c_[linear, near]
    loc = raw[ref].mean(axis=0)
    scale = raw[ref].std(axis=0) + 1e-9
    feats = (raw - loc) / scale
    labels = np.r_[np.ones(n), np.zeros(n_rej + n_bg)]
    theta = _newton_logistic(feats, labels, _balanced(n, n_rej, n_bg), COMBINE_RIDGE)
    coef = np.maximum(theta[:3], 0.0)  # no likeness may count against a photo
    if not coef.any():
        coef[0] = 1.0
    c_lda, c_rej, c_near = coef / scale
    bias = float(theta[3] - coef @ (loc / scale))
    weights = c_lda * w_full[0] + c_rej * w_full[1]
    probe = Probe(weights.astype(np.float32), float(c_near), bias, anchors)

    examples = n + n_rej
    warning = None
    if n < FEW_EXAMPLES:
        warning = f"only {n} examples: tag or confirm at least {FEW_EXAMPLES} for a reliable tag"
    if n < 3:
        return Trained(probe, Estimate(None, None, None, examples, warning))

    # -- cross-validation: every photo scored by a probe that never saw it ----------------
    oof = [np.empty(len(a)) for a in (pos, rejected, background)]
    for f in range(folds):
        p_f, r_f = pos[fold_of[0] != f], rejected[fold_of[1] != f]
        w_f = c_lda * whitening.direction(p_f, r_f) + c_rej * whitening.against(p_f, r_f)
        keep = anchor_fold != f
        for part, rows in enumerate((pos, rejected, background)):
            held = fold_of[part] == f
            near_f = sims[part][held][:, keep].max(axis=1, initial=-1.0)
            oof[part][held] = rows[held] @ w_f + c_near * near_f + bias
    oof_pos, oof_rej, oof_bg = oof
    scores = np.concatenate(oof)
    per_bg = (unlabelled if unlabelled is not None else n_bg) / max(n_bg, 1)
    weights = np.r_[np.ones(n + n_rej), np.full(n_bg, per_bg)]
    cal = _newton_logistic(scores[:, None], labels, weights / weights.sum(), 1e-4)
    if cal[0] > 0:
        probe.cal_a, probe.cal_b = float(cal[0]), float(cal[1])
    probe.cal_c = max(float(np.mean(_sigmoid(probe.cal_a * oof_pos + probe.cal_b))), 1e-3)
    recall = float(np.mean(probe.calibrate(oof_pos) >= threshold))
    fpr = float(np.mean(probe.calibrate(oof_bg) >= threshold)) if n_bg else 0.0
    return Trained(probe, Estimate(recall, fpr, None, examples, warning))


def library_precision(probs: np.ndarray, threshold: float) -> float | None:
    """Expected share of right suggestions: the mean calibrated probability of the photos
    above the threshold (what "calibrated" promises), or None when nothing is suggested."""
    above = probs[probs >= threshold]
    return float(np.mean(above)) if len(above) else None
