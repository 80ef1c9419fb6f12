"""The data-check pages under /datasets/<id>/checks/."""

from django.urls import path

from webapp.datachecks.views import checks, labels, leakage, outliers

D = "<int:pk>/checks/"

urlpatterns = [
    path("checks/leakage/", leakage.leakage_json, name="datachecks_leakage"),
    path(D, checks.checks_page, name="datachecks_page"),
    path(D + "run/", checks.check_start, name="datachecks_run"),
    path(D + "status/", checks.check_status, name="datachecks_status"),
    path(D + "fix/", checks.fix_group, name="datachecks_fix"),
    path(D + "labels/", labels.labels_page, name="datachecks_labels"),
    path(D + "labels/run/", labels.labels_start, name="datachecks_labels_run"),
    path(D + "labels/act/", labels.labels_act, name="datachecks_labels_act"),
    path(D + "outliers/", outliers.outliers_page, name="datachecks_outliers"),
    path(D + "outliers/run/", outliers.outliers_start, name="datachecks_outliers_run"),
    path(D + "similar/<int:image_pk>/", outliers.similar_page, name="datachecks_similar"),
]
