"""Bring an ImageNet weights file in by hand (air-gapped servers): checked, then moved into the torch cache."""

from __future__ import annotations

import tempfile
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from classifier import pretrained_files
from classifier.pretrained_files import SUFFIXES, Installed, install
from classifier.registry import UnknownModel
from classifier.weights import WeightsError
from webapp.core.errors import FieldError
from webapp.datasets.validation import as_sentence, format_bytes
from webapp.weights.models import Check, Origin, WeightsFileRecord
from webapp.weights.services.access import require_manager


def max_weights_bytes() -> int:
    """Return the largest weights file accepted (LUX_MAX_MODEL_BYTES, default 2 GiB: ViT-L/16 is 1.2 GB)."""
    return int(getattr(settings, "LUX_MAX_MODEL_BYTES", 2 * 1024**3))


def install_file(user, arch: str, path: Path, *, original_name: str, origin: str) -> WeightsFileRecord:
    """Check the file at `path` for `arch` and put it in the cache; raise FieldError (nothing stored) if wrong."""
    try:
        entry = pretrained_files.weights_file_for(arch)
    except (UnknownModel, WeightsError) as error:
        raise FieldError(str(error), "arch") from None
    try:
        installed: Installed = install(entry, path, original_name=original_name)
    except WeightsError as error:
        raise FieldError(as_sentence(str(error), keep_case=True), "file") from None
    stat = installed.path.stat()
    record, _ = WeightsFileRecord.objects.get_or_create(filename=entry.filename, defaults={"arch": entry.arch})
    record.sha256, record.checked_size, record.checked_mtime_ns = installed.sha256, stat.st_size, stat.st_mtime_ns
    record.verified_by = Check.CHECKSUM if installed.check == "checksum" else Check.SHAPES
    record.origin, record.installed_at = origin, timezone.now()
    record.installed_by = user if user is not None and user.is_authenticated else None
    record.updated_at = timezone.now()
    record.save()
    return record


def upload(user, arch: str, uploaded) -> WeightsFileRecord:
    """Store an uploaded .pth or .safetensors file for `arch` (staff only), or raise FieldError saying why not."""
    require_manager(user)
    name = Path(str(getattr(uploaded, "name", "") or "")).name
    if uploaded is None or not name:
        raise FieldError("Choose a .pth or .safetensors file to upload.", "file")
    if Path(name).suffix.lower() not in SUFFIXES:
        raise FieldError(f"{name} is neither a .pth nor a .safetensors file.", "file")
    if not uploaded.size:
        raise FieldError("The file is empty.", "file")
    if uploaded.size > max_weights_bytes():
        raise FieldError(f"The file is {format_bytes(uploaded.size)}; the limit is "
                         f"{format_bytes(max_weights_bytes())} (LUX_MAX_MODEL_BYTES).", "file")
    if hasattr(uploaded, "temporary_file_path"):  # Django already streamed a large upload to disk: read it there
        return install_file(user, arch, Path(uploaded.temporary_file_path()), original_name=name,
                            origin=Origin.UPLOAD)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "upload"
        with open(path, "wb") as out:
            for chunk in uploaded.chunks():
                out.write(chunk)
        return install_file(user, arch, path, original_name=name, origin=Origin.UPLOAD)
