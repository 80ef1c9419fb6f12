"""The dataset page: the health panel's chart, per-split table, warnings, sizes and recent activity."""

import json
import re

import pytest

from tests.webapp.datasets.page_helpers import add_images, make_dataset

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]  # files in a folder of its own


def chart_data(page: str) -> dict:
    match = re.search(r'<script id="class-chart-data" type="application/json">(.*?)</script>', page, re.S)
    assert match, "the chart's data is missing"
    return json.loads(match.group(1))


@pytest.fixture
def flowers(owner):
    dataset = make_dataset(owner, "Flowers", classes=("daisy", "rose"))
    daisy, rose = dataset.classes.all()
    add_images(dataset, 12, label=daisy, split="train")
    add_images(dataset, 2, label=daisy, split="val", start=100)
    add_images(dataset, 1, label=rose, split="train", start=200, size=40)
    add_images(dataset, 2, start=300)  # unlabelled
    return dataset


def test_it_draws_class_counts_per_split_as_a_chart(owner_client, flowers):
    page = owner_client.get(f"/datasets/{flowers.pk}/").content.decode()
    assert '<canvas id="class-chart"' in page
    assert "vendor/chartjs/chart.umd.js" in page
    data = chart_data(page)
    assert data["labels"] == ["daisy", "rose"]
    by_split = {s["split"]: s["counts"] for s in data["series"]}
    assert by_split["train"] == [12, 1]
    assert by_split["val"] == [2, 0]


def test_it_tables_counts_per_split_and_flags_too_few(owner_client, flowers):
    page = owner_client.get(f"/datasets/{flowers.pk}/").content.decode()
    table = page[page.index('id="split-table"'):page.index("</table>", page.index('id="split-table"'))]
    assert re.search(r'daisy</a></td>\s*<td class="num">12</td><td class="num">2</td>', table)
    assert 'class="num low" title="Too few to train or evaluate">1</td>' in table  # rose has 1 train image
    assert "unlabelled" in table


def test_it_warns_about_imbalance_too_few_and_unlabelled(owner_client, flowers):
    page = owner_client.get(f"/datasets/{flowers.pk}/").content.decode()
    assert "Classes are imbalanced" in page
    assert "14 times as many images" in page
    assert "&#x27;rose&#x27; has 1 image in train; at least 5 are needed." in page
    assert "2 images are unlabelled" in page


def test_it_shows_the_image_size_distribution(owner_client, flowers):
    page = owner_client.get(f"/datasets/{flowers.pk}/").content.decode()
    assert re.search(r"<td>Width</td><td>16</td><td>16</td><td>40</td>", page)


def test_a_balanced_dataset_says_it_is_ready(owner_client, owner):
    dataset = make_dataset(owner, "Even", classes=("a", "b"))
    for i, cls in enumerate(dataset.classes.all()):
        add_images(dataset, 5, label=cls, split="train", start=100 * i)
        add_images(dataset, 2, label=cls, split="val", start=100 * i + 10)
        add_images(dataset, 2, label=cls, split="test", start=100 * i + 20)
    page = owner_client.get(f"/datasets/{dataset.pk}/").content.decode()
    assert "ready to freeze a version and train" in page
    assert "things to look at" not in page


def test_an_empty_dataset_offers_ways_in(owner_client, owner):
    dataset = make_dataset(owner, "Empty")
    page = owner_client.get(f"/datasets/{dataset.pk}/").content.decode()
    assert "No images yet" in page
    assert f'href="/datasets/{dataset.pk}/upload/"' in page
    assert '<canvas id="class-chart"' not in page


def test_a_teammate_sees_the_dataset(client, teammate, flowers):
    client.force_login(teammate)
    assert client.get(f"/datasets/{flowers.pk}/").status_code == 200


def test_outsiders_get_404(outsider_client, flowers):
    assert outsider_client.get(f"/datasets/{flowers.pk}/").status_code == 404


def test_an_unknown_dataset_is_404(owner_client):
    assert owner_client.get("/datasets/999999/").status_code == 404
