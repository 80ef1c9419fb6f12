"""Local media storage: new files land where their name says, never over another file, never outside MEDIA_ROOT."""

import os
import stat

import pytest
from django.core.exceptions import SuspiciousFileOperation
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile

from webapp.core.storage import MediaStorage, is_local


@pytest.fixture
def storage(tmp_path):
    return MediaStorage(location=tmp_path / "media")


def test_a_file_is_written_under_its_name_with_its_folders(storage, tmp_path):
    name = storage.save("datasets/1/images/ab/abc.jpg", ContentFile(b"jpeg bytes"))
    assert name == "datasets/1/images/ab/abc.jpg"
    assert (tmp_path / "media" / name).read_bytes() == b"jpeg bytes"
    with storage.open(name) as f:
        assert f.read() == b"jpeg bytes"


def test_a_taken_name_gets_a_new_one_and_the_first_file_is_untouched(storage, tmp_path):
    first = storage.save("a/img.jpg", ContentFile(b"first"))
    second = storage.save("a/img.jpg", ContentFile(b"second"))
    assert second != first and second.startswith("a/img_") and second.endswith(".jpg")
    assert (tmp_path / "media" / first).read_bytes() == b"first"
    assert (tmp_path / "media" / second).read_bytes() == b"second"


@pytest.mark.parametrize("name", ["../outside.jpg", "a/../../outside.jpg", "/etc/passwd-lux"])
def test_a_name_leaving_the_media_folder_is_refused_and_nothing_is_written(storage, tmp_path, name):
    with pytest.raises(SuspiciousFileOperation):
        storage.save(name, ContentFile(b"x"))
    assert not (tmp_path / "outside.jpg").exists() and not os.path.exists("/etc/passwd-lux")


def test_file_and_folder_permissions_follow_the_settings(tmp_path):
    storage = MediaStorage(location=tmp_path / "m", file_permissions_mode=0o640, directory_permissions_mode=0o750)
    name = storage.save("x/y/z.jpg", ContentFile(b"data"))
    assert stat.S_IMODE(os.stat(tmp_path / "m" / name).st_mode) == 0o640
    assert stat.S_IMODE(os.stat(tmp_path / "m" / "x" / "y").st_mode) == 0o750


def test_uploads_and_large_files_take_djangos_own_path_with_the_same_result(storage, tmp_path):
    upload = SimpleUploadedFile("u.png", b"uploaded bytes")
    name = storage.save("u/u.png", upload)
    assert (tmp_path / "media" / name).read_bytes() == b"uploaded bytes"


def test_without_a_bucket_media_goes_to_local_disk():
    from django.core.files.storage import storages

    assert isinstance(storages["default"], MediaStorage) and is_local(storages["default"])
