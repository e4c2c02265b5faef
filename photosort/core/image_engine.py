"""The image tower on ONNX Runtime (or OpenVINO) where torch is the slow choice.

On a CPU without native bf16 (most laptops) photosort runs the image tower in fp32, and
there torch is slower than ONNX Runtime on the same graph (1.2-1.9x here, measured by
``tests/benchmarks/bench_model.py``). So the first bulk embedding of a model exports its
image tower once to ONNX, beside the cached weights (as ``text_onnx`` does for the text
tower), keeps it only if it gives open_clip's vectors (cosine >= 0.999), and runs it from
then on; later scans only open the file. torch stays the engine for bf16 CPUs, MPS, CUDA
and training, and takes over on any export or runtime failure.

``PHOTOSORT_IMAGE_ENGINE=torch|onnx|openvino`` chooses (default ``auto``: ONNX Runtime on
an fp32 CPU, torch elsewhere); OpenVINO is the optional extra ``photosort[openvino]``.

On a CPU with native bf16 torch bf16 is the cheaper engine per photo (about 63 vs 84 ms for
ViT-B-32 here), but a fresh process pays about 7 s to import torch and build the model.
So a small job there (under ``SMALL_JOB_PHOTOS``, the next few new photos of a rescan) runs
the cached fp32 export instead, without torch, when the precision is left to ``auto``; the
first scan that loads torch there leaves the export behind for them (``stand_in_wanted``).

Once exported, a scan needs no torch at all: ``OnnxImageEncoder.open`` runs the cached
tower with open_clip's preprocessing replayed in Pillow and NumPy (``clip_preprocess``,
its steps recorded in ``image.json``), where importing torch and open_clip and building
the model cost 27 of 45 s of a from-scratch scan of 24 photos on a 2-core laptop CPU.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from photosort.core.lazy_import import np
from photosort.core.onnx_export import write_onnx

if TYPE_CHECKING:
    import torch
    from PIL import Image

    from photosort.core.embedder import Embedder, ModelSpec

log = logging.getLogger(__name__)

ENGINE_ENV = "PHOTOSORT_IMAGE_ENGINE"
ENGINES = ("auto", "torch", "onnx", "openvino")
FORMAT = 1
MIN_COSINE = 0.999
#: Below this many photos to embed, a bf16 CPU runs the fp32 export rather than torch: 24
#: photos took 4.4 s against 8.5 s and 120 took 12.5 against 14.6 s (ViT-B-32, 12 MP,
#: whole ``photosort scan``), so the two meet at about 200.
SMALL_JOB_PHOTOS = 200
MODEL_FILE = "image.onnx"
WEIGHTS_FILE = "image.weights"
META_FILE = "image.json"


class ImageRunner(Protocol):
    """Preprocessed images (N, 3, H, W) float32 to unnormalised features (N, dim)."""

    name: str

    def run(self, images: np.ndarray) -> np.ndarray: ...


def requested() -> str:
    """The engine asked for in the environment (an unknown word counts as ``auto``)."""
    asked = os.environ.get(ENGINE_ENV, "auto").strip().lower() or "auto"
    if asked not in ENGINES:
        log.warning("%s=%s unknown (one of %s): using auto", ENGINE_ENV, asked, ", ".join(ENGINES))
        return "auto"
    return asked


def choose(device: str, precision: str) -> str:
    """Which engine runs the image tower: torch off the CPU (MPS, CUDA); on the CPU, the
    engine asked for, else ONNX Runtime in fp32 and torch in bf16 (torch bf16 already
    runs about 2x its fp32 where the CPU has it natively)."""
    asked = requested()
    if device != "cpu" or asked == "torch":
        return "torch"
    if asked == "auto":
        return "onnx" if precision == "fp32" and _has("onnxruntime") else "torch"
    return asked


def precision_left_to_auto() -> bool:
    """Whether no precision was asked for (``$PHOTOSORT_PRECISION`` unset or ``auto``)."""
    return (os.environ.get("PHOTOSORT_PRECISION") or "auto").strip().lower() == "auto"


def stand_in_wanted(device: str, precision: str) -> bool:
    """Whether small jobs here would run the fp32 export in place of torch ``precision``:
    a CPU whose automatic precision is bf16, with the engine left to ``auto``."""
    return (
        device == "cpu"
        and precision == "bf16"
        and precision_left_to_auto()
        and requested() == "auto"
        and _has("onnxruntime")
    )


def small_job(photos: int | None) -> bool:
    """Whether ``photos`` images (None: not known) are few enough for the stand-in."""
    return photos is not None and photos < SMALL_JOB_PHOTOS


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def cache_folder(model_id: str) -> Path:
    """The export's folder, beside the downloaded weights, one per model id."""
    from photosort.core.embedder import model_cache_dir

    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", model_id)[:60]
    digest = hashlib.sha256(model_id.encode()).hexdigest()[:12]
    return model_cache_dir() / "image-onnx" / f"{slug}-{digest}"


