"""Labels changed outside the labelling page (browse, image page, API) are in the image's history and a version's
counts by origin too; an image whose class did not change gets no event."""

import re

import pytest
from django.urls import reverse

from webapp.datasets.forms import UNLABELLED
from webapp.datasets.models import Image
from webapp.datasets.services.versions import freeze_version
from webapp.labelling.models import LabelEvent

pytestmark = pytest.mark.django_db


def classes(dataset):
    return {c.name: c for c in dataset.classes.all()}


def history(client, dataset, image) -> list[list[str]]:
    """Return the image page's label history rows as text cells: [when, class, before, how, by]."""
    html = client.get(reverse("image_detail", args=[dataset.pk, image.pk])).content.decode()
    table = html[html.index('id="label-history"'):]
    table = table[:table.index("</section>")]
    rows = re.findall(r"<tr>(.*?)</tr>", table, re.S)[1:]  # the first is the header
    return [[re.sub(r"<[^>]+>|\s+", " ", cell).strip() for cell in re.findall(r"<td>(.*?)</td>", row, re.S)]
            for row in rows]


def test_browse_set_class_shows_on_the_image_page_as_by_hand_by_whom(owner_client, owner, pets):
    red = classes(pets)["red"]
    unlabelled = list(Image.objects.filter(dataset=pets, label__isnull=True).order_by("pk")[:2])
    already_red = Image.objects.filter(dataset=pets, label=red).order_by("pk").first()
    ids = [unlabelled[0].pk, unlabelled[1].pk, already_red.pk]
    response = owner_client.post(reverse("dataset_bulk_action", args=[pets.pk]),
                                 {"action": "relabel", "images": ids, "label": red.pk})
    assert response.status_code == 302
    assert [row[1:] for row in history(owner_client, pets, unlabelled[0])] == \
        [["red", "unlabelled", "by hand", owner.username]]
    # Only the images whose class changed: the one already red has no history, and the page says so.
    assert history(owner_client, pets, already_red) == []
    assert "No label was given or changed yet." in owner_client.get(
        reverse("image_detail", args=[pets.pk, already_red.pk])).content.decode()
    assert LabelEvent.objects.count() == 2


def test_browse_set_class_writes_the_previous_class_and_unlabelling_is_recorded(owner_client, owner, pets):
    red, green = classes(pets)["red"], classes(pets)["green"]
    image = Image.objects.filter(dataset=pets, label=red).order_by("pk").first()
    url = reverse("dataset_bulk_action", args=[pets.pk])
    owner_client.post(url, {"action": "relabel", "images": [image.pk], "label": green.pk})
    owner_client.post(url, {"action": "relabel", "images": [image.pk], "label": UNLABELLED})
    rows = history(owner_client, pets, image)
    assert [row[1:4] for row in rows] == [["unlabelled", "green", "by hand"], ["green", "red", "by hand"]]


def test_the_image_page_and_the_api_record_their_class_changes(owner_client, api_client, owner, pets):
    red, blue = classes(pets)["red"], classes(pets)["blue"]
    first, second, third = Image.objects.filter(dataset=pets, label__isnull=True).order_by("pk")[:3]
    page = owner_client.post(reverse("image_detail", args=[pets.pk, first.pk]),
                             {"label": red.pk, "split": first.split})
    assert page.status_code == 302
    api_client.force_authenticate(owner)
    assert api_client.patch(f"/api/images/{second.pk}/", {"label": blue.pk}, format="json").status_code == 200
    bulk = api_client.post("/api/images/bulk/", {"dataset": pets.pk, "action": "relabel", "label": blue.pk,
                                                 "ids": [second.pk, third.pk]}, format="json")
    assert bulk.json() == {"changed": 1}  # the second was blue already
    events = {(e.image_id, e.label_name, e.origin, e.user_id) for e in LabelEvent.objects.all()}
    assert events == {(first.pk, "red", "hand", owner.pk), (second.pk, "blue", "hand", owner.pk),
                      (third.pk, "blue", "hand", owner.pk)}
    assert [row[1:] for row in history(owner_client, pets, first)] == [["red", "unlabelled", "by hand", "olive"]]


def test_a_freeze_counts_labels_by_origin_with_those_made_elsewhere(owner_client, owner, pets):
    green = classes(pets)["green"]
    relabelled = list(Image.objects.filter(dataset=pets, label__name="red").order_by("pk"))
    owner_client.post(reverse("dataset_bulk_action", args=[pets.pk]),
                      {"action": "relabel", "images": [i.pk for i in relabelled], "label": green.pk})
    version = freeze_version(pets, user=owner)
    assert version.counts["per_origin"] == {"hand": 2, "suggestion": 0, "bulk": 0, "unrecorded": 4}
    assert owner_client.get(f"/api/versions/{version.pk}/").json()["counts"]["per_origin"]["hand"] == 2
    page = owner_client.get(reverse("version_detail", args=[pets.pk, version.number])).content.decode()
    assert "Labels: 2 by hand, 4 given at upload or import." in page


def test_merging_and_deleting_a_class_are_in_each_moved_image_s_history(owner_client, api_client, owner, pets):
    red, green, blue = (classes(pets)[n] for n in ("red", "green", "blue"))
    reds = list(Image.objects.filter(dataset=pets, label=red).order_by("pk"))
    blues = list(Image.objects.filter(dataset=pets, label=blue).order_by("pk"))
    merged = owner_client.post(reverse("class_merge", args=[pets.pk]),
                               {"merge-source": red.pk, "merge-target": green.pk})
    assert merged.status_code == 302
    # The source class is gone, and its name stays in the history of every image it held.
    assert [row[1:] for row in history(owner_client, pets, reds[0])] == [["green", "red", "by hand", "olive"]]
    api_client.force_authenticate(owner)
    assert api_client.delete(f"/api/classes/{blue.pk}/?delete_images=false").status_code == 204
    assert [row[1:] for row in history(owner_client, pets, blues[-1])] == [["unlabelled", "blue", "by hand", "olive"]]
    assert LabelEvent.objects.filter(user=owner).count() == len(reds) + len(blues)
