"""The labelling page (one image at a time, keyboard first) and the small JSON endpoints its script calls."""

import json
from urllib.parse import urlencode

from django.core.exceptions import ValidationError
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from webapp.labelling.forms import FilterForm, LabelForm, OrderForm, QueueForm, UndoForm
from webapp.labelling.services import label as labelling
from webapp.labelling.services import loop, prelabel, queue
from webapp.labelling.services.access import dataset_for, event_for
from webapp.labelling.services.keys import class_keys

MAX_BODY = 4096  # a label is a few numbers


@require_GET
def label_page(request, pk):
    """Show the labelling page for the unlabelled images, or for one class (?scope=<class id>) to review it,
    narrowed by a suggestion filter (?suggested=<class id>&min_confidence=&max_confidence=, in %)."""
    dataset = dataset_for(request.user, pk)
    loop.follow_all(dataset)
    try:
        scope = page_scope(dataset, request.GET)
        job, order = queue_order(dataset, request.GET)
        queue.check_filter(scope, job)
    except ValidationError as e:
        return render(request, "labelling/bad_scope.html", {"dataset": dataset, "tab": "label",
                                                            "message": " ".join(e.messages)}, status=400)
    filter_query = urlencode({k: v for k, v in scope.params().items() if k != "scope"})
    context = {"dataset": dataset, "tab": "label", "scope": scope, "keys": class_keys(dataset.classes.all()),
               "counts": queue.counts(dataset, scope, job), "classes": dataset.classes.all(), "job": job,
               "filter_query": filter_query, "link": urlencode({**scope.params(), "order": order}),
               "order": order, "order_text": queue.ORDERS[order], "orders": queue.ORDERS.items(),
               "latest": prelabel.current_job(dataset), "retrain": loop.offer(dataset, job),
               "models": prelabel.model_choices(request.user)}
    return render(request, "labelling/label.html", context)


def page_scope(dataset, params) -> queue.Scope:
    """Return the scope the page's (or its queue's) query asks for, filter included; ValidationError when bad."""
    form = FilterForm(params)
    if not form.is_valid():
        raise ValidationError(form.errors.as_text())
    return queue.scope_for(dataset, params.get("scope"), **form.scope_options())


def queue_order(dataset, params) -> tuple:
    """Return (the pre-label job whose suggestions the queue reads, the order); ValidationError when bad."""
    form = OrderForm(params)
    if not form.is_valid():
        raise ValidationError(form.errors.as_text())
    job = prelabel.suggesting_job(dataset, form.cleaned_data["job"])
    return job, queue.order_for(form.cleaned_data["order"], job)


@never_cache
@require_GET
def label_queue(request, pk):
    """Answer the next images of the scope after ?after=<image id>, and how many are left."""
    dataset = dataset_for(request.user, pk)
    form = QueueForm(request.GET)
    if not form.is_valid():
        return _error(form.errors.as_text(), 400)
    try:
        scope = page_scope(dataset, request.GET)
        job, order = queue_order(dataset, request.GET)
        queue.check_filter(scope, job)
    except ValidationError as e:
        return _error(" ".join(e.messages), 400)
    images = queue.next_images(dataset, scope, after=form.cleaned_data["after"], order=order, job=job)
    return JsonResponse({"images": images, "order": order, "job": job.pk if job else None,
                         "model": job.model_ref if job else None, **queue.counts(dataset, scope, job)})


@require_POST
def label_image(request, pk):
    """Label one image (JSON body: image, label, expected, optional origin and model); 409 if it changed."""
    dataset = dataset_for(request.user, pk)
    form, error = _json_form(request, LabelForm)
    if error:
        return error
    data = form.cleaned_data
    try:
        event = labelling.label_image(dataset, data["image"], data["label"], expected=data["expected"],
                                      user=request.user, origin=data["origin"] or "hand", model_ref=data["model"])
    except labelling.Conflict as e:
        return _error(" ".join(e.messages), 409)
    except ValidationError as e:
        return _error(" ".join(e.messages), 400)
    return JsonResponse({"event": event.pk, "image": event.image_id, "label": event.label_id,
                         "label_name": event.label_name, "origin": event.origin}, status=201)


@require_POST
def label_undo(request, pk):
    """Undo one label (JSON body: event): the image goes back to the class it had; 409 if it changed since."""
    dataset = dataset_for(request.user, pk)
    form, error = _json_form(request, UndoForm)
    if error:
        return error
    event = event_for(dataset, form.cleaned_data["event"])
    try:
        image = labelling.undo(dataset, event)
    except labelling.Conflict as e:
        return _error(" ".join(e.messages), 409)
    except ValidationError as e:
        return _error(" ".join(e.messages), 400)
    return JsonResponse({"event": event.pk, "image": image.pk, "label": image.label_id})


def _json_form(request, form_class):
    """Return (bound valid form, None), or (None, a 400 answer) for a body that is not a JSON object or is invalid."""
    if len(request.body) > MAX_BODY:
        return None, _error("The request body is too large.", 400)
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        return None, _error("The request body must be JSON.", 400)
    if not isinstance(body, dict) or any(isinstance(v, (dict, list, bool)) for v in body.values()):
        return None, _error("The request body must be a JSON object of numbers and names.", 400)
    form = form_class(body)
    if not form.is_valid():
        return None, _error(form.errors.as_text(), 400)
    return form, None


def _error(message: str, status: int) -> JsonResponse:
    return JsonResponse({"detail": message}, status=status)
