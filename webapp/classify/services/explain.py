"""Why did it decide that: Grad-CAM or attention rollout, feature maps per stage and first-layer filters.

Computed on the interactive queue's worker, not in the web process: that worker never trains, already holds
the model in its LRU (an explanation usually follows a quick test of the same model), has the GPU when there
is one, and keeps torch's memory out of the web processes (worker/explain.py). For a small model the whole set
takes well under a second on a CPU (Grad-CAM is one forward and one backward pass). The request waits for it
at most LUX_QUICK_WAIT_SECONDS (services/interactive.py), then the page (or API client) polls.
"""

from __future__ import annotations

import uuid

from celery.exceptions import TimeoutError as CeleryTimeout
from django.conf import settings
from django.core.files.base import ContentFile, File
from django.core.files.storage import default_storage
from django.db import transaction

from webapp.classify.models import Explanation, ExplanationStatus
from webapp.classify.services import interactive, refs
from webapp.classify.services.reaper import EXPLANATIONS
from webapp.core import reaping
from webapp.core.errors import FieldError
from webapp.datasets.validation import format_bytes


class ExplainError(FieldError):
    """The explanation cannot be made; `field` names the input at fault."""


def create_explanation(user, model_ref: str, *, data: bytes | File, name: str, class_index: int | None = None,
                       layer: str = "", wait: bool = True) -> Explanation:
    """Store the image (bytes, or an uploaded file whose size is checked before a byte of it is read), ask
    the interactive worker to explain it, and wait briefly for the answer."""
    source = refs.resolve(user, model_ref)
    size = len(data) if isinstance(data, bytes) else data.size
    if not size:
        raise ExplainError("Choose an image.", "image")
    if size > settings.LUX_MAX_UPLOAD_BYTES:
        raise ExplainError(f"The image is {format_bytes(size)}; the limit is "
                           f"{format_bytes(settings.LUX_MAX_UPLOAD_BYTES)}.", "image")
    content = ContentFile(data) if isinstance(data, bytes) else data  # a file is copied to storage in chunks
    stored = default_storage.save(f"classify/explanations/inputs/{uuid.uuid4().hex}.img", content)
    explanation = Explanation.objects.create(owner=user, model_ref=source.ref, model_label=source.label[:300],
                                             image=stored, original_name=str(name or "image")[:500],
                                             class_index=class_index, layer=layer)
    return request_explanation(explanation, class_index=class_index, layer=layer, wait=wait)


def request_explanation(explanation: Explanation, *, class_index: int | None, layer: str = "",
                        wait: bool = True) -> Explanation:
    """(Re)compute an explanation, for the top class or `class_index`, through `layer` ("": the automatic
    choice); wait briefly for it when asked."""
    from webapp.classify.tasks import explain

    result = explanation.result or {}
    classes = result.get("classes")
    if class_index is not None and classes is not None and not 0 <= class_index < classes:
        raise ExplainError(f"Choose a class between 0 and {classes - 1}.", "class_index")
    known = [row["name"] for row in result.get("layers", [])]
    if layer and known and layer not in known:
        raise ExplainError(f"Choose one of the layers offered ({', '.join(known)}), or the automatic choice.",
                           "layer")
    task_id = reaping.new_token()  # the attempt token: an older message still in the queue then does nothing
    Explanation.objects.filter(pk=explanation.pk).update(class_index=class_index, layer=layer, error="",
                                                         **EXPLANATIONS.queued_fields(task_id))
    reaping.send_on_commit(EXPLANATIONS, explanation.pk, task_id)  # to the queue the task declares
    if wait and transaction.get_autocommit():
        try:
            explain.AsyncResult(task_id).get(timeout=interactive.wait_s(), interval=0.05, propagate=False)
        except CeleryTimeout:
            pass  # the page polls until the worker is done
    explanation.refresh_from_db()
    return explanation


def finished(explanation: Explanation) -> bool:
    """Return whether the worker is done with the explanation, well or not."""
    return explanation.status in (ExplanationStatus.SUCCEEDED, ExplanationStatus.FAILED)


def waiting_note(explanation: Explanation) -> str:
    """Return what a person waiting on the explanation should know: nothing, or that no worker would compute it."""
    if explanation.status == ExplanationStatus.QUEUED and not interactive.worker_alive():
        return interactive.NO_WORKER
    return ""


def delete_explanation(explanation: Explanation) -> None:
    """Delete an explanation with its image and PNGs."""
    names = [explanation.image, *png_names(explanation).values()]
    explanation.delete()
    for name in names:
        if name:
            default_storage.delete(name)


def png_names(explanation: Explanation) -> dict[str, str]:
    """Return {kind: storage name} of every PNG the explanation shows (kinds: input, overlay, stage-conv1, ...)."""
    result = explanation.result or {}
    names = dict(result.get("images", {}))
    names.update({f"stage-{s['name']}": s["image"] for s in result.get("stages", [])})
    return names
