"""Forms of the classification pages: errors sit beside the field they are about."""

from __future__ import annotations

from django import forms

from webapp.classify.services import refs
from webapp.classify.services.imported import ImportModelError, parse_class_names
from webapp.classify.services.jobs import MAX_TOP_K, VERSION_SPLITS
from webapp.runs.models import CustomNetwork
from webapp.runs.services.access import visible_versions


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """A file field that takes several files (Django's documented recipe)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": "image/*"}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, (list, tuple)):
            return [single(item, initial) for item in data]
        return [single(data, initial)] if data else []


class ModelChoiceForm(forms.Form):
    """A form whose `model` field lists every model the user may classify with."""

    model = forms.ChoiceField(label="Model")

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        grouped = refs.choices(user)
        self.fields["model"].choices = [("", "Choose a model…"), *grouped]
        if not self.is_bound and not self.initial.get("model") and grouped:
            self.initial["model"] = grouped[0][1][0][0]  # the newest run: what people usually want to try


class QuickTestForm(ModelChoiceForm):
    images = MultipleFileField(label="Images", required=True)


class JobForm(ModelChoiceForm):
    SOURCES = [("upload", "Images from this computer"), ("archive", "A ZIP archive"),
               ("version", "A dataset version")]

    name = forms.CharField(label="Name", max_length=200, required=False, help_text="Optional, to find it later.")
    source = forms.ChoiceField(label="Images to classify", choices=SOURCES, widget=forms.RadioSelect,
                               initial="upload")
    files = MultipleFileField(label="Images", required=False,
                              help_text="Any number: they go up in batches of at most 100.")
    archive = forms.FileField(label="ZIP archive", required=False,
                              widget=forms.ClearableFileInput(attrs={"accept": ".zip,application/zip"}),
                              help_text="Folders inside are fine; hidden files, system clutter and unsafe "
                                        "paths are skipped or reported.")
    version = forms.ModelChoiceField(label="Dataset version", queryset=None, required=False)
    split = forms.ChoiceField(label="Split", choices=[(s, s) for s in VERSION_SPLITS], initial="test",
                              required=False, help_text="A labelled split also gets a full evaluation.")
    # Set by the page's script, which makes the job first and then sends the files in batches of 100.
    defer_files = forms.BooleanField(required=False, widget=forms.HiddenInput)
    top_k = forms.IntegerField(label="Top-k", min_value=1, max_value=MAX_TOP_K, initial=5)
    low_confidence = forms.IntegerField(label="Low confidence below (%)", min_value=1, max_value=99, initial=50,
                                        help_text="Predictions less sure than this are listed for review.")

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, user=user, **kwargs)
        self.fields["version"].queryset = visible_versions(user)

    def clean(self):
        data = super().clean()
        source = data.get("source")
        needs = {"upload": ("files", "Choose at least one image."), "archive": ("archive", "Choose a ZIP file."),
                 "version": ("version", "Choose a dataset version.")}
        if source in needs:
            field, message = needs[source]
            if not data.get(field) and not (source == "upload" and data.get("defer_files")):
                self.add_error(field, message)
        if source == "version" and not data.get("split"):
            self.add_error("split", "Choose a split.")
        return data


class ImportModelForm(forms.Form):
    name = forms.CharField(label="Name", max_length=200)
    file = forms.FileField(label="Weights file", help_text="A <code>.safetensors</code> file or a PyTorch state "
                           "dict (<code>torch.save(model.state_dict(), 'model.pth')</code>). Only tensors are read: "
                           "a pickle of other objects is refused, never run.")
    arch = forms.ChoiceField(label="Architecture", required=False,
                             help_text="Leave empty for a Lux .safetensors file: it says what it is.")
    network = forms.ModelChoiceField(label="…or your custom network", queryset=None, required=False)
    class_names = forms.CharField(label="Class names", required=False, widget=forms.Textarea(attrs={"rows": 5}),
                                  help_text="One per line, in the order of the model's outputs.")
    image_size = forms.IntegerField(label="Input size (px)", min_value=1, max_value=1024, required=False,
                                    help_text="The size the model was trained at; empty: the architecture's usual "
                                              "size.")

    def __init__(self, *args, user, **kwargs):
        from classifier.registry import list_models

        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["arch"].choices = [("", "From the file / custom network"), *[(n, n) for n in list_models()]]
        self.fields["network"].queryset = CustomNetwork.objects.visible_to(user)

    def clean_class_names(self):
        text = self.cleaned_data.get("class_names", "")
        if not text.strip():
            return None
        try:
            return parse_class_names(text)
        except ImportModelError as error:
            raise forms.ValidationError(error.message)

    def add_service_error(self, error: ImportModelError) -> None:
        self.add_error(error.field if error.field in self.fields else None, error.message)


class ExplainForm(ModelChoiceForm):
    image = forms.FileField(label="Image", widget=forms.ClearableFileInput(attrs={"accept": "image/*"}))
