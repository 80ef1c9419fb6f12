"""Start downloads of ImageNet weights files: one job per file, on the `default` queue, watched by the reaper."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from classifier import pretrained_files
from classifier.pretrained_files import WeightsFile
from classifier.registry import UnknownModel
from classifier.weights import WeightsError
from webapp.core.errors import FieldError
from webapp.core.reaping import new_token, send_on_commit
from webapp.weights.models import DownloadStatus, WeightsFileRecord
from webapp.weights.services.access import require_manager
from webapp.weights.services.catalogue import offline
from webapp.weights.services.reaper import DOWNLOADS


class OfflineError(FieldError):
    """Downloading is turned off on this server (LUX_OFFLINE)."""

    status = 409


OFFLINE_MESSAGE = ("This server is offline (LUX_OFFLINE=true), so it downloads nothing. Upload the file on the "
                   "Pretrained weights page, or copy it to the server and run `manage.py weights import FILE "
                   "--arch NAME`.")


def resolve(names: list[str]) -> list[WeightsFile]:
    """Return the files named (architectures or torchvision file names), once each; raise FieldError if unknown."""
    by_filename = {f.filename: f for f in pretrained_files.weights_files()}
    out: dict[str, WeightsFile] = {}
    for name in names:
        name = str(name).strip()
        try:
            entry = by_filename.get(name) or pretrained_files.weights_file_for(name)
        except (UnknownModel, WeightsError) as error:
            raise FieldError(str(error), "names") from None
        out[entry.filename] = entry
    if not out:
        raise FieldError("Name at least one architecture to download weights for.", "names")
    return list(out.values())


def start_downloads(user, names: list[str]) -> list[WeightsFileRecord]:
    """Queue a download of each named file (a file already downloading keeps its job); return their rows."""
    require_manager(user)
    if offline():
        raise OfflineError(OFFLINE_MESSAGE)
    rows = []
    for entry in resolve(names):
        with transaction.atomic():
            row, _ = WeightsFileRecord.objects.select_for_update().get_or_create(
                filename=entry.filename, defaults={"arch": entry.arch})
            if row.status not in (DownloadStatus.QUEUED, DownloadStatus.RUNNING):
                token = new_token()
                WeightsFileRecord.objects.filter(pk=row.pk).update(
                    status=DownloadStatus.QUEUED, task_id=token, sent_at=None, queued_at=timezone.now(),
                    bytes_done=0, bytes_total=None, error="", requested_by=user, attempts=0, worker="",
                    heartbeat_at=None, started_at=None, finished_at=None)
                send_on_commit(DOWNLOADS, row.pk, token, quiet=True)  # unsent: the reaper sends it later
            row.refresh_from_db()
        rows.append(row)
    return rows
