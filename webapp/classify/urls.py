"""Pages of classification under /classify/: quick test, batch jobs, models, explanations, exports."""

from django.urls import path

from webapp.classify.views import explain, home, jobs, models, results
from webapp.labelling.views import from_job

J = "jobs/<int:pk>/"

urlpatterns = [
    path("", home.classify_home, name="classify_home"),
    path("quick/", home.quick, name="classify_quick"),
    path("quick/<str:ticket>/", home.quick_status, name="classify_quick_status"),
    path("jobs/new/", jobs.job_new, name="classify_job_new"),
    path(J, jobs.job_detail, name="classify_job"),
    path(J + "status.json", jobs.job_status, name="classify_job_status"),
    path(J + "files/", jobs.job_files, name="classify_job_files"),
    path(J + "start/", jobs.job_start, name="classify_job_start"),
    path(J + "cancel/", jobs.job_cancel, name="classify_job_cancel"),
    path(J + "delete/", jobs.job_delete, name="classify_job_delete"),
    path(J + "results.csv", results.results_csv, name="classify_job_csv"),
    path(J + "results.json", results.results_json, name="classify_job_json"),
    path(J + "thumbs/<int:position>/", results.job_thumbnail, name="classify_job_thumbnail"),
    path(J + "results/<int:position>/explain/", results.explain_prediction, name="classify_job_explain"),
    path(J + "to-dataset/", from_job.send_to_dataset, name="classify_job_to_dataset"),
    path("models/import/", models.model_import, name="classify_model_import"),
    path("models/imported/<int:pk>/delete/", models.imported_delete, name="classify_imported_delete"),
    path("models/<str:kind>/<str:key>/", models.model_card, name="classify_model_card"),
    path("runs/<int:pk>/export/<str:fmt>/", models.export_create, name="classify_export"),
    path("runs/<int:pk>/exports.json", models.export_status, name="classify_export_status"),
    path("artifacts/<int:pk>/download/", models.artifact_download, name="classify_artifact_download"),
    path("explain/", explain.explain_new, name="classify_explain_new"),
    path("explanations/<int:pk>/", explain.explanation_detail, name="classify_explanation"),
    path("explanations/<int:pk>/status.json", explain.explanation_status, name="classify_explanation_status"),
    path("explanations/<int:pk>/class/", explain.explanation_class, name="classify_explanation_class"),
    path("explanations/<int:pk>/<str:kind>.png", explain.explanation_png, name="classify_explanation_png"),
]
