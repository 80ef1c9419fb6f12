"""Every route Lux answers, walked from Django's URL resolver (the API router's routes included), and how to
fill each route's object ids from tests/webapp/world.py's world.

A route with an object id in its path must be in ROUTES (its kwargs and what its owner gets per method) or in
EXEMPT (with the reason): tests/webapp/test_isolation_every_route.py fails on one that is in neither.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.urls import URLPattern, URLResolver, get_resolver

# Path parts that name no object: a format suffix (.json) and the API's catch-all that answers a JSON 404.
NOT_IDS = {"format", "path"}


@dataclass(frozen=True)
class Route:
    """One leaf of the URL tree: its full pattern, name, path kwargs and methods (API: from the viewset)."""

    pattern: str
    name: str | None
    kwargs: tuple[str, ...]
    api: bool
    methods: tuple[str, ...] = ()  # the viewset's methods; empty for pages (their decorators do not say)

    @property
    def has_object_id(self) -> bool:
        return any(name not in NOT_IDS for name in self.kwargs)


def _kwargs(pattern) -> tuple[str, ...]:
    regex = pattern.pattern.regex if hasattr(pattern.pattern, "regex") else None
    names = tuple(regex.groupindex) if regex is not None else ()
    return names or tuple(getattr(pattern.pattern, "converters", {}))


def _walk(patterns, prefix: str, kwargs: tuple[str, ...]):
    for pattern in patterns:
        here = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, here, kwargs + _kwargs(pattern))
        elif isinstance(pattern, URLPattern):
            actions = getattr(pattern.callback, "actions", None) or {}
            yield Route(pattern=here, name=pattern.name, kwargs=kwargs + _kwargs(pattern),
                        api=here.startswith("api/"), methods=tuple(m.upper() for m in actions))


def all_routes() -> list[Route]:
    """Return every route of the URL tree, in its order."""
    return list(_walk(get_resolver().url_patterns, "", ()))


@dataclass(frozen=True)
class Visit:
    """Fill a route's kwargs from the world; what the owner gets for each method (405: the route refuses it)."""

    kwargs: Callable[[object], dict]
    owner: dict[str, int] = field(default_factory=dict)
    data: dict = field(default_factory=dict)  # the body of a POST, PUT or PATCH
    multipart: bool = False  # API: send the body as a form (an endpoint that takes files), not JSON


def visit(kwargs, **owner: int) -> list[Visit]:
    return [Visit(kwargs, owner)]


def ds(**extra):
    return lambda w: {"pk": w.dataset.pk, **{k: v(w) for k, v in extra.items()}}


def pk(attr: str):
    return lambda w: {"pk": getattr(w, attr).pk}


