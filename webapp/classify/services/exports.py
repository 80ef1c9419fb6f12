"""Export a run's model to TorchScript or ONNX on the worker, with the parity check recorded and shown.

The export is a ModelArtifact of the run (kind torchscript or onnx) whose `details` hold its state
(queued, running, done, failed) and, once done, classifier.export's parity dict: the exported file and
the PyTorch model run on a handful of the run's validation images, compared by max |logit difference| and
top-1 agreement. A check that fails is stored and shown as failing, never hidden. The export itself runs
in worker/export.py. A run's files (weights, checkpoint, exports) are downloaded through here too.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.http import FileResponse

from webapp.classify.services.access import get_downloadable
from webapp.classify.services.reaper import EXPORTS
from webapp.core import reaping
from webapp.core.files import download_file
from webapp.runs.models import ModelArtifact, RunStatus, TrainingRun

FORMATS = {"torchscript": ("model.torchscript.pt", ModelArtifact.Kind.TORCHSCRIPT),
           "onnx": ("model.onnx", ModelArtifact.Kind.ONNX)}
DOWNLOAD_NAMES = {"weights": "model.safetensors", "checkpoint": "checkpoint.pt",
                  "torchscript": "model.torchscript.pt", "onnx": "model.onnx"}


class ExportRequestError(ValueError):
    """The export cannot be started; `status` is the HTTP status."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.message = message
        self.status = status


def exports_of(run: TrainingRun) -> dict[str, ModelArtifact]:
    """Return {format: newest export artifact} of a run."""
    found = {}
    for fmt, (_, kind) in FORMATS.items():
        artifact = run.artifacts.filter(kind=kind).order_by("-created_at").first()
        if artifact is not None:
            found[fmt] = artifact
    return found


def request_export(run: TrainingRun, fmt: str, *, user) -> ModelArtifact:
    """Queue an export of the run's weights to `fmt` ("torchscript" or "onnx"); return its artifact row."""
    from webapp.classify.services.refs import weights_of

    if fmt not in FORMATS:
        raise ExportRequestError(f"Choose a format: {', '.join(FORMATS)}.")
    if run.status != RunStatus.SUCCEEDED or weights_of(run) is None:
        raise ExportRequestError("Only a run that finished and saved its weights can be exported.", status=409)
    filename, kind = FORMATS[fmt]
    busy = run.artifacts.filter(kind=kind, details__state__in=["queued", "running"]).first()
    if busy is not None:
        return busy
    relative = f"{run.output_dir or f'runs/{run.pk}'}/exports/{uuid.uuid4().hex[:8]}/{filename}"
    task_id = reaping.new_token()
    with transaction.atomic():
        artifact = ModelArtifact.objects.create(run=run, kind=kind, path=relative, created_by=user,
                                                details={"format": fmt, **EXPORTS.queued_details(task_id)})
        reaping.send_on_commit(EXPORTS, artifact.pk, task_id)
    return artifact


def artifact_download(user, pk) -> FileResponse:
    """Return the download of a run's weights, checkpoint or finished export if `user` may see the run."""
    artifact = get_downloadable(user, pk)
    path = Path(settings.MEDIA_ROOT) / artifact.path
    return download_file(path, f"run-{artifact.run_id}-{DOWNLOAD_NAMES.get(artifact.kind, path.name)}")
