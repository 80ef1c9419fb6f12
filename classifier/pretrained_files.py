"""ImageNet weight files in the torch cache: which file each architecture needs, its checksum, download and import.

torchvision names each file for the first hex digits of its SHA-256 (resnet18-f37072fd.pth), so a file in
the cache can be checked against its own name. Downloads use torch's own download-and-verify helper; nothing
reaches the cache until it is complete and checked, and then it arrives with one rename.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import shutil
import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.error import HTTPError, URLError
from urllib.request import Request, urlopen

import torch

from classifier.pretrained import weights_cache_dir
from classifier.registry import list_models, model_info
from classifier.weights import WeightsError, read_state_dict

DEFAULT_BASE_URL = "https://download.pytorch.org/models/"
IMAGENET_CLASSES = 1000
SUFFIXES = (".pth", ".pt", ".safetensors")
STALL_TIMEOUT_S = 60  # a server that sends nothing for this long ends the download
PROGRESS_EVERY_S = 0.5
_CHUNK = 1024 * 1024

Progress = Callable[[int, int | None], None]  # (bytes so far, total bytes or None when the server does not say)


class DownloadError(RuntimeError):
    """A download that did not put a file in the cache; the message says why, for a person."""


@dataclass(frozen=True)
class WeightsFile:
    """One ImageNet weights file torchvision publishes, and the registered architectures that start from it."""

    filename: str
    archs: tuple[str, ...]
    arch: str  # the architecture whose layers are exactly the file's (the others reuse its features)
    weights: str  # torchvision's enum name, e.g. "ResNet18_Weights.IMAGENET1K_V1"

    @property
    def hash_prefix(self) -> str | None:
        return hash_prefix(self.filename)

    @property
    def path(self) -> Path:
        """Return where torchvision's loaders (and Lux's) look for this file."""
        return weights_cache_dir() / self.filename


def weights_files() -> list[WeightsFile]:
    """Return every ImageNet weights file some registered architecture starts from, in registry order."""
    by_file: dict[str, list[str]] = {}
    for name in list_models():
        filename = model_info(name).weights_filename
        if filename:
            by_file.setdefault(filename, []).append(name)
    files = []
    for filename, archs in by_file.items():
        full = [name for name in archs if not model_info(name).small] or archs
        files.append(WeightsFile(filename=filename, archs=tuple(archs), arch=full[0],
                                 weights=model_info(full[0]).imagenet_weights))
    return files


def weights_file_for(name: str) -> WeightsFile:
    """Return the weights file architecture `name` starts from, or raise WeightsError saying which have one."""
    for entry in weights_files():
        if name in entry.archs:
            return entry
    with_weights = sorted({a for f in weights_files() for a in f.archs})
    raise WeightsError(f"{name} has no ImageNet weights; architectures that do: {', '.join(with_weights)}")


def hash_prefix(filename: str) -> str | None:
    """Return the SHA-256 prefix torchvision puts in a file name (resnet18-f37072fd.pth -> f37072fd), or None."""
    found = torch.hub.HASH_REGEX.search(filename)
    return found.group(1) if found and found.group(1) else None


def weights_url(filename: str, base_url: str = DEFAULT_BASE_URL) -> str:
    """Return where `filename` is downloaded from under `base_url`."""
    return base_url.rstrip("/") + "/" + filename


def file_sha256(path: str | os.PathLike) -> str:
    """Return the hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def matches_name(filename: str, sha256: str) -> bool | None:
    """Return whether `sha256` starts with the prefix in `filename` (None: the name carries none)."""
    prefix = hash_prefix(filename)
    return None if prefix is None else sha256.startswith(prefix)


def _size(n: int | None) -> str:
    if n is None:
        return "?"
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1000
    return str(n)


def _staging(cache: Path) -> Path:
    """Return a fresh private folder beside the cache (same file system: the final move is one rename)."""
    folder = cache.parent / "lux-partial" / uuid.uuid4().hex
    folder.mkdir(parents=True)
    return folder


def _watch(folder: Path, total: int | None, on_progress: Progress | None, done: threading.Event) -> None:
    """Report the bytes the partial file in `folder` holds until `done` (torch's helper reports only to a tqdm bar)."""
    while not done.wait(PROGRESS_EVERY_S):
        size = sum(p.stat().st_size for p in folder.glob("*") if p.is_file())
        try:
            on_progress(size, total)
        except Exception:  # a lost progress write costs one update, never the download
            pass


