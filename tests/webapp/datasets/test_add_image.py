"""Adding one image: what is stored, what is refused and why, and that refusals leave nothing behind."""

import pytest

from tests import hostile_files as h
from tests.webapp.datasets.conftest import files_under, jpeg
from webapp.datasets.models import Image
from webapp.datasets.services.ingest import add_image
from webapp.datasets.validation import RejectedFile, check_image

pytestmark = pytest.mark.django_db


def expected_rejection(data: bytes) -> tuple[str, str]:
    with pytest.raises(RejectedFile) as caught:
        check_image(data)
    return caught.value.reason, caught.value.message


@pytest.mark.parametrize("name", sorted(h.REJECTED))
def test_each_hostile_file_is_rejected_with_its_reason_and_nothing_is_stored(name, dataset, cats, media):
    make, reason = h.REJECTED[name]
    data = make()
    outcome = add_image(dataset, data, name=name, label=cats)
    assert (outcome.outcome, outcome.reason) == ("rejected", reason)
    assert (outcome.reason, outcome.message) == expected_rejection(data)
    assert outcome.image is None
    assert Image.objects.count() == 0
    assert files_under(media) == []


def test_rejection_messages_are_sentences_a_person_understands(dataset, media):
    messages = {name: add_image(dataset, h.REJECTED[name][0](), name=name, label=None).message
                for name in ("empty.jpg", "truncated.jpg", "logo.svg", "login.png", "bomb.png", "dot.png")}
    assert messages["empty.jpg"] == "the file is empty"
    assert messages["truncated.jpg"] == "file is truncated: the image data ends early"
    assert messages["logo.svg"] == "SVG images are not accepted: convert to PNG"
    assert messages["login.png"] == "not an image: looks like HTML"
    assert messages["bomb.png"] == "image is 14000x14000 (196 megapixels); the limit is 40 megapixels"
    assert messages["dot.png"] == "image is 1x1; the minimum is 8x8"


@pytest.mark.parametrize("name", sorted(h.ACCEPTED))
def test_each_good_file_is_stored_with_a_generated_name_and_a_thumbnail(name, dataset, cats, media):
    data = h.ACCEPTED[name]()
    outcome = add_image(dataset, data, name=f"holiday/{name}", label=cats, split="train")
    assert outcome.outcome == "accepted", outcome.message
    image = Image.objects.get()
    assert (image.label, image.split, image.original_name) == (cats, "train", name)
    assert image.file.name.startswith(f"datasets/{dataset.pk}/images/")
    assert name not in image.file.name and "holiday" not in image.file.name
    assert (media / image.file.name).read_bytes() == data
    assert (media / image.thumbnail.name).is_file()
    assert image.sha256 == check_image(data).sha256


def test_exif_rotated_photo_is_stored_with_its_displayed_size(dataset, media):
    add_image(dataset, h.exif_rotated_jpeg(), name="portrait.jpg", label=None)
    image = Image.objects.get()
    assert (image.width, image.height) == (20, 40)


def test_a_small_browser_ready_image_is_its_own_thumbnail_but_a_rotated_one_gets_a_webp(dataset, media):
    small = add_image(dataset, jpeg(1), name="small.jpg", label=None).image
    rotated = add_image(dataset, h.exif_rotated_jpeg(), name="rotated.jpg", label=None).image
    big = add_image(dataset, h.good_png(300, 200), name="big.png", label=None).image
    assert small.thumbnail.name == small.file.name
    assert rotated.thumbnail.name.endswith(".webp") and rotated.thumbnail.name != rotated.file.name
    from PIL import Image as Pil

    with Pil.open(media / big.thumbnail.name) as thumb:
        assert thumb.format == "WEBP" and max(thumb.size) == 256


def test_the_same_bytes_twice_are_stored_once_and_the_report_names_the_first(dataset, cats, media):
    first = add_image(dataset, jpeg(1), name="a.jpg", label=cats)
    again = add_image(dataset, jpeg(1), name="copy of a.jpg", label=cats)
    assert again.outcome == "duplicate"
    assert again.existing == first.image
    assert f"'a.jpg' (image {first.image.pk})" in again.message
    assert Image.objects.count() == 1
    assert len(files_under(media)) == 1  # the image is its own thumbnail


def test_the_same_bytes_under_another_class_are_a_label_conflict(dataset, cats, dogs, media):
    first = add_image(dataset, jpeg(1), name="a.jpg", label=cats)
    conflict = add_image(dataset, jpeg(1), name="b.jpg", label=dogs)
    assert (conflict.outcome, conflict.reason) == ("conflict", "label_conflict")
    assert conflict.existing == first.image
    assert "class 'cats', not 'dogs'" in conflict.message
    assert Image.objects.get().label == cats


def test_an_unlabelled_copy_of_a_labelled_image_is_only_a_duplicate(dataset, cats, media):
    add_image(dataset, jpeg(1), name="a.jpg", label=cats)
    assert add_image(dataset, jpeg(1), name="b.jpg", label=None).outcome == "duplicate"


def test_the_same_bytes_may_live_in_two_datasets(dataset, owner, media):
    from webapp.datasets.models import Dataset

    other = Dataset.objects.create(owner=owner, name="Other")
    assert add_image(dataset, jpeg(1), name="a.jpg", label=None).outcome == "accepted"
    assert add_image(other, jpeg(1), name="a.jpg", label=None).outcome == "accepted"


def test_a_file_over_the_size_limit_is_rejected_without_reading_it_all(dataset, media, settings):
    import io

    settings.LUX_MAX_UPLOAD_BYTES = 2048
    stream = io.BytesIO(h.good_png(64, 64))
    outcome = add_image(dataset, stream, name="big.png", label=None)
    assert outcome.reason == "too_large"
    assert outcome.message.endswith("the limit is 2 KB")


def test_when_the_row_cannot_be_saved_the_stored_files_are_removed(dataset, media, monkeypatch):
    from webapp.datasets.services import store

    def broken_insert(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(store, "insert_images", broken_insert)
    with pytest.raises(RuntimeError):
        add_image(dataset, h.good_png(300, 200), name="a.png", label=None)
    assert files_under(media) == []


def test_bytes_stored_by_someone_else_meanwhile_become_a_duplicate_not_an_error(dataset, cats, media):
    from webapp.datasets.services.store import save_staged, stage_image

    mine = stage_image(dataset, jpeg(1), name="mine.jpg", label=cats)
    theirs = add_image(dataset, jpeg(1), name="theirs.jpg", label=cats)  # wins the race
    save_staged([mine])
    assert (mine.outcome, mine.existing) == ("duplicate", theirs.image)
    assert Image.objects.count() == 1
    assert files_under(media) == [theirs.image.file.name]


def test_a_class_of_another_dataset_is_refused(dataset, owner, media):
    from webapp.datasets.models import Dataset
    from webapp.datasets.services.classes import create_class

    foreign = create_class(Dataset.objects.create(owner=owner, name="Other"), "birds")
    with pytest.raises(ValueError):
        add_image(dataset, jpeg(1), name="a.jpg", label=foreign)
    assert files_under(media) == []


def test_adding_an_image_changes_the_datasets_revision_but_a_rejection_does_not(dataset, media):
    dataset.refresh_from_db()
    before = dataset.revision
    add_image(dataset, h.text_file(), name="notes.jpg", label=None)
    dataset.refresh_from_db()
    assert dataset.revision == before
    add_image(dataset, jpeg(1), name="a.jpg", label=None)
    dataset.refresh_from_db()
    assert dataset.revision == before + 1
