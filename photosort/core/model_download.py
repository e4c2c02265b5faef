"""Download a CLIP model's weights from the Hugging Face hub: progress, cancel, resume, verify.

open_clip would download on first use through ``hf_hub_download``, with a bar on stderr
that no window can show and no way to stop it. This module fetches the same files into the
same cache layout first (``models--ORG--REPO/blobs``, ``snapshots/COMMIT``, ``refs/main``),
so open_clip then finds them there. It uses the standard library's HTTP client, which
honours ``HTTP(S)_PROXY``/``NO_PROXY``, and the hub address comes from ``HF_ENDPOINT``
(mirrors) at call time. A partial file (``blobs/ETAG.incomplete``, the name the hub client
uses too) is resumed with a Range request; a finished file is checked against its size and,
for LFS files, the SHA-256 the hub sends as ETag.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import time
import urllib.error
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING
from urllib.parse import quote

from photosort.core.errors import PhotosortError
from photosort.core.progress import Cancelled, Progress, ProgressCallback

if TYPE_CHECKING:  # urllib.request (http.client, ssl, email): imported by what goes online
    import urllib.request
    from email.message import Message

DEFAULT_ENDPOINT = "https://huggingface.co"
CONFIG_NAME = "open_clip_config.json"
WEIGHT_NAMES = ("open_clip_model.safetensors", "open_clip_pytorch_model.bin")
CHUNK = 1 << 20
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class DownloadError(PhotosortError):
    """The weights could not be fetched; the message says why and what to do."""


class Offline(DownloadError):
    """The hub (or the mirror in HF_ENDPOINT) cannot be reached."""


@dataclass(frozen=True)
class HubFile:
    repo_id: str
    filename: str
    revision: str = "main"


@dataclass(frozen=True)
class RemoteFile:
    url: str
    commit: str
    etag: str
    size: int | None


def endpoint() -> str:
    """The hub's address: ``HF_ENDPOINT`` (a mirror) if set, read now, not at import."""
    return (os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")


def hub_offline_forced() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def file_url(item: HubFile) -> str:
    return (
        f"{endpoint()}/{item.repo_id}/resolve/{quote(item.revision, safe='')}/"
        f"{quote(item.filename)}"
    )


def _headers() -> dict[str, str]:
    headers = {"User-Agent": "photosort", "Accept-Encoding": "identity"}
    token = os.environ.get("HF_TOKEN")
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return headers


def _no_redirect() -> urllib.request.HTTPRedirectHandler:
    import urllib.request

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(
            self,
            req: urllib.request.Request,
            fp: IO[bytes],
            code: int,
            msg: str,
            headers: Message,
            newurl: str,
        ) -> urllib.request.Request | None:
            return None  # the hub puts the file's etag/size/commit on the redirect itself

    return NoRedirect()


def _opener(follow_redirects: bool = True) -> urllib.request.OpenerDirector:
    """Built per call, so proxy variables set after start-up are honoured."""
    import urllib.request

    handlers: list = [urllib.request.ProxyHandler()]  # reads HTTP(S)_PROXY and NO_PROXY
    if not follow_redirects:
        handlers.append(_no_redirect())
    return urllib.request.build_opener(*handlers)


def hub_reachable(timeout_s: float = 3.0) -> bool:
    """One HTTP request to the hub (through any proxy): any HTTP answer means online."""
    import urllib.request

    request = urllib.request.Request(endpoint() + "/api/models?limit=1", headers=_headers())
    request.method = "HEAD"
    try:
        with _opener(False).open(request, timeout=timeout_s):
            return True
    except urllib.error.HTTPError:
        return True  # the server answered: the network and the proxy work
    except (urllib.error.URLError, OSError, ValueError):
        return False


def remote_file(item: HubFile, timeout_s: float = 10.0) -> RemoteFile | None:
    """The file's commit, etag and size (None when the repo has no such file)."""
    import urllib.request

    url = file_url(item)
    request = urllib.request.Request(url, headers=_headers())
    request.method = "HEAD"
    try:
        response = _opener(False).open(request, timeout=timeout_s)
        headers, status, location = response.headers, response.status, url
        response.close()
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return None
        if exc.code not in (301, 302, 303, 307, 308):
            raise DownloadError(f"the model hub answered {exc.code} for {url}") from exc
        headers, status = exc.headers, exc.code
        location = urllib.parse.urljoin(url, headers.get("Location") or url)
    except (urllib.error.URLError, OSError) as exc:
        raise Offline(_offline_message()) from exc
    etag = (headers.get("X-Linked-Etag") or headers.get("ETag") or "").strip()
    etag = etag.removeprefix("W/").strip('"')
    commit = headers.get("X-Repo-Commit") or ""
    size = headers.get("X-Linked-Size") or (headers.get("Content-Length") if status < 300 else None)
    if not etag or not commit:
        raise DownloadError(f"{url} is not a model hub file (no ETag or X-Repo-Commit header)")
    return RemoteFile(location, commit, etag, int(size) if size else None)


def repo_folder(cache_dir: Path, repo_id: str) -> Path:
    return cache_dir / ("models--" + repo_id.replace("/", "--"))


def cached_file(cache_dir: Path, item: HubFile) -> Path | None:
    """The file in the hub cache layout, as open_clip will look it up offline."""
    folder = repo_folder(cache_dir, item.repo_id)
    try:
        commit = (folder / "refs" / item.revision).read_text().strip()
    except OSError:
        commit = item.revision
    path = folder / "snapshots" / commit / item.filename
    return path if path.is_file() else None


Emit = Callable[[int], None]


def _fetch(
    remote: RemoteFile, blob: Path, emit: Emit, should_cancel: Callable[[], bool] | None
) -> None:
    """Stream into ``blob.incomplete`` (resuming it), verify, then move into place."""
    import urllib.request

    partial = blob.with_name(blob.name + ".incomplete")
    have = partial.stat().st_size if partial.exists() else 0
    if remote.size is not None and have > remote.size:
        partial.unlink()
        have = 0
    digest = hashlib.sha256()
    if have:
        with open(partial, "rb") as fh:
            for chunk in iter(lambda: fh.read(CHUNK), b""):
                digest.update(chunk)
    emit(have)
    if remote.size is None or have < remote.size:
        headers = _headers()
        if have:
            headers["Range"] = f"bytes={have}-"
        request = urllib.request.Request(remote.url, headers=headers)
        try:
            response = _opener().open(request, timeout=30)
        except urllib.error.HTTPError as exc:
            if exc.code == 416 and have:  # the range starts past the end: begin again
                partial.unlink()
                return _fetch(remote, blob, emit, should_cancel)
            raise DownloadError(f"the model hub answered {exc.code} for {remote.url}") from exc
        except (urllib.error.URLError, OSError) as exc:
            raise Offline(_offline_message()) from exc
        with response:
            if have and response.status != 206:  # the server ignored the range: start over
                have, digest = 0, hashlib.sha256()
            with open(partial, "ab" if have else "wb") as out:
                while True:
                    if should_cancel is not None and should_cancel():
                        raise Cancelled("download stopped; it resumes where it left off")
                    try:
                        chunk = response.read(CHUNK)
                    except OSError as exc:
                        raise Offline(_offline_message()) from exc
                    if not chunk:
                        break
                    out.write(chunk)
                    digest.update(chunk)
                    have += len(chunk)
                    emit(have)
                out.flush()
                os.fsync(out.fileno())
    if remote.size is not None and have != remote.size:
        raise DownloadError(
            f"download of {blob.name} ended early ({have} of {remote.size} bytes); try again"
        )
    if _SHA256.match(remote.etag) and digest.hexdigest() != remote.etag:
        partial.unlink(missing_ok=True)
        raise DownloadError(
            "a downloaded weights file does not match its checksum and was deleted; try again"
        )
    os.replace(partial, blob)


def _link(snapshot_file: Path, blob: Path) -> None:
    snapshot_file.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        snapshot_file.unlink()
    try:
        snapshot_file.symlink_to(os.path.relpath(blob, snapshot_file.parent))
    except OSError:  # no symlinks (Windows without developer mode): a copy works too
        import shutil

        shutil.copyfile(blob, snapshot_file)


def download(
    items: list[HubFile],
    cache_dir: Path,
    on_progress: ProgressCallback | None = None,
    should_cancel: Callable[[], bool] | None = None,
) -> list[Path]:
    """Fetch ``items`` (those already cached are skipped); returns their snapshot paths.

    Raises ``Offline`` without a network, ``Cancelled`` when asked to stop (the partial
    file stays and the next call resumes it), ``DownloadError`` on a bad answer or file.
    """
    if hub_offline_forced():
        raise Offline(_offline_message(forced=True))
    cache_dir.mkdir(parents=True, exist_ok=True)
    wanted = [(item, cached_file(cache_dir, item)) for item in items]
    missing = [item for item, path in wanted if path is None]
    remotes = {}
    for item in missing:
        remote = remote_file(item)
        if remote is None:
            raise DownloadError(f"{item.repo_id} has no file {item.filename}")
        remotes[item] = remote
    total = sum(r.size or 0 for r in remotes.values())
    started = time.monotonic()
    base = 0
    resumed: dict[str, int] = {}

    def emit_for(name: str) -> Emit:
        def emit(have: int) -> None:
            if on_progress is None:
                return
            done = base + have
            resumed.setdefault(name, done)  # bytes already here: not part of the rate
            rate = (done - resumed[name]) / max(time.monotonic() - started, 1e-6)
            eta = (total - done) / rate if rate > 0 and total else None
            on_progress(Progress("downloading", done, total, name, rate, eta, "B"))

        return emit

    for item, remote in remotes.items():
        folder = repo_folder(cache_dir, item.repo_id)
        blob = folder / "blobs" / remote.etag
        blob.parent.mkdir(parents=True, exist_ok=True)
        if not blob.is_file():
            _fetch(remote, blob, emit_for(item.filename), should_cancel)
        _link(folder / "snapshots" / remote.commit / item.filename, blob)
        refs = folder / "refs"
        refs.mkdir(exist_ok=True)
        (refs / item.revision).write_text(remote.commit)
        base += remote.size or blob.stat().st_size
    return [cached_file(cache_dir, item) or Path() for item in items]


def _offline_message(forced: bool = False) -> str:
    where = endpoint()
    if forced:
        return "HF_HUB_OFFLINE is set, so the model cannot be downloaded"
    proxy = os.environ.get("HTTPS_PROXY") or os.environ.get("https_proxy")
    via = f" through the proxy {proxy}" if proxy and where.startswith("https") else ""
    return f"cannot reach the model hub at {where}{via}: no network connection"


# -- which files a model needs -----------------------------------------------------------------
HF_HUB_PREFIX = "hf-hub"

#: Where a download started implicitly (first use of a model) reports; the CLI sets a bar.
default_progress: ProgressCallback | None = None


def _safe_first(filename: str) -> list[str]:
    """open_clip prefers a .safetensors twin of a .bin/.pt file; ask for the same."""
    if filename == WEIGHT_NAMES[1]:
        return [WEIGHT_NAMES[0], filename]
    stem, ext = os.path.splitext(filename)
    return [stem + ".safetensors", filename] if ext in (".bin", ".pt", ".pth") else [filename]


def model_files(name: str, pretrained: str | None) -> tuple[str, list[str], list[str]] | None:
    """(repo id, files needed, alternatives for the weights) for a hub model, or None.

    ``hf-hub:ORG/REPO`` needs its config and weights; ``NAME:PRETRAINED`` needs the file
    open_clip's pretrained table names. None: open_clip fetches it some other way (a URL).
    """
    if name == HF_HUB_PREFIX and pretrained:
        return pretrained, [CONFIG_NAME], list(WEIGHT_NAMES)
    import open_clip

    cfg = open_clip.get_pretrained_cfg(name, pretrained or "") or {}
    hub = cfg.get("hf_hub") or ""
    if not hub:
        return None
    repo_id, filename = os.path.split(hub)  # "org/repo/" means the default file name
    return repo_id, [], _safe_first(filename or WEIGHT_NAMES[1])


def is_cached(name: str, pretrained: str | None, cache_dir: Path) -> bool:
    """True when every file the model needs is in the cache (no network needed)."""
    files = model_files(name, pretrained)
    if files is None:
        return False
    repo_id, needed, weights = files
    return all(cached_file(cache_dir, HubFile(repo_id, f)) for f in needed) and any(
        cached_file(cache_dir, HubFile(repo_id, f)) for f in weights
    )


def download_model(
    name: str,
    pretrained: str | None,
    cache_dir: Path,
    on_progress: ProgressCallback | None = None,
    should_cancel: Callable[[], bool] | None = None,
) -> list[Path]:
    """Fetch what the model needs into ``cache_dir``; see ``download`` for the errors."""
    files = model_files(name, pretrained)
    if files is None:
        raise DownloadError(f"model {name}:{pretrained} is not on the model hub")
    if hub_offline_forced():
        raise Offline(_offline_message(forced=True))
    repo_id, needed, weights = files
    items = [HubFile(repo_id, f) for f in needed]
    chosen = next((f for f in weights if cached_file(cache_dir, HubFile(repo_id, f))), None)
    if chosen is None:
        for candidate in weights:
            if remote_file(HubFile(repo_id, candidate)) is not None:
                chosen = candidate
                break
    if chosen is None:
        raise DownloadError(f"{repo_id} has none of {', '.join(weights)}")
    items.append(HubFile(repo_id, chosen))
    return download(items, cache_dir, on_progress or default_progress, should_cancel)
