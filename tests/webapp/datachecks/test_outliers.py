"""Outliers from a trained run's embeddings, stored as one array file per version and model; "More like this"."""

import numpy as np
import pytest
from django.urls import reverse

from tests.factories import make_dataset, png, saved_run
from webapp.datachecks.models import CheckKind, CheckStatus
from webapp.datachecks.services import outliers
from webapp.datachecks.worker import run_check
from webapp.datasets.services.store import add_image
from webapp.datasets.services.versions import freeze_version

pytestmark = pytest.mark.django_db


@pytest.fixture
def embedded(owner, media, sent_checks, django_capture_on_commit_callbacks):
    """Return (dataset, a chequered image among red squares, a finished outlier check)."""
    dataset = make_dataset(owner, name="Odd", per_split={"train": 4, "val": 1})
    chequer = np.indices((16, 16)).sum(axis=0) % 2 * 255
    odd = add_image(dataset, png(np.stack([chequer] * 3, axis=-1).astype(np.uint8)), name="odd.png",
                    label=dataset.classes.get(name="red"), split="train").image
    version = freeze_version(dataset, user=owner)
    run = saved_run(owner, version)
    with django_capture_on_commit_callbacks(execute=True):
        check = outliers.start_outlier_check(dataset, owner, None)
    assert check.kind == CheckKind.OUTLIERS and sent_checks[-1] == ("gpu", check.task_id)
    assert run_check(check.pk, worker="test", token=check.task_id) == CheckStatus.SUCCEEDED
    check.refresh_from_db()
    assert check.results["run"] == run.pk
    return dataset, odd, check


def test_the_check_scores_every_image_and_stores_the_embeddings_compactly(embedded, settings):
    from pathlib import Path

    dataset, odd, check = embedded
    assert check.counts["images"] == 16 and len(check.results["outliers"]) == 16
    scores = [row[2] for row in check.results["outliers"]]
    assert scores == sorted(scores, reverse=True)
    with np.load(Path(settings.DATA_DIR) / check.results["embeddings"]) as stored:
        assert stored["features"].dtype == np.float16 and stored["features"].shape[0] == 16
        assert odd.pk in stored["ids"].tolist()


def test_the_outlier_page_and_more_like_this(owner_client, embedded):
    dataset, odd, check = embedded
    html = owner_client.get(reverse("datachecks_outliers", args=[dataset.pk])).content.decode()
    assert f'data-image-id="{odd.pk}"' in html and reverse("datachecks_similar", args=[dataset.pk, odd.pk]) in html
    assert reverse("datachecks_similar", args=[dataset.pk, odd.pk]) in \
        owner_client.get(reverse("image_detail", args=[dataset.pk, odd.pk])).content.decode()
    page = owner_client.get(reverse("datachecks_similar", args=[dataset.pk, odd.pk]))
    assert page.status_code == 200
    assert len(page.context["similar"]) == outliers.SIMILAR
    assert odd.pk not in [s["image"].pk for s in page.context["similar"]]


def test_more_like_this_without_embeddings_says_how_to_get_them(owner_client, owner, media):
    dataset = make_dataset(owner, name="Plain", per_split={"train": 1})
    image = dataset.images.first()
    html = owner_client.get(reverse("datachecks_similar", args=[dataset.pk, image.pk])).content.decode()
    assert 'id="no-embeddings"' in html


def test_without_a_trained_run_the_check_is_refused(api_client, owner, media):
    dataset = make_dataset(owner, name="Untrained", per_split={"train": 2})
    freeze_version(dataset, user=owner)
    api_client.force_authenticate(owner)
    response = api_client.post("/api/data-checks/", {"dataset": dataset.pk, "kind": "outliers"}, format="json")
    assert response.status_code == 409 and "Train a run" in response.json()["detail"]


def test_an_outsider_gets_404(outsider_client, embedded):
    dataset, odd, check = embedded
    assert outsider_client.get(reverse("datachecks_outliers", args=[dataset.pk])).status_code == 404
    assert outsider_client.get(reverse("datachecks_similar", args=[dataset.pk, odd.pk])).status_code == 404
