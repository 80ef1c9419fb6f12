"""A person launches a run from the form, watches it learn live, opens its results and fixes a wrong label."""

import io
import random
import re

import pytest
from PIL import Image as PILImage
from playwright.sync_api import expect

from tests.conftest import PASSWORD

pytestmark = pytest.mark.slow
CLASSES = ("left", "right")
PER_SPLIT = {"train": 8, "val": 2, "test": 5}
# Enough epochs that the run is still going when the page starts watching, even on a quiet fast machine.
EPOCHS = 150

# Records, in the page itself, every width the progress bar takes and how many epochs the loss chart holds;
# a marker on `window` proves the page was never reloaded.
WATCH = """() => {
  window.__sameDocument = true;
  const bar = document.querySelector('#progress-bar .bar');
  window.__widths = [bar.style.width];
  window.__firstPoints = Chart.getChart('loss-chart').data.datasets[0].data.length;
  new MutationObserver(() => {
    const w = bar.style.width;
    if (window.__widths[window.__widths.length - 1] !== w) window.__widths.push(w);
  }).observe(bar, {attributes: true, attributeFilter: ['style']});
}"""


def noise_png(rng: random.Random) -> bytes:
    """Return an 8x8 PNG of random pixels: its label says nothing about it, so the model must get some wrong."""
    image = PILImage.frombytes("RGB", (8, 8), bytes(rng.randrange(256) for _ in range(8 * 8 * 3)))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def noisy_dataset(owner):
    """Return a two-class dataset of random-noise images with train, val and test splits."""
    from webapp.datasets.models import Dataset, DatasetClass
    from webapp.datasets.services.store import add_image

    rng = random.Random(7)
    dataset = Dataset.objects.create(owner=owner, name="Noise")
    for position, name in enumerate(CLASSES):
        label = DatasetClass.objects.create(dataset=dataset, name=name, position=position)
        for split, n in PER_SPLIT.items():
            for i in range(n):
                outcome = add_image(dataset, noise_png(rng), name=f"{name}-{split}-{i}.png", label=label, split=split)
                assert outcome.accepted, outcome
    dataset.touch()
    return dataset


def sign_in(page, user):
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def test_launch_watch_and_fix_a_label(page, owner, worker):
    from webapp.datasets.models import Image
    from webapp.runs.models import CustomNetwork

    dataset = noisy_dataset(owner)
    network = CustomNetwork.objects.create(owner=owner, name="linear probe", image_size=8,
                                           spec=[{"type": "flatten"}, {"type": "linear", "features": 16}])
    sign_in(page, owner)

    page.goto("/runs/")
    page.get_by_role("link", name="New run").click()
    page.get_by_label("Dataset", exact=True).select_option(label="Noise")
    page.get_by_label("Architecture").select_option(f"net:{network.pk}")
    page.get_by_label("Epochs", exact=True).fill(str(EPOCHS))
    page.get_by_label("Early-stopping patience (epochs)").fill("0")  # every epoch: the chart is checked whole
    page.get_by_role("button", name="Train").click()

    expect(page.locator("#run-page")).to_be_visible()
    page.wait_for_function("() => window.Chart && Chart.getChart('loss-chart')")  # scripts load after the DOM
    page.evaluate(WATCH)
    expect(page.locator("#run-status")).to_have_text("Succeeded", timeout=45_000)
    expect(page.locator("#model-card-link")).to_be_visible()  # the live page offers what comes next
    for moment in ("#run-started", "#run-finished"):  # written as the server writes them: "Dec 4, 2026 03:25:51"
        expect(page.locator(moment)).to_have_text(re.compile(r"^[A-Z][a-z]{2} \d{1,2}, \d{4} \d{2}:\d{2}:\d{2}$"))
    assert page.evaluate("window.__sameDocument") is True  # no reload happened
    widths = [float(w.rstrip("%")) for w in page.evaluate("window.__widths")]
    assert widths[0] < 100 and widths[-1] == 100 and widths == sorted(widths), widths
    assert page.evaluate("window.__firstPoints") < EPOCHS
    assert page.evaluate("Chart.getChart('loss-chart').data.datasets[0].data.length") == EPOCHS
    expect(page.locator("#p-epoch")).to_have_text(f"{EPOCHS} / {EPOCHS}")

    page.locator("#results-list a", has_text="test").click()
    expect(page.get_by_role("heading", name="Results on Noise v1 · test")).to_be_visible()
    off_diagonal = page.locator("#confusion-matrix td.cell:not(.diagonal) a")
    cell = off_diagonal.first if off_diagonal.count() else page.locator("#confusion-matrix td.cell a").first
    count = int(cell.locator(".count").inner_text())
    cell.click()

    gallery = page.locator(".gallery-item")
    expect(gallery).to_have_count(count)
    first = gallery.first
    image_id = int(first.get_attribute("data-image-id"))
    current = Image.objects.get(pk=image_id).label.name
    other = next(name for name in CLASSES if name != current)
    first.locator("select[name=label]").select_option(label=other)
    first.get_by_role("button", name="Relabel").click()
    expect(page.get_by_text(f"is now labelled {other} in Noise")).to_be_visible()
    expect(page.locator(f'.gallery-item[data-image-id="{image_id}"]')).to_contain_text(f"Now labelled {other}")
    assert Image.objects.get(pk=image_id).label.name == other
    assert dataset.versions.get().entries.get(image_id=image_id).class_index == CLASSES.index(current)


