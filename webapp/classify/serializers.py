"""Serializers of the classification API: requests validated like the forms, answers as plain JSON."""

from django.urls import reverse
from rest_framework import serializers

from webapp.api.validation import MAX_INT, IdField, StrictTypes
from webapp.classify.models import ClassificationJob, Explanation, ImportedModel
from webapp.classify.services.explain import png_names
from webapp.classify.services.jobs import MAX_TOP_K, VERSION_SPLITS, job_status
from webapp.runs.models import ModelArtifact


class ModelOptionSerializer(serializers.Serializer):
    ref = serializers.CharField(help_text="run:<id>, imported:<id> or imagenet:<arch>")
    label = serializers.CharField()
    group = serializers.CharField()


class PredictRequestSerializer(serializers.Serializer):
    model = serializers.CharField(help_text="A model reference: run:<id>, imported:<id> or imagenet:<arch>.")
    image = serializers.FileField(help_text="One image (JPEG, PNG, WebP, BMP, GIF or TIFF).")
    top_k = serializers.IntegerField(min_value=1, max_value=MAX_TOP_K, default=5)


class ClassScoreSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    name = serializers.CharField()
    probability = serializers.FloatField()


class PredictResponseSerializer(serializers.Serializer):
    model = serializers.DictField()
    filename = serializers.CharField()
    top_k = ClassScoreSerializer(many=True)
    error = serializers.CharField(allow_null=True)
    cache = serializers.DictField()
    seconds = serializers.DictField()


class PendingAnswerSerializer(serializers.Serializer):
    status = serializers.CharField(help_text="Always `pending`: the answer is not ready yet.")
    ticket = serializers.CharField(help_text="Names the pending answer; only you may read it.")
    status_url = serializers.CharField(help_text="GET it until it answers 200 (the answer) or an error.")
    detail = serializers.CharField()


class ImportedModelSerializer(serializers.ModelSerializer):
    ref = serializers.CharField(read_only=True)
    owner = serializers.CharField(source="owner.username", read_only=True)

    class Meta:
        model = ImportedModel
        fields = ["id", "ref", "name", "owner", "arch", "network", "class_names", "image_size", "preset",
                  "original_name", "original_format", "sha256", "size_bytes", "created_at"]
        read_only_fields = fields


class ImportModelRequestSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    file = serializers.FileField(help_text=".safetensors, or a PyTorch state dict as .pth/.pt (tensors only).")
    arch = serializers.CharField(required=False, allow_blank=True,
                                 help_text="A registered architecture; empty for a Lux .safetensors file.")
    # Multipart fields: a form cannot send null, so an empty or missing field means "none".
    network = IdField(required=False, help_text="A custom network id.")
    class_names = serializers.CharField(required=False, allow_blank=True,
                                        help_text="One per line (or comma-separated), in output order.")
    image_size = serializers.IntegerField(required=False, min_value=1, max_value=1024)


class JobSerializer(serializers.ModelSerializer):
    # Plain strings in the schema: an enum named "status" would collide with the runs' and imports' ones.
    status = serializers.CharField(read_only=True, help_text="pending, queued, running, succeeded, failed or "
                                                             "cancelled")
    split = serializers.CharField(read_only=True)
    progress = serializers.SerializerMethodField()
    links = serializers.SerializerMethodField()

    class Meta:
        model = ClassificationJob
        fields = ["id", "name", "model_ref", "model_label", "source", "original_name", "version", "split", "top_k",
                  "low_confidence", "status", "total", "done", "errors", "progress", "class_names", "evaluation",
                  "evaluation_note", "error", "created_at", "started_at", "finished_at", "links"]
        read_only_fields = fields

    def get_progress(self, job) -> dict:
        return job_status(job)

    def get_links(self, job) -> dict:
        links = {"page": reverse("classify_job", args=[job.pk]),
                 "csv": reverse("classify-job-download", args=[job.pk, "csv"]),
                 "json": reverse("classify-job-download", args=[job.pk, "json"])}
        if job.evaluation_id:
            links["evaluation"] = reverse("evaluation_detail", args=[job.evaluation_id])
        return links


class JobCreateSerializer(serializers.Serializer):
    model = serializers.CharField(help_text="A model reference: run:<id>, imported:<id> or imagenet:<arch>.")
    name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    files = serializers.ListField(child=serializers.FileField(), required=False, max_length=100,
                                  help_text="Up to 100 images; add more with POST jobs/{id}/files/ before start.")
    archive = serializers.FileField(required=False, help_text="A ZIP of images.")
    version = IdField(required=False, help_text="A dataset version id.")
    split = serializers.ChoiceField(choices=VERSION_SPLITS, required=False, default="test",
                                    help_text="The version's split to classify.")
    start = serializers.BooleanField(default=True, help_text="Uploads: start at once (false: add more files first).")
    top_k = serializers.IntegerField(min_value=1, max_value=MAX_TOP_K, default=5)
    low_confidence = serializers.FloatField(min_value=0.01, max_value=0.99, default=0.5)

    def validate(self, data):
        given = [key for key in ("files", "archive", "version") if data.get(key)]
        if len(given) != 1:
            raise serializers.ValidationError("Give exactly one of files, archive or version.")
        data["source"] = {"files": "upload", "archive": "archive", "version": "version"}[given[0]]
        if data["source"] == "version" and data.get("split") not in VERSION_SPLITS:
            raise serializers.ValidationError({"split": [f"Choose one of {', '.join(VERSION_SPLITS)}."]})
        return data


