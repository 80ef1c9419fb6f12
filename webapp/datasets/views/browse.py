"""The thumbnail grid with filters and search, and bulk actions on the selected images."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from webapp.datasets.forms import UNLABELLED, BrowseFilterForm, BulkActionForm, ClassNameForm
from webapp.datasets.services import bulk
from webapp.datasets.services.access import dataset_for, live_images
from webapp.datasets.services.health import count_matching
from webapp.datasets.services.keyset import keyset_page
from webapp.labelling.services.keys import class_keys


@require_GET
def browse(request, pk):
    """Show one page of the dataset's thumbnails, filtered; the same few queries at any page size, depth or size."""
    dataset = dataset_for(request.user, pk)
    filters = BrowseFilterForm(request.GET or None, dataset=dataset)
    images = filters.filter(live_images(dataset)).select_related("label").only(
        "id", "original_name", "sha256", "width", "height", "split", "label__name", "created_at")
    page = keyset_page(images, filters.page_size(), after=request.GET.get("after"), before=request.GET.get("before"),
                       count=known_count(dataset, filters))
    query = request.GET.copy()
    for anchor in ("page", "after", "before"):
        query.pop(anchor, None)
    bulk_form = BulkActionForm(dataset=dataset)
    context = {
        "dataset": dataset,
        "tab": "browse",
        "filters": filters,
        "page": page,
        "bulk": bulk_form,
        "label_options": label_options(bulk_form),
        "create_form": ClassNameForm(dataset=dataset, prefix="create"),
        "query": query.urlencode(),
        "here": request.get_full_path(),
    }
    return render(request, "datasets/browse.html", context)


def label_options(form) -> list[dict]:
    """Return the bulk toolbar's class choices, each class with its number key (1–9, as on the labelling page)."""
    choices = list(form.fields["label"].choices)
    classes = [c for c in choices if c[0] != UNLABELLED]  # in the dataset's class order, like the labelling keys
    keys = {k["class"][0]: k["key"] for k in class_keys(classes) if k["key"].isdigit()}
    return [{"value": value, "text": text, "key": keys.get(value, "")} for value, text in choices]


def known_count(dataset, filters) -> int | None:
    """Return the images the filters match without counting rows (None for a name search: counted up to a cap)."""
    if not filters.is_valid():  # invalid filters filter nothing (BrowseFilterForm.filter)
        return dataset.image_count
    data = filters.cleaned_data
    if data.get("q"):
        return None
    if not any(data.get(f) for f in ("label", "split", "status")):
        return dataset.image_count
    return count_matching(dataset, label=data.get("label"), split=data.get("split"), status=data.get("status"))


def _relabel(dataset, ids, form, user):
    n = bulk.relabel(dataset, ids, form.chosen_class(), user=user)  # recorded as by hand, by `user`
    target = form.chosen_class()
    return f"{n} image{'s' if n != 1 else ''} now {'in “' + target.name + '”' if target else 'unlabelled'}."


def _move(dataset, ids, form, user):
    n = bulk.move_to_split(dataset, ids, form.cleaned_data["split"])
    return f"{n} image{'s' if n != 1 else ''} moved to {form.cleaned_data['split']}."


def _delete(dataset, ids, form, user):
    n = bulk.delete_images(dataset, ids)
    return f"{n} image{'s' if n != 1 else ''} deleted."


BULK_ACTIONS = {"relabel": _relabel, "split": _move, "delete": _delete}


@require_POST
def bulk_action(request, pk):
    """Relabel, move or delete the selected images, then go back to the same browse page."""
    dataset = dataset_for(request.user, pk)
    form = BulkActionForm(request.POST, dataset=dataset)
    back = request.POST.get("next", "")
    if not back.startswith(reverse("dataset_browse", args=[dataset.pk])):
        back = reverse("dataset_browse", args=[dataset.pk])  # never redirect off this page (open redirects)
    if form.is_valid():
        try:
            done = BULK_ACTIONS[form.cleaned_data["action"]](dataset, form.cleaned_data["images"], form,
                                                             request.user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, done)
    else:
        problems = [e for errors in form.errors.values() for e in errors]
        messages.error(request, " ".join(problems))
    return redirect(back)
