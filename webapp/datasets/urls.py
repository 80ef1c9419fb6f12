"""The dataset pages under /datasets/."""

from django.urls import path

from webapp.datasets.views import browse, classes, datasets, images, imports, media, splits, upload, versions

D = "<int:pk>/"

urlpatterns = [
    path("", datasets.dataset_list, name="dataset_list"),
    path("new/", datasets.dataset_create, name="dataset_create"),
    path(D, datasets.dataset_detail, name="dataset_detail"),
    path(D + "edit/", datasets.dataset_edit, name="dataset_edit"),
    path(D + "delete/", datasets.dataset_delete, name="dataset_delete"),
    path(D + "upload/", upload.upload_page, name="dataset_upload"),
    path(D + "upload/files/", upload.upload_batch, name="dataset_upload_files"),
    path(D + "imports/new/", imports.import_create, name="import_create"),
    path(D + "imports/<int:import_pk>/", imports.import_detail, name="import_detail"),
    path(D + "imports/<int:import_pk>/status/", imports.import_status, name="import_status"),
    path(D + "images/", browse.browse, name="dataset_browse"),
    path(D + "images/bulk/", browse.bulk_action, name="dataset_bulk_action"),
    path(D + "images/<int:image_pk>/", images.image_detail, name="image_detail"),
    path(D + "images/<int:image_pk>/file/", media.image_file, name="image_file"),
    path(D + "images/<int:image_pk>/thumbnail/", media.image_thumbnail, name="image_thumbnail"),
    path(D + "classes/", classes.class_list, name="class_list"),
    path(D + "classes/new/", classes.class_create, name="class_create"),
    path(D + "classes/merge/", classes.class_merge, name="class_merge"),
    path(D + "classes/<int:class_pk>/rename/", classes.class_rename, name="class_rename"),
    path(D + "classes/<int:class_pk>/delete/", classes.class_delete, name="class_delete"),
    path(D + "split/", splits.split_page, name="dataset_split"),
    path(D + "versions/", versions.version_list, name="version_list"),
    path(D + "versions/freeze/", versions.version_freeze, name="version_freeze"),
    path(D + "versions/<int:number>/", versions.version_detail, name="version_detail"),
    path(D + "versions/<int:number>/download/", versions.version_download, name="version_download"),
]
