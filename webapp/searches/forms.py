"""The form of a search: the dataset to search on and the minutes it may take (forms only validate)."""

from __future__ import annotations

from django import forms

from webapp.core.errors import FieldError
from webapp.core.ids import parse_id
from webapp.datasets.models import Dataset
from webapp.searches.services.launching import DEFAULT_MINUTES, MAX_MINUTES, MIN_MINUTES, check_data


class DatasetField(forms.ModelChoiceField):
    """A dataset id: text that spells no id is refused before it reaches a query."""

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if parse_id(value) is None:
            raise forms.ValidationError("Select a valid choice. That choice is not one of the available choices.",
                                        code="invalid_choice")
        return super().to_python(value)


class SearchForm(forms.Form):
    """Choose for me: a dataset and a time budget."""

    dataset = DatasetField(queryset=Dataset.objects.none(), empty_label=None,
                           help_text="Trains on its latest version, frozen now if it changed.")
    minutes = forms.IntegerField(min_value=MIN_MINUTES, max_value=MAX_MINUTES, initial=DEFAULT_MINUTES,
                                 label="Within (minutes)",
                                 help_text=f"{MIN_MINUTES} to {MAX_MINUTES}. No rung starts that could not end in "
                                           "time, judged by what the first rung measured.")

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["dataset"].queryset = Dataset.objects.visible_to(user).order_by("name")

    def clean_dataset(self):
        dataset = self.cleaned_data["dataset"]
        try:
            check_data(dataset)
        except FieldError as error:
            raise forms.ValidationError(error.message) from None
        return dataset
