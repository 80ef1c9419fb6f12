"""Forms for the dataset pages: each shows its errors beside the field, in words a person can act on."""

from django import forms

from webapp.datasets.models import Dataset, DatasetClass, Split
from webapp.datasets.services.browse import UNLABELLED as UNLABELLED_FILTER
from webapp.datasets.services.browse import apply_filters
from webapp.datasets.services.datasets import create_dataset

UNLABELLED = UNLABELLED_FILTER  # the choice value meaning "no class" wherever a class is picked
SPLIT_CHOICES = [(value, label.capitalize()) for value, label in Split.choices]


def class_choices(dataset, *, blank_label: str | None = "Unlabelled") -> list[tuple[str, str]]:
    """Return (value, label) choices for the dataset's classes, "Unlabelled" first when blank_label is given."""
    choices = [(UNLABELLED, blank_label)] if blank_label else []
    return choices + [(str(c.pk), c.name) for c in dataset.classes.all()]


def class_from_choice(dataset, value: str) -> DatasetClass | None:
    """Return the class a validated choice names, or None for "Unlabelled"."""
    if value in ("", UNLABELLED):
        return None
    return dataset.classes.get(pk=int(value))


class DatasetForm(forms.ModelForm):
    """A dataset's name, description and what training may do to its images; the name is unique per owner."""

    class Meta:
        model = Dataset
        fields = ["name", "description", "allow_mirror", "allow_rotate"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}
        help_texts = {"description": "Optional: what the images are and where they come from."}

    def __init__(self, *args, owner, **kwargs):
        super().__init__(*args, **kwargs)
        self.owner = owner
        self.fields["name"].widget.attrs.update(autofocus=True, placeholder="e.g. Flowers 2026")

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError("Give the dataset a name.")
        taken = Dataset.objects.filter(owner=self.owner, name__iexact=name).exclude(pk=self.instance.pk)
        if taken.exists():
            raise forms.ValidationError(f"You already have a dataset called “{name}”; choose another name.")
        return name

    def save(self, commit=True):
        if self.instance.pk is None:
            data = self.cleaned_data
            dataset = create_dataset(owner=self.owner, name=data["name"], description=data["description"])
            dataset.allow_mirror, dataset.allow_rotate = data["allow_mirror"], data["allow_rotate"]
            dataset.save(update_fields=["allow_mirror", "allow_rotate"])
            return dataset
        return super().save(commit=commit)


class DatasetChoiceForm(forms.Form):
    """A form whose class field lists one dataset's classes."""

    class_field = "label"

    def __init__(self, *args, dataset, **kwargs):
        super().__init__(*args, **kwargs)
        self.dataset = dataset
        self.fields[self.class_field].choices = class_choices(dataset)

    def chosen_class(self) -> DatasetClass | None:
        return class_from_choice(self.dataset, self.cleaned_data[self.class_field])


class UploadForm(DatasetChoiceForm):
    """Where a batch of uploaded images goes: one class (or unlabelled) and one split."""

    label = forms.ChoiceField(label="Class", initial=UNLABELLED,
                              help_text="Every file of this upload gets this class. Add one with “New class” below.")
    split = forms.ChoiceField(choices=SPLIT_CHOICES, initial=Split.UNASSIGNED,
                              help_text="Leave unassigned to split automatically later.")


class ArchiveImportForm(forms.Form):
    archive = forms.FileField(
        label="ZIP file",
        help_text="Folders per class (<code>cats/1.jpg</code>), optionally inside <code>train/</code>, "
        "<code>val/</code>, <code>test/</code>; or a <code>labels.csv</code> (<code>filename,label[,split]</code>) "
        "next to the images.",
    )


