"""Viewset plumbing so every API endpoint filters by owner the same way pages do."""


class VisibleToUserMixin:
    """Limit a viewset's queryset to rows the user may see (others get 404) and set the owner on create."""

    def get_queryset(self):
        return super().get_queryset().visible_to(self.request.user)

    def perform_create(self, serializer):
        serializer.save(owner=self.request.user)
