"""Send a finished batch classification job's images into a dataset for labelling, from the job's page."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from webapp.classify.services.access import get_job
from webapp.labelling.forms import SendToDatasetForm
from webapp.labelling.services import from_job


@require_http_methods(["GET", "POST"])
def send_to_dataset(request, pk):
    """Show the form (dataset, low-confidence only or all); on POST copy the images and open the labelling page."""
    job = get_job(request.user, pk)
    form = SendToDatasetForm(request.POST if request.method == "POST" else None, user=request.user, job=job)
    finished = from_job.is_finished(job)
    status = 200
    if request.method == "POST":
        status = 400
        if not finished:
            form.add_error(None, "This job has not finished: send its images once it has.")
            status = 409
        elif form.is_valid():
            data = form.cleaned_data
            below = data["below"] / 100 if data["below"] is not None else None
            try:
                sent = from_job.send_to_dataset(job, data["dataset"], request.user, images=data["images"],
                                                below=below)
            except from_job.SendError as e:
                form.add_error(e.field if e.field in form.fields else None, e.message)
                status = e.status
            else:
                messages.success(request, sent.message)
                return redirect("label_page", pk=data["dataset"].pk)
    context = {"job": job, "form": form, "finished": finished, "low_percent": round(job.low_confidence * 100),
               "max_images": from_job.max_images()}
    return render(request, "labelling/send_to_dataset.html", context, status=status)
