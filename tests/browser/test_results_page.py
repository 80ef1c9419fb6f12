"""The results page as a person sees it: the confusion matrix starts right under its heading."""

import os
from pathlib import Path

from playwright.sync_api import expect

from tests.browser.test_run_journey import sign_in
from tests.factories import FEW, PETS, confused_evaluation, images_by_class, make_run, make_version

SHOTS = os.environ.get("LUX_SCREENSHOTS")  # a folder: save a screenshot of the page


def test_no_blank_band_sits_above_the_confusion_matrix(page, owner):
    version = make_version(owner, name="Pets", classes=PETS, per_split=FEW)
    evaluation = confused_evaluation(make_run(owner, version, name="resnet on pets"), images_by_class(version))
    sign_in(page, owner)
    page.goto(f"/runs/evaluations/{evaluation.pk}/")
    expect(page.locator("#confusion-matrix")).to_be_visible()
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.locator("#confusion").screenshot(path=str(Path(SHOTS) / "results-confusion.png"))
    intro = page.locator("#confusion p.muted").bounding_box()
    names = [page.locator("#confusion-matrix .col-head span").nth(i).bounding_box() for i in range(len(PETS))]
    # Three-letter names stand about 2 rem tall: their headings are no taller, and start under the intro.
    gap = min(box["y"] for box in names) - (intro["y"] + intro["height"])
    assert gap < 24, f"{gap:.0f} px of blank space above the column names"