def _remote_size(url: str) -> int | None:
    """Return the Content-Length a HEAD request answers (None when unknown); raise DownloadError when unreachable."""
    try:
        with urlopen(Request(url, method="HEAD", headers={"User-Agent": "torch.hub"}),
                     timeout=STALL_TIMEOUT_S) as answer:
            length = answer.headers.get("Content-Length")
    except HTTPError as error:
        if error.code in (405, 501):  # a mirror that answers only GET: the download itself will tell
            return None
        raise DownloadError(f"{url} answered HTTP {error.code} ({error.reason}); nothing was downloaded") from error
    except (URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise DownloadError(f"cannot reach {url} ({reason}); nothing was downloaded") from error
    return int(length) if length and length.isdigit() else None


def download(entry: WeightsFile, *, base_url: str = DEFAULT_BASE_URL, on_progress: Progress | None = None) -> Path:
    """Download `entry` into the torch cache with torch's verified download; return its path there.

    The file is streamed into a private folder beside the cache, checked against the SHA-256 prefix in
    its name by torch.hub.download_url_to_file, and only then renamed into the cache: an interrupted,
    cut-short or corrupt download leaves nothing there and raises DownloadError saying why.
    """
    url = weights_url(entry.filename, base_url)
    target = entry.path
    target.parent.mkdir(parents=True, exist_ok=True)
    total = _remote_size(url)
    folder = _staging(target)
    done = threading.Event()
    watcher = threading.Thread(target=_watch, args=(folder, total, on_progress, done), daemon=True) \
        if on_progress else None
    staged = folder / entry.filename
    # torch's helper opens the URL without a timeout: a silent server would hold the worker for ever.
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(STALL_TIMEOUT_S)
    try:
        if watcher:
            watcher.start()
        torch.hub.download_url_to_file(url, str(staged), hash_prefix=entry.hash_prefix, progress=False)
        os.replace(staged, target)  # the one step that makes it visible: whole and checked, or not at all
    except RuntimeError as error:
        if "invalid hash value" not in str(error):
            raise
        raise DownloadError(f"the file downloaded from {url} does not match the checksum in its name "
                            f"({entry.hash_prefix}…): it was cut short, is corrupt, or is not torchvision's file; "
                            "nothing was kept") from error
    except (OSError, http.client.HTTPException) as error:  # refused, reset, cut short, silent
        raise DownloadError(_interrupted(url, folder, total, error)) from error
    finally:
        socket.setdefaulttimeout(previous)
        done.set()
        if watcher:
            watcher.join(timeout=5)
        shutil.rmtree(folder, ignore_errors=True)
    if on_progress:
        size = target.stat().st_size
        on_progress(size, total or size)
    return target


def _interrupted(url: str, folder: Path, total: int | None, error: BaseException) -> str:
    """Return why a download stopped, with how far it got (read from the partial file before it is removed)."""
    if isinstance(error, HTTPError):
        return f"{url} answered HTTP {error.code} ({error.reason}); nothing was kept"
    if isinstance(error, URLError):
        return f"cannot reach {url} ({error.reason}); nothing was kept"
    reason = str(error) or error.__class__.__name__
    if isinstance(error, TimeoutError):
        reason = f"the server sent nothing for {STALL_TIMEOUT_S} s"
    elif isinstance(error, http.client.IncompleteRead):
        reason = "the connection closed before the end of the file"
    got = sum(p.stat().st_size for p in folder.glob("*") if p.is_file())
    return (f"the download from {url} was interrupted after {_size(got)} of {_size(total)} ({reason}); "
            "nothing was kept")


# ---- bringing a file in by hand -----------------------------------------------------------------------

@dataclass(frozen=True)
class Installed:
    """A weights file put into the cache: where, its SHA-256, and how it was checked."""

    path: Path
    sha256: str
    check: str  # "checksum": torchvision's own file; "shapes": another file whose tensors fit the architecture


def expected_shapes(entry: WeightsFile) -> dict[str, tuple[int, ...]]:
    """Return the state-dict keys and shapes of `entry`'s architecture with its 1,000 ImageNet classes."""
    from classifier.factory import create_model

    with torch.device("meta"):  # shapes only: ViT-L this way costs milliseconds, not gigabytes
        model = create_model(entry.arch, num_classes=IMAGENET_CLASSES)
    return {key: tuple(value.shape) for key, value in model.state_dict().items()}


def check_shapes(entry: WeightsFile, state_dict: dict[str, torch.Tensor]) -> None:
    """Raise WeightsError unless `state_dict` has exactly the keys and shapes of `entry`'s architecture."""
    ours = expected_shapes(entry)
    theirs = {key: tuple(value.shape) for key, value in state_dict.items()}
    if ours == theirs:
        return
    missing = [k for k in ours if k not in theirs]
    unexpected = [k for k in theirs if k not in ours]
    wrong = [f"{k}: file {theirs[k]}, {entry.arch} {ours[k]}" for k in ours if k in theirs and ours[k] != theirs[k]]
    problems = ([f"{len(missing)} missing (e.g. {', '.join(missing[:3])})"] if missing else []) + \
        ([f"{len(unexpected)} unexpected (e.g. {', '.join(unexpected[:3])})"] if unexpected else []) + \
        ([f"{len(wrong)} with other shapes (e.g. {'; '.join(wrong[:2])})"] if wrong else [])
    guess = [f.arch for f in weights_files() if f.arch != entry.arch and _fits(f, theirs)]
    hint = f" They look like {guess[0]}'s ImageNet weights." if guess else ""
    raise WeightsError(f"these tensors are not {entry.arch}'s ImageNet weights: " + "; ".join(problems) + "." + hint)


def _fits(entry: WeightsFile, shapes: dict[str, tuple[int, ...]]) -> bool:
    try:
        return expected_shapes(entry) == shapes
    except (ValueError, RuntimeError):
        return False


def install(entry: WeightsFile, source: str | os.PathLike, *, original_name: str) -> Installed:
    """Check a weights file someone brought and put it in the cache; raise WeightsError (nothing stored) if it is wrong.

    A file named as torchvision names it must match the checksum in its name. Any other .pth or
    .safetensors file is read as tensors only (never unpickling objects) and must have exactly the
    architecture's tensor names and shapes; a .safetensors file is stored as a PyTorch file, as torch expects.
    """
    source = Path(source)
    name = Path(original_name).name
    suffix = Path(name).suffix.lower()
    if suffix not in SUFFIXES:
        raise WeightsError(f"{name} is neither a .pth nor a .safetensors file: upload torchvision's "
                           f"{entry.filename}, or a state dict of {entry.arch} saved as .pth or .safetensors")
    sha256 = file_sha256(source)
    if name == entry.filename:
        if not sha256.startswith(entry.hash_prefix or ""):
            raise WeightsError(f"{name}'s SHA-256 begins {sha256[:8]}, but torchvision's file of that name begins "
                               f"{entry.hash_prefix}: it is corrupt, cut short or another file renamed; nothing was "
                               "stored")
        return Installed(_place(entry, source, copy=True), sha256, "checksum")
    state_dict = read_state_dict(source)  # weights_only / safetensors: a pickle of objects is refused unread
    check_shapes(entry, state_dict)
    if sha256.startswith(entry.hash_prefix or "\0"):  # torchvision's own file under another name
        return Installed(_place(entry, source, copy=True), sha256, "checksum")
    if suffix == ".safetensors":
        folder = _staging(entry.path)
        try:
            converted = folder / entry.filename
            torch.save(state_dict, converted)
            path = _place(entry, converted, copy=False)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return Installed(path, file_sha256(path), "shapes")
    return Installed(_place(entry, source, copy=True), sha256, "shapes")


def _place(entry: WeightsFile, source: Path, *, copy: bool) -> Path:
    """Move (or copy, then move) `source` into the cache under torchvision's name with one rename."""
    target = entry.path
    target.parent.mkdir(parents=True, exist_ok=True)
    if copy:
        folder = _staging(target)
        try:
            staged = folder / entry.filename
            shutil.copyfile(source, staged)
            os.replace(staged, target)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    else:
        os.replace(source, target)
    return target