class BrowseFilterForm(DatasetChoiceForm):
    """The browse page's filters, read from the query string; bad values fall back to "all"."""

    class_field = "label"
    PER_PAGE_CHOICES = [24, 48, 96, 200]
    STATUS_CHOICES = [("", "Any status"), ("labelled", "Labelled"), ("unlabelled", "Unlabelled")]

    label = forms.ChoiceField(label="Class", required=False)
    split = forms.ChoiceField(label="Split", required=False, choices=[("", "Any split")] + SPLIT_CHOICES)
    status = forms.ChoiceField(label="Status", required=False, choices=STATUS_CHOICES)
    q = forms.CharField(label="File name", required=False, max_length=200,
                        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Search file names"}))
    per_page = forms.TypedChoiceField(label="Per page", required=False, coerce=int, empty_value=48,
                                      choices=[(n, n) for n in PER_PAGE_CHOICES])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["label"].choices = [("", "Any class")] + class_choices(self.dataset)

    def filter(self, images):
        """Return `images` narrowed by the valid filters (invalid ones are ignored)."""
        data = self.cleaned_data if self.is_valid() else {}
        return apply_filters(images, label=data.get("label"), split=data.get("split"), status=data.get("status"),
                             search=data.get("q"))

    def page_size(self) -> int:
        return (self.cleaned_data.get("per_page") if self.is_valid() else None) or 48


class ImageIdsField(forms.Field):
    """Image ids from checkboxes sharing one name; the services act only on the dataset's own images."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value):
        try:
            return [int(v) for v in value or []]
        except (TypeError, ValueError):
            raise forms.ValidationError("Image ids must be whole numbers.")


class BulkActionForm(DatasetChoiceForm):
    """An action on the images selected on the browse page."""

    ACTIONS = [("relabel", "Set class"), ("split", "Move to split"), ("delete", "Delete")]

    action = forms.ChoiceField(choices=ACTIONS)
    images = ImageIdsField(error_messages={"required": "Select at least one image."})
    label = forms.ChoiceField(label="Class", required=False)
    split = forms.ChoiceField(label="Split", required=False, choices=SPLIT_CHOICES)

    def clean(self):
        data = super().clean()
        if data.get("action") == "relabel" and not data.get("label"):
            self.add_error("label", "Choose the class to give the selected images.")
        if data.get("action") == "split" and not data.get("split"):
            self.add_error("split", "Choose the split to move the selected images to.")
        return data


class ImageEditForm(DatasetChoiceForm):
    """One image's class and split."""

    label = forms.ChoiceField(label="Class")
    split = forms.ChoiceField(label="Split", choices=SPLIT_CHOICES)


class ClassNameForm(forms.Form):
    """A class name, unique within its dataset (case-insensitively, so "Cat" and "cat" are not two classes)."""

    name = forms.CharField(label="Class name", max_length=200, error_messages={
        "required": "Give the class a name.",
        "max_length": "A class name has at most %(limit_value)d characters (this one has %(show_value)d)."})

    def __init__(self, *args, dataset, instance=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.dataset, self.instance = dataset, instance
        if instance is not None:
            self.fields["name"].initial = instance.name

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError("Give the class a name.")
        taken = self.dataset.classes.filter(name__iexact=name)
        if self.instance is not None:
            taken = taken.exclude(pk=self.instance.pk)
        if taken.exists():
            raise forms.ValidationError(f"This dataset already has a class called “{name}”.")
        return name


class ClassMergeForm(forms.Form):
    """Merge one class into another: the source's images move to the target and the source goes away."""

    source = forms.ModelChoiceField(queryset=DatasetClass.objects.none(), label="Merge this class",
                                    empty_label="Choose a class")
    target = forms.ModelChoiceField(queryset=DatasetClass.objects.none(), label="into this class",
                                    empty_label="Choose a class")

    def __init__(self, *args, dataset, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("source", "target"):
            self.fields[name].queryset = dataset.classes.all()

    def clean(self):
        data = super().clean()
        if data.get("source") and data.get("source") == data.get("target"):
            self.add_error("target", "Choose a different class to merge into.")
        return data


class ClassDeleteForm(forms.Form):
    IMAGE_CHOICES = [("unlabel", "Keep its images, as unlabelled"), ("delete", "Delete its images too")]

    images = forms.ChoiceField(label="Its images", choices=IMAGE_CHOICES, initial="unlabel",
                               widget=forms.RadioSelect)


class AutoSplitForm(forms.Form):
    """Ratios and a seed for a stratified train/validation/test split (same seed, same split)."""

    train = forms.FloatField(label="Train", min_value=0, max_value=1, initial=0.8)
    val = forms.FloatField(label="Validation", min_value=0, max_value=1, initial=0.1)
    test = forms.FloatField(label="Test", min_value=0, max_value=1, initial=0.1,
                            help_text="The three ratios must add up to 1.")
    seed = forms.IntegerField(label="Seed", initial=0, min_value=0, max_value=2**31 - 1,
                              help_text="The same seed on the same images gives the same split.")
    only_unassigned = forms.BooleanField(label="Only split images that are still unassigned", required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("train", "val", "test"):
            self.fields[name].widget.attrs.update(step="0.05")

    def ratio_fields(self):
        return [self[name] for name in ("train", "val", "test")]

    def clean(self):
        data = super().clean()
        ratios = [data.get(name) for name in ("train", "val", "test")]
        if all(r is not None for r in ratios) and abs(sum(ratios) - 1) > 1e-6:
            total = round(sum(ratios), 4)
            self.add_error("test", f"The ratios add up to {total:g}; they must add up to 1 (e.g. 0.8, 0.1, 0.1).")
        return data


class FreezeVersionForm(forms.Form):
    note = forms.CharField(label="Note", required=False, max_length=300,
                           widget=forms.TextInput(attrs={"placeholder": "Optional: what changed"}))
