from django.apps import AppConfig


class SearchesConfig(AppConfig):
    """Choose for me: searches over architectures and learning rates within a time budget."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "webapp.searches"
    label = "searches"
    verbose_name = "Model searches"
