"""The forms of training runs: a new run (the one validation, for the page and the API; the launch itself is
services.launch), evaluating a finished model on another version, and a network of one's own."""

from __future__ import annotations

import json

from django import forms
from django.conf import settings
from django.urls import reverse
from django.utils.html import escape, format_html

from classifier.netspec import SpecError, layer_shapes
from classifier.presets import augment_presets
from classifier.pretrained import available_imagenet_weights
from classifier.registry import list_models
from training.config import DEVICES, ConfigError, TrainConfig, defaults_for
from training.optim import OPTIMIZERS, SCHEDULERS
from training.recipes import Recipe
from webapp.datasets.models import Dataset, DatasetVersion, Split
from webapp.runs.models import CustomNetwork, TrainingRun
from webapp.runs.services import architectures, datasets, fleet, init_from, recipes
from webapp.runs.services.access import visible_versions
from webapp.runs.services.architectures import CONFIG_FIELDS, DEFAULT_ARCH, NETWORK_PREFIX
from webapp.runs.services.launch import LaunchRequest, launch_run
from webapp.runs.services.networks import MAX_IMAGE_SIZE, PREVIEW_CLASSES, network_shapes

DEFAULT = ("", "Architecture default")
OPTIMIZER_LABELS = {"sgd": "SGD with Nesterov momentum", "adamw": "AdamW"}
SCHEDULER_LABELS = {"onecycle": "One-cycle", "cosine": "Cosine with warm-up", "step": "Step decay",
                    "none": "Constant"}
# Mirroring and quarter turns are not a level's: the dataset says whether its images allow them.
AUGMENT_LABELS = {"none": "None", "light": "Light (random crop)", "standard": "Standard (crop + colour jitter)",
                  "strong": "Strong (crop + colour jitter + TrivialAugment)"}
AUGMENT_HELP = ("Every level but None also mirrors or turns the images where their dataset allows it "
                "(its edit page asks, once for all runs).")
PRECISION_CHOICES = [("auto", "Automatic (bf16 where the hardware computes it natively)"),
                     ("bf16", "bf16 always"), ("off", "Off (fp32)")]
DEVICE_LABELS = {"auto": "Automatic (GPU when the worker has one)", "cpu": "CPU", "cuda": "GPU (CUDA)"}
MAX_GPUS = 64  # one machine's worth: a run never spans machines
# One by default: any worker starts it at once, and a small dataset gains little from more (each step then
# waits on the exchange of gradients between devices).
GPUS_HELP = ("Empty: 1. More trains one model on that many GPUs of one worker (DistributedDataParallel), each "
             "taking its share of every batch; with the CPU as device, that many processes share its cores.")
FINETUNE_CHOICES = [("full", "Every layer (full)"), ("head", "The final layer only (the rest frozen)"),
                    ("lower_lr", "Every layer, the backbone at 0.1× the head's learning rate")]
MAX_NOTES = 10_000  # characters: a page of notes; the run list and API answers carry them whole


def _choices(names, labels: dict, *, blank: bool) -> list[tuple[str, str]]:
    return ([DEFAULT] if blank else []) + [(name, labels.get(name, name)) for name in names]


class VersionChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, version):
        total = (version.counts or {}).get("total")
        size = f", {total} images" if total is not None else ""
        return f"{version.dataset.name} v{version.number} ({version.created_at:%Y-%m-%d}{size})"


