"""Viewset plumbing so every API endpoint filters by owner the same way pages do."""


# Limits a viewset's queryset to rows the user may see (others get 404) and sets the owner on create.
# A comment, not a docstring: drf-spectacular would show a mixin's docstring as the description of every
# operation of a viewset without its own (tests/webapp/api/test_schema_and_docs.py checks none does).
class VisibleToUserMixin:
    def get_queryset(self):
        return super().get_queryset().visible_to(self.request.user)

    def perform_create(self, serializer):
        serializer.save(owner=self.request.user)
