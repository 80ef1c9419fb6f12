"""Validate what the labelling page and API send: a class for an image, the class it had, an event to undo."""

from django import forms

from webapp.core.ids import MAX_ID, parse_id
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
