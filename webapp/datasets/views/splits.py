"""The split page: current train/validation/test counts and the automatic stratified split."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from webapp.datasets.forms import AutoSplitForm
from webapp.datasets.models import Split
from webapp.datasets.services.access import dataset_for, live_images
from webapp.datasets.services.splits import auto_split


def split_counts(dataset) -> list[dict]:
    """Return [{"split", "label", "count"}] for every split, in order, zeros included."""
    counts = dict(live_images(dataset).values_list("split").annotate(n=Count("id")).order_by())
    return [{"split": value, "label": label, "count": counts.get(value, 0)} for value, label in Split.choices]


@require_http_methods(["GET", "POST"])
def split_page(request, pk):
    """Show the split counts; on POST, split the images by class with the given ratios and seed."""
    dataset = dataset_for(request.user, pk)
    form = AutoSplitForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            result = auto_split(dataset, train=data["train"], val=data["val"], test=data["test"], seed=data["seed"],
                                only_unassigned=data["only_unassigned"])
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, describe(result))
            return redirect("dataset_split", pk=dataset.pk)
    context = {"dataset": dataset, "tab": "split", "form": form, "counts": split_counts(dataset)}
    return render(request, "datasets/split.html", context, status=400 if form.errors else 200)


def describe(result: dict) -> str:
    """Return a sentence saying what the split did, from auto_split's result."""
    moved = {k: v for k, v in result.items() if k in Split.values and isinstance(v, int)}
    if not moved and isinstance(result.get("counts"), dict):
        moved = result["counts"]
    if not moved:
        return "Images split."
    parts = ", ".join(f"{moved[s]} {Split(s).label}" for s in Split.values if s in moved)
    return f"Images split: {parts}."
