"""Validate what the data-check pages send: a threshold, and one fix of one near-duplicate group."""

from django import forms

from webapp.core.errors import FieldError
from webapp.datachecks.services.duplicates import ASSIGNED, parse_threshold


class ThresholdField(forms.Field):
    """A hash-distance threshold in bits, 0 to 20 (blank: the default)."""

    def to_python(self, value):
        try:
            return parse_threshold(value)
        except FieldError as exc:
            raise forms.ValidationError(exc.message) from None


class ThresholdForm(forms.Form):
    threshold = ThresholdField(required=False)


class FixForm(forms.Form):
    """One fix of one group: `move` it into a split, or `keep` one image and delete the rest."""

    images = forms.CharField(max_length=12000)  # comma-separated ids, as the page wrote them
    state = forms.CharField(max_length=20000, required=False)  # "id:split,..." as the page showed the group
    move = forms.ChoiceField(choices=[(s, s) for s in ASSIGNED], required=False)
    keep = forms.CharField(max_length=20, required=False)
    threshold = ThresholdField(required=False)

    def clean(self):
        data = super().clean()
        if not self.errors and bool(data.get("move")) == bool(data.get("keep")):
            raise forms.ValidationError("Choose one fix: move the group into a split, or keep one image.")
        return data

    def image_ids(self) -> list[str]:
        return [part.strip() for part in self.cleaned_data["images"].split(",") if part.strip()]


class LabelCheckForm(forms.Form):
    """Which frozen version to check the labels of (default: the latest)."""

    version = forms.ModelChoiceField(queryset=None, required=False, empty_label="the latest version",
                                     error_messages={"invalid_choice": "Choose one of this dataset's versions."})

    def __init__(self, *args, dataset, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["version"].queryset = dataset.versions.order_by("-number")
        self.fields["version"].label_from_instance = _version_label


def _version_label(version) -> str:
    return f"v{version.number} ({(version.counts or {}).get('total', 0)} images)"


class LabelActionForm(forms.Form):
    """One click on one suspect: relabel it as suggested, keep its label, or remove it."""

    check = forms.IntegerField(min_value=1, max_value=2**63 - 1)
    image = forms.IntegerField(min_value=1, max_value=2**63 - 1)
    action = forms.ChoiceField(choices=[("relabel", "relabel"), ("keep", "keep"), ("remove", "remove")])