class OnnxImageRunner:
    """The exported image tower on ONNX Runtime's CPU provider."""

    name = "onnx"

    def __init__(self, folder: Path, threads: int):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.log_severity_level = 3
        if threads > 0:  # else ONNX Runtime's own choice: one per physical core, as torch
            options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        # Idle model threads must not spin: on a few cores they would take the CPU the
        # decode workers need between batches.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = ort.InferenceSession(
            str(folder / MODEL_FILE), options, providers=["CPUExecutionProvider"]
        )

    def run(self, images: np.ndarray) -> np.ndarray:
        return np.asarray(self._session.run(None, {"images": images})[0], dtype=np.float32)


class OpenVinoImageRunner:
    """The exported image tower on OpenVINO's CPU plugin (compiled once, cached)."""

    name = "openvino"

    def __init__(self, folder: Path, threads: int, precision: str):
        import openvino as ov

        config = {
            "INFERENCE_NUM_THREADS": str(max(0, threads)),  # 0: OpenVINO's own choice
            "INFERENCE_PRECISION_HINT": "bf16" if precision == "bf16" else "f32",
            "PERFORMANCE_HINT": "THROUGHPUT",
            "CACHE_DIR": str(folder / "openvino-cache"),  # the 2-3 s compile, once
        }
        self._compiled = ov.Core().compile_model(str(folder / MODEL_FILE), "CPU", config)
        self._request = self._compiled.create_infer_request()

    def run(self, images: np.ndarray) -> np.ndarray:
        result = self._request.infer({0: images})
        return np.array(result[0], dtype=np.float32)


def load(embedder: Embedder, engine: str, threads: int) -> ImageRunner | None:
    """A runner for ``engine`` over ``embedder``'s image tower, exporting it first if this
    model has none yet (or its export no longer opens); None (torch stays) when it cannot
    be made or opened."""
    if engine == "torch":
        return None
    for attempt in (1, 2):
        folder = None
        try:
            folder = export(embedder)
            if folder is None:
                return None
            if engine == "openvino":
                return OpenVinoImageRunner(folder, threads, embedder.precision)
            return OnnxImageRunner(folder, threads)
        except Exception as exc:  # a missing package or a bad file costs speed, never a scan
            if attempt == 1 and folder is not None and _has(_PACKAGES[engine]):
                log.info("image export in %s unusable (%s); making it again", folder, exc)
                shutil.rmtree(folder, ignore_errors=True)
                continue
            log.info("image engine %s unavailable (%s); using torch", engine, exc)
    return None


_PACKAGES = {"onnx": "onnxruntime", "openvino": "openvino"}


def export(embedder: Embedder) -> Path | None:
    """The checked ONNX export of ``embedder``'s image tower: the cached one, else made now
    (about 10 s for ViT-B-32, once per model). None when the check fails."""
    folder = cache_folder(embedder.model_id)
    if _valid(folder, embedder.model_id):
        _complete_meta(folder, embedder)
        return folder
    shutil.rmtree(folder, ignore_errors=True)  # damaged or another format: made again
    module = _fp32_tower(embedder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".export-", dir=folder.parent))
    try:
        _write(module, embedder.image_size, work / MODEL_FILE)
        worst = _check(work, module, embedder.image_size)
        if worst < MIN_COSINE:
            log.info("image export of %s differs (cosine %.5f): not kept", embedder.model_id, worst)
            return None
        meta = {
            "format": FORMAT,
            "model_id": embedder.model_id,
            "image_size": embedder.image_size,
            "checked_cosine": round(worst, 7),
            **_torchless_meta(embedder),
        }
        (work / META_FILE).write_text(json.dumps(meta, indent=1))
        try:
            os.replace(work, folder)  # atomic: a reader sees all of it or nothing
        except OSError:  # another process won the race: its export is as good
            return folder if _valid(folder, embedder.model_id) else None
        return folder
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _valid(folder: Path, model_id: str) -> bool:
    try:
        meta = json.loads((folder / META_FILE).read_text())
    except (OSError, ValueError):
        return False
    return (
        meta.get("format") == FORMAT
        and meta.get("model_id") == model_id
        and (folder / MODEL_FILE).is_file()
        and (folder / WEIGHTS_FILE).is_file()
    )


