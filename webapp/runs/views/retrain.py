"""Retrain with the new labels: the button on a run's results page and on the confusion-cell gallery."""

from django.contrib import messages
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from webapp.runs.services.access import get_run
from webapp.runs.services.retrain import RetrainError, retrain


@require_POST
def run_retrain(request, pk):
    """Freeze the run's dataset as it is now and launch a run on it starting from this run; open the new run."""
    run = get_run(request.user, pk)
    try:
        new = retrain(request.user, run)
    except RetrainError as error:
        messages.error(request, error.message)
        target = request.POST.get("next", "")  # back to the page the button was on, saying why
        if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
            return redirect(target)
        return redirect("run_detail", pk=run.pk)
    messages.success(request, f"{new} is queued: it trains on {new.version}, starting from {run}.")
    return redirect("run_detail", pk=new.pk)
