"""Forms of the Pretrained weights page: which file to download, and a file to upload for an architecture."""

from django import forms

from classifier import pretrained_files
from webapp.core.errors import FieldError


def _arch_choices() -> list[tuple[str, str]]:
    return [(arch, f"{arch} ({entry.filename})") for entry in pretrained_files.weights_files() for arch in entry.archs]


class FetchForm(forms.Form):
    """Download the file of one or more architectures."""

    names = forms.MultipleChoiceField(label="Architectures")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["names"].choices = _arch_choices()


class UploadForm(forms.Form):
    """Upload a .pth or .safetensors file for an architecture."""

    arch = forms.ChoiceField(label="Architecture")
    file = forms.FileField(label="Weights file", help_text="torchvision's .pth file, or a state dict of the "
                           "architecture saved as .pth or .safetensors",
                           widget=forms.ClearableFileInput(attrs={"accept": ".pth,.pt,.safetensors"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["arch"].choices = _arch_choices()

    def add_service_error(self, error: FieldError) -> None:
        self.add_error(error.field if error.field in self.fields else None, error.message)
