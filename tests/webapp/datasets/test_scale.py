"""Costs that must not grow with the dataset: the stored image count, keyset pages, a fixed number of queries."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests import hostile_files as h
from tests.webapp.datasets.page_helpers import add_images, make_dataset
from tests.webapp.datasets.test_archive_import import run_import
from webapp.datasets.models import Dataset, Image
from webapp.datasets.services import bulk, classes
from webapp.datasets.services.health import _spread

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]


def stored(dataset) -> int:
    return Dataset.objects.get(pk=dataset.pk).image_count


def live(dataset) -> int:
    return Image.objects.filter(dataset=dataset, deleted_at__isnull=True).count()


def names(client, url: str) -> tuple[list[str], str]:
    page = client.get(url).content.decode()
    return re.findall(r'<span class="tile-name">([^<]+)</span>', page), page


def test_the_stored_image_count_follows_uploads_deletes_relabels_class_changes_and_imports(owner, owner_client):
    dataset = make_dataset(owner, "Counted", classes=("a", "b"))
    a, b = dataset.classes.all()
    images = add_images(dataset, 6, label=a, split="train")
    assert stored(dataset) == live(dataset) == 6
    bulk.relabel(dataset, [images[0].pk], b)
    bulk.move_to_split(dataset, [images[1].pk], "val")
    assert stored(dataset) == 6
    bulk.delete_images(dataset, [images[2].pk, images[3].pk])
    assert stored(dataset) == live(dataset) == 4
    classes.merge_classes(b, a)
    assert stored(dataset) == 4
    add_images(dataset, 3, start=50)
    classes.delete_class(a, delete_images=True)
    assert stored(dataset) == live(dataset) == 3  # only the three unlabelled images are left
    run_import(dataset, owner, h.imagefolder_zip())
    assert stored(dataset) == live(dataset) > 3
    response = owner_client.get("/datasets/")
    assert f'<td class="num">{live(dataset)}</td>' in response.content.decode()
    assert owner_client.get(f"/api/datasets/{dataset.pk}/").json()["image_count"] == live(dataset)


def test_keyset_pages_walk_every_image_once_in_order_both_ways(owner, owner_client):
    dataset = make_dataset(owner, "Walk")
    add_images(dataset, 30, size=8)
    # Ties in created_at across page edges: the id breaks them.
    same = timezone.now() - timedelta(days=1)
    Image.objects.filter(dataset=dataset, pk__in=list(dataset.images.order_by("pk").values_list("pk", flat=True)[5:17])
                         ).update(created_at=same)
    expected = [str(i) for i in Image.objects.filter(dataset=dataset).order_by("-created_at", "-id")]
    url = f"/datasets/{dataset.pk}/images/?per_page=24&q=img"
    pages, seen, html = [], [], None
    while url:
        shown, html = names(owner_client, url)
        pages.append(shown)
        seen += shown
        found = re.search(r'href="(\?per_page=24&amp;q=img&amp;after=\d+)" rel="next"', html)  # filters kept
        url = f"/datasets/{dataset.pk}/images/{found.group(1).replace('&amp;', '&')}" if found else None
        assert len(pages) < 5
    assert seen == expected  # no gap, no repeat, newest first
    assert [len(p) for p in pages] == [24, 6]
    found = re.search(r'href="(\?[^"]*before=\d+)" rel="prev"', html)
    back, _ = names(owner_client, f"/datasets/{dataset.pk}/images/{found.group(1).replace('&amp;', '&')}")
    assert back == pages[0]


def test_the_pager_counts_all_images_from_the_stored_count_and_caps_a_filtered_count(owner, owner_client,
                                                                                     monkeypatch):
    from webapp.datasets.services import keyset

    dataset = make_dataset(owner, "Capped")
    add_images(dataset, 50, size=8)
    _, page = names(owner_client, f"/datasets/{dataset.pk}/images/?per_page=24&q=img")
    assert "50 in all" in page
    Dataset.objects.filter(pk=dataset.pk).update(image_count=777)  # proves the page reads the stored count
    _, page = names(owner_client, f"/datasets/{dataset.pk}/images/?per_page=24")
    assert "777 in all" in page
    _, page = names(owner_client, f"/datasets/{dataset.pk}/images/?per_page=24&split=nope")
    assert "777 in all" in page  # an invalid filter filters nothing (and the page is 48 images)
    monkeypatch.setattr(keyset, "COUNT_CAP", 5)
    shown, page = names(owner_client, f"/datasets/{dataset.pk}/images/?per_page=24&q=img")
    assert len(shown) == 24
    assert "50 in all" not in page and "More than 5 in all" in page


def test_a_stale_or_garbage_anchor_gives_the_first_page(owner, owner_client):
    dataset = make_dataset(owner, "Anchors")
    images = add_images(dataset, 30, size=8)
    first, _ = names(owner_client, f"/datasets/{dataset.pk}/images/?per_page=24")
    for anchor in ("after=abc", "before=²", "after=99999999", f"after={images[0].pk}x", "after=-1"):
        shown, _ = names(owner_client, f"/datasets/{dataset.pk}/images/?per_page=24&{anchor}")
        assert shown == first, anchor
    bulk.delete_images(dataset, [images[10].pk])
    shown, _ = names(owner_client, f"/datasets/{dataset.pk}/images/?per_page=24&after={images[10].pk}")
    assert shown == names(owner_client, f"/datasets/{dataset.pk}/images/?per_page=24")[0]


@pytest.mark.parametrize("query", ["", "?q=img", "?split=train", "?status=labelled", "PAGE2"])
def test_browse_and_list_queries_do_not_grow_with_the_images(owner, owner_client, query):
    dataset = make_dataset(owner, "Queries", classes=("a",))
    (a,) = dataset.classes.all()
    counts = []
    for n, start in ((30, 0), (60, 100)):
        add_images(dataset, n, label=a, split="train", start=start, size=8)
        url = f"/datasets/{dataset.pk}/images/?per_page=24"
        if query == "PAGE2":
            last = re.search(r'after=(\d+)" rel="next"', owner_client.get(url).content.decode()).group(1)
            url += f"&after={last}"
        else:
            url += query.replace("?", "&")
        owner_client.get(url)  # warm the session
        with CaptureQueriesContext(connection) as browse_queries:
            assert owner_client.get(url).status_code == 200
        with CaptureQueriesContext(connection) as list_queries:
            assert owner_client.get("/datasets/").status_code == 200
        counts.append((len(browse_queries), len(list_queries)))
    assert counts[0] == counts[1], counts


def test_the_list_and_browse_pages_stay_within_a_fixed_number_of_queries(owner, owner_client,
                                                                         django_assert_max_num_queries):
    dataset = make_dataset(owner, "Fixed")
    add_images(dataset, 50, size=8)
    owner_client.get("/datasets/")
    with django_assert_max_num_queries(8):
        owner_client.get("/datasets/")
    with django_assert_max_num_queries(10):
        owner_client.get(f"/datasets/{dataset.pk}/images/?per_page=24&q=img")


def test_the_size_spread_reads_a_histogram():
    assert _spread({}) == {"min": None, "median": None, "max": None}
    assert _spread({8: 3, 64: 1}) == {"min": 8, "median": 8.0, "max": 64}
    assert _spread({8: 1, 10: 1, 64: 1}) == {"min": 8, "median": 10, "max": 64}


def test_class_split_and_status_filters_show_exact_counts_without_counting_rows(owner, owner_client):
    dataset = make_dataset(owner, "Exact", classes=("a", "b"))
    a, b = dataset.classes.all()
    add_images(dataset, 30, label=a, split="train", size=8)
    add_images(dataset, 26, label=b, split="val", start=100, size=8)
    add_images(dataset, 27, start=200, size=8)  # unlabelled, unassigned
    base = f"/datasets/{dataset.pk}/images/?per_page=24"
    for query, expected in ((f"&label={a.pk}", 30), (f"&label={b.pk}&split=val", 26), ("&label=none", 27),
                            ("&status=labelled", 56), ("&status=unlabelled&split=unassigned", 27), ("&split=val", 26)):
        shown, page = names(owner_client, base + query)
        assert f"{expected} in all" in page, query
        assert len(shown) == 24
    bulk.relabel(dataset, [i.pk for i in Image.objects.filter(label=b)[:6]], a)  # a change: the counts follow
    assert "36 in all" in names(owner_client, f"{base}&label={a.pk}")[1]
