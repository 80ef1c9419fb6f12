from django.apps import AppConfig


class DatachecksConfig(AppConfig):
    """Find what is wrong with the data: near-duplicates, leakage across splits, label suspects."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "webapp.datachecks"
    label = "datachecks"
    verbose_name = "Data checks"

