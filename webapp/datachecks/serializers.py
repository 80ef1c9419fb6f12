"""What the data-check API reads and answers: checks, near-duplicate reports, and fixes of one group."""

from rest_framework import serializers

from webapp.api.validation import IdField, StrictTypes
from webapp.datachecks.models import CheckKind, DataCheck
from webapp.datachecks.services.duplicates import ASSIGNED, DEFAULT_THRESHOLD, MAX_THRESHOLD, warnings
from webapp.datachecks.services.fixes import MAX_GROUP

THRESHOLD_HELP = (f"Hash distance in bits, 0 to {MAX_THRESHOLD}, at or under which two images count as near-copies "
                  f"(default {DEFAULT_THRESHOLD}, measured by bench/data_checks.py).")
SPLITS = (*ASSIGNED, "unassigned")
_THRESHOLD_ERRORS = {"invalid": f"Must be a whole number of bits from 0 to {MAX_THRESHOLD}.",
                     "min_value": "Must be at least 0 bits.", "max_value": f"Must be at most {MAX_THRESHOLD} bits."}


def threshold_field(**kwargs):
    return serializers.IntegerField(min_value=0, max_value=MAX_THRESHOLD, help_text=THRESHOLD_HELP,
                                    error_messages=_THRESHOLD_ERRORS, **kwargs)


class DataCheckSerializer(serializers.ModelSerializer):
    version = serializers.SerializerMethodField(help_text="The frozen version checked (its number); null: the "
                                                          "dataset's live images.")
    warnings = serializers.SerializerMethodField(help_text="One sentence per kind of leakage found.")

    class Meta:
        model = DataCheck
        fields = ["id", "dataset", "version", "kind", "automatic", "status", "threshold", "revision", "done", "total",
                  "counts", "warnings", "results", "error", "created_at", "started_at", "finished_at"]
        read_only_fields = fields

    def get_version(self, check) -> int | None:
        return check.version.number if check.version_id else None

    def get_warnings(self, check) -> list[str]:
        return warnings(check.counts or {})


class CheckCreateSerializer(StrictTypes, serializers.Serializer):
    dataset = IdField()
    kind = serializers.ChoiceField(choices=CheckKind.choices, default=CheckKind.DUPLICATES)
    version = IdField(required=False, help_text="A version number of the dataset to check instead of its live "
                                                "images (`labels` and `outliers`: the latest when left out).")
    threshold = threshold_field(required=False, default=DEFAULT_THRESHOLD)


class ReportQuerySerializer(serializers.Serializer):
    dataset = IdField(help_text="The dataset (404 if not yours).")
    version = IdField(required=False, help_text="A version number: its frozen splits instead of the live images.")
    threshold = threshold_field(required=False, default=DEFAULT_THRESHOLD)


class GroupImageSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    split = serializers.CharField()
    label = serializers.CharField(allow_null=True)


class GroupSerializer(serializers.Serializer):
    images = GroupImageSerializer(many=True)
    leaks = serializers.BooleanField(help_text="Whether the group holds two images in different splits.")


class ReportSerializer(serializers.Serializer):
    threshold = serializers.IntegerField()
    counts = serializers.DictField(help_text="images, hashed, unhashed, uncompared (hashed images too many to "
                                             "compare during the request: a check job compares them), comparing "
                                             "(true: a check that will compare them is queued or running), groups, "
                                             "in_groups, leaking_pairs, and leaks per kind (test_in_train, "
                                             "val_in_train, test_in_val).")
    warnings = serializers.ListField(child=serializers.CharField())
    groups = GroupSerializer(many=True, help_text="Groups of near-copies, those across splits first (at most 100).")


class FixSerializer(StrictTypes, serializers.Serializer):
    dataset = IdField()
    images = serializers.ListField(child=IdField(), min_length=2, max_length=MAX_GROUP,
                                   help_text="The group's image ids.")
    move = serializers.ChoiceField(choices=[(s, s) for s in ASSIGNED], required=False,
                                   help_text="Move every image of the group into this split.")
    keep = IdField(required=False, help_text="Keep this image of the group and delete the others.")
    expected = serializers.DictField(child=serializers.ChoiceField(choices=[(s, s) for s in SPLITS]),
                                     required=False, help_text="Image id -> the split you saw it in; a 409 if one "
                                                               "has moved since.")

    def validate(self, data):
        if ("move" in data) == ("keep" in data):
            raise serializers.ValidationError("Give exactly one of `move` (a split) or `keep` (an image id).")
        return data


class FixResultSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="What was done, in words.")
    counts = serializers.DictField(help_text="The dataset's near-duplicate counts after the fix (default threshold).")


class SuspectActionSerializer(StrictTypes, serializers.Serializer):
    image = IdField(help_text="A suspect image of the check.")
    action = serializers.ChoiceField(choices=[("relabel", "relabel"), ("keep", "keep"), ("remove", "remove")],
                                     help_text="relabel: as suggested; keep: the label is right; remove: delete it.")


class ActionResultSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="What was done, in words.")
