"""What the labelling API reads and writes; the work itself is done by services."""

from rest_framework import serializers

from webapp.api.validation import MAX_INT, IdField, StrictTypes
from webapp.datasets.models import Dataset
from webapp.labelling.models import LabelBatch, LabelEvent, Origin, PrelabelJob, Retrain, Suggestion
from webapp.labelling.services.prelabel import MAX_TOP_K
from webapp.labelling.services.queue import ORDERS


class PrelabelJobSerializer(serializers.ModelSerializer):
    dataset = serializers.IntegerField(source="dataset_id", read_only=True)
    created_by = serializers.CharField(source="created_by.username", read_only=True)

    class Meta:
        model = PrelabelJob
        fields = ["id", "dataset", "created_by", "model_ref", "model_label", "class_names", "top_k", "status",
                  "total", "done", "errors", "progress", "cancel_requested", "attempts", "error", "device",
                  "created_at", "started_at", "finished_at"]
        read_only_fields = fields


class PrelabelCreateSerializer(StrictTypes, serializers.Serializer):
    dataset = IdField(help_text="The dataset whose unlabelled images to pre-label.")
    model = serializers.CharField(max_length=120, help_text="`run:<id>` (a succeeded run) or `imported:<id>`.")
    top_k = serializers.IntegerField(min_value=1, max_value=MAX_TOP_K, default=3,
                                     help_text="Classes kept per image, best first.")


class SuggestionSerializer(serializers.ModelSerializer):
    job = serializers.IntegerField(source="job_id", read_only=True)
    image = serializers.IntegerField(source="image_id", read_only=True)
    label = serializers.IntegerField(source="label_id", read_only=True, allow_null=True,
                                     help_text="The dataset's class of the model's top-1 name (null: none).")
    topk = serializers.ListField(child=serializers.ListField(), read_only=True,
                                 help_text="[[class name, probability], ...] best first.")

    class Meta:
        model = Suggestion
        fields = ["id", "job", "image", "model_ref", "label", "label_name", "topk", "confidence", "margin",
                  "entropy", "rejected_at", "created_at"]
        read_only_fields = fields


class SuggestionFilterSerializer(serializers.Serializer):
    dataset = IdField(help_text="The dataset (required).")
    job = IdField(required=False, help_text="A pre-label job of the dataset (default: its newest finished one).")
    label = IdField(required=False, help_text="Only suggestions of this class.")
    min_confidence = serializers.FloatField(required=False, min_value=0, max_value=1)
    max_confidence = serializers.FloatField(required=False, min_value=0, max_value=1)
    unlabelled = serializers.BooleanField(required=False, default=True,
                                          help_text="Only images still unlabelled (default true).")
    order = serializers.ChoiceField(choices=list(ORDERS), required=False, default="margin",
                                    help_text="margin/entropy: most uncertain first; confidence: most sure first.")


class QueueQuerySerializer(serializers.Serializer):
    dataset = IdField()
    scope = serializers.CharField(required=False, max_length=20, help_text="`unlabelled` (default) or a class id.")
    order = serializers.ChoiceField(choices=list(ORDERS), required=False,
                                    help_text="Default: margin once the dataset has suggestions, else oldest.")
    job = IdField(required=False, help_text="The pre-label job whose suggestions order the queue.")
    after = serializers.IntegerField(required=False, min_value=0, max_value=MAX_INT,
                                     help_text="The last image id you got.")
    suggested = IdField(required=False, help_text="Only images the job suggested as this class.")
    min_confidence = serializers.FloatField(required=False, min_value=0, max_value=1,
                                            help_text="Only images whose suggestion is at least this sure (0.4).")
    max_confidence = serializers.FloatField(required=False, min_value=0, max_value=1,
                                            help_text="Only images whose suggestion is below this (0.6).")


class QueueImageSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    label = serializers.IntegerField(allow_null=True)
    file = serializers.CharField()
    page = serializers.CharField()
    suggestion = serializers.DictField(allow_null=True)


class QueueSerializer(serializers.Serializer):
    images = QueueImageSerializer(many=True)
    scope = serializers.CharField(help_text="The images the queue works through, filter included, in words.")
    remaining = serializers.IntegerField()
    total = serializers.IntegerField()
    order = serializers.CharField()
    job = serializers.IntegerField(allow_null=True)
    model = serializers.CharField(allow_null=True)


class LabelEventSerializer(serializers.ModelSerializer):
    dataset = serializers.IntegerField(source="dataset_id", read_only=True)
    image = serializers.IntegerField(source="image_id", read_only=True)
    label = serializers.IntegerField(source="label_id", read_only=True, allow_null=True)
    previous = serializers.IntegerField(source="previous_id", read_only=True, allow_null=True)
    batch = serializers.IntegerField(source="batch_id", read_only=True, allow_null=True)
    user = serializers.CharField(source="user.username", read_only=True, allow_null=True)

    class Meta:
        model = LabelEvent
        fields = ["id", "dataset", "image", "label", "label_name", "previous", "previous_name", "origin", "model_ref",
                  "batch", "user", "created_at", "undone_at"]
        read_only_fields = fields


class LabelCreateSerializer(StrictTypes, serializers.Serializer):
    dataset = IdField()
    image = IdField()
    label = IdField(help_text="The class to put the image in.")
    expected = IdField(required=False, allow_null=True,
                       help_text="The class you saw the image in (null or absent: unlabelled); 409 if it changed.")
    origin = serializers.ChoiceField(choices=[Origin.HAND, Origin.SUGGESTION], default=Origin.HAND)
    model = serializers.CharField(max_length=100, required=False, default="",
                                  help_text="For an accepted suggestion: the suggesting model (`run:<id>`).")


