"""What the datasets API reads and writes; the work itself is done by services."""

from django.urls import reverse
from rest_framework import serializers

from webapp.api.validation import ClassFilterField, IdField, StrictTypes
from webapp.datasets.models import Dataset, DatasetClass, DatasetVersion, Image, Import, ImportItem, Split
from webapp.datasets.services.health import dataset_health


class RouteField(serializers.CharField):
    """The path of an API route that takes the row's id, such as an image's content URL."""

    def __init__(self, view_name: str, **kwargs):
        self.view_name = view_name
        super().__init__(source="pk", read_only=True, **kwargs)

    def to_representation(self, pk) -> str:
        return reverse(self.view_name, args=[pk])


# A row that belongs to one dataset, shown by the dataset's id. A comment, not a docstring: a docstring
# would describe every serializer below it in the OpenAPI schema.
class InDatasetSerializer(serializers.ModelSerializer):
    dataset = serializers.IntegerField(source="dataset_id", read_only=True)


class DatasetSerializer(StrictTypes, serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.username", read_only=True)
    image_count = serializers.IntegerField(read_only=True)
    class_count = serializers.IntegerField(read_only=True)
    version_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Dataset
        fields = ["id", "name", "description", "allow_mirror", "allow_rotate", "owner", "created_at", "updated_at",
                  "revision", "image_count", "class_count", "version_count"]
        read_only_fields = ["created_at", "updated_at", "revision"]
        extra_kwargs = {  # the model's questions become the API's documentation
            "allow_mirror": {"help_text": "May training mirror these images? " + Dataset.allow_mirror.field.help_text},
            "allow_rotate": {"help_text": "May training turn these images by quarter turns? "
                                          + Dataset.allow_rotate.field.help_text},
        }

    def validate_name(self, value: str) -> str:
        name = value.strip()
        if not name:
            raise serializers.ValidationError("Give the dataset a name.")
        owner = self.instance.owner if self.instance else self.context["request"].user
        taken = Dataset.objects.filter(owner=owner, name__iexact=name)
        if self.instance:
            taken = taken.exclude(pk=self.instance.pk)
        if taken.exists():
            raise serializers.ValidationError(f"You already have a dataset called '{name}'; choose another name.")
        return name


class DatasetDetailSerializer(DatasetSerializer):
    health = serializers.SerializerMethodField()

    class Meta(DatasetSerializer.Meta):
        fields = DatasetSerializer.Meta.fields + ["health"]

    def get_health(self, dataset) -> dict:
        return dataset_health(dataset)


class ClassSerializer(InDatasetSerializer):
    image_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = DatasetClass
        fields = ["id", "dataset", "name", "position", "image_count"]
        read_only_fields = ["position"]


class ClassCreateSerializer(StrictTypes, serializers.Serializer):
    dataset = IdField()
    name = serializers.CharField(max_length=200)


class ClassRenameSerializer(StrictTypes, serializers.Serializer):
    name = serializers.CharField(max_length=200)


class ClassMergeSerializer(StrictTypes, serializers.Serializer):
    into = IdField(help_text="The class that receives the images; this class is deleted.")


class ImageSerializer(InDatasetSerializer):
    label = serializers.IntegerField(source="label_id", read_only=True, allow_null=True)
    label_name = serializers.SerializerMethodField()
    file_url = RouteField("dataset-image-content")
    thumbnail_url = RouteField("dataset-image-thumbnail")

    class Meta:
        model = Image
        fields = ["id", "dataset", "original_name", "label", "label_name", "split", "width", "height", "format",
                  "size_bytes", "sha256", "created_at", "file_url", "thumbnail_url"]

    def get_label_name(self, image) -> str | None:
        return image.label.name if image.label_id else None


class ImagePatchSerializer(StrictTypes, serializers.Serializer):
    label = IdField(required=False, allow_null=True, help_text="A class id, or null: unlabelled.")
    split = serializers.ChoiceField(choices=Split.choices, required=False)


class ImageUploadSerializer(serializers.Serializer):
    dataset = IdField()
    label = IdField(required=False, help_text="A class id; leave out: unlabelled.")
    split = serializers.ChoiceField(choices=Split.choices, required=False)
    files = serializers.ListField(child=serializers.FileField(allow_empty_file=True),
                                  help_text="At most 100 files per request.")


class FileOutcomeSerializer(serializers.Serializer):
    name = serializers.CharField()
    outcome = serializers.ChoiceField(choices=ImportItem.Outcome.values)
    reason = serializers.CharField()
    message = serializers.CharField()
    image = serializers.IntegerField(allow_null=True, help_text="The stored image, when accepted.")
    existing = serializers.IntegerField(allow_null=True, help_text="The image a duplicate or conflict matches.")


class UploadResultSerializer(serializers.Serializer):
    import_id = serializers.IntegerField()
    accepted = serializers.IntegerField()
    rejected = serializers.IntegerField()
    duplicates = serializers.IntegerField()
    conflicts = serializers.IntegerField()
    files = FileOutcomeSerializer(many=True)


class BulkSerializer(StrictTypes, serializers.Serializer):
    dataset = IdField()
    action = serializers.ChoiceField(choices=["relabel", "move", "delete"])
    ids = serializers.ListField(child=IdField(), max_length=10_000, allow_empty=False)
    label = IdField(required=False, allow_null=True, help_text="relabel: a class id or null.")
    split = serializers.ChoiceField(choices=Split.choices, required=False, help_text="move: the split.")


class ChangedSerializer(serializers.Serializer):
    changed = serializers.IntegerField()


class AutoSplitSerializer(StrictTypes, serializers.Serializer):
    train = serializers.FloatField(min_value=0, default=0.7)
    val = serializers.FloatField(min_value=0, default=0.15)
    test = serializers.FloatField(min_value=0, default=0.15)
    seed = serializers.IntegerField(default=0)
    only_unassigned = serializers.BooleanField(default=False)


class SplitCountsSerializer(serializers.Serializer):
    train = serializers.IntegerField()
    val = serializers.IntegerField()
    test = serializers.IntegerField()
    images = serializers.IntegerField()
    groups = serializers.IntegerField(help_text="Classes (and the unlabelled group) split separately.")


class ImportSerializer(InDatasetSerializer):
    progress = serializers.SerializerMethodField()
    items_url = RouteField("dataset-import-items")

    class Meta:
        model = Import
        fields = ["id", "dataset", "kind", "layout", "status", "original_name", "total", "done", "progress",
                  "accepted", "rejected", "duplicates", "conflicts", "skipped", "error", "created_at", "started_at",
                  "finished_at", "items_url"]

    def get_progress(self, job) -> float:
        return round(job.done / job.total, 4) if job.total else (1.0 if job.status == "succeeded" else 0.0)


class ImportCreateSerializer(serializers.Serializer):
    dataset = IdField()
    file = serializers.FileField(help_text="A ZIP: class/img.jpg, train|val|test/class/img.jpg, or with labels.csv.")


class ImportItemSerializer(serializers.ModelSerializer):
    image = serializers.IntegerField(source="image_id", read_only=True, allow_null=True)

    class Meta:
        model = ImportItem
        fields = ["id", "name", "outcome", "reason", "message", "image"]


class VersionSerializer(InDatasetSerializer):
    created_by = serializers.SerializerMethodField()
    export_url = RouteField("dataset-version-export")

    class Meta:
        model = DatasetVersion
        fields = ["id", "dataset", "number", "revision", "class_names", "counts", "content_hash", "note",
                  "created_by", "created_at", "export_url"]

    def get_created_by(self, version) -> str | None:
        return version.created_by.username if version.created_by_id else None


class VersionCreateSerializer(StrictTypes, serializers.Serializer):
    dataset = IdField()
    note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class ClassDeleteQuerySerializer(serializers.Serializer):
    delete_images = serializers.BooleanField(required=False, default=False,
                                             help_text="true: delete its images too; otherwise they become unlabelled.")


# ---- query parameters: documented from these and validated by them, so a malformed one is a 400

class DatasetFilterSerializer(serializers.Serializer):
    dataset = IdField(required=False, help_text="Only this dataset's rows (404 if not yours).")


class ImageFilterSerializer(DatasetFilterSerializer):
    def get_fields(self):
        return {**super().get_fields(),  # "class" is a Python keyword, so the fields are built here
                "class": ClassFilterField(required=False, help_text="A class id, or `none` for unlabelled images."),
                "label": ClassFilterField(required=False, help_text="Another name for `class`."),
                "split": serializers.ChoiceField(choices=Split.choices, required=False),
                "status": serializers.ChoiceField(choices=["labelled", "unlabelled"], required=False),
                "search": serializers.CharField(required=False, allow_blank=True,
                                                help_text="Part of the file name (case-insensitive)."),
                "q": serializers.CharField(required=False, allow_blank=True, help_text="Another name for `search`.")}


class ImportItemFilterSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=ImportItem.Outcome.values, required=False)
