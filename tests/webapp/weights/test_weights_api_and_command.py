"""The weights API and `manage.py weights`: the same checks as the page, for scripts and servers without a browser."""

import pytest
import torch
from django.core.management import CommandError, call_command
from django.urls import reverse

from classifier import create_model
from webapp.weights.models import DownloadStatus, WeightsFileRecord

pytestmark = pytest.mark.django_db


def test_api_lists_files_for_everyone_and_refuses_changes_to_others(api_client, owner, cache, published, sent):
    api_client.force_authenticate(owner)
    listing = api_client.get(reverse("weights-list")).json()
    assert {"filename": "resnet18-f37072fd.pth", "present": False, "downloadable": True} == {
        k: v for k, v in next(f for f in listing if f["arch"] == "resnet18").items()
        if k in ("filename", "present", "downloadable")}

    response = api_client.post(reverse("weights-fetch"), {"names": ["custom"]}, format="json")
    assert response.status_code == 403 and "Only administrators" in response.json()["detail"]
    assert sent == []


def test_api_fetch_queues_downloads_and_explains_bad_names_and_offline(api_client, admin_user, settings, cache,
                                                                     published, sent,
                                                                     django_capture_on_commit_callbacks):
    api_client.force_authenticate(admin_user)
    response = api_client.post(reverse("weights-fetch"), {"names": ["resnet18_small"]}, format="json")
    assert response.status_code == 400 and "resnet18_small has no ImageNet weights" in response.json()["names"][0]

    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post(reverse("weights-fetch"), {"names": ["custom"]}, format="json")
    assert response.status_code == 202
    assert response.json()[0]["download"]["status"] == "queued" and len(sent) == 1

    settings.LUX_OFFLINE = True
    response = api_client.post(reverse("weights-fetch"), {"names": ["custom"]}, format="json")
    assert response.status_code == 409 and "LUX_OFFLINE=true" in response.json()["detail"]


def test_api_upload_checks_the_file(api_client, admin_user, cache, published, tmp_path):
    api_client.force_authenticate(admin_user)
    wrong = tmp_path / "wrong.pth"
    torch.save(create_model("custom", num_classes=10).state_dict(), wrong)
    with open(wrong, "rb") as handle:
        response = api_client.post(reverse("weights-upload"), {"arch": "custom", "file": handle}, format="multipart")
    assert response.status_code == 400 and "not custom's ImageNet weights" in response.json()["file"][0]
    assert not (cache / published.entry.filename).exists()

    with open(published.path, "rb") as handle:
        response = api_client.post(reverse("weights-upload"), {"arch": "custom", "file": handle}, format="multipart")
    assert response.status_code == 201
    assert response.json()[0] | {"download": None} == {
        "filename": published.entry.filename, "arch": "custom", "archs": ["custom"], "present": True,
        "size": published.path.stat().st_size, "checksum": "verified",
        "checksum_label": "SHA-256 matches torchvision's", "download": None, "run_count": 0,
        "downloadable": True}


def test_command_fetch_downloads_here_and_reports_failures(cache, published, capsys):
    call_command("weights", "fetch", "custom")
    assert (cache / published.entry.filename).read_bytes() == published.path.read_bytes()
    assert WeightsFileRecord.objects.get().status == DownloadStatus.SUCCEEDED
    assert "checksum verified" in capsys.readouterr().out

    (cache / published.entry.filename).unlink()
    published.path.write_bytes(published.path.read_bytes()[:500])
    with pytest.raises(CommandError, match="does not match the checksum"):
        call_command("weights", "fetch", "custom")
    assert not (cache / published.entry.filename).exists()


def test_command_import_checks_the_file(cache, published, tmp_path, settings):
    settings.LUX_OFFLINE = True
    with pytest.raises(CommandError, match="LUX_OFFLINE"):
        call_command("weights", "fetch", "custom")
    with pytest.raises(CommandError, match="not custom's ImageNet weights"):
        wrong = tmp_path / "wrong.pth"
        torch.save({"x": torch.zeros(2)}, wrong)
        call_command("weights", "import", str(wrong), "--arch", "custom")

    call_command("weights", "import", str(published.path), "--arch", "custom")
    assert (cache / published.entry.filename).exists()
    assert WeightsFileRecord.objects.get().origin == "command"
