from django.apps import AppConfig


class WeightsConfig(AppConfig):
    """Pretrained weights files: which are present, downloads, uploads."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "webapp.weights"
    label = "weights"
    verbose_name = "Pretrained weights"