class LaunchForm(forms.Form):
    """Choose data, an architecture and settings; every empty setting takes the architecture's default."""

    name = forms.CharField(max_length=200, required=False, help_text="Optional; a name is made up otherwise.")
    dataset = forms.ModelChoiceField(queryset=Dataset.objects.none(), required=False,
                                     help_text="Trains on its latest version, frozen now if it changed, "
                                               "unless a “Dataset version” is chosen too: the version wins.")
    version = VersionChoiceField(queryset=DatasetVersion.objects.none(), required=False,
                                 label="Dataset version",
                                 help_text="Optional: train on an earlier frozen version instead. A version wins "
                                           "over “Dataset”, which may then stay empty; if both are set, the "
                                           "version must belong to that dataset.")
    arch = forms.ChoiceField(label="Architecture", choices=())
    pretrained = forms.BooleanField(required=False, label="Start from ImageNet weights")
    start_from = forms.ChoiceField(
        required=False, label="Start from an earlier model", choices=(),
        help_text="One of your succeeded runs or imported models of the same architecture (any dataset): classes "
                  "it knew by name keep what it learned, new classes start fresh.")
    finetune = forms.ChoiceField(
        required=False, label="Fine-tune", choices=FINETUNE_CHOICES,
        help_text="Starting from weights (ImageNet or an earlier model): which layers learn. Empty: every layer.")
    image_size = forms.IntegerField(required=False, min_value=1, max_value=4096, label="Image size (px)")
    epochs = forms.IntegerField(required=False, min_value=1)
    batch_size = forms.IntegerField(required=False, min_value=1,
                                    help_text="Empty: the architecture's default, at most the training set.")
    optimizer = forms.ChoiceField(required=False, choices=_choices(OPTIMIZERS, OPTIMIZER_LABELS, blank=True))
    lr = forms.FloatField(required=False, label="Learning rate")
    weight_decay = forms.FloatField(required=False)
    scheduler = forms.ChoiceField(required=False, choices=_choices(SCHEDULERS, SCHEDULER_LABELS, blank=True),
                                  label="Learning-rate schedule")
    warmup_epochs = forms.FloatField(required=False, label="Warm-up epochs")
    label_smoothing = forms.FloatField(required=False)
    augment = forms.ChoiceField(required=False, label="Augmentation", choices=(), help_text=AUGMENT_HELP)
    patience = forms.IntegerField(required=False, min_value=0, label="Early-stopping patience (epochs)",
                                  help_text="0 trains every epoch.")
    mixed_precision = forms.ChoiceField(required=False, choices=PRECISION_CHOICES)
    seed = forms.IntegerField(required=False, min_value=0)
    device = forms.ChoiceField(required=False, choices=_choices(DEVICES, DEVICE_LABELS, blank=False))
    gpus = forms.IntegerField(required=False, min_value=1, max_value=MAX_GPUS, label="GPUs",
                              help_text=GPUS_HELP)
    notes = forms.CharField(required=False, max_length=MAX_NOTES, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, data=None, *, user, initial=None, **kwargs):
        base = {"arch": DEFAULT_ARCH, "device": settings.LUX_DEVICE, "augment": "light", "mixed_precision": "auto"}
        super().__init__(data, initial={**base, **(initial or {})}, **kwargs)
        self.user = user
        self.resolved: LaunchRequest | None = None  # set by a successful is_valid(): what launch_run() takes
        self.recipe: Recipe | None = None  # the settings that fit the chosen data, once clean() knows it
        self.start: init_from.StartFrom | None = None  # the earlier model to start from, once clean() knows it
        self.profile: recipes.DataProfile | None = None
        visible = Dataset.objects.visible_to(user)
        self.fields["dataset"].queryset = visible
        self.fields["version"].queryset = (DatasetVersion.objects.filter(dataset__in=visible)
                                           .select_related("dataset").order_by("dataset__name", "-number"))
        self.networks = list(CustomNetwork.objects.visible_to(user).order_by("name"))
        self._groups = architectures.architecture_groups(self.networks)
        self.fields["arch"].choices = [
            (family, [(e["value"], _arch_choice_label(e)) for e in entries]) for family, entries in self._groups]
        self.fields["augment"].choices = _choices(augment_presets(), AUGMENT_LABELS, blank=False)
        self.fields["start_from"].choices = init_from.choices(user)
        self._describe_defaults()
        if not available_imagenet_weights():
            field = self.fields["pretrained"]
            field.widget.attrs["disabled"] = True  # greyed out on the page; an API request asking gets the reason
            field.help_text = escape("No ImageNet weights file is in this machine's torch cache yet, so every "
                                     "model trains from scratch: ") + format_html(
                '<a href="{}">get one on the Pretrained weights page</a>.', reverse("weights_page"))

    def _describe_defaults(self) -> None:
        """Show the default architecture's recipe as placeholders of the empty settings."""
        defaults = defaults_for(DEFAULT_ARCH)
        for name in ("image_size", "epochs", "batch_size", "lr", "weight_decay", "warmup_epochs",
                     "label_smoothing", "patience", "seed"):
            if name in defaults:
                self.fields[name].widget.attrs["placeholder"] = f"default: {defaults[name]:g}"

    def architecture_groups(self) -> list[tuple[str, list[dict]]]:
        """Return [(family label, [{"value","label","params","suggested_size","pretrained_available",...}])]."""
        return self._groups

    # ---- validation --------------------------------------------------------------------------------

    def clean(self):
        data = super().clean()
        dataset, version, data_field = self._clean_data(data)
        arch = self._clean_arch(data)
        if arch is None:
            return data
        name, network, label = arch
        config = self._build_config(data, name, network, dataset, version)
        if config is not None:
            for field, reason in fleet.device_problems(config.device, config.image_size).items():
                self.add_error(field, reason)
            if problem := fleet.gpus_problem(config.device, data.get("gpus") or 1):
                self.add_error("gpus", problem)
        if dataset is not None and config is not None:
            self._check_dataset(dataset, version, data_field, config, data)
        if dataset is not None and config is not None and not self.errors:
            self.resolved = LaunchRequest(dataset=dataset, version=version, network=network, config=config,
                                          arch_label=label, name=data.get("name") or "", notes=data.get("notes") or "",
                                          recipe=self.recipe.explanation if self.recipe else "",
                                          init_from=self.start.stored() if self.start else None,
                                          gpus=data.get("gpus") or 1)
        return data

    def _clean_data(self, data) -> tuple[Dataset | None, DatasetVersion | None, str]:
        """Return (dataset, chosen version or None, the field dataset errors go beside)."""
        dataset, version = data.get("dataset"), data.get("version")
        if "dataset" in self.errors or "version" in self.errors:
            return None, None, "dataset"
        if version is not None:
            if dataset is not None and version.dataset_id != dataset.pk:
                self.add_error("version", f"This is a version of “{version.dataset.name}”, not of “{dataset.name}”.")
                return None, None, "version"
            return version.dataset, version, "version"
        if dataset is None:
            self.add_error("dataset", "Choose the dataset to train on.")
        return dataset, None, "dataset"

    def _clean_arch(self, data) -> tuple[str, CustomNetwork | None, str] | None:
        """Return (registry name, the user's network or None, a label), or None after an error."""
        value = data.get("arch") or ""
        if value.startswith(NETWORK_PREFIX):
            network = next((n for n in self.networks if f"{NETWORK_PREFIX}{n.pk}" == value), None)
            if network is None:
                self.add_error("arch", "No such network of yours.")
                return None
            return "custom", network, network.name
        if value not in list_models():
            if "arch" not in self.errors:
                self.add_error("arch", f"Unknown architecture {value!r}.")
            return None
        return value, None, value

    def _build_config(self, data, arch: str, network: CustomNetwork | None, dataset: Dataset | None,
                      version: DatasetVersion | None) -> TrainConfig | None:
        """Return the validated TrainConfig: the recipe for the data (else the family's) around what was given."""
        pretrained = bool(data.get("pretrained"))
        if pretrained and network is None:
            ok, reason = architectures.pretrained_status(arch)
            if not ok:
                self.add_error("pretrained", reason)
                pretrained = False
        elif pretrained:
            self.add_error("pretrained", "Your own networks train from scratch; there are no ImageNet weights.")
            pretrained = False
        start = self._clean_start_from(data, arch, network, pretrained)
        self._given = {name: data[name] for name in CONFIG_FIELDS if data.get(name) not in (None, "")}
        # A network of one's own keeps the size it was designed for unless another is given.
        given = {"device": settings.LUX_DEVICE, **({"image_size": network.image_size} if network else {}),
                 **self._given}
        if dataset is not None:
            self.profile = recipes.data_profile(dataset, version)
            self.recipe = recipes.launch_recipe(arch, self.profile, pretrained=pretrained or start is not None,
                                                spec=network.spec if network else None, given=given)
        if self.recipe is not None:
            values = dict(self.recipe.settings)
        else:
            values = {**defaults_for(arch, pretrained="imagenet" if pretrained or start else None), **given}
        if start is not None:  # the engine loads the file, keeping the head rows of the classes both know
            values["pretrained"] = str(start.path)
        self.start = start
        if network is not None:
            values["spec"] = network.spec
        if self.profile is not None:  # asked once, of the dataset: what augmentation may do to its images
            values.update(mirror=self.profile.mirror, rotate=self.profile.rotate)
        config = TrainConfig(**values)
        try:
            config.validate()
        except ConfigError as exc:
            for setting, message in exc.errors.items():
                self._add_config_error(setting, message, network, config)
            return None
        return config

    def _clean_start_from(self, data, arch: str, network, pretrained: bool) -> init_from.StartFrom | None:
        """Return the earlier model to start from, or None (after an error, when it cannot be used)."""
        value = data.get("start_from") or ""
        if not value:
            return None
        start = init_from.resolve(self.user, value)
        if start is None:  # gone since the form was drawn: the same words as any other unknown choice
            self.add_error("start_from", f"Select a valid choice. {value} is not one of the available choices.")
            return None
        if pretrained:
            self.add_error("start_from", "Start from ImageNet or from an earlier model, not both.")
            return None
        problem = init_from.mismatch(start, arch, network.spec if network else None)
        if problem:
            self.add_error("start_from", problem)
            return None
        return start

    def _add_config_error(self, setting: str, message: str, network, config: TrainConfig) -> None:
        """Put a TrainConfig error beside the field that can fix it."""
        if setting == "spec" and network is not None:
            fits_own_size = _spec_fits(network.spec, network.image_size)
            field = "image_size" if fits_own_size else "arch"
            message = (f"“{network.name}” does not fit {config.image_size} px images: {message}" if fits_own_size
                       else f"“{network.name}” cannot be built: {message}")
        elif setting in self.fields:
            field = setting
        else:
            field, message = None, f"{setting.replace('_', ' ')}: {message}"
        if field is None or field not in self.errors:
            self.add_error(field, message[:1].upper() + message[1:])

    def _check_dataset(self, dataset, version, field: str, config: TrainConfig, data) -> None:
        """Add errors for data that cannot train a classifier with this config."""
        names, per_class = datasets.counts_for_launch(dataset, version)
        if len(names) < 2:
            self.add_error(field, f"“{dataset.name}” has {len(names)} class{'es' if len(names) != 1 else ''}; "
                                  "a classifier needs at least 2. Add a class and label some images.")
            return
        no_train = [name for name in names if not per_class.get(name, {}).get("train")]
        if no_train:
            listed = ", ".join(f"“{n}”" for n in no_train[:3]) + (" and others" if len(no_train) > 3 else "")
            self.add_error(field, f"Class {listed} has no training images: give it some, or move some of "
                                  "its images to the training split.")
        for split, word in (("val", "validation"), ("test", "test")):
            if not sum(counts.get(split, 0) for counts in per_class.values()):
                self.add_error(field, f"The {word} split is empty: assign some images to “{word}” "
                                      f"({'it picks the best epoch' if split == 'val' else 'it measures the model'}).")
        train_total = sum(counts.get("train", 0) for counts in per_class.values())
        if train_total and config.batch_size > train_total:
            if "batch_size" in self._given:
                self.add_error("batch_size", f"The training split has only {train_total} images; "
                                             f"use a batch size of at most {train_total}.")
            else:
                config.batch_size = train_total  # the family default, shrunk to fit a small dataset

    def launch(self) -> TrainingRun:
        """Launch the validated run: a shortcut for services.launch.launch_run(user, form.resolved)."""
        if self.resolved is None:
            raise ValueError("launch() needs a valid form: call is_valid() first")
        return launch_run(self.user, self.resolved)


