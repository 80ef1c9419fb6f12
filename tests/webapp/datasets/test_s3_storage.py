"""Media on an S3-compatible store: settings from LUX_S3_*, then uploads, views, deletes, ZIP imports,
version exports and training reads, all through a real S3 HTTP endpoint."""

import io
import json
import logging
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import boto3
import pytest

from tests import hostile_files as h
from tests.webapp.datasets.conftest import files_under, jpeg, upload
from webapp.datasets.models import Image, Import

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[3]
BUCKET = "lux-media"
PREFIX = "lux"
ACCESS_KEY, SECRET_KEY = "lux-test-access-key", "lux-test-secret-key"
SHOW_MEDIA_STORAGE = "import json, webapp.settings as s; print(json.dumps(s.STORAGES['default']))"


def media_storage_settings(**env) -> dict:
    """Return STORAGES["default"] as webapp.settings builds it in a fresh process from `env` (plus ours)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LUX_S3_")}
    done = subprocess.run([sys.executable, "-c", SHOW_MEDIA_STORAGE], env={**clean, **env}, cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def s3_endpoint():
    """Start an S3 server on a free local port; return its URL."""
    # Moto's ThreadedMotoServer answers S3's real HTTP protocol (signed requests, multipart bodies, XML
    # listings): the closest thing to a real S3-compatible store here, where there is no MinIO and no
    # network. boto3 and django-storages talk to it exactly as they would to AWS, MinIO or Ceph.
    from moto.server import ThreadedMotoServer

    requests_log = logging.getLogger("werkzeug")  # one line per request would bury a failure's own output
    level = requests_log.level
    requests_log.setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()
        requests_log.setLevel(level)


@pytest.fixture(scope="module")
def s3_media_settings(s3_endpoint, tmp_path_factory) -> dict:
    """Return the media storage settings Lux builds from LUX_S3_* pointing at the test server."""
    secret_file = tmp_path_factory.mktemp("secrets") / "s3-secret"
    secret_file.write_text(SECRET_KEY + "\n")
    return media_storage_settings(LUX_S3_BUCKET=BUCKET, LUX_S3_ENDPOINT_URL=s3_endpoint, LUX_S3_REGION="us-east-1",
                                  LUX_S3_ACCESS_KEY=ACCESS_KEY, LUX_S3_SECRET_KEY_FILE=str(secret_file),
                                  LUX_S3_PREFIX=PREFIX)


@pytest.fixture
def bucket(s3_endpoint, s3_media_settings, settings, media):
    """Make media storage the test server's bucket (empty); return a boto3 client to look inside it."""
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1",
                          aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY)
    client.create_bucket(Bucket=BUCKET)
    settings.STORAGES = {**settings.STORAGES, "default": s3_media_settings}
    try:
        yield client
    finally:
        for name in keys(client):  # the next test starts from an empty bucket
            client.delete_object(Bucket=BUCKET, Key=f"{PREFIX}/{name}")


def keys(client, under: str = "") -> set[str]:
    """Return the keys in the bucket under the Lux prefix, without the prefix."""
    listing = client.list_objects_v2(Bucket=BUCKET, Prefix=f"{PREFIX}/{under}")
    return {item["Key"].removeprefix(f"{PREFIX}/") for item in listing.get("Contents", [])}


def stored(client, name: str) -> bytes:
    return client.get_object(Bucket=BUCKET, Key=f"{PREFIX}/{name}")["Body"].read()


def post_images(api, dataset, files: dict[str, bytes], *, label=None, split="") -> list[Image]:
    """Upload `files` through the API; return their images in the order given."""
    body = {"dataset": dataset.pk, "files": [upload(name, data) for name, data in files.items()]}
    if label is not None:
        body["label"] = label.pk
    if split:
        body["split"] = split
    response = api.post("/api/images/", body, format="multipart")
    assert response.status_code == 201 and response.json()["accepted"] == len(files), response.json()
    return [Image.objects.get(pk=f["image"]) for f in response.json()["files"]]


def content(response) -> bytes:
    assert response.status_code == 200
    return b"".join(response.streaming_content)


# ---------------------------------------------------------------- settings


