"""Start, follow and cancel the pre-label job of a dataset from its labelling page."""

from django.contrib import messages
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from webapp.classify.services.refs import UnknownModelRef
from webapp.core.reaping import QueueUnreachable
from webapp.labelling.forms import PrelabelForm
from webapp.labelling.services import loop, prelabel
from webapp.labelling.services.access import dataset_for


@require_POST
def start(request, pk):
    """Queue a pre-label job with the chosen model; back to the labelling page saying what happened."""
    dataset = dataset_for(request.user, pk)
    back = redirect("label_page", pk=dataset.pk)
    form = PrelabelForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a model to pre-label with (a finished run or an imported model).")
        return back
    try:
        job = prelabel.start_prelabel(dataset, request.user, form.cleaned_data["model"],
                                      top_k=form.cleaned_data["top_k"] or 3)
    except prelabel.PrelabelError as e:
        messages.error(request, e.message)
        return back
    except UnknownModelRef:
        messages.error(request, "That model is not available to you (deleted, or not finished).")
        return back
    except QueueUnreachable as e:
        messages.warning(request, e.message)
        return back
    messages.success(request, f"Pre-labelling {job.total} unlabelled images with {job.model_label}.")
    return back


@never_cache
@require_GET
def status(request, pk):
    """Answer the newest pre-label job's state and progress as JSON (null when there is none)."""
    dataset = dataset_for(request.user, pk)
    loop.follow_all(dataset)  # a retrained run that finished starts its pre-label now, even with no reaper near
    job = prelabel.current_job(dataset)
    return JsonResponse({"job": prelabel.job_status(job) if job else None,
                         "page": reverse("label_page", args=[dataset.pk])})


@require_POST
def cancel(request, pk):
    """Cancel the newest pre-label job of the dataset."""
    dataset = dataset_for(request.user, pk)
    job = prelabel.current_job(dataset)
    if job is None:
        messages.error(request, "There is no pre-label job to cancel.")
    else:
        try:
            prelabel.cancel_prelabel(job)
            messages.success(request, "The pre-label job is cancelled.")
        except prelabel.PrelabelError as e:
            messages.error(request, e.message)
    return redirect("label_page", pk=dataset.pk)


@require_POST
def retrain(request, pk):
    """Retrain from the last model: launch a run from the suggesting run; its pre-label follows when it ends."""
    dataset = dataset_for(request.user, pk)
    try:
        started = loop.start_retrain(dataset, request.user)
    except loop.LoopError as e:
        messages.error(request, e.message)
        return redirect("label_page", pk=dataset.pk)
    except QueueUnreachable as e:
        messages.warning(request, e.message)
        return redirect("label_page", pk=dataset.pk)
    messages.success(request, f"Retraining from the last model as run {started.run_id}; the unlabelled images are "
                              "pre-labelled with it when it finishes.")
    return redirect("label_page", pk=dataset.pk)
