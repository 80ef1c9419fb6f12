"""Where a run started is recorded: the run page, the results page, the model card and the API show it."""

from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from classifier.pretrained_files import hash_prefix, weights_file_for
from tests.factories import images_by_class, make_evaluation, make_run, make_version, saved_run
from webapp.core.files import file_sha256
from webapp.runs.models import ModelArtifact
from webapp.runs.services import init_from

pytestmark = pytest.mark.django_db


@pytest.fixture
def continued(owner, media):
    """Return (earlier run, its weights' SHA-256, a succeeded run that started from it, with an evaluation)."""
    earlier = saved_run(owner, make_version(owner, name="Earlier"), name="earlier run")
    version = make_version(owner, name="Later")
    run = saved_run(owner, version, name="later run")
    run.config = {**run.config, init_from.INIT_FROM_KEY: init_from.resolve(owner, f"run:{earlier.pk}").stored()}
    run.save(update_fields=["config"])
    tests = [(image, i, i, 3.0) for i, images in enumerate(images_by_class(version).values()) for image in images]
    evaluation = make_evaluation(run, tests)
    weights = earlier.artifacts.get(kind=ModelArtifact.Kind.WEIGHTS)
    return earlier, file_sha256(Path(settings.MEDIA_ROOT) / weights.path), run, evaluation


def pages(client, run, evaluation) -> dict[str, str]:
    return {name: client.get(url).content.decode() for name, url in (
        ("run", reverse("run_detail", args=[run.pk])),
        ("results", reverse("evaluation_detail", args=[evaluation.pk])),
        ("card", reverse("classify_model_card", args=["run", run.pk])))}


def test_every_page_links_the_earlier_run_with_its_file_and_checksum(owner_client, continued):
    earlier, sha256, run, evaluation = continued
    for name, html in pages(owner_client, run, evaluation).items():
        assert f'href="{reverse("run_detail", args=[earlier.pk])}">earlier run' in html, name
        assert "<code>model.safetensors</code>" in html and sha256 in html, name


def test_the_api_exposes_where_the_run_started(api_client, owner, continued):
    earlier, sha256, run, _ = continued
    api_client.force_authenticate(owner)
    started = api_client.get(f"/api/runs/{run.pk}/").json()["started_from"]
    assert started == {"kind": "run", "id": earlier.pk, "label": started["label"], "arch": "custom",
                       "file": "model.safetensors", "sha256": sha256, "sha256_prefix": False,
                       "url": reverse("run_detail", args=[earlier.pk])}
    listed = api_client.get("/api/runs/").json()["results"]
    assert {row["id"]: row["started_from"] for row in listed}[earlier.pk] is None


def test_a_run_one_can_no_longer_see_is_named_by_its_file_and_checksum_only(owner_client, continued):
    earlier, sha256, run, evaluation = continued
    earlier_url = reverse("run_detail", args=[earlier.pk])
    earlier.delete()
    for name, html in pages(owner_client, run, evaluation).items():
        assert earlier_url not in html and "an earlier run you can no longer see" in html, name
        assert sha256 in html, name


def test_imagenet_weights_are_named_by_torchvision_file_and_its_checksum_prefix(owner_client, owner, media):
    run = make_run(owner, config={"arch": "resnet18", "pretrained": "imagenet"})
    filename = weights_file_for(run.arch).filename
    html = owner_client.get(reverse("run_detail", args=[run.pk])).content.decode()
    assert f'href="{reverse("weights_page")}">ImageNet weights' in html
    assert filename in html and f"begins <code class=\"checksum\">{hash_prefix(filename)}</code>" in html


def test_a_run_from_scratch_says_so(owner_client, owner, media):
    html = owner_client.get(reverse("run_detail", args=[make_run(owner).pk])).content.decode()
    assert "nothing (trained from scratch)" in html
