"""Accept in bulk (after a preview) and grid mode, each applied as one batch and undone as one step."""

import pytest
from django.urls import reverse

from tests.webapp.labelling.conftest import suggest

pytestmark = pytest.mark.django_db


@pytest.fixture
def suggested(pets, finished_job):
    """Six unlabelled images: four suggested red at 99, 97, 96, 80%, one green at 99%, one blue at 50%."""
    images = list(pets.images.filter(label__isnull=True).order_by("pk"))
    for image, (name, p) in zip(images, [("red", .99), ("red", .97), ("red", .96), ("red", .80), ("green", .99),
                                         ("blue", .5)], strict=True):
        suggest(finished_job, image, name, p)
    return images


def bulk_url(pets):
    return reverse("label_bulk", args=[pets.pk])


def test_preview_counts_and_samples_then_accept_and_undo_as_one_step(owner_client, owner, pets, suggested):
    from webapp.datasets.models import Image
    from webapp.labelling.models import LabelBatch, LabelEvent

    red = pets.classes.get(name="red")
    preview = owner_client.get(bulk_url(pets), {"label": red.pk, "min_confidence": 95})
    html = preview.content.decode()
    assert preview.status_code == 200
    assert "<strong>3</strong> unlabelled images suggested as <strong>red</strong> at 95% or more" in html
    assert html.count('class="label-sample"') == 1 and "96%" in html and "80%" not in html
    assert not LabelEvent.objects.exists()  # a preview changes nothing
    applied = owner_client.post(bulk_url(pets), {"label": red.pk, "min_confidence": 95, "count": 3})
    assert applied.status_code == 302
    batch = LabelBatch.objects.get()
    events = LabelEvent.objects.filter(batch=batch)
    assert batch.count == 3 and events.count() == 3
    assert set(events.values_list("origin", "model_ref", "label_name", "user")) == {("bulk", batch.model_ref, "red",
                                                                                    owner.pk)}
    assert set(Image.objects.filter(label=red, pk__in=[i.pk for i in suggested]).values_list("pk", flat=True)) == \
        {i.pk for i in suggested[:3]}
    # Someone relabels one of them by hand; the undo leaves that one and takes the other two back.
    from webapp.labelling.services.label import label_image

    green = pets.classes.get(name="green")
    label_image(pets, suggested[0].pk, green.pk, expected=red.pk, user=owner)
    undo = owner_client.post(reverse("label_batch_undo", args=[pets.pk, batch.pk]), follow=True)
    assert "2 images are unlabelled again; 1 labelled again since were left as they are" in undo.content.decode()
    assert Image.objects.get(pk=suggested[0].pk).label == green
    assert Image.objects.filter(pk__in=[suggested[1].pk, suggested[2].pk], label__isnull=True).count() == 2
    again = owner_client.post(reverse("label_batch_undo", args=[pets.pk, batch.pk]), follow=True)
    assert "already undone" in again.content.decode()


def test_a_preview_out_of_date_changes_nothing(owner_client, owner, pets, suggested):
    from webapp.labelling.models import LabelBatch, LabelEvent
    from webapp.labelling.services.label import label_image

    red = pets.classes.get(name="red")
    label_image(pets, suggested[0].pk, red.pk, expected=None, user=owner)  # another tab, after the preview
    answer = owner_client.post(bulk_url(pets), {"label": red.pk, "min_confidence": 95, "count": 3}, follow=True)
    assert "changed since the preview (3 then, 2 now)" in answer.content.decode()
    assert not LabelBatch.objects.exists() and LabelEvent.objects.count() == 1


def test_a_class_deleted_or_renamed_meanwhile(owner_client, pets, suggested):
    from webapp.datasets.services.classes import delete_class
    from webapp.labelling.models import LabelBatch

    red = pets.classes.get(name="red")
    red.name = "crimson"
    red.save()  # the model's "red" no longer matches any class
    html = owner_client.get(bulk_url(pets), {"label": red.pk, "min_confidence": 0}).content.decode()
    assert "<strong>0</strong> unlabelled images suggested as <strong>crimson</strong>" in html
    blue = pets.classes.get(name="blue")
    blue_pk = blue.pk
    delete_class(blue, delete_images=False)
    gone = owner_client.post(bulk_url(pets), {"label": blue_pk, "min_confidence": 0, "count": 1})
    assert gone.status_code == 400 and "not in this dataset any more" in gone.content.decode()
    assert not LabelBatch.objects.exists()


