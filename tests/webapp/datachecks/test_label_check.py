"""Check labels: a k-fold job on the GPU queue ranks the images whose label looks wrong; one click fixes each."""

import numpy as np
import pytest
from django.urls import reverse

from tests.factories import make_dataset
from webapp.datachecks.models import CheckKind, CheckStatus, DataCheck
from webapp.datachecks.services import labels
from webapp.datachecks.worker import run_check
from webapp.datasets.models import Image
from webapp.datasets.services.versions import freeze_version

pytestmark = pytest.mark.django_db


@pytest.fixture
def mislabelled(owner, media):
    """Return (dataset, the red square labelled green) of red/green/blue squares, six of each."""
    dataset = make_dataset(owner, name="Squares", per_split={"train": 5, "val": 1})
    wrong = Image.objects.filter(dataset=dataset, label__name="red").order_by("pk").first()
    Image.objects.filter(pk=wrong.pk).update(label=dataset.classes.get(name="green"))
    dataset.touch()
    return dataset, wrong


def colour_model(source, *, folds, progress=None, **kwargs):
    """Stand in for the k-fold models: call a square by its strongest channel (red, green, blue), 90% sure."""
    from PIL import Image as PILImage

    probs = np.full((len(source.records), 3), 0.05, dtype=np.float32)
    for row, record in enumerate(source.records):
        with PILImage.open(record.source) as im:
            probs[row, int(np.asarray(im.convert("RGB"), dtype=np.float64).mean(axis=(0, 1)).argmax())] = 0.9
    for fold in range(folds + 1):
        progress(fold, folds)
    return probs


@pytest.fixture
def checked(mislabelled, owner, sent_checks, django_capture_on_commit_callbacks, monkeypatch):
    """Return (dataset, the wrong image, a finished label check of its version), scored by colour_model."""
    from training.datacheck import labels as engine

    monkeypatch.setattr(engine, "out_of_sample_probabilities", colour_model)
    return run_a_check(mislabelled, owner, sent_checks, django_capture_on_commit_callbacks)


def run_a_check(mislabelled, owner, sent_checks, django_capture_on_commit_callbacks):
    dataset, wrong = mislabelled
    version = freeze_version(dataset, user=owner)
    with django_capture_on_commit_callbacks(execute=True):
        check = labels.start_label_check(dataset, owner, version)
    assert sent_checks[-1] == ("gpu", check.task_id)  # a model's work goes on the run queue
    assert run_check(check.pk, worker="test", token=check.task_id) == CheckStatus.SUCCEEDED
    check.refresh_from_db()
    return dataset, wrong, check


def test_the_real_k_fold_check_ranks_the_planted_mislabel_first(mislabelled, owner, sent_checks,
                                                                 django_capture_on_commit_callbacks):
    dataset, wrong, check = run_a_check(mislabelled, owner, sent_checks, django_capture_on_commit_callbacks)
    assert check.done == check.total == labels.FOLDS
    assert check.counts["images"] == 18 and check.counts["suspects"] >= 1
    image_id, given, suggested, confidence = check.results["suspects"][0]
    names = check.results["class_names"]
    assert (image_id, names[given], names[suggested]) == (wrong.pk, "green", "red")
    assert 0.5 < confidence <= 1


def test_the_gallery_shows_image_given_and_suggested_label_and_confidence(owner_client, checked):
    dataset, wrong, check = checked
    html = owner_client.get(reverse("datachecks_labels", args=[dataset.pk])).content.decode()
    item = html[html.index(f'data-image-id="{wrong.pk}"'):]
    assert "given</span> green" in item and "suggested</span> <strong>red" in item
    assert "Relabel as red" in item and reverse("image_thumbnail", args=[dataset.pk, wrong.pk]) in item


def act(client, dataset, check, image, action):
    return client.post(reverse("datachecks_labels_act", args=[dataset.pk]),
                       {"check": check.pk, "image": image.pk, "action": action})


def test_relabel_in_one_click(owner_client, checked):
    dataset, wrong, check = checked
    response = act(owner_client, dataset, check, wrong, "relabel")
    assert response.status_code == 302
    assert Image.objects.get(pk=wrong.pk).label.name == "red"
    assert "is now labelled red" in owner_client.get(response["Location"]).content.decode()
    assert act(owner_client, dataset, check, wrong, "relabel").status_code == 409  # already done: says so


