"""What the searches API answers: a search with its members (each a normal run) and its winner."""

from __future__ import annotations

from rest_framework import serializers

from webapp.searches.models import Search, SearchMember
from webapp.searches.services.launching import DEFAULT_MINUTES, MAX_MINUTES, MIN_MINUTES
from webapp.searches.services.results import Trained, member_result, training


class StartSearchSerializer(serializers.Serializer):
    """The body of POST /api/searches/: the shape and JSON types (the form then checks the data itself)."""

    dataset = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    minutes = serializers.IntegerField(required=False, default=DEFAULT_MINUTES, min_value=MIN_MINUTES,
                                       max_value=MAX_MINUTES)


class MemberSerializer(serializers.ModelSerializer):
    status = serializers.CharField(source="run.status", read_only=True)
    epochs = serializers.SerializerMethodField(help_text="Epochs trained, those of the runs it continues included.")
    budget = serializers.SerializerMethodField(help_text="Epochs its own run trained (fewer than planned if it "
                                                         "stopped early).")
    val_accuracy = serializers.SerializerMethodField()
    train_seconds = serializers.FloatField(source="run.train_seconds", read_only=True, allow_null=True)

    class Meta:
        model = SearchMember
        fields = ["run", "parent", "rung", "arch", "lr", "epochs", "budget", "status", "val_accuracy",
                  "train_seconds"]

    def _trained(self, member) -> Trained:
        """Return the member's Trained, computed once per search for the whole answer."""
        cache = self.context.setdefault("search_training", {})
        if member.search_id not in cache:
            cache[member.search_id] = training(member.search_id)
        return cache[member.search_id][member.pk]

    def get_epochs(self, member) -> int:
        return self._trained(member).total

    def get_budget(self, member) -> int:
        return self._trained(member).own

    def get_val_accuracy(self, member) -> float | None:
        return member_result(member, self._trained(member)).val_accuracy


class SearchSerializer(serializers.ModelSerializer):
    members = MemberSerializer(many=True, read_only=True)

    class Meta:
        model = Search
        fields = ["id", "dataset", "version", "budget_minutes", "status", "rung", "progress", "plan", "winner",
                  "error", "created_at", "deadline_at", "finished_at", "members"]