class JobFromVersionSerializer(StrictTypes, JobCreateSerializer):
    """A job over a dataset version's split, sent as JSON (files and ZIPs need multipart/form-data)."""

    files = archive = start = None
    version = IdField(help_text="A dataset version id.")


class FilesSerializer(serializers.Serializer):
    files = serializers.ListField(child=serializers.FileField(), max_length=100)


class ResultSerializer(serializers.Serializer):
    position = serializers.IntegerField()
    filename = serializers.CharField()
    image_id = serializers.IntegerField(allow_null=True)
    predicted_class = serializers.CharField(allow_null=True)
    confidence = serializers.FloatField(allow_null=True)
    top_k = serializers.ListField(child=serializers.DictField())
    true_class = serializers.CharField(allow_null=True)
    error = serializers.CharField(allow_null=True)


class ExportSerializer(serializers.ModelSerializer):
    format = serializers.SerializerMethodField()
    state = serializers.SerializerMethodField()
    parity = serializers.SerializerMethodField()
    download = serializers.SerializerMethodField()

    class Meta:
        model = ModelArtifact
        fields = ["id", "run", "kind", "format", "state", "parity", "details", "size_bytes", "sha256", "created_at",
                  "download"]
        read_only_fields = fields

    def get_format(self, artifact) -> str:
        return artifact.kind

    def get_state(self, artifact) -> str:
        return (artifact.details or {}).get("state", "done")

    def get_parity(self, artifact) -> dict | None:
        return (artifact.details or {}).get("parity")

    def get_download(self, artifact) -> str | None:
        if self.get_state(artifact) != "done":
            return None
        return reverse("classify-export-download", args=[artifact.pk])


class ExportRequestSerializer(StrictTypes, serializers.Serializer):
    run = IdField()
    format = serializers.ChoiceField(choices=["torchscript", "onnx"])


class ExplanationSerializer(serializers.ModelSerializer):
    pictures = serializers.SerializerMethodField()
    status_url = serializers.SerializerMethodField(help_text="GET it until `status` is succeeded or failed.")

    class Meta:
        model = Explanation
        fields = ["id", "model_ref", "model_label", "original_name", "class_index", "layer", "status", "error",
                  "result", "created_at", "pictures", "status_url"]
        read_only_fields = fields

    def get_status_url(self, explanation) -> str:
        return reverse("classify-explanation-detail", args=[explanation.pk])

    def get_pictures(self, explanation) -> dict:
        return {kind: reverse("classify-explanation-png", args=[explanation.pk, kind])
                for kind in png_names(explanation)}


class ExplainRequestSerializer(serializers.Serializer):
    model = serializers.CharField(help_text="A model reference: run:<id>, imported:<id> or imagenet:<arch>.")
    image = serializers.FileField()
    class_index = serializers.IntegerField(required=False, min_value=0,
                                           help_text="The class to explain; empty: the top class.")
    layer = serializers.RegexField(
        r"^[A-Za-z0-9_.]{1,200}$", required=False, allow_blank=True,
        help_text="Grad-CAM's layer, a dotted module name as in `result.layers` of an earlier explanation; empty: "
                  "the last layer whose map has at least 4x4 cells. A name the model does not have fails the "
                  "explanation with the reason.")


# ---- query parameters: documented from these and validated by them, so a malformed one is a 400

class ExportFilterSerializer(serializers.Serializer):
    run = IdField(required=False, help_text="Only this run's exports.")


class ResultFilterSerializer(serializers.Serializer):
    def get_fields(self):
        return {  # "class" is a Python keyword, so the fields are built here
            "class": serializers.IntegerField(required=False, min_value=0, max_value=MAX_INT,
                                              help_text="Only images predicted as this class index."),
            "min_confidence": serializers.FloatField(required=False, min_value=0, max_value=100,
                                                     help_text="Top-1 probability at least this (0-1, or a percent)."),
            "max_confidence": serializers.FloatField(required=False, min_value=0, max_value=100,
                                                     help_text="Top-1 probability at most this (0-1, or a percent)."),
            "low": serializers.BooleanField(required=False, default=False,
                                            help_text="Only predictions below the job's low-confidence threshold."),
            "errors": serializers.BooleanField(required=False, default=False,
                                               help_text="Only files that could not be classified."),
        }
