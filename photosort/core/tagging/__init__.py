"""Auto-tagging from stored vectors, manual tags, and the rule that merges them.

How a photo gets a tag
----------------------
Every label's text vector is a *prompt ensemble*: the mean of its L2-normalised prompt
embeddings, normalised again (as in the CLIP paper, section 3.1.4). One matrix product
``X @ T.T`` of all stored photo vectors ``X`` (N x D) against all label vectors ``T``
gives every cosine at once; the model's own logit scale (``exp(logit_scale)``, about
100 for OpenAI/LAION CLIP) turns cosines into probabilities the way CLIP was trained:

* **exclusive** group (time of day, indoor/outdoor): ``softmax(scale * cos)`` over the
  group's labels; the best label is kept when its probability reaches its threshold
  (the label's own, else the group's; default 0.5), otherwise the photo is "uncertain"
  for the group. So a group never gives a photo two labels.
* **free** tag (beach, dog, document ...): a two-way softmax of the tag against a
  *neutral* caption ensemble (``NEUTRAL_PROMPTS``: "a photo", "a picture" ...), i.e.
  ``sigmoid(scale * (cos_tag - cos_neutral))``; tagged when that reaches the threshold.
* a **SigLIP-family** model (it has a learned ``logit_bias``: ``core/scoring.py``) scores
  every label on its own, the way it was trained: ``sigmoid(scale * cos + bias)``, in
  exclusive groups too (the best label is kept when its own probability reaches the
  threshold), with no neutral caption.

A group with ``sun = true`` (the default Time of day) has these probabilities fused with
the sun's position at the photo's EXIF time and place before the threshold is applied
(``Tagger``'s ``fuse`` hook; the rule is in ``core/sun_fusion.py``).

Why not one fixed cosine cutoff: raw CLIP cosines sit in a narrow band (about 0.15 to
0.35) whose position depends on the text, the prompt wording and the model, so any single
cutoff is too strict for one query and too loose for another. The Immich maintainers
explain this when declining a similarity threshold for smart search (immich-app/immich
issue #5996). Comparing a tag with alternatives (its group, or a neutral caption) cancels
that per-text offset, and the logit scale makes the threshold a probability with the same
meaning for every tag and every model.

Storage
-------
``auto_tags`` holds what the tagger decided (with the score: the probability above),
keyed by photo id and label id; ``manual_tags`` holds the user's decisions keyed by photo
id and tag *name* ('on' = added/accepted, 'off' = rejected). Photos keep their id when
moved or renamed, and both tables cascade on photo delete, so manual tags survive
rescans, moves and re-tagging. The ``effective_tags`` view applies the rule "manual
wins": a manual row overrides the auto row of the same tag, and a manual label of an
exclusive group hides the group's auto label. Re-tagging only ever rewrites ``auto_tags``,
and only the rows that changed.
"""

from __future__ import annotations

# hooks registers the search filter and result hook.
from photosort.core.tagging import (
    hooks,  # noqa: F401
    schema,  # noqa: F401
)
from photosort.core.tagging.autotag import label_ids_by_category, run_autotag
from photosort.core.tagging.counts import tag_counts
from photosort.core.tagging.manual import (
    applies_filter,
    clear_manual,
    contrary_labels,
    label_names,
    photo_tags,
    photos_where_applies,
    photos_with_tag,
    set_manual,
)
from photosort.core.tagging.results import (
    UNCERTAIN,
    AutotagSummary,
    LabelPreview,
    PhotoTag,
    TagCount,
)
from photosort.core.tagging.tagger import (
    NEUTRAL_PROMPTS,
    Chunks,
    Decisions,
    Fusion,
    Tagger,
    VectorLoader,
    preview,
)
from photosort.core.tagging.text_vectors import ensemble, text_vectors
from photosort.core.tagging.writer import (
    AUTO_VERSION,
    SCORE_TOLERANCE,
    AutoState,
    AutoTagCache,
    StaleVectors,
    bump_auto_version,
    write_decisions,
)

__all__ = [
    "AUTO_VERSION",
    "NEUTRAL_PROMPTS",
    "SCORE_TOLERANCE",
    "UNCERTAIN",
    "AutoState",
    "AutoTagCache",
    "AutotagSummary",
    "Chunks",
    "Decisions",
    "Fusion",
    "LabelPreview",
    "PhotoTag",
    "StaleVectors",
    "TagCount",
    "Tagger",
    "VectorLoader",
    "applies_filter",
    "bump_auto_version",
    "clear_manual",
    "contrary_labels",
    "ensemble",
    "label_ids_by_category",
    "label_names",
    "photo_tags",
    "photos_where_applies",
    "photos_with_tag",
    "preview",
    "run_autotag",
    "set_manual",
    "tag_counts",
    "text_vectors",
    "write_decisions",
]
