"""The text tower as ONNX, so a cold text search needs neither torch nor open_clip.

Importing torch and open_clip and loading both towers took 4-8 s of every cold
``photosort search``; a text query needs only the text tower. Once the model has been
loaded for a scan (or a search), its text tower is exported here, beside the cached
weights, and kept only if ONNX Runtime with the torch-free tokenizer gives the same
tokens and vectors (cosine >= 0.999) as open_clip. torch stays the way models are
loaded, trained and run on images; this is a read-only cache keyed by the model id,
and ``PHOTOSORT_TEXT_ENGINE=torch`` turns it off.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from photosort.core.clip_tokenizer import ClipTokenizer, write_merges
from photosort.core.onnx_export import write_onnx

if TYPE_CHECKING:
    import torch

    from photosort.core.embedder import Embedder

log = logging.getLogger(__name__)

ENGINE_ENV = "PHOTOSORT_TEXT_ENGINE"
FORMAT = 1
MIN_COSINE = 0.999
MODEL_FILE = "text.onnx"
WEIGHTS_FILE = "text.weights"
META_FILE = "text.json"
MERGES_FILE = "bpe_merges.txt"
#: Texts the export is checked on: short, long (truncated), punctuation, non-ASCII.
CHECK_TEXTS = (
    "a dog",
    "a photo of a beach at sunset with people walking along the water",
    "snow, mountains & a red car!",
    "Café au lait – 2 cups",
    "x",
    " ".join(["very long query"] * 40),
)


def enabled() -> bool:
    return os.environ.get(ENGINE_ENV, "auto").lower() != "torch"


def cache_folder(model_id: str) -> Path:
    """The export's folder, beside the downloaded weights, one per model id."""
    from photosort.core.embedder import model_cache_dir

    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", model_id)[:60]
    digest = hashlib.sha256(model_id.encode()).hexdigest()[:12]
    return model_cache_dir() / "text-onnx" / f"{slug}-{digest}"


