"""CLIP embeddings with open_clip: model choice, device choice, safe weight loading."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import struct
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from photosort.core import image_engine, model_download
from photosort.core.errors import PhotosortError
from photosort.core.image_engine import ImageRunner
from photosort.core.lazy_import import np
from photosort.core.progress import ProgressCallback

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)

DEFAULT_MODEL = "ViT-B-32:laion2b_s34b_b79k"
LOCAL_PREFIX = "local-dir:"
DEVICES = ("auto", "cpu", "mps", "cuda")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")


class ModelError(PhotosortError):
    """The model cannot be loaded; the message is one line a user can act on.

    ``reason`` is the same without command-line advice (the app shows it), and
    ``offline`` says the cause is a missing network (the app then offers a folder).
    """

    def __init__(self, message: str, reason: str | None = None, offline: bool = False):
        super().__init__(message)
        self.reason = reason or message
        self.offline = offline


@dataclass(frozen=True)
class ModelSpec:
    """What the user asked for: ``NAME:PRETRAINED`` or ``local-dir:PATH``."""

    name: str
    pretrained: str | None = None
    local_dir: Path | None = None

    @classmethod
    def parse(cls, text: str) -> ModelSpec:
        text = text.strip()
        if text.startswith(LOCAL_PREFIX):
            raw = text[len(LOCAL_PREFIX) :].strip()
            folder = Path(raw).expanduser()
            if not raw:
                raise ModelError("local-dir: needs a folder, e.g. local-dir:~/models/my-clip")
            return cls(name=text, local_dir=folder.resolve())
        name, sep, pretrained = text.partition(":")
        if not name or not sep or not pretrained:
            raise ModelError(
                f"model {text!r} is not NAME:PRETRAINED (e.g. {DEFAULT_MODEL}) or local-dir:PATH"
            )
        return cls(name=name, pretrained=pretrained)

    def __str__(self) -> str:
        if self.local_dir is not None:
            return f"{LOCAL_PREFIX}{self.local_dir}"
        return f"{self.name}:{self.pretrained}"


def model_cache_dir() -> Path:
    """Where downloaded weights live (platform user cache)."""
    from platformdirs import user_cache_dir

    return Path(os.environ.get("PHOTOSORT_MODEL_CACHE") or user_cache_dir("photosort")) / "models"


def resolve_device(preference: str = "auto") -> str:
    """Pick a torch device; ``auto`` prefers CUDA, then a working MPS, then the CPU."""
    import torch

    preference = (preference or "auto").lower()
    if preference not in DEVICES:
        raise ModelError(f"unknown device {preference!r}: choose one of {', '.join(DEVICES)}")
    if preference == "cuda" and not torch.cuda.is_available():
        raise ModelError("device cuda asked for, but no CUDA GPU is available to torch")
    if preference == "mps" and not _mps_works():
        raise ModelError("device mps asked for, but Apple MPS is not available to torch")
    if preference != "auto":
        return preference
    if torch.cuda.is_available():
        return "cuda"
    if _mps_works():
        return "mps"
    return "cpu"


def cpu_has_fast_bf16() -> bool:
    """True where the CPU computes bf16 natively (AVX512-BF16 or AMX), so bf16 pays off.

    Emulated bf16 (plain AVX2/AVX512) is slower than fp32, so it is never chosen there.
    """
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as fh:
            flags = fh.read()
    except OSError:
        return False
    return " avx512_bf16" in flags or " amx_bf16" in flags


def resolve_precision(preference: str, device: str) -> str:
    """``auto``: fp16 on CUDA, bf16 on a CPU with native bf16, else fp32.

    The bench suite checks that bf16 embeddings keep cosine >= 0.99 to fp32 before
    this default may stand (see tests/benchmarks).
    """
    preference = (preference or "auto").lower()
    if preference not in PRECISIONS:
        raise ModelError(f"unknown precision {preference!r}: choose one of {', '.join(PRECISIONS)}")
    if preference != "auto":
        return preference
    if device == "cuda":
        return "fp16"
    if device == "cpu" and cpu_has_fast_bf16():
        return "bf16"
    return "fp32"


def _mps_works() -> bool:
    import torch

    backend = getattr(torch.backends, "mps", None)
    if backend is None or not backend.is_available():
        return False
    try:  # is_available() can be true where kernels still fail; probe a real op
        return bool((torch.ones(2, device="mps") * 2).sum().item() == 4)
    except Exception:
        return False


class Embedder:
    """A loaded CLIP model: images and texts to L2-normalised float32 vectors."""

    def __init__(
        self,
        spec: ModelSpec,
        device: str = "auto",
        threads: int | None = None,
        precision: str | None = None,
    ):
        if spec.local_dir is not None and not spec.local_dir.is_dir():
            # before importing torch and open_clip: a typo answers in a second, not ten
            raise ModelError(f"model folder not found: {spec.local_dir}")
        import open_clip
        import torch

        self.spec = spec
        self.device = resolve_device(device)
        self.precision = resolve_precision(
            precision or os.environ.get("PHOTOSORT_PRECISION") or "auto", self.device
        )
        if threads:
            torch.set_num_threads(threads)
        self._lock = threading.Lock()
        self._threads = threads or torch.get_num_threads()
        #: What runs the image tower: "torch", or "onnx"/"openvino" once ``use_image_engine``
        #: found (or made) the model's export; see core/image_engine.py.
        self.image_engine = "torch"
        self._image_runner: ImageRunner | None = None
        self._tower_dropped = False
        try:
            if spec.local_dir is not None:
                model, _, preprocess = _load_local(spec.local_dir)
                tokenizer = open_clip.get_tokenizer(f"{LOCAL_PREFIX}{spec.local_dir}")
            else:
                if spec.name != model_download.HF_HUB_PREFIX:
                    _check_known_name(spec)  # a typo is not a network problem
                cache = str(model_cache_dir())
                with _hub_mode(spec):
                    if spec.name == model_download.HF_HUB_PREFIX:
                        name = f"{model_download.HF_HUB_PREFIX}:{spec.pretrained}"
                        model, _, preprocess = open_clip.create_model_and_transforms(
                            name, cache_dir=cache
                        )
                        tokenizer = open_clip.get_tokenizer(name, cache_dir=cache)
                    else:
                        model, _, preprocess = open_clip.create_model_and_transforms(
                            spec.name, pretrained=spec.pretrained, cache_dir=cache
                        )
                        tokenizer = open_clip.get_tokenizer(spec.name)
        except ModelError:
            raise
        except Exception as exc:  # network, corrupt file, unknown name: one clear line
            raise _load_failure(spec, exc) from exc
        model.eval()
        self.logit_scale = float(model.logit_scale.exp().item())
        bias = getattr(model, "logit_bias", None)  # SigLIP's sigmoid bias (core/scoring.py)
        self.logit_bias = None if bias is None else float(bias.reshape(-1)[0].item())
        self.dtype = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[
            self.precision
        ]
        self.model = model.to(device=self.device, dtype=self.dtype)
        self.preprocess = preprocess
        self.tokenizer = tokenizer
        self.image_size = _input_size(model)
        with torch.inference_mode():
            probe = self.model.encode_text(self.tokenizer(["a photo"]).to(self.device))
        self.dim = int(probe.shape[-1])
        self.model_id = self._model_id()

    def _model_id(self) -> str:
        return model_id_of(self.spec)

    def use_image_engine(self, engine: str | None = None) -> str:
        """Switch the image tower to the fastest engine here (``image_engine.choose``), or
        to ``engine``; returns the one in use. Exporting the tower the first time takes
        seconds, so bulk work (a scan) calls this, a single image query does not."""
        with self._lock:
            wanted = engine or image_engine.choose(self.device, self.precision)
            if wanted != self.image_engine:
                runner = image_engine.load(self, wanted, self._threads)
                if runner is None:
                    self._restore_torch_tower()
                self._image_runner = runner
                self.image_engine = runner.name if runner else "torch"
                if runner is not None:
                    # its weights live in the runner now: 350 MB less for ViT-B-32 in fp32
                    self.model.visual.to(device="meta")
                    self._tower_dropped = True
            return self.image_engine

    def _restore_torch_tower(self) -> None:
        """Load the torch image tower again (dropped while another engine ran it)."""
        if self._tower_dropped:
            fresh = Embedder(self.spec, self.device, self._threads, self.precision)
            self.model.visual = fresh.model.visual
            self._tower_dropped = False

    def encode_images(self, batch: torch.Tensor | np.ndarray) -> np.ndarray:
        """Encode a batch tensor (N, 3, H, W) of preprocessed images."""
        import torch

        if isinstance(batch, np.ndarray):  # preprocessed without torch (clip_preprocess)
            batch = torch.from_numpy(batch)
        with self._lock:
            runner = self._image_runner
            if runner is not None:
                try:
                    images = np.ascontiguousarray(batch.numpy(), dtype=np.float32)
                    return _normalise(runner.run(images))
                except Exception as exc:  # never a failed scan: torch takes over for good
                    log.warning("image engine %s failed (%s); using torch", runner.name, exc)
                    self._image_runner, self.image_engine = None, "torch"
                    self._restore_torch_tower()
            with torch.inference_mode():
                feats = self.model.encode_image(batch.to(device=self.device, dtype=self.dtype))
                return _normalise(feats.float().cpu().numpy())

    def encode_texts(self, texts: list[str]) -> np.ndarray:
        import torch

        with self._lock, torch.inference_mode():
            tokens = self.tokenizer(list(texts)).to(self.device)
            feats = _encode_text_short(self.model, tokens)
            return _normalise(feats.float().cpu().numpy())

    def encode_pil(self, images: list) -> np.ndarray:
        import torch

        return self.encode_images(torch.stack([self.preprocess(im) for im in images]))


def model_id_of(spec: ModelSpec) -> str:
    """Stable id of the weights: vectors from different ids are never mixed. Needs no
    torch: a scan with a cached ONNX image tower (``image_engine``) knows it unloaded."""
    if spec.local_dir is None:
        return str(spec)
    config = json.loads((spec.local_dir / "open_clip_config.json").read_text())
    digest = hashlib.sha256(json.dumps(config, sort_keys=True).encode())
    weights = _weights_file(spec.local_dir)
    if weights is not None:
        with open(weights, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
    return f"local:{spec.local_dir.name}:{digest.hexdigest()[:16]}"


def model_cached(spec: ModelSpec) -> bool:
    """True when loading ``spec`` needs no network (a local folder, or weights cached)."""
    if spec.local_dir is not None:
        return spec.local_dir.is_dir()
    return model_download.is_cached(spec.name, spec.pretrained, model_cache_dir())


def download_weights(
    spec: ModelSpec,
    on_progress: ProgressCallback | None = None,
    should_cancel: Callable[[], bool] | None = None,
) -> None:
    """Fetch the weights of ``spec`` into the cache with progress; Cancelled stops it."""
    if spec.local_dir is not None or model_cached(spec):
        return
    try:
        model_download.download_model(
            spec.name, spec.pretrained, model_cache_dir(), on_progress, should_cancel
        )
    except model_download.Offline as exc:
        raise ModelError(
            f"cannot download model {spec}: {exc}", reason=f"{exc}.", offline=True
        ) from exc
    except model_download.DownloadError as exc:
        raise ModelError(f"cannot download model {spec}: {exc}", reason=f"{exc}.") from exc


@contextlib.contextmanager
def _hub_mode(spec: ModelSpec) -> Iterator[None]:
    """Fetch missing weights ourselves (progress, resume, checks), then let open_clip load
    them from the cache with the hub client offline: no network round trip once cached,
    and a cached model never changes under a library's vectors."""
    from huggingface_hub import constants

    if model_download.model_files(spec.name, spec.pretrained) is not None:
        forced = model_download.hub_offline_forced()
        if not model_cached(spec) and not forced and model_download.hub_reachable():
            download_weights(spec)
        if not model_cached(spec):
            why = "HF_HUB_OFFLINE is set" if forced else "offline"
            raise _load_failure(spec, OSError(why))
        previous = constants.HF_HUB_OFFLINE
        constants.HF_HUB_OFFLINE = True
        try:
            yield
        finally:
            constants.HF_HUB_OFFLINE = previous
        return
    # a model open_clip fetches from a plain URL: its own downloader, if online
    if not constants.HF_HUB_OFFLINE and not model_download.hub_reachable():
        constants.HF_HUB_OFFLINE = True
    yield