def _torchless_meta(embedder: Embedder) -> dict[str, Any]:
    """What a scan needs to run the export without torch: the vector length and the
    preprocessing steps (absent when open_clip's transform is not one that replays)."""
    from photosort.core.clip_preprocess import Preprocess

    plan = Preprocess.of(embedder.preprocess)
    if plan is None or plan.size != embedder.image_size:
        return {"dim": embedder.dim}
    return {"dim": embedder.dim, "preprocess": plan.to_meta()}


def _complete_meta(folder: Path, embedder: Embedder) -> None:
    """Add what ``_torchless_meta`` gives to an export made before it was recorded, so the
    next scan of a model exported by an older photosort needs no torch either."""
    path = folder / META_FILE
    try:
        meta = json.loads(path.read_text())
        extra = _torchless_meta(embedder)
        if all(meta.get(k) == v for k, v in extra.items()):
            return
        meta.update(extra)
        work = path.with_name(f".{META_FILE}.{os.getpid()}")
        work.write_text(json.dumps(meta, indent=1))
        os.replace(work, path)  # atomic: a reader sees the old meta or the new
    except (OSError, ValueError) as exc:  # a read-only cache: torch keeps preprocessing
        log.info("image export meta in %s not completed (%s)", folder, exc)


def _fp32_tower(embedder: Embedder) -> Any:
    """The image tower as open_clip's ``encode_image`` runs it, in fp32 on the CPU."""
    import copy

    import torch

    visual = embedder.model.visual
    first = next(visual.parameters())
    if first.dtype != torch.float32 or first.device.type != "cpu":
        visual = copy.deepcopy(visual).to(device="cpu", dtype=torch.float32)
    return visual.eval()


def _write(module: Any, size: int, path: Path) -> None:
    import torch

    sample = torch.zeros((2, 3, size, size), dtype=torch.float32)
    write_onnx(module, sample, path, "images", "batch", WEIGHTS_FILE, trace_with_grad=True)


def _check(folder: Path, module: Any, size: int) -> float:
    """Worst cosine between the export on ONNX Runtime and the torch tower (fp32) on a
    fixed batch: a smooth image, noise, and a saturated one."""
    import torch

    rng = np.random.default_rng(7)
    ramp = np.linspace(-2, 2, size, dtype=np.float32)
    images = np.stack(
        [
            np.broadcast_to(ramp[None, :, None] * ramp[None, None, :], (3, size, size)),
            rng.standard_normal((3, size, size), dtype=np.float32),
            np.full((3, size, size), 2.5, np.float32),
        ]
    ).astype(np.float32)
    with torch.no_grad():
        reference = module(torch.from_numpy(images)).float().numpy()
    ours = OnnxImageRunner(folder, threads=1).run(images)
    reference /= np.linalg.norm(reference, axis=1, keepdims=True)
    ours /= np.linalg.norm(ours, axis=1, keepdims=True)
    return float((reference * ours).sum(axis=1).min())


def cpu_only(device: str) -> bool:
    """Whether the torch device ``device`` ("auto", "cpu", …) resolves to the CPU, known
    without importing torch: "auto" counts as the CPU only where torch could find no GPU
    (no NVIDIA or ROCm driver, not a Mac, where MPS may run). A wrong "no" only costs the
    torch import, as before."""
    device = (device or "auto").lower()
    if device != "auto":
        return device == "cpu"
    import sys

    if sys.platform == "darwin":
        return False
    if sys.platform == "win32":
        system = Path(os.environ.get("SYSTEMROOT", r"C:\Windows")) / "System32"
        return not (system / "nvcuda.dll").exists()
    gpu_signs = ("/proc/driver/nvidia/version", "/dev/nvidia0", "/dev/nvidiactl", "/dev/kfd")
    return not any(os.path.exists(sign) for sign in gpu_signs)