class LabelBatchSerializer(serializers.ModelSerializer):
    dataset = serializers.IntegerField(source="dataset_id", read_only=True)
    job = serializers.IntegerField(source="job_id", read_only=True, allow_null=True)
    label = serializers.IntegerField(source="label_id", read_only=True, allow_null=True)
    user = serializers.CharField(source="user.username", read_only=True, allow_null=True)

    class Meta:
        model = LabelBatch
        fields = ["id", "dataset", "job", "model_ref", "label", "label_name", "min_confidence", "count", "user",
                  "created_at", "undone_at"]
        read_only_fields = fields


class BatchPreviewQuerySerializer(serializers.Serializer):
    dataset = IdField()
    label = IdField()
    min_confidence = serializers.FloatField(min_value=0, max_value=1, help_text="0.95 for 95%.")


class BatchPreviewSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    label = serializers.IntegerField()
    label_name = serializers.CharField()
    min_confidence = serializers.FloatField()
    model = serializers.CharField()
    job = serializers.IntegerField()
    sample = QueueImageSerializer(many=True)


class BatchCreateSerializer(StrictTypes, serializers.Serializer):
    dataset = IdField()
    label = IdField()
    min_confidence = serializers.FloatField(min_value=0, max_value=1, required=False,
                                            help_text="Accept every suggestion of the class at or above this.")
    count = serializers.IntegerField(min_value=0, max_value=MAX_INT, required=False,
                                     help_text="With min_confidence: the count the preview gave; 409 if it moved.")
    accept = serializers.ListField(child=IdField(), required=False, max_length=500,
                                   help_text="Grid mode: the images to label as the class.")
    reject = serializers.ListField(child=IdField(), required=False, max_length=500,
                                   help_text="Grid mode: the images whose suggestion of the class is wrong.")

    def validate(self, data):
        by_threshold = "min_confidence" in data
        if by_threshold == bool(data.get("accept") or data.get("reject")):
            raise serializers.ValidationError("Send either min_confidence with count, or accept/reject lists.")
        if by_threshold and "count" not in data:
            raise serializers.ValidationError({"count": ["Send the count the preview gave."]})
        return data


class BatchUndoSerializer(serializers.Serializer):
    batch = serializers.IntegerField()
    undone = serializers.IntegerField()
    kept = serializers.IntegerField(help_text="Images labelled again since, left as they are.")


class RetrainSerializer(serializers.ModelSerializer):
    dataset = serializers.IntegerField(source="dataset_id", read_only=True)
    source = serializers.IntegerField(source="source_id", read_only=True, allow_null=True,
                                      help_text="The pre-label job whose model the run starts from.")
    run = serializers.IntegerField(source="run_id", read_only=True)
    run_status = serializers.CharField(source="run.status", read_only=True)
    prelabel = serializers.IntegerField(source="prelabel_id", read_only=True, allow_null=True,
                                        help_text="The pre-label job with the new model, once the run succeeded.")

    class Meta:
        model = Retrain
        fields = ["id", "dataset", "source", "run", "run_status", "prelabel", "note", "created_at", "followed_at"]
        read_only_fields = fields


class RetrainCreateSerializer(StrictTypes, serializers.Serializer):
    dataset = IdField(help_text="The dataset to retrain on, from the run whose suggestions it shows.")


class SendToDatasetSerializer(StrictTypes, serializers.Serializer):
    dataset = IdField(help_text="A dataset you may edit: the images go there, unlabelled.")
    images = serializers.ChoiceField(choices=["low", "all"], default="low",
                                     help_text="`low`: only predictions below `below`; `all`: every answered image.")
    below = serializers.FloatField(required=False, min_value=0, max_value=100,
                                   help_text="Percent, for `low` (default: the job's low-confidence threshold).")

    def validate_dataset(self, value):
        found = Dataset.objects.visible_to(self.context["request"].user).filter(pk=value).first()
        if found is None:
            raise serializers.ValidationError("No such dataset, or it is not shared with you.")
        return found

    def validate_below(self, value):
        if value <= 0:
            raise serializers.ValidationError("The threshold must be above 0%.")
        return value


class SentSerializer(serializers.Serializer):
    dataset = serializers.IntegerField()
    selected = serializers.IntegerField(help_text="The job's images chosen.")
    added = serializers.IntegerField(help_text="Stored in the dataset as new unlabelled images.")
    duplicates = serializers.IntegerField(help_text="Already in the dataset: not added twice.")
    rejected = serializers.IntegerField(help_text="Refused by the image checks (the import report says why).")
    missing = serializers.IntegerField(help_text="The job's file is gone from storage (deleted or expired).")
    suggested = serializers.IntegerField(help_text="Suggestions made from the job's predictions.")
    unmatched = serializers.IntegerField(help_text="Images whose predicted class the dataset lacks: no suggestion.")
    unmatched_classes = serializers.ListField(child=serializers.CharField())
    import_ = serializers.IntegerField(allow_null=True, help_text="The import with the per-file report.")
    prelabel_job = serializers.IntegerField(allow_null=True, help_text="The finished pre-label job holding the "
                                            "suggestions (null: none made).")
    message = serializers.CharField()

    def get_fields(self):
        fields = super().get_fields()
        fields["import"] = fields.pop("import_")  # `import` is a keyword: renamed on the way out
        return fields
