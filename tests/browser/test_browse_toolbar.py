"""The browse grid's bulk toolbar stays on screen while scrolling, and a number key puts the selected tiles in
the class with that number."""

import pytest
from playwright.sync_api import expect

from tests.browser.test_run_journey import sign_in
from tests.webapp.datasets.page_helpers import add_images, make_dataset
from webapp.datasets.models import Image

# Where the toolbar is, and what is under its centre (it must be the toolbar itself, not a tile over it).
BAR = """() => {
  const box = document.querySelector(".bulk-bar").getBoundingClientRect();
  const hit = document.elementFromPoint(box.left + 4, box.top + box.height / 2);
  return {top: box.top, bottom: box.bottom, height: box.height, onTop: !!hit && !!hit.closest(".bulk-bar")};
}"""


@pytest.fixture
def garden(owner, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    dataset = make_dataset(owner, "Garden", classes=("daisy", "rose", "tulip"))
    add_images(dataset, 40, size=8)
    return dataset


def scroll_to_bottom(page):
    page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
    page.wait_for_function("window.scrollY > 300")


def test_the_toolbar_stays_and_number_2_relabels_the_selection(page, owner, garden):
    sign_in(page, owner)
    page.goto(f"/datasets/{garden.pk}/images/")
    scroll_to_bottom(page)
    bar = page.evaluate(BAR)
    assert abs(bar["top"]) <= 1 and bar["onTop"], bar  # stuck to the top of the window, above the tiles

    # Typing a number into the search box only types it.
    page.locator("#id_q").fill("")
    page.locator("#id_q").press("2")
    assert page.locator("#id_q").input_value() == "2" and Image.objects.filter(label__isnull=False).count() == 0

    tiles = page.locator(".tile-check")
    tiles.nth(0).check()
    tiles.nth(1).check()
    expect(page.locator("#selected-count")).to_have_text("2 selected")
    page.keyboard.press("2")
    expect(page.locator(".messages")).to_contain_text("2 images now in “rose”")
    rose = garden.classes.get(name="rose")
    assert Image.objects.filter(dataset=garden, label=rose).count() == 2
    assert Image.objects.filter(dataset=garden, label__isnull=False).count() == 2


def test_at_390_px_the_toolbar_covers_no_tile_and_still_sticks(page, owner, garden):
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, owner)
    page.goto(f"/datasets/{garden.pk}/images/")
    bar = page.evaluate(BAR)
    first_tile = page.locator(".tile").first.bounding_box()
    assert first_tile["y"] >= bar["bottom"] - 1, (bar, first_tile)  # at rest the tiles start below it
    assert bar["height"] < 844 / 3, bar  # scrolled, it hides at most a third of a phone's screen
    scroll_to_bottom(page)
    bar = page.evaluate(BAR)
    assert abs(bar["top"]) <= 1 and bar["onTop"], bar
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
