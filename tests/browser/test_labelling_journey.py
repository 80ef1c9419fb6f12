"""A person labels a dataset from the keyboard alone, as fast as they can type: number keys label, Enter accepts
the model's suggestion, Z undoes, S skips; every label is saved with its origin, and no key is lost while the
next images are on their way. Then a bulk accept of a model's suggestions, and its undo as one step."""

import numpy as np
from django.utils import timezone
from playwright.sync_api import expect

from tests.factories import COLOURS, noisy_square, png, wait_for

PASSWORD = "a-long-test-passphrase-42"
COUNT = 50


def sign_in(page, username: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()


def squares(django_user_model, count: int):
    """Return (user, dataset, classes red/green/blue, images sq-00.. unlabelled, coloured by n % 3)."""
    from webapp.datasets.models import Dataset
    from webapp.datasets.services.classes import create_class
    from webapp.datasets.services.store import add_image

    user = django_user_model.objects.create_user("lena", "lena@example.org", PASSWORD)
    dataset = Dataset.objects.create(owner=user, name="Squares")
    classes = [create_class(dataset, name) for name in ("red", "green", "blue")]
    rng = np.random.default_rng(0)
    colours = list(COLOURS.values())
    images = []
    for n in range(count):
        outcome = add_image(dataset, png(noisy_square(colours[n % 3], size=24, rng=rng)), name=f"sq-{n:02d}.png",
                            label=None)
        assert outcome.accepted
        images.append(outcome.image)
    return user, dataset, classes, images


def suggest_all(user, dataset, classes, images, confidence):
    """Store a finished pre-label job suggesting each image's true class; margins grow with n (queue order)."""
    from webapp.labelling.models import PrelabelJob, Suggestion

    job = PrelabelJob.objects.create(dataset=dataset, created_by=user, model_ref="run:7", model_label="squares net",
                                     class_names=["red", "green", "blue"], status="succeeded",
                                     finished_at=timezone.now())
    for n, image in enumerate(images):
        label = classes[n % 3]
        p = confidence(n)
        Suggestion.objects.create(job=job, dataset=dataset, image=image, model_ref=job.model_ref,
                                  label_name=label.name, label=label, topk=[[label.name, p]], confidence=p,
                                  margin=n / 100, entropy=1 - n / 100)
    return job


def test_label_fifty_images_with_keys_alone_as_fast_as_keys_go(page, django_user_model, settings, tmp_path):
    from webapp.datasets.models import Image
    from webapp.labelling.models import LabelEvent

    settings.MEDIA_ROOT = tmp_path
    user, dataset, classes, images = squares(django_user_model, COUNT)
    suggest_all(user, dataset, classes, images, lambda n: 0.9)
    refused = []  # the page runs under the Content-Security-Policy: nothing may be refused
    page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
    sign_in(page, "lena")
    page.goto(f"/datasets/{dataset.pk}/")
    page.get_by_role("navigation", name="Dataset").get_by_role("link", name="Label").click()
    remaining = page.locator("#label-remaining")
    expect(remaining).to_have_text(str(COUNT))
    expect(page.locator("#suggesting-model")).to_contain_text("squares net")
    expect(page.locator("#suggesting-model")).to_contain_text("most uncertain first (smallest margin)")
    image = page.locator("#label-image")
    expect(image).to_have_attribute("alt", "sq-00.png")
    expect(page.locator("#label-suggestion")).to_contain_text("The model suggests red (90% sure)")
    expect(page.locator(".label-class.suggested")).to_have_text("1 red")

    # The page holds 20 images at a time; the next 20 are held back on the network until every key is pressed,
    # so the keys for images 21..50 come before their images and must wait for them, in order.
    held, released = [], []

    def hold_next_pages(route):
        if "after=0" in route.request.url or released:
            route.continue_()
        else:
            held.append(route)

    page.route("**/label/queue/**", hold_next_pages)
    expected = {}
    for n in range(COUNT):  # every key at once, never waiting for an image; every fifth accepts the suggestion
        accept = n % 5 == 0
        page.keyboard.press("Enter" if accept else str(n % 3 + 1))
        expected[f"sq-{n:02d}.png"] = (classes[n % 3].name, "suggestion" if accept else "hand",
                                       "run:7" if accept else "")
    expect(remaining).to_have_text(str(COUNT - 20))  # 20 labelled; 30 keys wait for their images
    assert held, "the next page of the queue was asked for"
    released.append(True)
    for route in held:
        route.continue_()
    expect(remaining).to_have_text("0")
    expect(page.locator("#label-done")).to_be_visible()
    wait_for(lambda: LabelEvent.objects.filter(dataset=dataset).count() == COUNT, timeout=20,
             what="every label saved")
    expect(page.locator("#label-rate")).not_to_have_text("0 labels per minute")
    saved = LabelEvent.objects.filter(dataset=dataset).select_related("image").order_by("id")
    events = {e.image.original_name: (e.label_name, e.origin, e.model_ref) for e in saved}
    assert events == expected
    assert [e.image.original_name for e in saved] == list(expected)  # saved in the order of the keys
    stored = Image.objects.filter(dataset=dataset).select_related("label")
    labels = {img.original_name: img.label.name for img in stored}
    assert labels == {name: label for name, (label, _, _) in expected.items()}

    # Z takes the last label back: the image shows again and is unlabelled; S skips it.
    page.keyboard.press("z")
    expect(image).to_have_attribute("alt", f"sq-{COUNT - 1:02d}.png")
    expect(remaining).to_have_text("1")
    wait_for(lambda: Image.objects.get(dataset=dataset, original_name=f"sq-{COUNT - 1:02d}.png").label is None,
             timeout=10, what="the undo saved")
    page.keyboard.press("s")
    expect(page.locator("#label-done")).to_be_visible()
    assert Image.objects.filter(dataset=dataset, label__isnull=True).count() == 1
    assert not refused


def test_accept_a_bulk_suggestion_then_undo_it(page, django_user_model, settings, tmp_path):
    from webapp.datasets.models import Image
    from webapp.labelling.models import LabelBatch, LabelEvent

    settings.MEDIA_ROOT = tmp_path
    user, dataset, classes, images = squares(django_user_model, 12)
    suggest_all(user, dataset, classes, images, lambda n: 0.99 if n < 6 else 0.7)  # reds: sq-00, 03 sure
    sign_in(page, "lena")
    page.goto(f"/datasets/{dataset.pk}/label/")
    page.get_by_role("link", name="Accept in bulk").click()
    page.get_by_label("Accept every suggestion of class").select_option("red")
    page.get_by_label("at or above (%)").fill("95")
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("#bulk-count")).to_contain_text("2 unlabelled images suggested as red at 95% or more")
    expect(page.locator(".label-sample img")).to_have_count(2)
    assert not LabelEvent.objects.exists()  # the preview changes nothing
    page.get_by_role("button", name="Accept 2 as red").click()
    expect(page.locator(".messages")).to_contain_text("Labelled 2 images as red")
    red = {img.original_name for img in Image.objects.filter(dataset=dataset, label=classes[0])}
    assert red == {"sq-00.png", "sq-03.png"}
    batch = LabelBatch.objects.get()
    assert set(LabelEvent.objects.values_list("origin", "batch")) == {("bulk", batch.pk)}
    page.get_by_role("button", name=f"Undo batch {batch.pk}").click()
    expect(page.locator(".messages")).to_contain_text("Undone: 2 images are unlabelled again")
    assert not Image.objects.filter(dataset=dataset, label__isnull=False).exists()
    expect(page.get_by_role("button", name=f"Undo batch {batch.pk}")).to_have_count(0)