# Page routes: a POST-only page answers GET with 405 to everyone, before it looks anything up, so that 405 tells
# an outsider nothing (the test checks the outsider gets the same 405). Owner POSTs send an empty body, so a form
# page answers 200 or 400 with its errors and an action redirects (302) with a message saying why it did nothing.
PAGE_ROUTES: dict[str, list[Visit]] = {
    "dataset_detail": visit(ds(), GET=200),
    "dataset_edit": visit(ds(), GET=200, POST=200),
    "dataset_delete": visit(ds(), GET=200, POST=400),  # a run uses its version
    "dataset_upload": visit(ds(), GET=200),
    "dataset_upload_files": visit(ds(), GET=405, POST=400),
    "import_create": visit(ds(), GET=200, POST=200),
    "import_detail": visit(ds(import_pk=lambda w: w.upload.pk), GET=200),
    "import_status": visit(ds(import_pk=lambda w: w.upload.pk), GET=200),
    "dataset_browse": visit(ds(), GET=200),
    "dataset_bulk_action": visit(ds(), GET=405, POST=302),
    "image_detail": visit(ds(image_pk=lambda w: w.image.pk), GET=200, POST=200),
    "image_file": visit(ds(image_pk=lambda w: w.image.pk), GET=200),
    "image_thumbnail": visit(ds(image_pk=lambda w: w.image.pk), GET=200),
    "class_list": visit(ds(), GET=200),
    "class_create": visit(ds(), GET=405, POST=400),
    "class_merge": visit(ds(), GET=405, POST=400),
    "class_rename": visit(ds(class_pk=lambda w: w.classes[0].pk), GET=200, POST=200),
    "class_delete": visit(ds(class_pk=lambda w: w.classes[0].pk), GET=200, POST=200),
    "dataset_split": visit(ds(), GET=200, POST=200),
    "version_list": visit(ds(), GET=200),
    "version_freeze": visit(ds(), GET=405, POST=302),
    "version_detail": visit(ds(number=lambda w: w.version.number), GET=200),
    "version_download": visit(ds(number=lambda w: w.version.number), GET=200),
    "label_page": visit(ds(), GET=200),
    "label_queue": visit(ds(), GET=200),
    "label_image": visit(ds(), GET=405, POST=400),  # an empty body names no image
    "label_undo": visit(ds(), GET=405, POST=400),  # an empty body names no label
    "label_prelabel": visit(ds(), GET=405, POST=302),  # an empty body names no model: back, saying so
    "label_prelabel_status": visit(ds(), GET=200),
    "label_prelabel_cancel": visit(ds(), GET=405, POST=302),  # the world's job has finished: back, saying so
    "label_bulk": visit(ds(), GET=200, POST=400),  # an empty body names no class
    "label_batch_undo": visit(ds(batch_pk=lambda w: w.label_batch.pk), GET=405, POST=302),
    "label_grid": visit(ds(), GET=200, POST=302),  # an empty body: back to the grid, saying why
    "label_retrain": visit(ds(), GET=405, POST=302),  # no new labels since the suggestions: back, saying so
    "datachecks_page": visit(ds(), GET=200),
    "datachecks_run": visit(ds(), GET=405, POST=302),  # an empty body: the default threshold
    "datachecks_status": visit(ds(), GET=200),
    "datachecks_fix": visit(ds(), GET=405, POST=400),  # an empty body names no group
    "datachecks_labels": visit(ds(), GET=200),
    "datachecks_labels_run": visit(ds(), GET=405, POST=400),  # the world's version is too small to check
    "datachecks_labels_act": visit(ds(), GET=405, POST=400),  # an empty body names no suspect
    "datachecks_outliers": visit(ds(), GET=200),
    "datachecks_outliers_run": visit(ds(), GET=405, POST=302),  # the world's run embeds its version
    "datachecks_similar": visit(ds(image_pk=lambda w: w.image.pk), GET=200),
    "run_detail": visit(pk("run"), GET=200),
    "run_status": visit(pk("run"), GET=200),
    "run_cancel": visit(pk("run"), GET=405, POST=302),
    "search_detail": visit(pk("search"), GET=200),
    "search_status": visit(pk("search"), GET=200),
    "search_cancel": visit(pk("search"), GET=405, POST=302),  # the world's search has finished: back, saying so
    "run_resume": visit(pk("run"), GET=405, POST=302),
    "run_rerun": visit(pk("run"), GET=200),
    "run_rerun_suggested": visit(pk("run"), GET=405, POST=302),  # no warnings: back to the run, saying so
    "run_retrain": visit(pk("run"), GET=405, POST=302),  # back to the run, saying why it cannot (run-retrain)
    "run_evaluate": visit(pk("run"), GET=200, POST=200),
    "run_weights": visit(pk("run"), GET=200),
    "evaluation_detail": visit(pk("evaluation"), GET=200),
    "evaluation_status": visit(pk("evaluation"), GET=200),
    "evaluation_cell": visit(lambda w: {"pk": w.evaluation.pk, "true": w.prediction.true_index,
                                        "pred": w.prediction.predicted_index}, GET=200),
    "gallery_relabel": visit(lambda w: {"pk": w.evaluation.pk, "image_id": w.prediction.image_id},
                             GET=405, POST=302),
    "gallery_remove": visit(lambda w: {"pk": w.evaluation.pk, "image_id": w.prediction.image_id},
                            GET=405, POST=302),
    "evaluation_confusion_csv": visit(pk("evaluation"), GET=200),
    "evaluation_per_class_csv": visit(pk("evaluation"), GET=200),
    "evaluation_predictions_csv": visit(pk("evaluation"), GET=200),
    "network_edit": visit(pk("network"), GET=200, POST=200),
    "classify_job": visit(pk("job"), GET=200),
    "classify_job_status": visit(pk("job"), GET=200),
    "classify_job_files": visit(pk("pending_job"), GET=405, POST=200),
    "classify_job_start": visit(pk("pending_job"), GET=405, POST=302),
    "classify_job_cancel": visit(pk("pending_job"), GET=405, POST=302),
    "classify_job_delete": visit(pk("job"), GET=405, POST=302),
    "classify_job_csv": visit(pk("job"), GET=200),
    "classify_job_json": visit(pk("job"), GET=200),
    "classify_job_thumbnail": visit(lambda w: {"pk": w.job.pk, "position": 0}, GET=200),
    "classify_job_explain": visit(lambda w: {"pk": w.job.pk, "position": 0}, GET=405, POST=302),
    "classify_job_to_dataset": visit(pk("job"), GET=200, POST=400),  # an empty body names no dataset
    "classify_imported_delete": visit(pk("imported"), GET=405, POST=302),
    "classify_model_card": [Visit(lambda w: {"kind": "run", "key": w.run.pk}, {"GET": 200}),
                            Visit(lambda w: {"kind": "imported", "key": w.imported.pk}, {"GET": 200})],
    "classify_export": visit(lambda w: {"pk": w.run.pk, "fmt": "onnx"}, GET=405, POST=302),
    "classify_export_status": visit(pk("run"), GET=200),
    "classify_artifact_download": [Visit(pk("weights"), {"GET": 200}), Visit(pk("export"), {"GET": 200})],
    "classify_explanation": visit(pk("explanation"), GET=200),
    "classify_explanation_status": visit(pk("explanation"), GET=200),
    "classify_explanation_class": visit(pk("explanation"), GET=405, POST=302),
    "classify_explanation_png": visit(lambda w: {"pk": w.explanation.pk, "kind": "input"}, GET=200),
    "classify_quick_status": visit(lambda w: {"ticket": w.quick_ticket}, GET=202),
}

