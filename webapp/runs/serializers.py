"""API shapes of runs, epochs, evaluations, predictions and custom networks."""

from __future__ import annotations

from django import forms
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from classifier.netspec import KINDS
from classifier.presets import augment_presets
from webapp.api.validation import MAX_INT, IdField, StrictTypes
from webapp.datasets.models import Split
from webapp.runs.forms import LaunchForm
from webapp.runs.models import CustomNetwork, EpochMetric, EvalPrediction, Evaluation, RunStatus, TrainingRun
from webapp.runs.services.init_from import started_from
from webapp.runs.services.networks import PREVIEW_CLASSES, network_shapes


@extend_schema_field({
    "type": "array",
    "items": {"type": "object", "required": ["code", "message", "cause", "setting", "suggested"], "properties": {
        "code": {"type": "string", "enum": ["near_chance", "one_class", "overfitting", "loss_not_falling",
                                           "too_few_steps", "small_test", "diverged"]},
        "message": {"type": "string"}, "cause": {"type": "string"}, "setting": {"type": "string"},
        "suggested": {"type": "object", "additionalProperties": True}}},
})
class HealthField(serializers.JSONField):
    """A run's health warnings, each with its likely cause and the settings to change."""


@extend_schema_field({
    "type": "object", "nullable": True,
    "description": "Where the run started; null when it trained from scratch.",
    "required": ["kind", "id", "label", "arch", "file", "sha256", "sha256_prefix", "url"],
    "properties": {
        "kind": {"type": "string", "enum": ["run", "imported", "imagenet"],
                 "description": "An earlier run, an imported model, or torchvision's ImageNet weights."},
        "id": {"type": "integer", "nullable": True, "description": "The earlier run's or imported model's id."},
        "label": {"type": "string", "description": "Its name, architecture and data, as when the run was launched."},
        "arch": {"type": "string"},
        "file": {"type": "string", "description": "The weights file's name."},
        "sha256": {"type": "string", "description": "The weights file's SHA-256 when the run was launched."},
        "sha256_prefix": {"type": "boolean", "description": "true: `sha256` is only the prefix in torchvision's "
                                                            "file name (ImageNet weights)."},
        "url": {"type": "string", "nullable": True,
                "description": "Its page, while you may still see it (null: deleted, or no longer shared with you)."},
    },
})
class StartedFromField(serializers.JSONField):
    """Where a run started: an earlier run, an imported model or ImageNet weights, with the file's checksum."""


class RunSerializer(serializers.ModelSerializer):
    status = serializers.CharField(read_only=True, help_text=", ".join(RunStatus.values))
    owner = serializers.CharField(source="owner.username", read_only=True)
    dataset = serializers.IntegerField(source="version.dataset_id", read_only=True)
    dataset_name = serializers.CharField(source="version.dataset.name", read_only=True)
    version_number = serializers.IntegerField(source="version.number", read_only=True)
    network_name = serializers.CharField(source="network.name", read_only=True, allow_null=True, default=None,
                                         help_text="The custom network's name; null for a registered architecture.")
    top1 = serializers.FloatField(read_only=True, allow_null=True, default=None,
                                  help_text="Top-1 accuracy of the finished model on its own dataset version: "
                                            "the test split, else validation.")
    duration_s = serializers.SerializerMethodField()
    health = HealthField(read_only=True, help_text=(
        "The health check's warnings (after every epoch while training, and on the final evaluation), most "
        "important first: `code`, `message` (what is wrong), `cause` (the likely reason), `setting` (the "
        "setting to change; empty when the fix lies in the data) and `suggested` (settings for a re-run: "
        "POST /api/runs/{id}/rerun/)."))
    started_from = serializers.SerializerMethodField()

    class Meta:
        model = TrainingRun
        fields = ["id", "name", "owner", "dataset", "dataset_name", "version", "version_number", "arch", "network",
                  "network_name", "config", "notes", "status", "progress", "cancel_requested", "attempts", "worker",
                  "device", "heartbeat_at", "created_at", "started_at", "finished_at", "train_seconds",
                  "best_epoch", "warnings", "health", "error", "top1", "duration_s", "started_from"]
        read_only_fields = fields

    @extend_schema_field(StartedFromField)
    def get_started_from(self, run) -> dict | None:
        request = self.context.get("request")
        return started_from(run, request.user if request else None)

    def get_duration_s(self, run) -> float | None:
        if run.started_at is None or run.finished_at is None:
            return None
        return round((run.finished_at - run.started_at).total_seconds(), 1)


class RunDetailSerializer(RunSerializer):
    evaluations = serializers.SerializerMethodField()

    class Meta(RunSerializer.Meta):
        fields = [*RunSerializer.Meta.fields, "traceback", "timings", "evaluations"]
        read_only_fields = fields

    def get_evaluations(self, run) -> list[dict]:
        return [{"id": e.pk, "split": e.split, "version": e.version_id, "status": e.status, "top1": e.top1}
                for e in run.evaluations.order_by("split", "-created_at")]


