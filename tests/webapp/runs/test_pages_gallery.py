"""The gallery behind a confusion-matrix cell: exactly its images, most confident first; relabel and remove."""

import re

import pytest
from django.urls import reverse

from webapp.datasets.models import Image

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]


def gallery_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'data-image-id="(\d+)"', html)]


def test_a_cell_shows_exactly_its_images_most_confident_first(owner_client, finished):
    _, evaluation, images = finished
    html = owner_client.get(reverse("evaluation_cell", args=[evaluation.pk, 0, 1])).content.decode()
    # cat[1] (logit 3.0) is more confident than cat[2] (logit 1.0); no other image is a cat predicted dog.
    assert gallery_ids(html) == [images["cat"][1].pk, images["cat"][2].pk]
    assert "cat predicted as dog" in html
    assert 'data-testid="gallery-count">2<' in html


def test_every_cell_of_the_matrix_holds_its_own_images(owner_client, finished):
    _, evaluation, images = finished
    expected = {(0, 0): [images["cat"][0]], (1, 1): [images["dog"][0], images["dog"][2], images["dog"][1]],
                (2, 0): [images["fox"][0]], (2, 2): [images["fox"][1], images["fox"][2]], (1, 0): [], (0, 2): []}
    for (true, pred), wanted in expected.items():
        html = owner_client.get(reverse("evaluation_cell", args=[evaluation.pk, true, pred])).content.decode()
        assert gallery_ids(html) == [image.pk for image in wanted], (true, pred)


def test_it_shows_thumbnails_classes_and_confidence(owner_client, finished):
    _, evaluation, images = finished
    html = owner_client.get(reverse("evaluation_cell", args=[evaluation.pk, 2, 0])).content.decode()
    fox = images["fox"][0]
    thumb = reverse("image_thumbnail", kwargs={"pk": fox.dataset_id, "image_pk": fox.pk})
    assert f'src="{thumb}"' in html
    assert owner_client.get(thumb).status_code == 200
    confidence = evaluation.predictions.get(image=fox).confidence
    assert f"{confidence * 100:.1f}%" in html
    assert "fox predicted as cat" in html


def test_an_unknown_class_index_is_404(owner_client, finished):
    _, evaluation, _ = finished
    assert owner_client.get(f"/runs/evaluations/{evaluation.pk}/cells/0/3/").status_code == 404


def test_it_relabels_an_image_in_the_dataset_not_the_version(owner_client, finished):
    _, evaluation, images = finished
    fox = images["fox"][0]
    cat_class = fox.dataset.classes.get(name="cat")
    gallery = reverse("evaluation_cell", args=[evaluation.pk, 2, 0])
    response = owner_client.post(reverse("gallery_relabel", args=[evaluation.pk, fox.pk]),
                                 {"label": cat_class.pk, "next": gallery})
    assert response.status_code == 302 and response["Location"] == gallery
    assert Image.objects.get(pk=fox.pk).label == cat_class
    assert evaluation.version.entries.get(image=fox).class_index == 2  # the frozen version still says fox
    html = owner_client.get(gallery).content.decode()
    assert "Now labelled cat" in html and "is now labelled cat" in html


def test_it_removes_an_image_from_the_dataset(owner_client, finished):
    _, evaluation, images = finished
    fox = images["fox"][0]
    owner_client.post(reverse("gallery_remove", args=[evaluation.pk, fox.pk]))
    assert Image.objects.get(pk=fox.pk).deleted_at is not None
    assert evaluation.version.entries.filter(image=fox).exists()
    html = owner_client.get(reverse("evaluation_cell", args=[evaluation.pk, 2, 0])).content.decode()
    assert "Removed from the dataset" in html


def test_it_refuses_an_image_outside_the_evaluation(owner_client, finished, owner):
    _, evaluation, images = finished
    train_image = Image.objects.filter(dataset=images["cat"][0].dataset, split="train").first()
    cat_class = train_image.dataset.classes.get(name="dog")
    response = owner_client.post(reverse("gallery_relabel", args=[evaluation.pk, train_image.pk]),
                                 {"label": cat_class.pk})
    assert response.status_code == 404
    assert Image.objects.get(pk=train_image.pk).label.name != "dog"


def test_it_refuses_a_class_of_another_dataset(owner_client, finished, owner):
    from webapp.datasets.models import Dataset, DatasetClass

    _, evaluation, images = finished
    other = DatasetClass.objects.create(dataset=Dataset.objects.create(owner=owner, name="Other"), name="x")
    fox = images["fox"][0]
    owner_client.post(reverse("gallery_relabel", args=[evaluation.pk, fox.pk]), {"label": other.pk})
    assert Image.objects.get(pk=fox.pk).label.name == "fox"


def test_outsiders_get_404_and_change_nothing(outsider_client, finished):
    _, evaluation, images = finished
    fox = images["fox"][0]
    cat_class = fox.dataset.classes.get(name="cat")
    assert outsider_client.get(reverse("evaluation_cell", args=[evaluation.pk, 2, 0])).status_code == 404
    assert outsider_client.post(reverse("gallery_relabel", args=[evaluation.pk, fox.pk]),
                                {"label": cat_class.pk}).status_code == 404
    assert outsider_client.post(reverse("gallery_remove", args=[evaluation.pk, fox.pk])).status_code == 404
    fox.refresh_from_db()
    assert fox.label.name == "fox" and fox.deleted_at is None


def test_a_cell_reads_its_count_from_the_stored_matrix_not_by_counting(owner_client, finished):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    _, evaluation, _ = finished
    url = reverse("evaluation_cell", args=[evaluation.pk, 1, 1])
    with CaptureQueriesContext(connection) as queries:
        html = owner_client.get(url).content.decode()
    assert 'data-testid="gallery-count">3<' in html
    assert not [q for q in queries if "COUNT(" in q["sql"].upper() and "evalprediction" in q["sql"].lower()]
    evaluation.metrics = {}  # an evaluation without a matrix still counts its cell
    evaluation.save(update_fields=["metrics"])
    assert 'data-testid="gallery-count">3<' in owner_client.get(url).content.decode()
