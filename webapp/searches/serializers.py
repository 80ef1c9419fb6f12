"""What the searches API answers: a search with its members (each a normal run) and its winner."""

from __future__ import annotations

from rest_framework import serializers

from webapp.searches.models import Search, SearchMember
from webapp.searches.services.launching import DEFAULT_MINUTES, MAX_MINUTES, MIN_MINUTES
from webapp.searches.services.results import member_result


class StartSearchSerializer(serializers.Serializer):
    """The body of POST /api/searches/: the shape and JSON types (the form then checks the data itself)."""

    dataset = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    minutes = serializers.IntegerField(required=False, default=DEFAULT_MINUTES, min_value=MIN_MINUTES,
                                       max_value=MAX_MINUTES)


class MemberSerializer(serializers.ModelSerializer):
    status = serializers.CharField(source="run.status", read_only=True)
    val_accuracy = serializers.SerializerMethodField()
    train_seconds = serializers.FloatField(source="run.train_seconds", read_only=True, allow_null=True)

    class Meta:
        model = SearchMember
        fields = ["run", "parent", "rung", "arch", "lr", "epochs", "budget", "status", "val_accuracy",
                  "train_seconds"]

    def get_val_accuracy(self, member) -> float | None:
        return member_result(member).val_accuracy


class SearchSerializer(serializers.ModelSerializer):
    members = MemberSerializer(many=True, read_only=True)

    class Meta:
        model = Search
        fields = ["id", "dataset", "version", "budget_minutes", "status", "rung", "progress", "plan", "winner",
                  "error", "created_at", "deadline_at", "finished_at", "members"]
