"""Leakage shows where decisions are made: the health card, freezing a version, and the launch form."""

import pytest
from django.urls import reverse

from webapp.datachecks.models import CheckStatus, DataCheck
from webapp.datasets.services import bulk

pytestmark = pytest.mark.django_db
LEAK = "1 test image has a near-copy in train: test accuracy will look better than it is."


def test_the_health_card_warns_and_links_to_the_fixes(owner_client, leaky):
    html = owner_client.get(reverse("dataset_detail", args=[leaky.pk])).content.decode()
    card = html[html.index('id="health"'):]
    assert LEAK in card
    assert reverse("datachecks_page", args=[leaky.pk]) in card


def test_the_health_card_is_quiet_once_fixed(owner_client, leaky):
    bulk.move_to_split(leaky, [leaky.pics["a_copy"].pk], "train")
    html = owner_client.get(reverse("dataset_detail", args=[leaky.pk])).content.decode()
    assert "near-copy in train" not in html


def test_the_freeze_form_warns_before_freezing(owner_client, leaky):
    html = owner_client.get(reverse("version_list", args=[leaky.pk])).content.decode()
    assert html.index(LEAK) < html.index(reverse("version_freeze", args=[leaky.pk]))


def test_freezing_warns_and_records_what_the_version_was_checked_for(owner_client, leaky,
                                                                      django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(reverse("version_freeze", args=[leaky.pk]), {"note": ""}, follow=True)
    html = response.content.decode()
    assert "Version 1 frozen" in html
    assert f"{LEAK} Fix the groups on Data checks, then freeze again." in html
    version = leaky.versions.get()
    check = DataCheck.objects.get(version=version)
    assert check.status == CheckStatus.SUCCEEDED and check.threshold == 10 and check.finished_at
    assert check.counts["leaking_pairs"] == 1 and check.counts["images"] == 7
    page = owner_client.get(reverse("version_detail", args=[leaky.pk, version.number])).content.decode()
    assert "Checked for near-duplicates at 10 bits" in page and LEAK in page


def test_a_clean_freeze_says_nothing_about_leakage(owner_client, leaky, django_capture_on_commit_callbacks):
    bulk.move_to_split(leaky, [leaky.pics["a_copy"].pk], "train")
    with django_capture_on_commit_callbacks(execute=True):
        html = owner_client.post(reverse("version_freeze", args=[leaky.pk]), {"note": ""}, follow=True)\
            .content.decode()
    assert "Version 1 frozen" in html and "near-copy in" not in html
    page = owner_client.get(reverse("version_detail", args=[leaky.pk, 1])).content.decode()
    assert "No near-copy sits in two of its splits" in page


def test_a_version_with_many_unhashed_images_is_checked_by_a_job(owner, leaky, sent_checks, monkeypatch,
                                                                 django_capture_on_commit_callbacks):
    from webapp.datachecks.services import checks
    from webapp.datasets.models import Image
    from webapp.datasets.services.versions import freeze_version

    monkeypatch.setattr(checks, "INLINE_HASH_LIMIT", 2)
    Image.objects.filter(dataset=leaky).update(phash=None)
    with django_capture_on_commit_callbacks(execute=True):
        version = freeze_version(leaky, user=owner)
    check = DataCheck.objects.get(version=version)
    assert check.status == CheckStatus.QUEUED and sent_checks == [("default", check.task_id)]


def test_a_version_with_a_few_unhashed_images_hashes_them_and_finds_the_leak_as_it_is_frozen(owner, leaky):
    from webapp.datasets.models import Image
    from webapp.datasets.services.versions import freeze_version

    Image.objects.filter(pk__in=[leaky.pics["a"].pk, leaky.pics["a_copy"].pk]).update(phash=None)
    Image.objects.filter(pk=leaky.pics["b"].pk).update(phash_crops=None)
    version = freeze_version(leaky, user=owner)
    check = DataCheck.objects.get(version=version)
    assert check.status == CheckStatus.SUCCEEDED
    assert check.counts["leaking_pairs"] == 1 and check.counts["images"] == 7  # the pair of the unhashed two
    assert not Image.objects.filter(dataset=leaky, phash__isnull=True).exists()
    assert not Image.objects.filter(dataset=leaky, phash_crops__isnull=True).exists()


def test_the_launch_form_warns_about_the_chosen_dataset(owner_client, leaky):
    html = owner_client.get(reverse("run_new"), {"dataset": leaky.pk}).content.decode()
    warning = html[html.index('id="launch-leakage"'):]
    assert LEAK in warning and reverse("datachecks_page", args=[leaky.pk]) in warning


def test_the_launch_form_warns_about_the_chosen_version_even_after_a_fix(owner, owner_client, leaky):
    from webapp.datasets.services.versions import freeze_version

    version = freeze_version(leaky, user=owner)
    bulk.move_to_split(leaky, [leaky.pics["a_copy"].pk], "train")
    assert 'id="launch-leakage"' not in owner_client.get(reverse("run_new"), {"dataset": leaky.pk}).content.decode()
    html = owner_client.get(reverse("run_new"), {"version": version.pk}).content.decode()
    assert LEAK in html and "Leaky v1 leaks between splits" in html


def test_the_launch_form_says_nothing_of_an_outsiders_dataset(outsider_client, leaky):
    html = outsider_client.get(reverse("run_new"), {"dataset": leaky.pk}).content.decode()
    assert "near-copy" not in html


def test_the_launch_form_warns_again_when_a_post_fails(owner_client, leaky):
    response = owner_client.post(reverse("run_new"), {"dataset": leaky.pk, "arch": "no-such-arch"})
    assert response.status_code == 200 and LEAK in response.content.decode()


def test_the_launch_forms_script_asks_for_the_warning_of_the_dataset_picked(owner_client, outsider, leaky):
    from django.test import Client

    url = reverse("datachecks_leakage")
    assert f'data-url="{url}"' in owner_client.get(reverse("run_new")).content.decode()
    body = owner_client.get(url, {"dataset": leaky.pk}).json()
    assert body["warnings"] == [LEAK] and body["title"] == "Leaky leaks between splits"
    assert body["fix_url"] == reverse("datachecks_page", args=[leaky.pk])
    for query in ({"dataset": "²"}, {"dataset": "9" * 30}, {"version": "x"}, {}):
        assert owner_client.get(url, query).json() == {"warnings": []}
    stranger = Client()
    stranger.force_login(outsider)
    assert stranger.get(url, {"dataset": leaky.pk}).json() == {"warnings": []}
