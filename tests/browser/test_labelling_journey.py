"""A person labels a dataset from the keyboard alone: number keys label, Z undoes, S skips; every label is
saved with its origin, and the counter follows."""

import numpy as np
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


def test_label_fifty_images_with_keys_alone(page, django_user_model, settings, tmp_path):
    from webapp.datasets.models import Dataset, Image
    from webapp.datasets.services.classes import create_class
    from webapp.datasets.services.store import add_image
    from webapp.labelling.models import LabelEvent

    settings.MEDIA_ROOT = tmp_path
    user = django_user_model.objects.create_user("lena", "lena@example.org", PASSWORD)
    dataset = Dataset.objects.create(owner=user, name="Squares")
    classes = [create_class(dataset, name) for name in ("red", "green", "blue")]
    rng = np.random.default_rng(0)
    colours = list(COLOURS.values())
    for n in range(COUNT):
        assert add_image(dataset, png(noisy_square(colours[n % 3], size=24, rng=rng)), name=f"sq-{n:02d}.png",
                         label=None).accepted
    refused = []  # the page runs under the Content-Security-Policy: nothing may be refused
    page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
    sign_in(page, "lena")
    page.goto(f"/datasets/{dataset.pk}/")
    page.get_by_role("navigation", name="Dataset").get_by_role("link", name="Label").click()
    remaining = page.locator("#label-remaining")
    expect(remaining).to_have_text(str(COUNT))

    image = page.locator("#label-image")
    expected = {}
    for n in range(COUNT - 10):
        expect(image).to_have_attribute("alt", f"sq-{n:02d}.png")
        page.keyboard.press(str(n % 3 + 1))
        expected[f"sq-{n:02d}.png"] = classes[n % 3].name
        expect(remaining).to_have_text(str(COUNT - n - 1))
    # The last ten as fast as each image shows: the saves go on in the background, never waited for.
    # (A key pressed before the next image is on screen is not kept yet: the page has no key buffer.)
    for n in range(COUNT - 10, COUNT):
        expect(image).to_have_attribute("alt", f"sq-{n:02d}.png")
        page.keyboard.press(str(n % 3 + 1))
        expected[f"sq-{n:02d}.png"] = classes[n % 3].name
    expect(remaining).to_have_text("0")
    wait_for(lambda: LabelEvent.objects.filter(dataset=dataset).count() == COUNT, timeout=15, what="every label saved")
    expect(page.locator("#label-done")).to_be_visible()
    expect(page.locator("#label-rate")).not_to_have_text("0 labels per minute")

    images = Image.objects.filter(dataset=dataset).select_related("label")
    labels = {img.original_name: img.label.name for img in images}
    assert labels == expected
    events = LabelEvent.objects.filter(dataset=dataset)
    assert events.count() == COUNT and set(events.values_list("origin", flat=True)) == {"hand"}

    # Z takes the last label back: the image shows again and is unlabelled.
    page.keyboard.press("z")
    expect(image).to_have_attribute("alt", f"sq-{COUNT - 1:02d}.png")
    expect(remaining).to_have_text("1")
    assert Image.objects.get(dataset=dataset, original_name=f"sq-{COUNT - 1:02d}.png").label is None
    # S skips it without labelling.
    page.keyboard.press("s")
    expect(page.locator("#label-done")).to_be_visible()
    assert Image.objects.filter(dataset=dataset, label__isnull=True).count() == 1
    assert not refused
