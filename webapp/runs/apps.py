from django.apps import AppConfig


class RunsConfig(AppConfig):
    name = "webapp.runs"
    label = "runs"
    verbose_name = "Training runs"

    def ready(self):
        from webapp.core.views import DASHBOARD_SECTIONS
        from webapp.runs.dashboard import runs_section

        if runs_section not in DASHBOARD_SECTIONS:
            DASHBOARD_SECTIONS.append(runs_section)
