"""The labelling pages under /datasets/<id>/label/."""

from django.urls import path

from webapp.labelling.views import label

D = "<int:pk>/label/"

urlpatterns = [
    path(D, label.label_page, name="label_page"),
    path(D + "queue/", label.label_queue, name="label_queue"),
    path(D + "images/", label.label_image, name="label_image"),
    path(D + "undo/", label.label_undo, name="label_undo"),
]
