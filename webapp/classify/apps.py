from django.apps import AppConfig


class ClassifyConfig(AppConfig):
    name = "webapp.classify"
    label = "classify"
    verbose_name = "Classification"

    def ready(self):
        from webapp.classify.dashboard import classify_section
        from webapp.core.views import DASHBOARD_SECTIONS

        if classify_section not in DASHBOARD_SECTIONS:
            DASHBOARD_SECTIONS.append(classify_section)