# Launch requests are validated by LaunchForm; this serializer only describes them for the schema. The first
# entry a form field is an instance of wins, so subclasses come first: Django's FloatField is an IntegerField
# and ModelChoiceField a ChoiceField. An optional setting may be left out, empty or null: its default.
def _choice(f):
    values = [value for value, _ in f.choices]
    if not values:  # filled in per user (architectures, augmentations): any string, checked by the form
        return serializers.CharField(required=f.required, allow_blank=not f.required, allow_null=not f.required,
                                     help_text=f.help_text)
    return serializers.ChoiceField(choices=values + ([] if f.required or "" in values else [""]),
                                   required=f.required, allow_null=not f.required, help_text=f.help_text)


_FIELD_TYPES = {
    forms.ModelChoiceField: lambda f: IdField(required=False, allow_null=True, help_text=f.help_text or "id"),
    forms.BooleanField: lambda f: serializers.BooleanField(required=False, allow_null=True, help_text=f.help_text),
    forms.FloatField: lambda f: serializers.FloatField(required=False, allow_null=True, help_text=f.help_text,
                                                       min_value=f.min_value, max_value=f.max_value),
    forms.IntegerField: lambda f: serializers.IntegerField(required=False, allow_null=True, help_text=f.help_text,
                                                           min_value=f.min_value, max_value=f.max_value),
    forms.ChoiceField: _choice,
    forms.CharField: lambda f: serializers.CharField(required=False, allow_blank=True, allow_null=True,
                                                     help_text=f.help_text, max_length=f.max_length),
}


def _schema_field(form_field):
    kind = next(k for k in _FIELD_TYPES if isinstance(form_field, k))
    return _FIELD_TYPES[kind](form_field)


LaunchRequestSerializer = type("LaunchRequestSerializer", (StrictTypes, serializers.Serializer), {
    "__doc__": "A new run: a dataset (or version) and an architecture; every empty setting takes the "
               "architecture's default. `arch` is a registered name or `net:<id>` for one of your networks.",
    **{name: _schema_field(field) for name, field in LaunchForm.base_fields.items()},
    # The form fills these choices in per instance; the augmentations are the same for everyone.
    "augment": serializers.ChoiceField(choices=[*augment_presets(), ""], required=False, allow_null=True,
                                       help_text="Empty: the architecture's default."),
})


@extend_schema_field({
    "type": "array", "minItems": 1,
    "items": {"type": "object", "required": ["type"], "additionalProperties": {"type": "number"},
              "properties": {"type": {"type": "string", "enum": list(KINDS)}}},
})
class LayerListField(serializers.JSONField):
    """A network's layers: objects with a `type` and that type's numbers (checked by classifier.netspec)."""


class EpochMetricSerializer(serializers.ModelSerializer):
    class Meta:
        model = EpochMetric
        fields = ["epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy", "lr", "images_per_s",
                  "seconds"]
        read_only_fields = fields


class EvaluationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Evaluation
        fields = ["id", "run", "version", "split", "status", "error", "num_samples", "top1", "top5", "macro_f1",
                  "ece", "created_at"]
        read_only_fields = fields


class EvaluationDetailSerializer(EvaluationSerializer):
    confusion_matrix = serializers.SerializerMethodField(help_text="Rows: true class; columns: predicted class.")
    per_class = serializers.SerializerMethodField(help_text="precision, recall (= accuracy), f1, support.")
    averages = serializers.SerializerMethodField()
    reliability = serializers.SerializerMethodField()

    class Meta(EvaluationSerializer.Meta):
        fields = [*EvaluationSerializer.Meta.fields, "class_names", "confusion_matrix", "per_class", "averages",
                  "reliability"]
        read_only_fields = fields

    def get_confusion_matrix(self, e) -> list[list[int]]:
        return (e.metrics or {}).get("confusion_matrix", [])

    def get_per_class(self, e) -> list[dict]:
        return (e.metrics or {}).get("per_class", [])

    def get_averages(self, e) -> dict:
        metrics = e.metrics or {}
        return {"macro": metrics.get("macro"), "weighted": metrics.get("weighted"), "nll": metrics.get("nll")}

    def get_reliability(self, e) -> list[dict]:
        return (e.metrics or {}).get("reliability", [])


class EvalPredictionSerializer(serializers.ModelSerializer):
    true_class = serializers.SerializerMethodField()
    predicted_class = serializers.SerializerMethodField()
    correct = serializers.SerializerMethodField()

    class Meta:
        model = EvalPrediction
        fields = ["id", "image", "true_index", "true_class", "predicted_index", "predicted_class", "correct",
                  "confidence", "top5"]
        read_only_fields = fields

    def _name(self, index: int) -> str | None:
        names = self.context.get("class_names") or []
        return names[index] if index < len(names) else None

    def get_true_class(self, p) -> str | None:
        return self._name(p.true_index)

    def get_predicted_class(self, p) -> str | None:
        return self._name(p.predicted_index)

    def get_correct(self, p) -> bool:
        return p.true_index == p.predicted_index


