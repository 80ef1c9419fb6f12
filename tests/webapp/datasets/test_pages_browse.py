"""The thumbnail grid: filters, search, paging, a constant number of queries, and bulk actions."""

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.webapp.datasets.page_helpers import add_images, make_dataset
from webapp.datasets.models import Image

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]  # files in a folder of its own


@pytest.fixture
def flowers(owner):
    dataset = make_dataset(owner, "Flowers", classes=("daisy", "rose"))
    daisy, rose = dataset.classes.all()
    add_images(dataset, 4, label=daisy, split="train")
    add_images(dataset, 3, label=rose, split="val", start=100)
    add_images(dataset, 2, start=200)  # unlabelled, unassigned
    return dataset


def browse(client, dataset, query="") -> str:
    response = client.get(f"/datasets/{dataset.pk}/images/{query}")
    assert response.status_code == 200
    return response.content.decode()


def shown(page: str) -> set[str]:
    return set(re.findall(r'<span class="tile-name">([^<]+)</span>', page))


def test_it_shows_thumbnails_served_through_the_app(owner_client, flowers):
    page = browse(owner_client, flowers)
    assert len(shown(page)) == 9
    image = Image.objects.filter(dataset=flowers).first()
    assert f'src="/datasets/{flowers.pk}/images/{image.pk}/thumbnail/"' in page


def test_it_filters_by_class_split_status_and_name(owner_client, flowers):
    rose = flowers.classes.get(name="rose")
    assert shown(browse(owner_client, flowers, f"?label={rose.pk}")) == {"img0100.png", "img0101.png", "img0102.png"}
    assert shown(browse(owner_client, flowers, "?label=none")) == {"img0200.png", "img0201.png"}
    assert len(shown(browse(owner_client, flowers, "?split=train"))) == 4
    assert len(shown(browse(owner_client, flowers, "?status=labelled"))) == 7
    assert shown(browse(owner_client, flowers, "?status=unlabelled")) == {"img0200.png", "img0201.png"}
    assert shown(browse(owner_client, flowers, "?q=IMG010")) == {"img0100.png", "img0101.png", "img0102.png"}


def test_bad_filter_values_do_not_break_the_page(owner_client, flowers):
    assert len(shown(browse(owner_client, flowers, "?label=abc&split=nope&per_page=7&page=x"))) == 9


def test_it_pages_and_keeps_the_filters_in_the_links(owner_client, owner):
    dataset = make_dataset(owner, "Many")
    add_images(dataset, 30, size=8)
    page = browse(owner_client, dataset, "?per_page=24&q=img")
    assert len(shown(page)) == 24
    assert "30 in all" in page
    last = Image.objects.filter(dataset=dataset).order_by("-created_at", "-id")[23]
    assert f'href="?per_page=24&amp;q=img&amp;after={last.pk}"' in page
    assert len(shown(browse(owner_client, dataset, f"?per_page=24&q=img&after={last.pk}"))) == 6


def test_the_query_count_does_not_grow_with_the_page_size(owner_client, owner):
    dataset = make_dataset(owner, "Big", classes=("a", "b"))
    a, b = dataset.classes.all()
    add_images(dataset, 50, label=a, split="train", size=8)
    add_images(dataset, 50, label=b, split="val", start=1000, size=8)
    owner_client.get(f"/datasets/{dataset.pk}/images/?per_page=24")  # warm the session
    counts = {}
    for per_page in (24, 96):
        with CaptureQueriesContext(connection) as queries:
            page = browse(owner_client, dataset, f"?per_page={per_page}")
        assert len(shown(page)) == per_page
        counts[per_page] = len(queries)
    assert counts[24] == counts[96], counts


def test_the_selection_is_keyboard_friendly(owner_client, flowers):
    page = browse(owner_client, flowers)
    assert 'id="select-all"' in page
    assert page.count('class="tile-check"') == 9  # real checkboxes: focusable, space toggles
    assert "browse.js" in page
    assert 'data-confirm="Delete the selected images?' in page


def bulk(client, dataset, **data):
    return client.post(f"/datasets/{dataset.pk}/images/bulk/", data)


def test_it_relabels_the_selected_images(owner_client, flowers):
    rose = flowers.classes.get(name="rose")
    unlabelled = list(Image.objects.filter(dataset=flowers, label__isnull=True).values_list("pk", flat=True))
    response = bulk(owner_client, flowers, action="relabel", images=unlabelled, label=rose.pk,
                    next=f"/datasets/{flowers.pk}/images/?label=none")
    assert response.status_code == 302
    assert response["Location"] == f"/datasets/{flowers.pk}/images/?label=none"
    assert Image.objects.filter(dataset=flowers, label=rose).count() == 5
    assert "2 images now in “rose”." in owner_client.get(response["Location"]).content.decode()


def test_it_moves_the_selected_images_to_a_split(owner_client, flowers):
    ids = list(Image.objects.filter(dataset=flowers, split="train").values_list("pk", flat=True)[:2])
    bulk(owner_client, flowers, action="split", images=ids, split="test")
    assert set(Image.objects.filter(pk__in=ids).values_list("split", flat=True)) == {"test"}


def test_it_deletes_the_selected_images(owner_client, flowers):
    ids = list(Image.objects.filter(dataset=flowers).values_list("pk", flat=True)[:3])
    bulk(owner_client, flowers, action="delete", images=ids)
    assert Image.objects.filter(dataset=flowers, deleted_at__isnull=True).count() == 6
    assert len(shown(browse(owner_client, flowers))) == 6


def test_an_empty_selection_is_an_error_message(owner_client, flowers):
    response = bulk(owner_client, flowers, action="delete")
    page = owner_client.get(response["Location"]).content.decode()
    assert "Select at least one image." in page
    assert Image.objects.filter(dataset=flowers).count() == 9


def test_bulk_actions_never_touch_another_datasets_images(owner_client, owner, flowers):
    other = make_dataset(owner, "Other")
    theirs = add_images(other, 2, start=500)
    bulk(owner_client, flowers, action="delete", images=[i.pk for i in theirs])
    assert Image.objects.filter(dataset=other, deleted_at__isnull=True).count() == 2


def test_it_never_redirects_off_the_browse_page(owner_client, flowers):
    ids = [Image.objects.filter(dataset=flowers).first().pk]
    response = bulk(owner_client, flowers, action="split", images=ids, split="val", next="https://evil.example/")
    assert response["Location"] == f"/datasets/{flowers.pk}/images/"


def test_bulk_actions_need_post(owner_client, flowers):
    assert owner_client.get(f"/datasets/{flowers.pk}/images/bulk/").status_code == 405


def test_outsiders_get_404(outsider, owner_client, flowers):
    client = Client()
    client.force_login(outsider)
    ids = list(Image.objects.filter(dataset=flowers).values_list("pk", flat=True))
    assert client.get(f"/datasets/{flowers.pk}/images/").status_code == 404
    assert bulk(client, flowers, action="delete", images=ids).status_code == 404
    assert Image.objects.filter(dataset=flowers, deleted_at__isnull=True).count() == 9


def test_ids_that_are_not_numbers_are_an_error_message(owner_client, flowers):
    response = bulk(owner_client, flowers, action="delete", images=["1; drop table"])
    assert "Image ids must be whole numbers." in owner_client.get(response["Location"]).content.decode()
    assert Image.objects.filter(dataset=flowers, deleted_at__isnull=True).count() == 9