# API routes (the router's names): the methods must be those the viewset answers.
API_ROUTES: dict[str, list[Visit]] = {
    "dataset-detail": visit(pk("dataset"), GET=200, PUT=400, PATCH=200, DELETE=400),  # a run uses its version
    "dataset-auto-split": visit(pk("dataset"), POST=200),
    "dataset-class-detail": visit(lambda w: {"pk": w.classes[0].pk}, GET=200, PATCH=200, DELETE=204),
    "dataset-class-merge": visit(lambda w: {"pk": w.classes[0].pk}, POST=400),
    "dataset-image-detail": visit(pk("image"), GET=200, PATCH=200, DELETE=204),
    "dataset-image-content": visit(pk("image"), GET=200),
    "dataset-image-thumbnail": visit(pk("image"), GET=200),
    "dataset-import-detail": visit(pk("upload"), GET=200),
    "dataset-import-items": visit(pk("upload"), GET=200),
    "dataset-version-detail": visit(pk("version"), GET=200),
    "dataset-version-export": visit(pk("version"), GET=200),
    "data-check-detail": visit(pk("data_check"), GET=200),
    "data-check-act": visit(pk("data_check"), POST=400),  # an empty body names no suspect
    "run-detail": visit(pk("run"), GET=200),
    "run-cancel": visit(pk("run"), POST=409),
    "search-detail": visit(pk("search"), GET=200),
    "search-cancel": visit(pk("search"), POST=409),  # the world's search has finished
    "run-resume": visit(pk("run"), POST=409),
    "run-rerun": visit(pk("run"), POST=409),  # the world's run has no health warnings to follow
    # The world's run has a layer list but no network of its own (as after its network was deleted): refused, saying so.
    "run-retrain": visit(pk("run"), POST=409),
    "run-epochs": visit(pk("run"), GET=200),
    "run-live-status": visit(pk("run"), GET=200),
    "run-evaluate": visit(pk("run"), POST=400),
    "evaluation-detail": visit(pk("evaluation"), GET=200),
    "evaluation-predictions": visit(pk("evaluation"), GET=200),
    "network-detail": visit(pk("network"), GET=200, PUT=400, PATCH=200, DELETE=204),
    "classify-imported-model-detail": visit(pk("imported"), GET=200, DELETE=204),
    "classify-job-detail": visit(pk("job"), GET=200, DELETE=204),
    "classify-job-cancel": visit(pk("pending_job"), POST=200),
    "classify-job-download": visit(lambda w: {"pk": w.job.pk, "fmt": "csv"}, GET=200),
    "classify-job-files": [Visit(pk("pending_job"), {"POST": 400}, multipart=True)],
    "classify-job-results": visit(pk("job"), GET=200),
    "classify-job-start": visit(pk("pending_job"), POST=200),
    "classify-job-to-dataset": visit(pk("job"), POST=400),  # an empty body names no dataset
    "classify-export-detail": visit(pk("export"), GET=200),
    "classify-export-download": visit(pk("export"), GET=200),
    "classify-explanation-detail": visit(pk("explanation"), GET=200, DELETE=204),
    "classify-explanation-png": visit(lambda w: {"pk": w.explanation.pk, "kind": "input"}, GET=200),
    "classify-predict-detail": visit(lambda w: {"ticket": w.quick_ticket}, GET=202),
    "labelling-prelabel-job-detail": visit(pk("prelabel_job"), GET=200),
    "labelling-prelabel-job-cancel": visit(pk("prelabel_job"), POST=409),  # it has finished
    "labelling-label-detail": visit(pk("label_event"), GET=200),
    "labelling-label-undo": visit(pk("label_event"), POST=409),  # already undone
    "labelling-batch-detail": visit(pk("label_batch"), GET=200),
    "labelling-batch-undo": visit(pk("label_batch"), POST=409),  # already undone
    "labelling-retrain-detail": visit(pk("retrain"), GET=200),
}

ROUTES = {**PAGE_ROUTES, **API_ROUTES}

# Routes with an object id in the path that the isolation test does not visit, each with the reason.
EXEMPT: dict[str, str] = {
    "admin": "Django's admin: staff only, and its own login check sends everyone who is not staff to its sign-in "
             "page; its object ids are not scoped to an owner because staff see everything by design.",
}


def exemption(route: Route) -> str | None:
    """Return why `route` is not visited, or None."""
    if route.pattern.startswith("admin/"):
        return EXEMPT["admin"]
    return EXEMPT.get(route.name or "")
