"""The shared router every domain app registers its viewsets on (in its own api module)."""

from rest_framework.routers import DefaultRouter


class IdRouter(DefaultRouter):
    """Route only ids that are whole numbers a database can hold; any other id gets the API's JSON 404."""

    # No `.json` twin of every route: the API answers JSON anyway, and an @action takes no `format` argument,
    # so /api/runs/1/epochs.json was a server error.
    include_format_suffixes = False

    def get_lookup_regex(self, viewset, lookup_prefix=""):
        name = getattr(viewset, "lookup_url_kwarg", None) or getattr(viewset, "lookup_field", "pk")
        value = getattr(viewset, "lookup_value_regex", "[0-9]{1,18}")  # 18 digits fit in 64 bits
        return f"(?P<{lookup_prefix}{name}>{value})"


router = IdRouter()
