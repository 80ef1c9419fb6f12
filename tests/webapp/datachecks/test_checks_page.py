"""Datasets → Data checks: near-copy groups at a threshold the page shows, leaking groups first, with fixes."""

import pytest
from django.urls import reverse

from webapp.datasets.models import Image

pytestmark = pytest.mark.django_db


def page(client, dataset, **query):
    return client.get(reverse("datachecks_page", args=[dataset.pk]), query)


def test_it_shows_the_groups_and_the_leak(owner_client, leaky):
    response = page(owner_client, leaky)
    html = response.content.decode()
    assert response.status_code == 200
    assert 'value="10"' in html and "Hash distance threshold" in html
    assert "1 test image has a near-copy in train: test accuracy will look better than it is." in html
    assert html.count('class="dup-group') == 2
    assert html.index(f'data-group="{leaky.pics["a"].pk},{leaky.pics["a_copy"].pk}"') < \
        html.index(f'data-group="{leaky.pics["b"].pk},{leaky.pics["b_copy"].pk}"')  # the leaking group first
    assert f'href="{reverse("datachecks_page", args=[leaky.pk])}"' in html  # the tab


def test_threshold_zero_and_twenty_change_what_counts(owner_client, leaky):
    assert page(owner_client, leaky, threshold="0").context["counts"]["groups"] == 2  # resized copies hash the same
    wide = page(owner_client, leaky, threshold="20").context
    assert wide["threshold"] == 20 and wide["counts"]["groups"] >= 2


@pytest.mark.parametrize("bad", ["-1", "99", "21", "twelve", "1.5", "²", "9" * 30])
def test_a_bad_threshold_is_a_400_that_says_the_range(owner_client, leaky, bad):
    response = page(owner_client, leaky, threshold=bad)
    assert response.status_code == 400
    assert "0 to 20" in response.content.decode() or "from 0 to 20" in response.content.decode()


def test_an_outsider_gets_404(outsider_client, leaky):
    assert page(outsider_client, leaky).status_code == 404
    response = outsider_client.post(reverse("datachecks_fix", args=[leaky.pk]),
                                    {"images": f"{leaky.pics['a'].pk},{leaky.pics['a_copy'].pk}", "move": "train"})
    assert response.status_code == 404
    assert Image.objects.get(pk=leaky.pics["a_copy"].pk).split == "test"


def test_unhashed_images_are_counted_and_the_check_can_be_run(owner_client, leaky, sent_checks):
    Image.objects.filter(pk=leaky.pics["p3"].pk).update(phash=None)
    html = page(owner_client, leaky).content.decode()
    assert "1 image stored before Lux hashed images at upload is not compared yet" in html
    response = owner_client.post(reverse("datachecks_run", args=[leaky.pk]), {"threshold": "8"})
    assert response.status_code == 302 and response["Location"].endswith("?threshold=8")
    assert len(sent_checks) == 0  # sent once the request's transaction commits
    status = owner_client.get(reverse("datachecks_status", args=[leaky.pk])).json()["check"]
    assert status["status"] == "queued" and status["threshold"] == 8


def test_running_a_check_with_a_bad_threshold_is_a_400_and_queues_nothing(owner_client, leaky):
    response = owner_client.post(reverse("datachecks_run", args=[leaky.pk]), {"threshold": "99"})
    assert response.status_code == 400
    assert not leaky.data_checks.exists()
