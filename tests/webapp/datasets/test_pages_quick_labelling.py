"""Labelling from the dataset pages: number keys on the browse toolbar, "New class" on browse and upload, and
the image page's "Next unlabelled" link."""

import re

import pytest
from django.urls import reverse

from tests.webapp.datasets.page_helpers import add_images, make_dataset
from webapp.datasets.models import Image
from webapp.datasets.views.images import next_unlabelled

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]


@pytest.fixture
def flowers(owner):
    dataset = make_dataset(owner, "Flowers", classes=("daisy", "rose"))
    daisy, _ = dataset.classes.all()
    add_images(dataset, 2, label=daisy)
    add_images(dataset, 3, start=100)  # unlabelled
    return dataset


def page(client, url) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def new_class(client, dataset, name, back):
    return client.post(reverse("class_create", args=[dataset.pk]), {"create-name": name, "next": back})


# Number keys on the browse toolbar.

def test_the_class_menu_shows_the_number_key_of_each_class_in_the_labelling_order(owner_client, flowers):
    daisy, rose = flowers.classes.all()
    html = page(owner_client, reverse("dataset_browse", args=[flowers.pk]))
    menu = re.search(r'<select name="label" id="bulk-label">(.*?)</select>', html).group(1)
    assert f'<option value="{daisy.pk}" data-key="1">1 · daisy</option>' in menu
    assert f'<option value="{rose.pk}" data-key="2">2 · rose</option>' in menu
    assert '<option value="none">Unlabelled</option>' in menu  # no key: a number never unlabels
    assert "a number key" in html


def test_only_the_first_nine_classes_get_a_number(owner_client, owner):
    dataset = make_dataset(owner, "Many", classes=tuple(f"c{i:02d}" for i in range(11)))
    html = page(owner_client, reverse("dataset_browse", args=[dataset.pk]))
    assert re.findall(r'data-key="(\d)"', html) == list("123456789")
    assert ">c09</option>" in html and ">c10</option>" in html


# "New class" on the browse and upload pages.

def test_a_class_made_on_the_browse_page_comes_back_to_it(owner_client, flowers):
    browse = reverse("dataset_browse", args=[flowers.pk]) + "?status=unlabelled"
    html = page(owner_client, browse)
    assert f'action="{reverse("class_create", args=[flowers.pk])}"' in html and "New class" in html
    response = new_class(owner_client, flowers, "tulip", browse)
    assert response.status_code == 302 and response["Location"] == browse
    html = page(owner_client, browse)
    assert "Class “tulip” added." in html
    tulip = flowers.classes.get(name="tulip")
    assert f'<option value="{tulip.pk}" data-key="3">3 · tulip</option>' in html


@pytest.mark.parametrize(("name", "message"), [
    ("Daisy", "already has a class called “Daisy”"),
    ("   ", "Give the class a name."),
    ("x" * 201, "at most 200 characters"),
])
def test_a_bad_class_name_on_the_browse_page_says_why(owner_client, flowers, name, message):
    browse = reverse("dataset_browse", args=[flowers.pk])
    response = new_class(owner_client, flowers, name, browse)
    assert response.status_code == 302 and response["Location"] == browse
    html = page(owner_client, browse)
    assert "The class was not added" in html and message in html
    assert flowers.classes.count() == 2


def test_a_class_made_on_the_upload_page_is_chosen_for_the_upload(owner_client, flowers):
    upload = reverse("dataset_upload", args=[flowers.pk])
    assert "New class" in page(owner_client, upload)
    response = new_class(owner_client, flowers, "tulip", upload)
    tulip = flowers.classes.get(name="tulip")
    assert response.status_code == 302 and response["Location"] == f"{upload}?label={tulip.pk}"
    html = page(owner_client, response["Location"])
    assert f'<option value="{tulip.pk}" selected>tulip</option>' in html
    # The upload endpoint takes it.
    from tests.webapp.datasets.page_helpers import png
    from tests.webapp.datasets.page_helpers import upload as file
    answer = owner_client.post(reverse("dataset_upload_files", args=[flowers.pk]),
                               {"label": tulip.pk, "split": "train", "files": [file("t.png", png(900))]})
    assert answer.status_code == 200 and answer.json()["files"][0]["image"]["label"] == "tulip"


def test_the_upload_page_ignores_a_class_that_is_not_the_datasets(owner_client, flowers, owner):
    other = make_dataset(owner, "Other", classes=("x",))
    html = page(owner_client, reverse("dataset_upload", args=[flowers.pk]) + f"?label={other.classes.get().pk}")
    assert '<option value="none" selected>Unlabelled</option>' in html


def test_a_class_made_elsewhere_goes_to_the_classes_page_never_off_site(owner_client, flowers):
    response = new_class(owner_client, flowers, "tulip", "https://evil.example/")
    assert response.status_code == 302 and response["Location"] == reverse("class_list", args=[flowers.pk])
    response = new_class(owner_client, flowers, "", "https://evil.example/")
    assert response.status_code == 400


def test_an_outsider_cannot_make_a_class_from_the_browse_page(outsider_client, flowers):
    response = new_class(outsider_client, flowers, "tulip", reverse("dataset_browse", args=[flowers.pk]))
    assert response.status_code == 404
    assert not flowers.classes.filter(name="tulip").exists()


# "Next unlabelled" on the image page.

def next_link(html: str) -> str | None:
    found = re.search(r'<a href="([^"]+)" id="next-unlabelled">', html)
    return found.group(1) if found else None


def test_next_unlabelled_goes_forward_by_id_and_wraps_round(owner_client, flowers):
    labelled = list(Image.objects.filter(dataset=flowers, label__isnull=False).order_by("pk"))
    a, b, c = Image.objects.filter(dataset=flowers, label__isnull=True).order_by("pk")
    detail = lambda image: reverse("image_detail", args=[flowers.pk, image.pk])  # noqa: E731
    assert next_link(page(owner_client, detail(a))).startswith(detail(b) + "?back=")
    assert next_link(page(owner_client, detail(c))).startswith(detail(a) + "?back=")  # wraps to the first
    assert next_link(page(owner_client, detail(labelled[0]))).startswith(detail(a) + "?back=")
    b.deleted_at = b.created_at
    b.save(update_fields=["deleted_at"])
    assert next_link(page(owner_client, detail(a))).startswith(detail(c) + "?back=")  # deleted ones are skipped


def test_next_unlabelled_is_hidden_when_none_is_left(owner_client, flowers):
    daisy = flowers.classes.get(name="daisy")
    last = Image.objects.filter(dataset=flowers, label__isnull=True).order_by("pk").last()
    Image.objects.filter(dataset=flowers).exclude(pk=last.pk).update(label=daisy)
    assert next_link(page(owner_client, reverse("image_detail", args=[flowers.pk, last.pk]))) is None
    last.label = daisy
    last.save(update_fields=["label"])
    assert next_link(page(owner_client, reverse("image_detail", args=[flowers.pk, last.pk]))) is None


def test_next_unlabelled_is_one_query(flowers, django_assert_num_queries):
    image = Image.objects.filter(dataset=flowers).order_by("pk").first()
    with django_assert_num_queries(1):
        assert next_unlabelled(flowers, image) is not None
