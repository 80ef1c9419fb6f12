"""Validate what the labelling page and API send: a class for an image, the class it had, an event to undo."""

from django import forms

from webapp.core.ids import MAX_ID, parse_id
from webapp.datasets.models import Dataset
from webapp.labelling.models import Origin


class IdListField(forms.Field):
    """A list of image ids (a repeated form field), at most `limit` of them."""

    widget = forms.MultipleHiddenInput
    limit = 500

    def to_python(self, value):
        values = value if isinstance(value, (list, tuple)) else ([] if value in (None, "") else [value])
        if len(values) > self.limit:
            raise forms.ValidationError(f"Send at most {self.limit} images at once.")
        ids = [parse_id(v) for v in values]
        if None in ids:
            raise forms.ValidationError("Each image must be an image id.")
        return ids


class LabelForm(forms.Form):
    """One label: the class to put the image in, and the class the page saw it in (empty: unlabelled)."""

    image = forms.IntegerField(min_value=1, max_value=MAX_ID)
    label = forms.IntegerField(min_value=1, max_value=MAX_ID)
    expected = forms.IntegerField(min_value=1, max_value=MAX_ID, required=False)
    origin = forms.ChoiceField(choices=Origin.choices, required=False)
    model = forms.CharField(max_length=100, required=False)


class UndoForm(forms.Form):
    event = forms.IntegerField(min_value=1, max_value=MAX_ID)


class QueueForm(forms.Form):
    """Where the queue continues: after image id `after`, in `scope` (unlabelled or a class id)."""

    scope = forms.CharField(max_length=20, required=False)
    after = forms.IntegerField(min_value=0, max_value=MAX_ID, required=False)


class FilterForm(forms.Form):
    """The queue's suggestion filter, as the page's URL carries it: a class id and confidences in %."""

    suggested = forms.IntegerField(min_value=1, max_value=MAX_ID, required=False)
    min_confidence = forms.FloatField(min_value=0, max_value=100, required=False)
    max_confidence = forms.FloatField(min_value=0, max_value=100, required=False)

    def scope_options(self) -> dict:
        """Return scope_for's filter arguments (confidences in 0..1) from the valid form."""
        data = self.cleaned_data
        return {"suggested": data["suggested"],
                **{name: None if data[name] is None else data[name] / 100
                   for name in ("min_confidence", "max_confidence")}}


class OrderForm(forms.Form):
    """The queue's order and the pre-label job whose suggestions it reads (empty: the newest finished)."""

    order = forms.CharField(max_length=20, required=False)
    job = forms.IntegerField(min_value=1, max_value=MAX_ID, required=False)


class PrelabelForm(forms.Form):
    """Start a pre-label job: a run or imported model reference, and how many classes to keep per image."""

    model = forms.CharField(max_length=120)
    top_k = forms.IntegerField(min_value=1, max_value=10, required=False)


class BulkForm(forms.Form):
    """Accept every suggestion of one class at or above a confidence (in %); `count` is what the preview showed."""

    label = forms.IntegerField(min_value=1, max_value=MAX_ID)
    min_confidence = forms.FloatField(min_value=0, max_value=100)
    count = forms.IntegerField(min_value=0, max_value=MAX_ID, required=False)


class GridForm(forms.Form):
    """Grid mode's one action: the images to accept as the class and those whose suggestion is wrong."""

    label = forms.IntegerField(min_value=1, max_value=MAX_ID)
    shown = IdListField()  # the page's images: those not accepted are rejected
    accept = IdListField(required=False)


class SendToDatasetForm(forms.Form):
    """Send a batch job's images into a dataset: which dataset, low-confidence ones only or all, and below what."""

    dataset = forms.ModelChoiceField(queryset=None, empty_label=None, label="Dataset", error_messages={
        "invalid_choice": "Choose one of your datasets: that one does not exist or is not shared with you."})
    images = forms.ChoiceField(choices=[("low", "Low-confidence only"), ("all", "All")], initial="low",
                               widget=forms.RadioSelect, label="Images")
    below = forms.FloatField(required=False, min_value=0, max_value=100, label="Below (%)",
                             help_text="For low-confidence only; empty: the job's own threshold.")

    def __init__(self, *args, user, job, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["dataset"].queryset = Dataset.objects.visible_to(user).order_by("name", "pk")
        self.fields["below"].initial = round(job.low_confidence * 100)

    def clean_below(self):
        value = self.cleaned_data["below"]
        if value is not None and value <= 0:
            raise forms.ValidationError("The threshold must be above 0%.")
        return value