def _arch_choice_label(entry: dict) -> str:
    params = entry["params"]
    size = f"{params / 1e6:.1f}M parameters" if params else "does not fit its size"
    return f"{entry['label']} · {size} · {entry['suggested_size']} px"


def _spec_fits(spec, image_size: int) -> bool:
    try:
        layer_shapes(spec, image_size=image_size, num_classes=2)
    except (SpecError, ValueError, TypeError):
        return False
    return True


class EvaluateForm(forms.Form):
    """Pick a dataset version and a split to measure a finished model on."""

    version = forms.ModelChoiceField(queryset=None, label="Dataset version")
    split = forms.ChoiceField(choices=[(Split.TEST, "test"), (Split.VAL, "validation"), (Split.TRAIN, "train")],
                              initial=Split.TEST)

    def __init__(self, *args, user, classes=None, **kwargs):
        """`classes`: the model's class names; only versions whose every class the model knows are offered.

        Any visible version is accepted here, so a posted one with other classes is refused by
        evaluate_on_version with the classes it lacks, not by a bare "not one of the choices".
        """
        super().__init__(*args, **kwargs)
        versions = visible_versions(user)
        field = self.fields["version"]
        field.queryset = versions
        field.label_from_instance = lambda v: (
            f"{v.dataset.name} v{v.number} · {len(v.class_names)} classes · {v.counts.get('total', 0)} images")
        if classes is not None:
            known = set(classes)
            field.widget.choices = [("", field.empty_label)] + [
                (v.pk, field.label_from_instance(v)) for v in versions if set(v.class_names or []) <= known]


