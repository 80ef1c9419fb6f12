"""The state of every ImageNet weights file: present, size, checksum, download progress, runs that used it."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings
from django.utils import timezone

from classifier import pretrained_files
from classifier.pretrained_files import WeightsFile, file_sha256, matches_name
from webapp.runs.models import TrainingRun
from webapp.weights.models import Check, DownloadStatus, WeightsFileRecord

RUNS_SHOWN = 5

# What a person reads for each checksum state.
CHECKSUM_LABELS = {
    "verified": "SHA-256 matches torchvision's",
    "shapes": "checked by its tensor shapes (not torchvision's own file)",
    "mismatch": "SHA-256 does not match torchvision's: replace it",
    "missing": "",
}


def offline() -> bool:
    """Return whether downloading is turned off (LUX_OFFLINE)."""
    return bool(getattr(settings, "LUX_OFFLINE", False))


def base_url() -> str:
    """Return where weights files are downloaded from (LUX_WEIGHTS_BASE_URL)."""
    from classifier.pretrained_files import DEFAULT_BASE_URL

    return getattr(settings, "LUX_WEIGHTS_BASE_URL", "") or DEFAULT_BASE_URL


@dataclass
class FileState:
    """One weights file as a page shows it."""

    entry: WeightsFile
    record: WeightsFileRecord | None
    present: bool
    size: int | None
    checksum: str  # "verified", "shapes", "mismatch" or "missing"
    runs: list = field(default_factory=list)
    run_count: int = 0

    @property
    def checksum_label(self) -> str:
        return CHECKSUM_LABELS[self.checksum]

    @property
    def downloading(self) -> bool:
        return bool(self.record and self.record.status in (DownloadStatus.QUEUED, DownloadStatus.RUNNING))

    def to_dict(self) -> dict:
        """Return what the status endpoint answers for this file."""
        record = self.record
        done = record.bytes_done if record else 0
        total = record.bytes_total if record else None
        return {
            "filename": self.entry.filename, "arch": self.entry.arch, "archs": list(self.entry.archs),
            "present": self.present, "size": self.size, "checksum": self.checksum,
            "checksum_label": self.checksum_label,
            "download": {
                "status": record.status if record else DownloadStatus.IDLE,
                "bytes_done": done, "bytes_total": total,
                "percent": round(100 * done / total, 1) if total else None,
                "started_at": record.started_at.isoformat() if record and record.started_at else None,
                "error": record.error if record else "",
            },
            "run_count": self.run_count,
        }


def checksum_state(entry: WeightsFile, record: WeightsFileRecord | None) -> tuple[str, WeightsFileRecord | None]:
    """Return the file's checksum state, hashing it only when it changed since it was last checked."""
    path = entry.path
    if not path.is_file():
        return "missing", record
    stat = path.stat()
    if record is None or record.checked_size != stat.st_size or record.checked_mtime_ns != stat.st_mtime_ns:
        sha256 = file_sha256(path)  # once per new file: a copied-in 500 MB file takes about a second
        record, _ = WeightsFileRecord.objects.get_or_create(filename=entry.filename, defaults={"arch": entry.arch})
        fits = matches_name(entry.filename, sha256)
        known_shapes = record.verified_by == Check.SHAPES and record.sha256 == sha256
        record.sha256, record.checked_size, record.checked_mtime_ns = sha256, stat.st_size, stat.st_mtime_ns
        record.verified_by = Check.CHECKSUM if fits else (Check.SHAPES if known_shapes else "")
        record.updated_at = timezone.now()
        record.save(update_fields=["sha256", "checked_size", "checked_mtime_ns", "verified_by", "updated_at"])
    if record.verified_by == Check.CHECKSUM:
        return "verified", record
    return ("shapes" if record.verified_by == Check.SHAPES else "mismatch"), record


def runs_using(user, entry: WeightsFile):
    """Return the runs `user` may see that started from this file's ImageNet weights, newest first."""
    return (TrainingRun.objects.visible_to(user).filter(arch__in=entry.archs, config__pretrained="imagenet")
            .order_by("-created_at"))


def file_states(user, *, with_runs: bool = True) -> list[FileState]:
    """Return every ImageNet weights file, in registry order, as `user` may see it."""
    records = {r.filename: r for r in WeightsFileRecord.objects.all()}
    states = []
    for entry in pretrained_files.weights_files():
        checksum, record = checksum_state(entry, records.get(entry.filename))
        present = checksum != "missing"
        state = FileState(entry, record, present, entry.path.stat().st_size if present else None, checksum)
        if with_runs:
            runs = runs_using(user, entry)
            state.run_count = runs.count()
            state.runs = list(runs[:RUNS_SHOWN])
        states.append(state)
    return states