class OnnxTextEncoder:
    """Texts to L2-normalised float32 vectors with ONNX Runtime (no torch)."""

    def __init__(self, folder: Path, threads: int = 0):
        """``threads``: ONNX Runtime's intra-op threads (0: its default, one per core)."""
        import onnxruntime as ort

        meta = json.loads((folder / META_FILE).read_text())
        if meta.get("format") != FORMAT:
            raise ValueError(f"unknown text export format {meta.get('format')!r}")
        self.model_id: str = meta["model_id"]
        self.dim: int = int(meta["dim"])
        self.logit_scale: float = float(meta["logit_scale"])
        self.tokenizer = ClipTokenizer(folder / MERGES_FILE, int(meta["context_length"]))
        self._trim = bool(meta.get("trim"))  # see TextTower
        options = ort.SessionOptions()
        options.log_severity_level = 3
        if meta.get("optimized"):  # done once at export (see _optimize): not again here
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        # No repacking of every weight matrix at open: that took 0.25-0.3 CPU-s of a cold
        # search (ViT-B-32) to save about 0.08 CPU-s per later call; a cold search makes
        # one call, and the app answers from the model once it has loaded it.
        options.add_session_config_entry("session.disable_prepacking", "1")
        if threads:
            options.intra_op_num_threads = threads
        self._session = ort.InferenceSession(
            str(folder / MODEL_FILE), options, providers=["CPUExecutionProvider"]
        )

    @classmethod
    def open(cls, model_id: str, threads: int = 0) -> OnnxTextEncoder | None:
        """The cached export of ``model_id``, or None (none yet, or unreadable)."""
        folder = cache_folder(model_id)
        # An export made before queries ran to their end token is not used: a scan without
        # torch would otherwise tag with it (all 77 positions, 16.7 of 36 s of a scan) for
        # ever; loading the model once makes it again (after the scan or the search).
        if not _complete(folder, model_id):
            return None
        try:
            encoder = cls(folder, threads)
        except Exception as exc:  # a damaged cache costs a torch load, never a failure
            log.info("text export in %s unusable (%s); using the model", folder, exc)
            shutil.rmtree(folder, ignore_errors=True)  # so the next model load makes it again
            return None
        return encoder if encoder.model_id == model_id else None

    def encode_texts(self, texts: list[str]) -> np.ndarray:
        tokens = self.tokenizer(list(texts))
        if self._trim and len(tokens):  # up to the last end token (the highest id)
            tokens = tokens[:, : int(tokens.argmax(axis=1).max()) + 1]
        feats = self._session.run(None, {"tokens": tokens})[0]
        feats = np.ascontiguousarray(feats, dtype=np.float32)
        norms = np.linalg.norm(feats, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        return feats / norms


def export(embedder: Embedder, should_cancel: Callable[[], bool] | None = None) -> Path | None:
    """Export ``embedder``'s text tower once (a few seconds); None where it cannot be
    (another tokenizer, an unusual model) or when the check fails: torch then stays."""
    if not enabled():
        return None
    folder = cache_folder(embedder.model_id)
    if _complete(folder, embedder.model_id):  # no session opened: this runs after every scan
        return folder
    shutil.rmtree(folder, ignore_errors=True)  # damaged or partial: made again below
    plan = _plan(embedder)
    if plan is None:
        return None
    module, bpe_path = plan
    folder.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".export-", dir=folder.parent))
    try:
        traced = work / "traced"
        traced.mkdir()
        _write(module, traced / MODEL_FILE)
        optimized = _optimize(traced / MODEL_FILE, work / MODEL_FILE)
        if not optimized:  # the traced graph, as ONNX Runtime optimises it at each open
            for name in (MODEL_FILE, WEIGHTS_FILE):
                os.replace(traced / name, work / name)
        shutil.rmtree(traced)
        write_merges(bpe_path, work / MERGES_FILE)
        meta = {
            "format": FORMAT,
            "model_id": embedder.model_id,
            "dim": embedder.dim,
            "logit_scale": embedder.logit_scale,
            "context_length": embedder.tokenizer.context_length,
            "optimized": optimized,
            "trim": bool(module.trim),
        }
        (work / META_FILE).write_text(json.dumps(meta, indent=1))
        worst = _check(work, embedder, module)
        if worst < MIN_COSINE:
            log.info("text export of %s differs (cosine %.5f): not kept", embedder.model_id, worst)
            return None
        meta["checked_cosine"] = round(worst, 6)
        (work / META_FILE).write_text(json.dumps(meta, indent=1))
        try:
            os.replace(work, folder)  # atomic: a reader sees all of it or nothing
        except OSError:  # another process won the race: its export is as good
            return folder if (folder / META_FILE).is_file() else None
        return folder
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _optimize(source: Path, target: Path) -> bool:
    """Save ONNX Runtime's graph optimisations of ``source`` as ``target`` (its weights in
    ``WEIGHTS_FILE`` beside it), so that every cold search opens a session without making
    them again: 0.2 of 0.55 CPU-s per open (ViT-B-32), the same vectors. "Extended", not
    "all": that level's layout changes are tied to one CPU. False: not saved."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    options.optimized_model_filepath = str(target)
    prefix = "session.optimized_model_external_initializers_"
    options.add_session_config_entry(prefix + "file_name", WEIGHTS_FILE)
    options.add_session_config_entry(prefix + "min_size_in_bytes", "1024")
    try:
        ort.InferenceSession(str(source), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # an older runtime: the export stays as traced
        log.info("text export not optimised (%s)", exc)
        for name in (target.name, WEIGHTS_FILE):
            (target.parent / name).unlink(missing_ok=True)
        return False
    return target.is_file() and (target.parent / WEIGHTS_FILE).is_file()


def _complete(folder: Path, model_id: str) -> bool:
    """The export's files are all there, for this model and format (a file that is there
    but damaged fails to open at the next search, which deletes it)."""
    try:
        meta = json.loads((folder / META_FILE).read_text())
    except (OSError, ValueError):
        return False
    names = (MODEL_FILE, WEIGHTS_FILE, MERGES_FILE)
    return (
        isinstance(meta, dict)
        and meta.get("format") == FORMAT
        and meta.get("model_id") == model_id
        and "trim" in meta  # made before queries ran to their end token: made again
        and all((folder / name).is_file() for name in names)
    )


def _plan(embedder: Embedder) -> tuple[Any, Path] | None:
    """(fp32 CPU text module, bpe path) when the model and tokenizer are plain CLIP."""
    import open_clip
    import torch
    from open_clip.tokenizer import SimpleTokenizer, _clean_lower

    tok = embedder.tokenizer
    if (
        type(tok) is not SimpleTokenizer
        or tok.clean_fn is not _clean_lower
        or tok.reduction_fn is not None
        or len(tok.all_special_ids) != 2
    ):
        return None
    model = embedder.model
    if type(model) is not open_clip.CLIP:
        return None
    pool = getattr(model, "text_pool_type", None)
    if pool not in ("argmax", "last", "first"):
        return None
    text = _text_tower(model)
    first = next(text.parameters())
    if first.dtype != torch.float32 or first.device.type != "cpu":
        import copy

        text = copy.deepcopy(text).to(device="cpu", dtype=torch.float32)
    bpe = Path(open_clip.tokenizer.default_bpe())
    return (text.eval(), bpe) if bpe.is_file() else None


def _attend(attn: Any, x: Any, mask: Any) -> Any:
    """``MultiheadAttention(x, x, x, attn_mask=mask)`` on batch-first ``x``, with every
    shape taken from ``x`` so the exported graph keeps the length dynamic."""
    import torch

    heads = attn.num_heads
    q, k, v = torch.nn.functional.linear(x, attn.in_proj_weight, attn.in_proj_bias).chunk(3, -1)
    shape = (x.shape[0], x.shape[1], heads, x.shape[2] // heads)
    q, k, v = (t.reshape(shape).transpose(1, 2) for t in (q, k, v))
    scores = (q * (shape[3] ** -0.5)) @ k.transpose(-2, -1) + mask
    out = (scores.softmax(-1) @ v).transpose(1, 2).reshape(x.shape)
    return attn.out_proj(out)


def _text_tower_class() -> type:
    import torch
    from open_clip.transformer import ResidualAttentionBlock

    class TextTower(torch.nn.Module):
        """open_clip's ``CLIP.encode_text``, on the text tower alone (fp32, CPU).

        ``trim``: the tokens may stop after the last text's end token (``encode_texts``
        cuts the padding): with causal attention and the end token's output as the text's
        vector, the padding after it changes nothing, and a short query costs a fraction
        of the 77 positions (issue 13). Then the blocks run here, written with a dynamic
        length, because torch's traced ``MultiheadAttention`` fixes it. Without ``trim``
        every position runs, through open_clip's own transformer.
        """

        attn_mask: torch.Tensor

        def __init__(self, model: Any) -> None:
            super().__init__()
            self.token_embedding = model.token_embedding
            self.positional_embedding = model.positional_embedding
            self.transformer = model.transformer
            self.ln_final = model.ln_final
            self.text_projection = model.text_projection
            self.register_buffer("attn_mask", model.attn_mask, persistent=False)
            self.pool = model.text_pool_type
            self.trim = (
                self.pool == "argmax"
                and model.attn_mask is not None
                and all(
                    type(block) is ResidualAttentionBlock
                    and type(block.attn) is torch.nn.MultiheadAttention
                    and block.attn.in_proj_weight is not None
                    and not hasattr(block, "ln_1_kv")
                    for block in self.transformer.resblocks
                )
            )

        def forward(self, tokens: torch.Tensor) -> torch.Tensor:
            if self.trim:
                n = tokens.shape[1]
                x = self.token_embedding(tokens) + self.positional_embedding[:n]
                mask = self.attn_mask[:n, :n].to(x.dtype)
                for block in self.transformer.resblocks:
                    x = x + block.ls_1(_attend(block.attn, block.ln_1(x), mask))
                    x = x + block.ls_2(block.mlp(block.ln_2(x)))
                x = self.ln_final(x)
            else:
                x = self.token_embedding(tokens) + self.positional_embedding
                x = self.ln_final(self.transformer(x, attn_mask=self.attn_mask))
            if self.pool == "argmax":
                x = x[torch.arange(x.shape[0]), tokens.argmax(dim=-1)]
            elif self.pool == "last":
                x = x[:, -1]
            else:
                x = x[:, 0]
            proj = self.text_projection
            if proj is None:
                return x
            return proj(x) if isinstance(proj, torch.nn.Linear) else x @ proj

    return TextTower


def _text_tower(model: Any) -> Any:
    """The text tower as a module of its own (its class needs torch, imported here)."""
    return _text_tower_class()(model)


def _write(module: Any, path: Path) -> None:
    import torch

    sample = torch.zeros((2, module.positional_embedding.shape[0]), dtype=torch.long)
    length = "length" if module.trim else None
    write_onnx(module, sample, path, "tokens", "texts", WEIGHTS_FILE, length_axis=length)


def _check(folder: Path, embedder: Embedder, module: Any) -> float:
    """Worst cosine between the export and open_clip's own ``encode_text`` (fp32); -1 when
    the tokenizers disagree on any check text."""
    import torch

    encoder = OnnxTextEncoder(folder)
    texts = list(CHECK_TEXTS)
    reference_tokens = embedder.tokenizer(texts)
    if not np.array_equal(encoder.tokenizer(texts), reference_tokens.numpy()):
        return -1.0
    with torch.no_grad():
        model = embedder.model
        first = next(model.parameters())
        if first.dtype == torch.float32 and first.device.type == "cpu":
            reference = model.encode_text(reference_tokens).numpy()  # open_clip's own
        else:  # a bf16/GPU model: the fp32 CPU copy of its text tower, every token
            reference = module(reference_tokens).numpy()
    reference /= np.linalg.norm(reference, axis=1, keepdims=True)
    ours = np.concatenate([encoder.encode_texts(texts[:1]), encoder.encode_texts(texts[1:])])
    return float((reference * ours).sum(axis=1).min())
