"""Validate what the labelling page and API send: a class for an image, the class it had, an event to undo."""

from django import forms

from webapp.labelling.models import Origin


class LabelForm(forms.Form):
    """One label: the class to put the image in, and the class the page saw it in (empty: unlabelled)."""

    image = forms.IntegerField(min_value=1)
    label = forms.IntegerField(min_value=1)
    expected = forms.IntegerField(min_value=1, required=False)
    origin = forms.ChoiceField(choices=Origin.choices, required=False)
    model = forms.CharField(max_length=100, required=False)


class UndoForm(forms.Form):
    event = forms.IntegerField(min_value=1)


class QueueForm(forms.Form):
    """Where the queue continues: after image id `after`, in `scope` (unlabelled or a class id)."""

    scope = forms.CharField(max_length=20, required=False)
    after = forms.IntegerField(min_value=0, required=False)
