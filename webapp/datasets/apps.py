from django.apps import AppConfig


class DatasetsConfig(AppConfig):
    name = "webapp.datasets"
    label = "datasets"

    def ready(self):
        from webapp.core.views import DASHBOARD_SECTIONS
        from webapp.datasets.dashboard import datasets_section

        if datasets_section not in DASHBOARD_SECTIONS:
            DASHBOARD_SECTIONS.append(datasets_section)
