"""Label-error checks of a frozen version: out-of-sample probabilities by k-fold, then confident learning.

The engine is training.datacheck.labels; this module starts the job (GPU queue), runs it in the worker, and
acts on what it found (relabel, keep, remove), through the datasets app's own services.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from webapp.core.errors import FieldError
from webapp.core.ids import parse_id
from webapp.core.reaping import new_token, send_on_commit
from webapp.datachecks.models import CheckKind, CheckStatus, DataCheck
from webapp.datachecks.services.reaper import CHECKS
from webapp.datasets.models import Dataset, DatasetVersion, Image
from webapp.datasets.services import bulk
from webapp.datasets.signals import ACCEPTED

FOLDS = 5
MAX_SUSPECTS = 500  # kept per check, most suspect first
MIN_IMAGES = 10


class SuspectGone(FieldError):
    status = 409


def start_label_check(dataset: Dataset, user, version: DatasetVersion | None) -> DataCheck:
    """Queue a label check of `version` (default: the latest) on the run queue; one already waiting is returned."""
    version = version or dataset.versions.order_by("-number").first()
    if version is None:
        raise FieldError("Freeze a version first: a label check trains small models on a frozen version.", "version")
    images = (version.counts or {}).get("total") or version.entries.count()
    if images < MIN_IMAGES or len(version.class_names) < 2:
        raise FieldError(f"A label check needs at least {MIN_IMAGES} images in two classes; v{version.number} has "
                         f"{images} in {len(version.class_names)}.", "version")
    with transaction.atomic():
        Dataset.objects.select_for_update().filter(pk=dataset.pk).first()
        busy = DataCheck.objects.filter(dataset=dataset, kind=CheckKind.LABELS, version=version,
                                        status__in=(CheckStatus.QUEUED, CheckStatus.RUNNING)).first()
        if busy is not None:
            return busy
        token = new_token()
        check = DataCheck.objects.create(dataset=dataset, version=version, kind=CheckKind.LABELS, created_by=user,
                                         revision=version.revision, status=CheckStatus.QUEUED, task_id=token,
                                         queued_at=timezone.now(), total=FOLDS)
        send_on_commit(CHECKS, check.pk, token, quiet=True)
    return check


def engine_config():
    """Return the cross-validation model's settings (the engine's fast default; tests make it smaller)."""
    from training.datacheck.labels import fast_config

    return fast_config()


class Stopped(Exception):
    """The worker lost the check's lease: stop training folds."""


def run_label_check(check: DataCheck, progress, *, stop) -> dict:
    """Train one small model per fold, score each image out of sample, and rank the label suspects (worker)."""
    from training.datacheck.labels import label_suspects, out_of_sample_probabilities
    from webapp.runs.services.conf import cache_dir
    from webapp.runs.services.datasets import version_source

    source, image_ids = version_source(check.version)
    labels = [record.label for record in source.records]

    def on_fold(done: int, total: int) -> None:
        if stop():
            raise Stopped()
        progress(done, total)

    probs = out_of_sample_probabilities(source, folds=FOLDS, config=engine_config(), progress=on_fold,
                                        cache_dir=cache_dir())
    suspects = label_suspects(probs, labels, limit=MAX_SUSPECTS)
    names = list(check.version.class_names)
    rows = [[image_ids[s.index], s.given, s.suggested, round(s.confidence, 4)] for s in suspects]
    return {"counts": {"images": len(labels), "suspects": len(rows), "folds": FOLDS},
            "results": {"suspects": rows, "class_names": names, "kept": []}}


def suspects(check: DataCheck, *, include_kept: bool = False) -> list[dict]:
    """Return the check's suspects still worth a look: live images, most suspect first, with classes by name."""
    results = check.results or {}
    names = results.get("class_names") or []
    kept = set(results.get("kept") or [])
    rows = [r for r in results.get("suspects") or [] if include_kept or r[0] not in kept]
    images = {img.pk: img for img in Image.objects.filter(pk__in=[r[0] for r in rows], deleted_at__isnull=True)
              .select_related("label")}
    out = []
    for image_id, given, suggested, confidence in rows:
        image = images.get(image_id)
        if image is None:
            continue
        out.append({"image": image, "given": names[given], "suggested": names[suggested],
                    "confidence": confidence, "current": image.label.name if image.label_id else None,
                    "fixed": image.label_id is not None and image.label.name == names[suggested]})
    return out


def act(check: DataCheck, image_id, action: str, *, user=None) -> str:
    """Relabel a suspect as suggested, keep its label (hide it from the list), or remove it; return what was done."""
    image_id = parse_id(image_id)
    row = next((r for r in (check.results or {}).get("suspects") or [] if r[0] == image_id), None)
    if row is None:
        raise FieldError("That image is not a suspect of this check.", "image")
    names = (check.results or {}).get("class_names") or []
    dataset = check.dataset
    image = Image.objects.filter(pk=image_id, dataset=dataset).select_related("label").first()
    if image is None or image.deleted_at is not None:
        raise SuspectGone(f"Image {image_id} was removed from {dataset.name} already; nothing was changed.")
    if action == "relabel":
        target = dataset.classes.filter(name=names[row[2]]).first()
        if target is None:
            raise SuspectGone(f"{dataset.name} has no class “{names[row[2]]}” any more; nothing was changed.")
        if image.label_id == target.pk:
            raise SuspectGone(f"“{image}” is already labelled {target.name}; nothing was changed.")
        # The check's k-fold models suggested the class: the image's history names the check.
        bulk.relabel(dataset, [image.pk], target, user=user, origin=ACCEPTED, model_ref=f"check:{check.pk}")
        return (f"“{image}” is now labelled {target.name}. v{check.version.number} keeps its old label; "
                "the next version will have the new one.")
    if action == "keep":
        with transaction.atomic():
            fresh = DataCheck.objects.select_for_update().get(pk=check.pk)
            results = dict(fresh.results or {})
            results["kept"] = sorted(set(results.get("kept") or []) | {image.pk})
            DataCheck.objects.filter(pk=check.pk).update(results=results)
        return f"Kept “{image}” as {image.label.name if image.label_id else 'unlabelled'}; it leaves this list."
    if action == "remove":
        bulk.delete_images(dataset, [image.pk])
        return f"“{image}” was removed from {dataset.name}. v{check.version.number} still holds it."
    raise FieldError("The action is relabel, keep or remove.", "action")