class EvaluateRequestSerializer(StrictTypes, serializers.Serializer):
    version = IdField(help_text="A dataset version you may see, whose classes the model knows.")
    split = serializers.ChoiceField(choices=Split.choices, help_text="train, val or test.")


class ShapesRequestSerializer(StrictTypes, serializers.Serializer):
    # Any JSON: checking a spec is this endpoint's job, so a broken one is answered with what breaks.
    spec = serializers.JSONField(help_text='A list of layers, e.g. [{"type": "conv", "channels": 32}, ...].')
    image_size = serializers.IntegerField(min_value=1, max_value=4096, default=32)
    num_classes = serializers.IntegerField(min_value=1, max_value=100_000, default=PREVIEW_CLASSES)


class ShapeRowSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    kind = serializers.CharField()
    label = serializers.CharField()
    out_shape = serializers.ListField(child=serializers.IntegerField())
    params = serializers.IntegerField()


class ShapeErrorSerializer(serializers.Serializer):
    layer = serializers.IntegerField(allow_null=True, help_text="1-based index of the layer at fault.")
    message = serializers.CharField()


class ShapesSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    layers = ShapeRowSerializer(many=True)
    total_params = serializers.IntegerField(allow_null=True)
    error = ShapeErrorSerializer(allow_null=True)


class CustomNetworkSerializer(StrictTypes, serializers.ModelSerializer):
    spec = LayerListField(help_text='A list of layers, e.g. [{"type": "conv", "channels": 32}, ...].')
    owner = serializers.CharField(source="owner.username", read_only=True)
    params = serializers.SerializerMethodField(help_text=f"Parameters with a {PREVIEW_CLASSES}-class head.")
    value = serializers.SerializerMethodField(help_text="What to send as `arch` to launch a run with it.")

    class Meta:
        model = CustomNetwork
        fields = ["id", "name", "owner", "spec", "image_size", "params", "value", "created_at"]
        read_only_fields = ["id", "owner", "params", "value", "created_at"]

    def get_params(self, network) -> int | None:
        return network_shapes(network.spec, image_size=network.image_size, num_classes=PREVIEW_CLASSES)[
            "total_params"]

    def get_value(self, network) -> str:
        return f"net:{network.pk}"

    def validate_name(self, name: str) -> str:
        user = self.context["request"].user
        taken = CustomNetwork.objects.filter(owner=user, name=name)
        if self.instance is not None:
            taken = taken.exclude(pk=self.instance.pk)
        if taken.exists():
            raise serializers.ValidationError("You already have a network with this name.")
        return name

    def validate(self, attrs):
        spec = attrs.get("spec", getattr(self.instance, "spec", None))
        size = attrs.get("image_size", getattr(self.instance, "image_size", 32))
        report = network_shapes(spec, image_size=size, num_classes=PREVIEW_CLASSES)
        if not report["ok"]:
            raise serializers.ValidationError({"spec": [report["error"]["message"]]})
        return attrs


# ---- query parameters: documented from these and validated by them, so a malformed one is a 400

RUN_ORDERING = {"created": "created_at", "finished": "finished_at", "status": "status", "arch": "arch",
                "name": "name", "top1": "top1"}


class RunFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=RunStatus.values, required=False)
    dataset = IdField(required=False, help_text="Only runs on this dataset.")
    version = IdField(required=False, help_text="Only runs on this dataset version.")
    arch = serializers.CharField(required=False, help_text="Only runs of this architecture.")
    ordering = serializers.ChoiceField(choices=[*RUN_ORDERING, *[f"-{key}" for key in RUN_ORDERING]],
                                       required=False, help_text="Newest first (-created) when left out.")


class RunStatusQuerySerializer(serializers.Serializer):
    since_epoch = serializers.IntegerField(required=False, min_value=0, max_value=MAX_INT,
                                           help_text="Only epochs after this one.")


class EvaluationFilterSerializer(serializers.Serializer):
    run = IdField(required=False, help_text="Only this run's evaluations.")
    version = IdField(required=False, help_text="Only evaluations on this dataset version.")
    split = serializers.ChoiceField(choices=Split.choices, required=False)


class PredictionFilterSerializer(serializers.Serializer):
    true = serializers.IntegerField(required=False, min_value=0, max_value=MAX_INT, help_text="True class index.")
    predicted = serializers.IntegerField(required=False, min_value=0, max_value=MAX_INT,
                                         help_text="Predicted class index.")
    correct = serializers.BooleanField(required=False, allow_null=True, default=None,
                                       help_text="true: only right answers; false: only mistakes.")
    ordering = serializers.ChoiceField(choices=["confidence", "-confidence"], required=False,
                                       help_text="Most confident first (-confidence) when left out.")