@pytest.mark.parametrize("data", [{}, {"label": "x", "min_confidence": 95}, {"label": 1, "min_confidence": 101},
                                  {"label": 1, "min_confidence": "nan"}, {"label": 1, "min_confidence": -1}])
def test_bad_bulk_input_is_a_400(owner_client, pets, suggested, data):
    answer = owner_client.get(bulk_url(pets), {"label": "", **data} if not data else data)
    assert answer.status_code == 400


def test_without_suggestions_bulk_and_grid_send_back_to_label(owner_client, pets):
    for name in ("label_bulk", "label_grid"):
        answer = owner_client.get(reverse(name, args=[pets.pk]), follow=True)
        assert "Run a pre-label job first" in answer.content.decode()


def test_grid_confirms_the_ticked_and_rejects_the_rest_in_one_action(owner_client, owner, pets, suggested):
    from webapp.datasets.models import Image
    from webapp.labelling.models import LabelBatch, Suggestion

    red = pets.classes.get(name="red")
    page = owner_client.get(reverse("label_grid", args=[pets.pk]), {"label": red.pk}).content.decode()
    assert "<strong>4</strong> unlabelled images suggested as <strong>red</strong>" in page
    shown = [i.pk for i in suggested[:4]]
    assert all(f'name="shown" value="{pk}"' in page for pk in shown)
    answer = owner_client.post(reverse("label_grid", args=[pets.pk]),
                               {"label": red.pk, "shown": shown, "accept": shown[:3]}, follow=True)
    assert "Labelled 3 images as red" in answer.content.decode() and "1 suggestions marked wrong" in \
        answer.content.decode()
    batch = LabelBatch.objects.get()
    assert batch.count == 3 and batch.min_confidence is None
    assert Image.objects.get(pk=shown[3]).label is None
    assert Suggestion.objects.get(image_id=shown[3]).rejected_at is not None
    after = owner_client.get(reverse("label_grid", args=[pets.pk]), {"label": red.pk}).content.decode()
    assert "<strong>0</strong> unlabelled images suggested" in after
    # A stale page (those images are labelled now) changes nothing.
    stale = owner_client.post(reverse("label_grid", args=[pets.pk]),
                              {"label": red.pk, "shown": shown, "accept": shown}, follow=True)
    assert "changed since the page showed them" in stale.content.decode()
    assert LabelBatch.objects.count() == 1


@pytest.mark.parametrize("data", [{"label": "x"}, {"shown": ["1x"]}, {"label": "999999", "shown": ["1"]}])
def test_bad_grid_posts_change_nothing(owner_client, pets, suggested, data):
    from webapp.labelling.models import LabelBatch

    answer = owner_client.post(reverse("label_grid", args=[pets.pk]), data, follow=True)
    assert answer.status_code == 200 and not LabelBatch.objects.exists()
    assert owner_client.get(reverse("label_grid", args=[pets.pk]), {"label": "nope"}).status_code == 400


def test_outsider_gets_404_everywhere(client, outsider, pets, suggested, finished_job):
    from webapp.labelling.models import LabelBatch

    batch = LabelBatch.objects.create(dataset=pets, model_ref="run:1", label_name="red")
    client.force_login(outsider)
    for name, args in [("label_bulk", [pets.pk]), ("label_grid", [pets.pk]), ("label_prelabel_status", [pets.pk])]:
        assert client.get(reverse(name, args=args)).status_code == 404
    for name, args in [("label_batch_undo", [pets.pk, batch.pk]), ("label_prelabel", [pets.pk]),
                       ("label_prelabel_cancel", [pets.pk])]:
        assert client.post(reverse(name, args=args)).status_code == 404
