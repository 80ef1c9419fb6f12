"""The labelling pages under /datasets/<id>/label/."""

from django.urls import path

from webapp.labelling.views import bulk, label, prelabel

D = "<int:pk>/label/"

urlpatterns = [
    path(D, label.label_page, name="label_page"),
    path(D + "queue/", label.label_queue, name="label_queue"),
    path(D + "images/", label.label_image, name="label_image"),
    path(D + "undo/", label.label_undo, name="label_undo"),
    path(D + "prelabel/", prelabel.start, name="label_prelabel"),
    path(D + "prelabel/status/", prelabel.status, name="label_prelabel_status"),
    path(D + "prelabel/cancel/", prelabel.cancel, name="label_prelabel_cancel"),
    path(D + "retrain/", prelabel.retrain, name="label_retrain"),
    path(D + "bulk/", bulk.bulk, name="label_bulk"),
    path(D + "batches/<int:batch_pk>/undo/", bulk.undo_batch, name="label_batch_undo"),
    path(D + "grid/", bulk.grid, name="label_grid"),
]