def test_lux_s3_bucket_makes_media_a_private_s3_bucket(tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("from-a-file\n")
    media = media_storage_settings(LUX_S3_BUCKET="photos", LUX_S3_ENDPOINT_URL="http://minio:9000",
                                   LUX_S3_REGION="eu-west-1", LUX_S3_ACCESS_KEY="AKIA-TEST",
                                   LUX_S3_SECRET_KEY_FILE=str(secret), LUX_S3_PREFIX="lux/media")
    assert media["BACKEND"] == "storages.backends.s3.S3Storage"
    options = media["OPTIONS"]
    assert (options["bucket_name"], options["endpoint_url"], options["region_name"]) == (
        "photos", "http://minio:9000", "eu-west-1")
    assert (options["access_key"], options["secret_key"], options["location"]) == (
        "AKIA-TEST", "from-a-file", "lux/media")
    # Private: no public ACL on any object, and any URL the storage ever makes is signed and expires.
    assert options["default_acl"] is None and options["querystring_auth"] is True
    assert options["file_overwrite"] is False
    assert 0 < options["max_memory_size"] <= 64 * 1024 * 1024


def test_unset_s3_options_leave_boto3_to_find_its_own():
    options = media_storage_settings(LUX_S3_BUCKET="photos")["OPTIONS"]
    # None, not "": boto3 then finds the endpoint, region and credentials itself (AWS, roles, ~/.aws).
    assert [options[k] for k in ("endpoint_url", "region_name", "access_key", "secret_key")] == [None] * 4


def test_without_lux_s3_bucket_media_stays_on_local_disk():
    assert media_storage_settings() == {"BACKEND": "webapp.core.storage.MediaStorage"}


def test_overriding_storages_switches_the_storage_files_use_and_back(s3_media_settings, settings):
    from django.core.files.storage import default_storage
    from django.test import override_settings
    from storages.backends.s3 import S3Storage

    from webapp.core.storage import MediaStorage

    fields = [Image._meta.get_field("file"), Image._meta.get_field("thumbnail"), Import._meta.get_field("archive")]
    assert isinstance(default_storage, MediaStorage)
    # Django drops its storages on setting_changed for STORAGES; the fields hold the same lazy default_storage.
    with override_settings(STORAGES={**settings.STORAGES, "default": s3_media_settings}):
        assert isinstance(default_storage, S3Storage) and default_storage.bucket_name == BUCKET
        assert all(isinstance(f.storage, S3Storage) for f in fields)
    assert isinstance(default_storage, MediaStorage)
    assert all(isinstance(f.storage, MediaStorage) for f in fields)


# ---------------------------------------------------------------- the app on the bucket


def test_uploaded_images_and_thumbnails_land_in_the_bucket_and_only_there(owner_api, dataset, cats, bucket, media):
    small, big = jpeg(1), jpeg(2, size=300)
    tabby, large = post_images(owner_api, dataset, {"tabby.jpg": small, "large.jpg": big}, label=cats)
    assert tabby.thumbnail.name == tabby.file.name  # a small JPEG is its own thumbnail
    assert keys(bucket) == {tabby.file.name, large.file.name, large.thumbnail.name}
    assert stored(bucket, tabby.file.name) == small and stored(bucket, large.file.name) == big
    assert stored(bucket, large.thumbnail.name)[8:12] == b"WEBP"
    assert files_under(media) == []


def test_the_pages_and_the_api_stream_files_from_the_bucket(owner_client, owner_api, dataset, bucket):
    big = jpeg(3, size=300)
    (image,) = post_images(owner_api, dataset, {"big.jpg": big})
    page = f"/datasets/{dataset.pk}/images/{image.pk}"
    response = owner_client.get(f"{page}/file/")
    assert response["Content-Type"] == "image/jpeg" and response["Content-Length"] == str(len(big))
    assert content(response) == big
    response = owner_client.get(f"{page}/thumbnail/")
    assert response["Content-Type"] == "image/webp"
    assert content(response) == stored(bucket, image.thumbnail.name)
    assert content(owner_api.get(f"/api/images/{image.pk}/content/")) == big
    assert content(owner_api.get(f"/api/images/{image.pk}/thumbnail/")) == stored(bucket, image.thumbnail.name)


def test_a_file_missing_from_the_bucket_is_a_404(owner_client, owner_api, dataset, bucket):
    (image,) = post_images(owner_api, dataset, {"a.jpg": jpeg(4)})
    bucket.delete_object(Bucket=BUCKET, Key=f"{PREFIX}/{image.file.name}")
    assert owner_client.get(f"/datasets/{dataset.pk}/images/{image.pk}/file/").status_code == 404
    assert owner_api.get(f"/api/images/{image.pk}/content/").status_code == 404


def test_deleting_an_image_or_its_dataset_deletes_the_objects(owner_api, dataset, bucket,
                                                              django_capture_on_commit_callbacks):
    kept, gone = post_images(owner_api, dataset, {"kept.jpg": jpeg(5), "gone.jpg": jpeg(6, size=300)})
    with django_capture_on_commit_callbacks(execute=True):
        assert owner_api.delete(f"/api/images/{gone.pk}/").status_code == 204
    assert keys(bucket) == {kept.file.name}
    with django_capture_on_commit_callbacks(execute=True):
        assert owner_api.delete(f"/api/datasets/{dataset.pk}/").status_code == 204
    assert keys(bucket) == set()


def test_a_zip_import_reads_its_archive_from_the_bucket_and_stores_images_there(owner_api, dataset, bucket):
    response = owner_api.post("/api/imports/", {"dataset": dataset.pk, "file": upload("pets.zip", h.imagefolder_zip())},
                              format="multipart")
    assert response.status_code == 202
    job = Import.objects.get(pk=response.json()["id"])
    assert keys(bucket, "imports/") == {job.archive.name}
    from webapp.datasets.worker import import_archive

    import_archive(job.pk)  # what the worker does
    body = owner_api.get(f"/api/imports/{job.pk}/").json()
    assert (body["status"], body["accepted"], body["rejected"]) == ("succeeded", 4, 0)
    images = Image.objects.filter(dataset=dataset)
    assert sorted(images.values_list("label__name", flat=True)) == ["cats", "cats", "dogs", "dogs"]
    assert keys(bucket) == {img.file.name for img in images}  # the archive is gone once imported


def test_a_big_stored_file_is_read_from_a_temporary_file_not_memory(bucket):
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    # django-storages downloads a file it opens; a ZIP being imported may be gigabytes.
    size = default_storage.max_memory_size + 1
    name = default_storage.save("imports/big.upload", ContentFile(b"\1" * size))
    with default_storage.open(name, "rb") as handle:
        assert handle.read(3) == b"\1\1\1"
        assert handle.file._rolled  # the SpooledTemporaryFile moved to disk
    assert bucket.head_object(Bucket=BUCKET, Key=f"{PREFIX}/{name}")["ContentLength"] == size


def test_a_version_export_zips_the_images_read_from_the_bucket(owner_api, dataset, cats, dogs, bucket):
    cat = jpeg(7)
    dog = jpeg(8, size=300)
    post_images(owner_api, dataset, {"cat.jpg": cat}, label=cats, split="train")
    post_images(owner_api, dataset, {"dog.jpg": dog}, label=dogs, split="val")
    version_id = owner_api.post("/api/versions/", {"dataset": dataset.pk}, format="json").json()["id"]
    response = owner_api.get(f"/api/versions/{version_id}/export/", HTTP_ACCEPT="application/zip")
    with zipfile.ZipFile(io.BytesIO(content(response))) as zf:
        assert zf.read("train/cats/cat.jpg") == cat
        assert zf.read("val/dogs/dog.jpg") == dog


def test_training_opens_version_images_through_the_storage_api(owner_api, owner, dataset, cats, bucket):
    from webapp.datasets.services.versions import freeze_version
    from webapp.runs.services.datasets import storage_source, version_source

    data = jpeg(9, size=40)
    (image,) = post_images(owner_api, dataset, {"a.jpg": data}, label=cats, split="train")
    opener = storage_source(image.file.name)
    assert callable(opener) and not isinstance(opener, (str, os.PathLike))  # there is no local path
    with opener() as handle:
        assert handle.read() == data
    source, image_ids = version_source(freeze_version(dataset, user=owner))
    assert image_ids == [image.pk]
    with source.records[0].source() as handle:
        assert handle.read() == data


def test_imported_weights_stay_on_local_disk_where_workers_load_them(bucket, owner, client, media):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from classifier.presets import EvalPreset
    from classifier.weights import ModelCard, save_model
    from tests.factories import TINY_SPEC, tiny_model
    from webapp.classify.models import ImportedModel
    from webapp.classify.services.loader import weights_file
    from webapp.classify.services.refs import resolve

    client.force_login(owner)
    path = media.parent / "lux.safetensors"
    card = ModelCard(arch="custom", num_classes=2, class_names=["yes", "no"], image_size=16,
                     preset=EvalPreset(size=16).to_dict(), spec=TINY_SPEC)
    save_model(path, tiny_model(num_classes=2), card)
    response = client.post("/classify/models/import/", {"name": "mine", "file": SimpleUploadedFile(
        "lux.safetensors", path.read_bytes())})
    assert response.status_code == 302, response.content.decode()
    model = ImportedModel.objects.get()
    assert (media / model.file.name).is_file() and keys(bucket) == set()
    assert weights_file(resolve(owner, model.ref)).is_file()