def _encode_text_short(model: Any, tokens: torch.Tensor) -> torch.Tensor:
    """``encode_text`` over only the tokens up to the longest end-of-text, not all 77.

    CLIP's text tower is causal and pools at the end-of-text token, so the padding after
    it never changes the result; skipping it makes a short query ~5-10x cheaper.
    Models without that structure use open_clip's own ``encode_text``.
    """
    import open_clip
    import torch
    from open_clip.transformer import text_global_pool

    mask = getattr(model, "attn_mask", None)
    if (
        type(model) is not open_clip.CLIP
        or mask is None
        or getattr(model, "text_pool_type", None) != "argmax"
    ):
        return model.encode_text(tokens)
    length = int(tokens.argmax(dim=-1).max()) + 1
    tokens = tokens[:, :length]
    cast_dtype = model.transformer.get_cast_dtype()
    x = model.token_embedding(tokens).to(cast_dtype)
    x = x + model.positional_embedding[:length].to(cast_dtype)
    x = model.transformer(x, attn_mask=mask[:length, :length])
    x = text_global_pool(model.ln_final(x), tokens, "argmax")
    projection = model.text_projection
    if projection is None:
        return x
    return projection(x) if isinstance(projection, torch.nn.Linear) else x @ projection


def _normalise(mat: np.ndarray) -> np.ndarray:
    mat = np.ascontiguousarray(mat, dtype=np.float32)
    norms = np.linalg.norm(mat, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return mat / norms


def _weights_file(folder: Path) -> Path | None:
    for name in ("open_clip_model.safetensors", "open_clip_pytorch_model.bin"):
        if (folder / name).is_file():
            return folder / name
    return None


def _load_local(folder: Path) -> tuple[Any, Any, Any]:
    import open_clip

    if not folder.is_dir():
        raise ModelError(f"model folder not found: {folder}")
    if not (folder / "open_clip_config.json").is_file():
        raise ModelError(f"model folder {folder} has no open_clip_config.json")
    if _weights_file(folder) is None:
        raise ModelError(
            f"model folder {folder} has no weights "
            "(open_clip_model.safetensors or open_clip_pytorch_model.bin)"
        )
    weights = _weights_file(folder)
    if weights is not None and weights.suffix == ".safetensors":
        try:
            with _quiet_random_init():  # the weights follow at once, from the file
                model, train_tf, preprocess = open_clip.create_model_and_transforms(
                    f"{LOCAL_PREFIX}{folder}", load_weights=False
                )
            if _stream_weights(model, weights):
                return model, train_tf, preprocess
        except Exception:  # anything unusual: open_clip's own loader decides and explains
            pass
    try:
        return open_clip.create_model_and_transforms(f"{LOCAL_PREFIX}{folder}", weights_only=True)
    except Exception as exc:
        raise ModelError(f"cannot load model from {folder}: {_one_line(exc)}") from exc


class _DropRandomInitWarning(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "initialized randomly" not in record.getMessage()


@contextlib.contextmanager
def _quiet_random_init() -> Iterator[None]:
    """open_clip warns "No pretrained weights loaded … initialized randomly" when asked to
    build a bare model; for a local model whose weights are streamed in next, it is false."""
    dropper = _DropRandomInitWarning()
    root = logging.getLogger()
    handlers = list(root.handlers)
    root.addFilter(dropper)
    for handler in handlers:
        handler.addFilter(dropper)
    try:
        yield
    finally:
        root.removeFilter(dropper)
        for handler in handlers:
            handler.removeFilter(dropper)


def _stream_weights(model: Any, weights: Path) -> bool:
    """Copy safetensors weights into ``model`` one tensor at a time.

    open_clip reads the whole state dict next to the freshly built model, which doubles
    the model's memory while loading (peak 1.9 GB for ViT-B-32 with torch). Streaming
    keeps one tensor extra. Returns False, having changed nothing it could not finish,
    when names or shapes do not match exactly (then open_clip's loader takes over).
    """
    import torch

    targets = model.state_dict(keep_vars=True)
    with open(weights, "rb") as fh:
        (header_len,) = struct.unpack("<Q", fh.read(8))
        header = json.loads(fh.read(header_len))
        header.pop("__metadata__", None)
        names = {key.removeprefix("module."): key for key in header}
        if set(names) != set(targets):
            return False
        if any(tuple(header[k]["shape"]) != tuple(targets[n].shape) for n, k in names.items()):
            return False
        start = 8 + header_len
        with torch.no_grad():
            for name, key in names.items():
                info = header[key]
                begin, end = info["data_offsets"]
                fh.seek(start + begin)
                raw = bytearray(fh.read(end - begin))  # plain reads: an mmap would count
                dtype = getattr(torch, _SAFETENSORS_DTYPES[info["dtype"]])  # whole file in RSS
                tensor = torch.frombuffer(raw, dtype=dtype) if raw else torch.empty(0, dtype=dtype)
                targets[name].copy_(tensor.reshape(info["shape"]))
    return True


_SAFETENSORS_DTYPES = {
    "F64": "float64",
    "F32": "float32",
    "F16": "float16",
    "BF16": "bfloat16",
    "I64": "int64",
    "I32": "int32",
    "I16": "int16",
    "I8": "int8",
    "U8": "uint8",
    "BOOL": "bool",
}


def check_model_name(spec: ModelSpec) -> None:
    """An unknown model name or pretrained tag, with whole names to choose from (hub
    models only: ``hf-hub:`` names are checked by the download)."""
    if spec.local_dir is None and spec.name != model_download.HF_HUB_PREFIX:
        _check_known_name(spec)


def _check_known_name(spec: ModelSpec) -> None:
    """An unknown model name or pretrained tag, with whole names to choose from."""
    import open_clip

    from photosort.core.lookup import did_you_mean

    names = open_clip.list_models()
    if spec.name not in names:
        hint = did_you_mean(spec.name, names) or f"; e.g. {', '.join(_examples(names))}"
        raise ModelError(f"unknown model {spec.name!r}{hint} (open_clip knows {len(names)})")
    tags = open_clip.list_pretrained_tags_by_model(spec.name)
    if spec.pretrained is None:
        return
    if spec.pretrained not in tags and not os.path.isfile(spec.pretrained):
        hint = did_you_mean(spec.pretrained, tags) or f"; one of {', '.join(_examples(tags))}"
        raise ModelError(f"{spec.name} has no pretrained weights {spec.pretrained!r}{hint}")


def _examples(names: list[str], budget: int = 120) -> list[str]:
    """As many whole names as fit in ``budget`` characters (never one cut in half)."""
    out: list[str] = []
    for name in names:
        if sum(len(n) + 2 for n in out) + len(name) > budget:
            out.append("…")
            break
        out.append(name)
    return out


def _input_size(model: Any) -> int:
    size = getattr(getattr(model, "visual", None), "image_size", 224)
    return int(size[0] if isinstance(size, tuple | list) else size)


def _one_line(exc: BaseException) -> str:
    """First line of an error; a heading such as torch's "Error(s) in loading state_dict
    for CLIP:" gets its first detail ("size mismatch for ...") so the user learns why."""
    text = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    if not text:
        return type(exc).__name__
    line = text[0]
    if line.endswith(":") and len(text) > 1:
        line = f"{line} {text[1]}"
    return line[:300]


def _load_failure(spec: ModelSpec, exc: BaseException) -> ModelError:
    """One line for the CLI (with the flag to use) and a reason for the app's dialog."""
    text = str(exc)
    offline_signs = ("local cache", "connect", "Connection", "offline", "resolve", "Network")
    offline = any(sign in text for sign in offline_signs)
    if "HF_HUB_OFFLINE" in text:
        offline = True
        reason = "the weights are not in the cache and HF_HUB_OFFLINE forbids downloading them"
    elif offline:
        reason = (
            "the weights are not in the cache and the model hub "
            f"({model_download.endpoint()}) cannot be reached"
        )
    else:
        reason = _one_line(exc)[:160]
    message = (
        f"cannot load model {spec}: {reason}. Weights are downloaded on first use "
        f"into {model_cache_dir()}; connect to the internet once, or use "
        "--model local-dir:PATH with an open_clip folder (open_clip_config.json + weights)"
    )
    return ModelError(message, reason=f"{reason}.", offline=offline)
