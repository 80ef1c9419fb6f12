"""One-click fixes of a near-copy group: move it into one split, or keep one image and delete the others."""

import pytest
from django.urls import reverse

from webapp.datasets.models import Dataset, Image
from webapp.datasets.services import bulk

pytestmark = pytest.mark.django_db


def fix(client, dataset, ids, **fields):
    body = {"images": ",".join(str(i) for i in ids), **fields}
    return client.post(reverse("datachecks_fix", args=[dataset.pk]), body)


def group(leaky):
    return [leaky.pics["a"].pk, leaky.pics["a_copy"].pk]


def test_moving_the_group_into_train_ends_the_leak(owner_client, leaky):
    revision = leaky.revision
    response = fix(owner_client, leaky, group(leaky), move="train",
                   state=f"{leaky.pics['a'].pk}:train,{leaky.pics['a_copy'].pk}:test")
    assert response.status_code == 302
    assert Image.objects.get(pk=leaky.pics["a_copy"].pk).split == "train"
    assert Dataset.objects.get(pk=leaky.pk).revision > revision
    follow = owner_client.get(response["Location"])
    html = follow.content.decode()
    assert "Moved 1 image to train" in html
    assert follow.context["counts"]["leaking_pairs"] == 0 and "No near-copy sits in two splits" in html


def test_keeping_one_deletes_the_others_softly_when_a_version_uses_them(owner_client, owner, leaky):
    from webapp.datasets.services.versions import freeze_version

    freeze_version(leaky, user=owner)
    response = fix(owner_client, leaky, group(leaky), keep=str(leaky.pics["a"].pk))
    assert response.status_code == 302
    copy = Image.objects.get(pk=leaky.pics["a_copy"].pk)
    assert copy.deleted_at is not None  # kept for the version that uses it
    assert Image.objects.get(pk=leaky.pics["a"].pk).deleted_at is None
    html = owner_client.get(response["Location"]).content.decode()
    assert f"Kept image {leaky.pics['a'].pk} and deleted 1 near-copy" in html


def test_a_fix_on_an_image_already_deleted_is_a_409_and_changes_nothing(owner_client, leaky):
    bulk.delete_images(leaky, [leaky.pics["a_copy"].pk])
    response = fix(owner_client, leaky, group(leaky), move="test")
    assert response.status_code == 409
    assert "was deleted" in response.content.decode()
    assert Image.objects.get(pk=leaky.pics["a"].pk).split == "train"


def test_a_fix_on_an_image_moved_since_the_page_is_a_409_and_changes_nothing(owner_client, leaky):
    state = f"{leaky.pics['a'].pk}:train,{leaky.pics['a_copy'].pk}:test"
    bulk.move_to_split(leaky, [leaky.pics["a_copy"].pk], "val")
    response = fix(owner_client, leaky, group(leaky), keep=str(leaky.pics["a"].pk), state=state)
    assert response.status_code == 409
    assert "was moved to val" in response.content.decode()
    assert Image.objects.filter(pk__in=group(leaky), deleted_at__isnull=True).count() == 2


def test_a_group_already_in_that_split_is_a_409(owner_client, leaky):
    ids = [leaky.pics["b"].pk, leaky.pics["b_copy"].pk]
    response = fix(owner_client, leaky, ids, move="train")
    assert response.status_code == 409 and "already in train" in response.content.decode()


@pytest.mark.parametrize("fields", [
    {"move": "attic"}, {"keep": "x"}, {}, {"move": "train", "keep": "1"}, {"move": "train", "state": "1:attic"},
])
def test_bad_fix_input_is_a_400_and_changes_nothing(owner_client, leaky, fields):
    before = list(Image.objects.filter(dataset=leaky).order_by("pk").values_list("split", "deleted_at"))
    response = fix(owner_client, leaky, group(leaky), **fields)
    assert response.status_code == 400
    assert list(Image.objects.filter(dataset=leaky).order_by("pk").values_list("split", "deleted_at")) == before


@pytest.mark.parametrize("ids", ["", "1", "x,y", "²,3", "9" * 30 + ",1"])
def test_bad_image_ids_are_a_400(owner_client, leaky, ids):
    response = owner_client.post(reverse("datachecks_fix", args=[leaky.pk]), {"images": ids, "move": "train"})
    assert response.status_code == 400


def test_keeping_an_image_outside_the_group_is_a_400(owner_client, leaky):
    response = fix(owner_client, leaky, group(leaky), keep=str(leaky.pics["b"].pk))
    assert response.status_code == 400
    assert not Image.objects.filter(dataset=leaky, deleted_at__isnull=False).exists()


def test_images_of_another_dataset_are_a_409(owner_client, owner, leaky):
    other = Dataset.objects.create(owner=owner, name="Other")
    from tests.webapp.datachecks.conftest import add, encoded, photo

    stranger = add(other, encoded(photo(9)), name="x.png", split="train")
    response = fix(owner_client, leaky, [leaky.pics["a"].pk, stranger.pk], move="test")
    assert response.status_code == 409
    assert Image.objects.get(pk=stranger.pk).split == "train"
