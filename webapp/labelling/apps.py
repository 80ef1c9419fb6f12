from django.apps import AppConfig


class LabellingConfig(AppConfig):
    """Label a dataset from the keyboard: the queue, each label's origin, and model suggestions."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "webapp.labelling"
    label = "labelling"
    verbose_name = "Labelling"

    def ready(self):
        from webapp.labelling.services.history_events import connect

        connect()  # record every label the datasets app changes (datasets.signals.labels_changed)
