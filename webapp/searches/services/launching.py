"""Starting a search and its member runs: every member goes through the launch form, like any other run.

A member is a normal run (in the run list, comparable, evaluable, exportable). A later rung's member is a new
run that starts from the weights of the member it continues (start_from=run:<id>) and trains the extra
epochs only, rather than a longer run from scratch: the budget then buys new epochs instead of repeating
those already paid for, and every rung's ranking still compares runs of equal total training. The restart
of the schedule is a warm restart (as SGDR), and the winner is chosen over every member of every rung, so a
continuation that did worse than its parent never replaces it.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from training import search as planner
from webapp.core.errors import FieldError
from webapp.runs.forms import LaunchForm
from webapp.runs.services import datasets, fleet, recipes
from webapp.runs.services.architectures import CONFIG_FIELDS
from webapp.runs.services.launch import launch_run
from webapp.searches.models import Search, SearchMember
from webapp.searches.services.results import training

log = logging.getLogger(__name__)
MIN_MINUTES, MAX_MINUTES, DEFAULT_MINUTES = 1, 240, 5


def check_data(dataset, version=None) -> None:
    """Raise FieldError (on "dataset") when the data cannot rank models: < 2 classes, no training or val images."""
    names, per_class = datasets.counts_for_launch(dataset, version)
    if len(names) < 2:
        raise FieldError(f"“{dataset.name}” has {len(names)} class{'es' if len(names) != 1 else ''}; a classifier "
                         "needs at least 2. Add a class and label some images.", "dataset")
    totals = {split: sum(c.get(split, 0) for c in per_class.values()) for split in ("train", "val")}
    if not totals["train"]:
        raise FieldError(f"“{dataset.name}” has no training images: upload and label some first.", "dataset")
    if not totals["val"]:
        raise FieldError(f"“{dataset.name}” has no validation images, and a search ranks models on them: assign "
                         "some images to “val”.", "dataset")


def make_plan(dataset, version) -> dict:
    """Return the search plan: candidates (architecture × learning rate), rung 0's epochs, the most epochs."""
    profile = recipes.data_profile(dataset, version)
    has_cuda = fleet.fleet_has_cuda()
    archs = planner.architectures(has_cuda=has_cuda, median_size=profile.median_size)
    base_lrs, steps, most = {}, [], []
    for arch in archs:
        recipe = recipes.launch_recipe(arch, profile, given={"device": settings.LUX_DEVICE})
        if recipe is None:
            continue
        base_lrs[arch] = recipe.settings["lr"]
        steps.append(recipe.steps_per_epoch)
        most.append(recipe.settings["epochs"])
    if not base_lrs:
        raise FieldError("No architecture fits this data; check its classes and splits.", "dataset")
    max_epochs = max(most)
    return {"machine": "cuda" if has_cuda else "cpu", "max_epochs": max_epochs,
            "rung0_epochs": planner.rung0_epochs(max(steps), max_epochs=max_epochs),
            "candidates": [{"arch": c.arch, "lr": c.lr} for c in planner.candidates(base_lrs)]}


def start_search(user, dataset, minutes: int) -> Search:
    """Freeze the data, plan the search and launch rung 0 (every candidate); all of it or nothing."""
    if not isinstance(minutes, int) or isinstance(minutes, bool) or not MIN_MINUTES <= minutes <= MAX_MINUTES:
        raise FieldError(f"Give a whole number of minutes from {MIN_MINUTES} to {MAX_MINUTES}.", "minutes")
    check_data(dataset)
    with transaction.atomic():
        version = datasets.version_for_launch(dataset, user=user)
        plan = make_plan(dataset, version)
        now = timezone.now()
        search = Search.objects.create(owner=user, dataset=dataset, version=version, budget_minutes=minutes,
                                       plan=plan, created_at=now, deadline_at=now + timedelta(minutes=minutes),
                                       progress={"message": "Rung 0: every candidate trains a few epochs."})
        launched = [launch_member(search, arch=c["arch"], lr=c["lr"], rung=0, epochs=plan["rung0_epochs"])
                    for c in plan["candidates"]]
        if not any(launched):
            raise FieldError("None of the candidate architectures can train on this data.", "dataset")
    return search


def launch_member(search: Search, *, arch: str, lr: float, rung: int, epochs: int,
                  parent: SearchMember | None = None) -> SearchMember | None:
    """Launch one member run through the launch form; None when the form refuses this candidate."""
    data = {"version": search.version_id, "arch": arch, "lr": lr, "epochs": epochs, "device": settings.LUX_DEVICE,
            "augment": "light", "mixed_precision": "auto"}
    total = epochs
    if parent is not None:
        settings_of_parent = {k: v for k, v in (parent.run.config or {}).items() if k in CONFIG_FIELDS}
        data = {**settings_of_parent, **data, "start_from": f"run:{parent.run_id}", "warmup_epochs": 0}
        total = training(search.pk)[parent.pk].total + epochs  # the epochs it trained, not those planned
    data["name"] = f"Search {search.pk} · rung {rung} · {arch} · lr {lr:g}"
    data["notes"] = (f"Member of search {search.pk}: {total} epochs in total"
                     + (f", continuing run {parent.run_id}" if parent else "") + ".")
    form = LaunchForm(data=data, user=search.owner)
    if not form.is_valid():  # this candidate cannot train here (say, too large an image): the others go on
        log.warning("search %s: %s at rung %s not launched: %s", search.pk, arch, rung, form.errors.as_json())
        return None
    run = launch_run(search.owner, form.resolved)
    return SearchMember.objects.create(search=search, run=run, parent=parent, rung=rung, arch=arch, lr=lr,
                                       epochs=total, budget=epochs)