def test_build_a_network_watching_its_shapes(page, owner):
    from webapp.runs.models import CustomNetwork

    sign_in(page, owner)
    page.goto("/runs/networks/new/")
    first_shape = page.locator('tr.layer[data-index="1"] [data-role=shape]')
    expect(first_shape).to_have_text("32 × 32 × 32")  # the default network's first conv at 32 px
    page.get_by_label("channels of layer 1").fill("12")
    expect(first_shape).to_have_text("12 × 32 × 32")  # no button pressed: it follows the typing
    expect(page.locator('tr.layer[data-index="1"] [data-role=params]')).to_have_text(f"{3 * 12 * 9 + 12:,}")
    # The output side worked out as the lecture writes it, with the layer's own numbers.
    expect(page.locator('tr.layer[data-index="1"] [data-role=formula]')).to_have_text("1 + ⌊(32 − 3 + 2·1) / 1⌋ = 32")
    page.get_by_label("stride of layer 1").fill("2")
    expect(page.locator('tr.layer[data-index="1"] [data-role=formula]')).to_have_text("1 + ⌊(32 − 3 + 2·1) / 2⌋ = 16")
    page.get_by_label("stride of layer 1").fill("1")

    # A layer goes anywhere, not only at the bottom: a dropout right after layer 1.
    rows = page.locator("tr.layer")
    count = rows.count()
    page.locator("#add-type").select_option("dropout")
    page.locator("#add-where").select_option("1")
    page.get_by_role("button", name="Add layer").click()
    expect(rows).to_have_count(count + 1)
    expect(page.get_by_label("Type of layer 2", exact=True)).to_have_value("dropout")
    expect(page.get_by_label("Type of layer 1", exact=True)).to_have_value("conv")
    page.get_by_role("button", name="Remove layer 2").click()
    page.locator("#add-where").select_option("end")

    rows = page.locator("tr.layer")
    before = rows.count()
    page.locator("#add-type").select_option("conv")
    page.get_by_role("button", name="Add layer").click()
    expect(rows).to_have_count(before + 1)
    expect(page.locator(f'tr.layer[data-index="{before + 1}"]')).to_have_class("layer has-error")
    expect(page.locator(".error-row")).to_contain_text("move it before the flatten")
    page.get_by_role("button", name=f"Move layer {before + 1} up").click()  # still after the pooling: still wrong
    page.get_by_role("button", name=f"Remove layer {before}").click()
    expect(page.locator(".error-row")).to_have_count(0)
    expect(page.locator("#builder-status")).to_contain_text("The network fits")

    page.get_by_label("Name").fill("twelve")
    page.get_by_role("button", name="Save network").click()
    network = CustomNetwork.objects.get(name="twelve")
    assert network.spec[0]["channels"] == 12 and len(network.spec) == before
    expect(page.get_by_label("Architecture")).to_have_value(f"net:{network.pk}")
