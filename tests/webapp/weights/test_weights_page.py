"""The Pretrained weights page: everyone sees each file's state; administrators download and upload files."""

import pickle

import pytest
import torch
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from classifier import create_model
from tests.factories import make_run
from webapp.weights.models import DownloadStatus, WeightsFileRecord
from webapp.weights.worker import fetch

pytestmark = pytest.mark.django_db


def row_of(html: str, filename: str) -> str:
    start = html.index(f'data-filename="{filename}"')
    return html[start:html.index("</tr>", start)]


def test_everyone_sees_every_file_and_the_runs_that_used_it(client, owner, outsider, cache, media):
    run = make_run(owner, config={"arch": "resnet18", "pretrained": "imagenet"}, name="from imagenet")
    client.force_login(owner)
    page = client.get(reverse("weights_page")).content.decode()

    resnet18 = row_of(page, "resnet18-f37072fd.pth")
    assert "not on this machine" in resnet18 and reverse("run_detail", args=[run.pk]) in resnet18
    assert "vgg16_bn, vgg16_bn_small" in page and "vit_l_16-852ce7e3.pth" in page
    assert "Download</button>" not in page and "Upload a weights file" not in page  # not an administrator
    assert "Only administrators" in page

    client.force_login(outsider)
    page = client.get(reverse("weights_page")).content.decode()
    assert reverse("run_detail", args=[run.pk]) not in page  # runs are listed only to those who may see them


def test_only_administrators_download_or_upload(client, owner, cache, published, sent):
    client.force_login(owner)
    assert client.post(reverse("weights_fetch"), {"names": "custom"}).status_code == 403
    upload = SimpleUploadedFile(published.path.name, published.path.read_bytes())
    assert client.post(reverse("weights_upload"), {"arch": "custom", "file": upload}).status_code == 403
    assert sent == [] and not cache.exists()


def test_download_button_queues_a_task_on_the_default_queue_that_verifies_and_moves_the_file(
        client, admin_user, cache, published, sent, django_capture_on_commit_callbacks):
    client.force_login(admin_user)
    page = client.get(reverse("weights_page")).content.decode()
    assert "Download</button>" in row_of(page, published.entry.filename)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("weights_fetch"), {"names": "custom"})
    assert response.status_code == 302
    row = WeightsFileRecord.objects.get(filename=published.entry.filename)
    assert sent == [(row.pk, row.task_id, "default")] and row.status == DownloadStatus.QUEUED
    status = client.get(reverse("weights_status")).json()["files"][0]
    assert status["download"]["status"] == "queued" and not status["present"]

    assert fetch(row.pk, token=row.task_id, worker="test") == DownloadStatus.SUCCEEDED

    assert (cache / published.entry.filename).read_bytes() == published.path.read_bytes()
    status = client.get(reverse("weights_status")).json()["files"][0]
    size = published.path.stat().st_size
    assert status["present"] and status["size"] == size and status["checksum"] == "verified"
    assert status["download"] | {"started_at": None} == {"status": "succeeded", "bytes_done": size,
                                                         "bytes_total": size, "percent": 100.0,
                                                         "started_at": None, "error": ""}
    page = client.get(reverse("weights_page")).content.decode()
    assert "SHA-256 matches torchvision&#x27;s" in row_of(page, published.entry.filename)


def test_a_corrupt_download_fails_with_the_reason_and_leaves_nothing(client, admin_user, cache, published, sent):
    torch.manual_seed(1)
    torch.save(create_model("custom", num_classes=1000).state_dict(), published.path)  # bytes of another file
    client.force_login(admin_user)
    client.post(reverse("weights_fetch"), {"names": "custom"})
    row = WeightsFileRecord.objects.get(filename=published.entry.filename)

    assert fetch(row.pk, token=row.task_id) == DownloadStatus.FAILED

    row.refresh_from_db()
    assert "does not match the checksum in its name" in row.error and "nothing was kept" in row.error
    assert not (cache / published.entry.filename).exists()
    assert "does not match the checksum" in client.get(reverse("weights_page")).content.decode()


def test_offline_servers_download_nothing_and_explain_how_to_bring_the_file(client, admin_user, settings, cache,
                                                                          published, sent):
    settings.LUX_OFFLINE = True
    client.force_login(admin_user)
    page = client.get(reverse("weights_page")).content.decode()
    assert "This server is offline" in page and "manage.py weights import" in page
    assert "Download</button>" not in page and "Upload a weights file" in page

    response = client.post(reverse("weights_fetch"), {"names": "custom"}, follow=True)
    assert "LUX_OFFLINE=true" in response.content.decode() and sent == []


@pytest.mark.parametrize("in_memory", [True, False], ids=["small upload", "upload streamed to disk"])
def test_an_uploaded_file_is_checked_and_put_in_place(client, admin_user, cache, published, settings, in_memory):
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 10**9 if in_memory else 0
    client.force_login(admin_user)
    upload = SimpleUploadedFile(published.path.name, published.path.read_bytes())

    response = client.post(reverse("weights_upload"), {"arch": "custom", "file": upload}, follow=True)

    assert "is in place (SHA-256 matches torchvision" in response.content.decode()
    assert (cache / published.entry.filename).read_bytes() == published.path.read_bytes()


class Payload:
    def __reduce__(self):
        return (print, ("this ran",))


@pytest.mark.parametrize(("content", "name", "message"), [
    (lambda: pickle.dumps({"1.weight": Payload()}), "evil.pth", "pickle of arbitrary objects"),
    (lambda: b"not weights at all", "weights.pth", "not a safetensors or PyTorch weights file"),
    (lambda: b"not weights at all", "weights.onnx", "neither a .pth nor a .safetensors file"),
    ("resnet", "resnet.pth", "not custom&#x27;s ImageNet weights"),
])
def test_a_bad_upload_is_refused_with_the_reason_and_nothing_is_stored(client, admin_user, cache, published,
                                                                       tmp_path, content, name, message):
    if content == "resnet":
        torch.save(create_model("custom", num_classes=10).state_dict(), tmp_path / "x.pth")
        data = (tmp_path / "x.pth").read_bytes()
    else:
        data = content()
    client.force_login(admin_user)

    response = client.post(reverse("weights_upload"), {"arch": "custom", "file": SimpleUploadedFile(name, data)})

    assert response.status_code == 400 and message in response.content.decode()
    assert not cache.exists() or not any(cache.iterdir())


def test_a_cut_short_upload_of_torchvisions_file_fails_its_checksum(client, admin_user, cache, published):
    client.force_login(admin_user)
    data = published.path.read_bytes()[:1000]

    response = client.post(reverse("weights_upload"),
                           {"arch": "custom", "file": SimpleUploadedFile(published.path.name, data)})

    assert response.status_code == 400 and "nothing was stored" in response.content.decode()
    assert not (cache / published.entry.filename).exists()
