"""Classes: created in order, renamed, merged, deleted with or without their images."""

import pytest
from django.core.exceptions import ValidationError

from tests.webapp.datasets.conftest import files_under, jpeg
from webapp.datasets.models import Image
from webapp.datasets.services.classes import create_class, delete_class, merge_classes, rename_class
from webapp.datasets.services.ingest import add_image

pytestmark = pytest.mark.django_db


def revision(dataset) -> int:
    dataset.refresh_from_db()
    return dataset.revision


def test_classes_keep_the_order_they_were_created_in(dataset):
    for name in ("zebra", "ant", "moose"):
        create_class(dataset, name)
    assert list(dataset.classes.values_list("name", "position")) == [("zebra", 0), ("ant", 1), ("moose", 2)]


def test_a_class_name_is_normalised_and_must_be_unique(dataset):
    create_class(dataset, "  cafe\u0301 ")
    assert dataset.classes.get().name == "caf\u00e9"
    with pytest.raises(ValidationError, match="already a class named 'café'"):
        create_class(dataset, "caf\u00e9")
    with pytest.raises(ValidationError, match="needs a name"):
        create_class(dataset, "   ")


def test_renaming_changes_the_name_and_the_revision(dataset, cats, dogs):
    before = revision(dataset)
    rename_class(cats, "kittens")
    assert dataset.classes.get(pk=cats.pk).name == "kittens"
    assert revision(dataset) > before
    with pytest.raises(ValidationError):
        rename_class(cats, "dogs")


def test_merging_moves_the_images_and_removes_the_source(dataset, cats, dogs, media):
    for i in range(3):
        add_image(dataset, jpeg(i), name=f"{i}.jpg", label=cats)
    add_image(dataset, jpeg(9), name="9.jpg", label=dogs)
    assert merge_classes(cats, dogs) == 3
    assert list(dataset.classes.values_list("name", flat=True)) == ["dogs"]
    assert Image.objects.filter(label=dogs).count() == 4


def test_merging_needs_two_classes_of_one_dataset(dataset, cats, owner):
    from webapp.datasets.models import Dataset

    other = create_class(Dataset.objects.create(owner=owner, name="Other"), "cats")
    with pytest.raises(ValidationError):
        merge_classes(cats, other)
    with pytest.raises(ValidationError):
        merge_classes(cats, cats)


def test_deleting_a_class_can_leave_its_images_unlabelled(dataset, cats, media):
    add_image(dataset, jpeg(1), name="a.jpg", label=cats)
    assert delete_class(cats, delete_images=False) == 1
    assert Image.objects.get().label is None
    assert dataset.classes.count() == 0


def test_deleting_a_class_with_its_images_removes_their_files(dataset, cats, dogs, media):
    add_image(dataset, jpeg(1), name="a.jpg", label=cats)
    kept = add_image(dataset, jpeg(2), name="b.jpg", label=dogs).image
    from django.test import TestCase

    with TestCase.captureOnCommitCallbacks(execute=True):
        delete_class(cats, delete_images=True)
    assert list(Image.objects.all()) == [kept]
    assert files_under(media) == [kept.file.name]


def test_positions_are_not_repacked_after_a_delete(dataset, cats, dogs):
    delete_class(cats, delete_images=False)
    birds = create_class(dataset, "birds")
    assert (dataset.classes.get(name="dogs").position, birds.position) == (1, 2)