def test_relabel_is_in_the_image_history_as_the_checks_suggestion_accepted(owner_client, owner, checked):
    from webapp.labelling.models import LabelEvent

    dataset, wrong, check = checked
    act(owner_client, dataset, check, wrong, "relabel")
    event = LabelEvent.objects.get(image=wrong)
    assert (event.label_name, event.previous_name, event.origin, event.model_ref, event.user) == \
        ("red", "green", "suggestion", f"check:{check.pk}", owner)


def test_keep_takes_it_off_the_list(owner_client, checked):
    dataset, wrong, check = checked
    assert act(owner_client, dataset, check, wrong, "keep").status_code == 302
    assert Image.objects.get(pk=wrong.pk).label.name == "green"
    html = owner_client.get(reverse("datachecks_labels", args=[dataset.pk])).content.decode()
    assert f'data-image-id="{wrong.pk}"' not in html


def test_remove_then_any_action_on_it_is_a_409(owner_client, checked):
    dataset, wrong, check = checked
    assert act(owner_client, dataset, check, wrong, "remove").status_code == 302
    assert Image.objects.get(pk=wrong.pk).deleted_at is not None  # the version keeps it
    response = act(owner_client, dataset, check, wrong, "relabel")
    assert response.status_code == 409 and "removed" in response.content.decode()


@pytest.mark.parametrize("body", [{"action": "burn"}, {"image": "x"}, {"check": "9" * 30}, {"image": "999999"}])
def test_bad_actions_are_a_400_and_change_nothing(owner_client, checked, body):
    dataset, wrong, check = checked
    data = {"check": check.pk, "image": wrong.pk, "action": "relabel", **body}
    response = owner_client.post(reverse("datachecks_labels_act", args=[dataset.pk]), data)
    assert response.status_code == 400
    assert Image.objects.get(pk=wrong.pk).label.name == "green"


def test_an_outsider_gets_404(outsider_client, checked):
    dataset, wrong, check = checked
    assert outsider_client.get(reverse("datachecks_labels", args=[dataset.pk])).status_code == 404
    assert act(outsider_client, dataset, check, wrong, "relabel").status_code == 404
    assert Image.objects.get(pk=wrong.pk).label.name == "green"


def test_starting_a_check_from_the_page_and_the_api(owner_client, api_client, owner, mislabelled, sent_checks):
    dataset, _ = mislabelled
    assert owner_client.post(reverse("datachecks_labels_run", args=[dataset.pk]), {}).status_code == 400  # no version
    version = freeze_version(dataset, user=owner)
    assert owner_client.post(reverse("datachecks_labels_run", args=[dataset.pk]), {"version": "x"}).status_code == 400
    assert owner_client.post(reverse("datachecks_labels_run", args=[dataset.pk]), {}).status_code == 302
    check = DataCheck.objects.get(dataset=dataset, kind=CheckKind.LABELS)
    assert check.version == version and check.status == CheckStatus.QUEUED
    api_client.force_authenticate(owner)
    response = api_client.post("/api/data-checks/", {"dataset": dataset.pk, "kind": "labels"}, format="json")
    assert response.status_code == 202 and response.json()["id"] == check.pk  # the one already waiting


def test_a_label_check_of_a_tiny_version_is_refused(api_client, owner, media):
    dataset = make_dataset(owner, name="Tiny", per_split={"train": 1})
    freeze_version(dataset, user=owner)
    api_client.force_authenticate(owner)
    response = api_client.post("/api/data-checks/", {"dataset": dataset.pk, "kind": "labels"}, format="json")
    assert response.status_code == 400 and "at least 10 images" in response.json()["version"][0]


def test_acting_on_a_suspect_through_the_api(api_client, owner, checked):
    dataset, wrong, check = checked
    api_client.force_authenticate(owner)
    body = api_client.get(f"/api/data-checks/{check.pk}/").json()
    assert body["kind"] == "labels" and body["results"]["suspects"][0][0] == wrong.pk
    response = api_client.post(f"/api/data-checks/{check.pk}/act/", {"image": wrong.pk, "action": "relabel"},
                               format="json")
    assert response.status_code == 200 and "now labelled red" in response.json()["detail"]
    assert api_client.post(f"/api/data-checks/{check.pk}/act/", {"image": wrong.pk, "action": "burn"},
                           format="json").status_code == 400
    other = Image.objects.filter(dataset=dataset).exclude(pk=wrong.pk).first()
    response = api_client.post(f"/api/data-checks/{check.pk}/act/", {"image": other.pk, "action": "remove"},
                               format="json")
    assert response.status_code == 400 and "not a suspect" in response.json()["image"][0]
    assert Image.objects.get(pk=other.pk).deleted_at is None
