"""Bulk actions on a selection: relabel, move to a split, delete (softly when a version uses the image)."""

import pytest
from django.core.exceptions import ValidationError
from django.test import TestCase

from tests.webapp.datasets.conftest import files_under, jpeg
from webapp.datasets.models import Dataset, Image
from webapp.datasets.services.bulk import delete_images, move_to_split, relabel
from webapp.datasets.services.classes import create_class
from webapp.datasets.services.ingest import add_image
from webapp.datasets.services.versions import freeze_version

pytestmark = pytest.mark.django_db


@pytest.fixture
def images(dataset, cats, media):
    return [add_image(dataset, jpeg(i), name=f"{i}.jpg", label=cats, split="train").image for i in range(4)]


def test_relabel_changes_only_the_selected_images_of_the_dataset(dataset, dogs, images, owner):
    other = Dataset.objects.create(owner=owner, name="Other")
    foreign = add_image(other, jpeg(99), name="x.jpg", label=None).image
    assert relabel(dataset, [images[0].pk, images[1].pk, foreign.pk], dogs) == 2
    assert sorted(Image.objects.filter(label=dogs).values_list("pk", flat=True)) == [images[0].pk, images[1].pk]
    assert Image.objects.get(pk=foreign.pk).label is None


def test_relabel_to_none_makes_images_unlabelled(dataset, images):
    assert relabel(dataset, [images[0].pk], None) == 1
    assert Image.objects.get(pk=images[0].pk).label is None


def test_relabel_refuses_a_class_of_another_dataset(dataset, images, owner):
    foreign = create_class(Dataset.objects.create(owner=owner, name="Other"), "x")
    with pytest.raises(ValidationError):
        relabel(dataset, [images[0].pk], foreign)


def test_move_to_split_changes_the_split_and_the_revision(dataset, images):
    dataset.refresh_from_db()
    before = dataset.revision
    assert move_to_split(dataset, [i.pk for i in images[:3]], "val") == 3
    assert Image.objects.filter(split="val").count() == 3
    dataset.refresh_from_db()
    assert dataset.revision > before
    with pytest.raises(ValidationError):
        move_to_split(dataset, [images[0].pk], "holdout")


def test_deleting_an_unversioned_image_removes_its_row_and_files(dataset, images, media):
    with TestCase.captureOnCommitCallbacks(execute=True):
        assert delete_images(dataset, [images[0].pk]) == 1
    assert not Image.objects.filter(pk=images[0].pk).exists()
    assert images[0].file.name not in files_under(media)


def test_deleting_a_versioned_image_hides_it_but_keeps_its_file(dataset, images, media, owner):
    freeze_version(dataset, user=owner)
    with TestCase.captureOnCommitCallbacks(execute=True):
        assert delete_images(dataset, [images[0].pk]) == 1
    image = Image.objects.get(pk=images[0].pk)
    assert image.deleted_at is not None
    assert image.file.name in files_under(media)
    assert not dataset.images.filter(deleted_at__isnull=True, pk=image.pk).exists()


def test_a_hidden_image_can_be_uploaded_again(dataset, images, cats, owner, media):
    freeze_version(dataset, user=owner)
    delete_images(dataset, [images[0].pk])
    again = add_image(dataset, jpeg(0), name="0 again.jpg", label=cats)
    assert again.outcome == "accepted"
    assert again.image.file.name != images[0].file.name