class NetworkForm(forms.Form):
    """The name, design image size and layer list of a custom network."""

    name = forms.CharField(max_length=200)
    image_size = forms.IntegerField(min_value=1, max_value=MAX_IMAGE_SIZE, initial=32,
                                    help_text="The input size (px) the shapes are checked for.")
    spec = forms.CharField(widget=forms.HiddenInput)

    def __init__(self, *args, user, network=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user, self.network = user, network

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        taken = CustomNetwork.objects.filter(owner=self.network.owner if self.network else self.user, name=name)
        if self.network:
            taken = taken.exclude(pk=self.network.pk)
        if taken.exists():
            raise forms.ValidationError(f"You already have a network called “{name}”; pick another name.")
        return name

    def clean(self):
        data = super().clean()
        try:
            spec = json.loads(data.get("spec") or "null")
        except ValueError:
            spec = None
        if not isinstance(spec, list) or not spec:
            self.add_error(None, "Add at least one layer.")
            return data
        if "image_size" in data:
            report = network_shapes(spec, image_size=data["image_size"], num_classes=PREVIEW_CLASSES)
            if not report["ok"]:
                self.add_error(None, f"The network does not fit: {report['error']['message']}")
        data["spec"] = spec
        return data

    def save(self) -> CustomNetwork:
        network = self.network or CustomNetwork(owner=self.user)
        network.name = self.cleaned_data["name"]
        network.image_size = self.cleaned_data["image_size"]
        network.spec = self.cleaned_data["spec"]
        network.save()
        return network
