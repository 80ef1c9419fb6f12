"""Leakage warnings other apps' pages show: the dataset's health card, the freeze form, a version, the launch form."""

from __future__ import annotations

from django import template

from webapp.core.ids import parse_id
from webapp.datachecks.models import CheckKind
from webapp.datachecks.services import checks, duplicates
from webapp.datasets.models import Dataset, DatasetVersion

register = template.Library()


@register.inclusion_tag("datachecks/_leakage.html")
def dataset_leakage(dataset):
    """Show how many near-copies of the dataset's live images sit in two splits, with a link to the fixes."""
    counts = duplicates.dataset_report(dataset).counts()
    return {"dataset": dataset, "counts": counts, "warnings": duplicates.warnings(counts),
            "threshold": duplicates.DEFAULT_THRESHOLD}


@register.inclusion_tag("datachecks/_version_check.html")
def version_leakage(version):
    """Show what a frozen version was checked for and what the check found."""
    check = checks.latest(version.dataset, kind=CheckKind.DUPLICATES, version=version)
    return {"dataset": version.dataset, "version": version, "check": check,
            "warnings": duplicates.warnings(check.counts or {}) if check else []}


@register.inclusion_tag("datachecks/_launch_leakage.html", takes_context=True)
def launch_leakage(context, form):
    """Warn on the launch form when the chosen data has near-copies across splits."""
    dataset, version = chosen_data(form.data if form.is_bound else form.initial, context.get("user"))
    if dataset is None:
        return {"warnings": []}
    counts = (duplicates.version_report(version) if version else duplicates.dataset_report(dataset)).counts()
    return {"dataset": dataset, "version": version, "warnings": duplicates.warnings(counts)}


def chosen_data(source, user) -> tuple[Dataset | None, DatasetVersion | None]:
    """Return the dataset and version `source` (form data or initial values) names, if the user sees them."""

    def value(name):
        raw = source.get(name)
        return raw.pk if hasattr(raw, "pk") else parse_id(raw)

    visible = Dataset.objects.visible_to(user)
    version_pk, dataset_pk = value("version"), value("dataset")
    if version_pk:
        version = DatasetVersion.objects.filter(pk=version_pk, dataset__in=visible).select_related("dataset").first()
        if version is not None:
            return version.dataset, version
    if dataset_pk:
        return visible.filter(pk=dataset_pk).first(), None
    return None, None