class OnnxImageEncoder:
    """A scan's image encoder without torch or open_clip: the cached export of a model's
    image tower and its preprocessing, with the interface the pipeline uses of
    ``Embedder`` (``model_id``, ``dim``, ``image_size``, ``preprocess``, ``encode_images``,
    ``encode_pil``). ``fallback`` gives the torch model, which takes over on any failure."""

    def __init__(
        self,
        model_id: str,
        folder: Path,
        engine: str,
        precision: str,
        threads: int,
        fallback: Callable[[], Embedder],
        stand_in: bool = False,
    ):
        from photosort.core.clip_preprocess import Preprocess

        meta = json.loads((folder / META_FILE).read_text())
        if meta.get("model_id") != model_id or meta.get("format") != FORMAT:
            raise ValueError(f"{folder} holds another export")
        self.model_id = model_id
        self.dim = int(meta["dim"])
        self.preprocess = Preprocess.from_meta(meta["preprocess"])
        self.image_size = int(meta["image_size"])
        if self.preprocess.size != self.image_size:
            raise ValueError(f"{folder}: preprocessing and input size disagree")
        self.precision = precision
        self._runner: ImageRunner | None = (
            OpenVinoImageRunner(folder, threads, precision)
            if engine == "openvino"
            else OnnxImageRunner(folder, threads)
        )
        self.image_engine = self._runner.name
        #: runs in place of torch bf16 for a small job only (``SMALL_JOB_PHOTOS``)
        self.stand_in = stand_in
        self._fallback = fallback
        self._lock = threading.Lock()

    @classmethod
    def open(
        cls,
        spec: ModelSpec,
        device: str,
        fallback: Callable[[], Embedder],
        photos: int | None = None,
    ) -> OnnxImageEncoder | None:
        """The torch-free encoder of ``spec`` where this machine's engine for it is ONNX
        Runtime or OpenVINO on the CPU and its export is cached with what it needs; None
        otherwise (then the torch model loads, exports, and the next scan gets this).
        ``photos``: how many images the job will embed, where known; a small job on a bf16
        CPU gets the fp32 export (``stand_in_wanted``)."""
        from photosort.core.embedder import PRECISIONS, model_id_of, resolve_precision

        if not cpu_only(device):
            return None
        precision = (os.environ.get("PHOTOSORT_PRECISION") or "auto").lower()
        if precision not in PRECISIONS:
            return None  # the model's loader words the error
        precision = resolve_precision(precision, "cpu")
        stand_in = stand_in_wanted("cpu", precision) and small_job(photos)
        if stand_in:
            precision = "fp32"
        engine = choose("cpu", precision)
        if engine == "torch" or not _has(_PACKAGES[engine]):
            return None
        try:
            model_id = model_id_of(spec)
            folder = cache_folder(model_id)
            if not _valid(folder, model_id):
                return None
            # 0 threads: the runtime's own choice
            return cls(model_id, folder, engine, precision, 0, fallback, stand_in)
        except Exception as exc:  # an old or damaged export: the model loads as before
            log.info("no torch-free image encoder for %s (%s)", spec, exc)
            return None

    def use_image_engine(self, engine: str | None = None) -> str:
        """The engine in use (chosen when opened; torch after a failure)."""
        return self.image_engine

    def encode_images(self, batch: np.ndarray | torch.Tensor) -> np.ndarray:
        """Preprocessed images (N, 3, H, W) to L2-normalised float32 vectors."""
        images = np.ascontiguousarray(np.asarray(batch), dtype=np.float32)
        with self._lock:
            runner = self._runner
            if runner is not None:
                try:
                    return _normalise(runner.run(images))
                except Exception as exc:  # never a failed scan: torch takes over for good
                    log.warning("image engine %s failed (%s); using torch", runner.name, exc)
                    self._runner, self.image_engine = None, "torch"
        import torch

        return self._fallback().encode_images(torch.from_numpy(images))

    def encode_pil(self, images: list[Image.Image]) -> np.ndarray:
        return self.encode_images(np.stack([self.preprocess(im) for im in images]))


def _normalise(mat: np.ndarray) -> np.ndarray:
    mat = np.ascontiguousarray(mat, dtype=np.float32)
    norms = np.linalg.norm(mat, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return mat / norms
