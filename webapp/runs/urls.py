"""Pages of training runs, their results and custom networks, under /runs/."""

from django.urls import path

from webapp.runs.views import compare, downloads, gallery, networks, results, retrain, runs

urlpatterns = [
    path("", runs.run_list, name="run_list"),
    path("new/", runs.run_new, name="run_new"),
    path("new/recipe.json", runs.run_recipe_json, name="run_recipe"),
    path("compare/", compare.run_compare, name="run_compare"),
    path("<int:pk>/", runs.run_detail, name="run_detail"),
    path("<int:pk>/status.json", runs.run_status_json, name="run_status"),
    path("<int:pk>/cancel/", runs.run_cancel, name="run_cancel"),
    path("<int:pk>/resume/", runs.run_resume, name="run_resume"),
    path("<int:pk>/rerun/", runs.run_rerun, name="run_rerun"),
    path("<int:pk>/rerun-suggested/", runs.run_rerun_suggested, name="run_rerun_suggested"),
    path("<int:pk>/retrain/", retrain.run_retrain, name="run_retrain"),
    path("<int:pk>/evaluate/", results.run_evaluate, name="run_evaluate"),
    path("<int:pk>/weights/", downloads.run_weights, name="run_weights"),
    path("evaluations/<int:pk>/", results.evaluation_detail, name="evaluation_detail"),
    path("evaluations/<int:pk>/status.json", results.evaluation_status, name="evaluation_status"),
    path("evaluations/<int:pk>/cells/<int:true>/<int:pred>/", gallery.evaluation_cell, name="evaluation_cell"),
    path("evaluations/<int:pk>/images/<int:image_id>/relabel/", gallery.gallery_relabel, name="gallery_relabel"),
    path("evaluations/<int:pk>/images/<int:image_id>/remove/", gallery.gallery_remove, name="gallery_remove"),
    path("evaluations/<int:pk>/confusion.csv", downloads.confusion_csv, name="evaluation_confusion_csv"),
    path("evaluations/<int:pk>/per-class.csv", downloads.per_class_csv, name="evaluation_per_class_csv"),
    path("evaluations/<int:pk>/predictions.csv", downloads.predictions_csv, name="evaluation_predictions_csv"),
    path("networks/new/", networks.network_builder, name="network_new"),
    path("networks/<int:pk>/", networks.network_builder, name="network_edit"),
    path("networks/shapes.json", networks.network_shapes_json, name="network_shapes"),
]
