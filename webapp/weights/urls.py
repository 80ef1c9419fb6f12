from django.urls import path

from webapp.weights.views import page

urlpatterns = [
    path("", page.weights_page, name="weights_page"),
    path("status", page.weights_status, name="weights_status"),
    path("fetch", page.weights_fetch, name="weights_fetch"),
    path("upload", page.weights_upload, name="weights_upload"),
]
