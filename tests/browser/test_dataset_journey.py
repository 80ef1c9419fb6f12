"""A person builds a dataset in the browser: create it, drop 30 images into 3 classes, import a ZIP through a
real worker and watch it finish, read the health panel, and relabel two images with a bulk action.

Set LUX_SCREENSHOT_DIR to keep a screenshot of each main page.
"""

import base64
import io
import os
import zipfile
from pathlib import Path

import pytest
from PIL import Image as PILImage
from playwright.sync_api import expect

PASSWORD = "a-long-test-passphrase-42"
CLASSES = {"daisy": (235, 225, 120), "rose": (200, 30, 60), "tulip": (240, 140, 20)}


def square(colour: tuple[int, int, int], shade: int, size: int = 24) -> bytes:
    """Return a small PNG: a coloured square with a darker corner (distinct bytes per shade)."""
    im = PILImage.new("RGB", (size, size), colour)
    im.paste(tuple(max(0, c - 4 * shade) for c in colour), (0, 0, size // 2, size // 2))
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


def garden_zip() -> bytes:
    """Return an ImageFolder ZIP with train/val/test folders, 4 new images per class, and one text file."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, colour in CLASSES.items():
            for k, split in enumerate(("train", "train", "val", "test")):
                zf.writestr(f"{split}/{name}/zip_{k}.png", square(colour, 20 + k))
        zf.writestr("train/rose/readme.txt", "not an image")
    return buf.getvalue()


def snap(page, name: str) -> None:
    folder = os.environ.get("LUX_SCREENSHOT_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def drop_files(page, selector: str, files: list[tuple[str, bytes]]) -> None:
    """Drop files on an element the way a file manager does: a drop event carrying a DataTransfer."""
    payload = [{"name": name, "data": base64.b64encode(data).decode()} for name, data in files]
    transfer = page.evaluate_handle(
        """(files) => {
            const dt = new DataTransfer();
            for (const f of files) {
              const bytes = Uint8Array.from(atob(f.data), (c) => c.charCodeAt(0));
              dt.items.add(new File([bytes], f.name, { type: "image/png" }));
            }
            return dt;
        }""",
        payload,
    )
    page.dispatch_event(selector, "drop", {"dataTransfer": transfer})


def sign_in(page, username: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()


@pytest.mark.slow
def test_build_a_dataset_in_the_browser(page, celery_worker_process, django_user_model):
    from webapp.datasets.models import Dataset, Image

    django_user_model.objects.create_user("petra", "petra@example.org", PASSWORD)
    sign_in(page, "petra")

    # Create the dataset from the dashboard card.
    page.get_by_role("link", name="Create a dataset").click()
    page.get_by_label("Name").fill("Garden flowers")
    page.get_by_role("button", name="Create the dataset").click()
    expect(page.get_by_role("heading", name="Garden flowers")).to_be_visible()
    dataset = Dataset.objects.get(name="Garden flowers")

    # Three classes.
    page.get_by_role("link", name="Classes", exact=True).click()
    for name in CLASSES:
        page.get_by_label("Class name").fill(name)
        page.get_by_role("button", name="Add the class").click()
        expect(page.get_by_role("link", name=name, exact=True)).to_be_visible()

    # Drop 10 images into each class.
    page.get_by_role("link", name="Upload", exact=True).click()
    page.get_by_label("Split").select_option("train")
    for n, (name, colour) in enumerate(CLASSES.items(), start=1):
        page.get_by_label("Class", exact=True).select_option(label=name)
        drop_files(page, "#dropzone", [(f"{name}_{k:02d}.png", square(colour, k)) for k in range(10)])
        expect(page.locator("#upload-done")).to_have_text(f"{10 * n} of {10 * n} files")
        expect(page.locator("#upload-message")).to_contain_text("Done")
    expect(page.locator("#count-accepted")).to_have_text("30")
    expect(page.locator("#count-rejected")).to_have_text("0")
    expect(page.locator(".file-result.accepted")).to_have_count(30)
    assert page.locator("#upload-bar").evaluate("el => el.style.width") == "100%"
    expect(page.locator(".file-result.accepted").first).to_contain_text("in daisy")
    page.wait_for_timeout(500)  # let the bar's transition end before the screenshot
    snap(page, "upload")
    assert Image.objects.filter(dataset=dataset, label__name="rose").count() == 10

    # Import a ZIP and watch the worker finish it.
    page.get_by_role("link", name="Import ZIP").click()
    page.get_by_label("ZIP file").set_input_files(
        {"name": "garden.zip", "mimeType": "application/zip", "buffer": garden_zip()})
    page.get_by_role("button", name="Upload and import").click()
    expect(page.get_by_role("progressbar", name="Import progress")).to_be_visible()
    snap(page, "import_progress_start")
    # The page reloads itself once the worker is done, to show the whole report rendered by the server.
    expect(page.locator('#import-card[data-finished="1"]')).to_be_attached(timeout=60_000)
    expect(page.locator("#import-status")).to_have_text("succeeded")
    expect(page.get_by_role("progressbar", name="Import progress")).to_have_attribute("aria-valuenow", "100")
    expect(page.locator("#import-accepted")).to_have_text("12")
    expect(page.locator("#import-rejected")).to_have_text("1")
    expect(page.get_by_role("cell", name="train/rose/readme.txt")).to_be_visible()
    snap(page, "import_done")

    # The health panel.
    page.get_by_role("link", name="See the dataset's health").click()
    expect(page.locator("#class-chart")).to_be_visible()
    expect(page.locator("#stat-total")).to_have_text("42")
    assert page.locator("#class-chart").evaluate("c => c.width > 0 && c.height > 0")
    daisy_row = page.locator("#split-table tbody tr", has_text="daisy")
    expect(daisy_row.locator("td")).to_have_text(["daisy", "12", "1", "1", "0", "14"])
    snap(page, "health")

    # Relabel two daisies as tulips from the browse page.
    page.get_by_role("link", name="Browse", exact=True).click()
    page.locator("#id_label").select_option(label="daisy")
    page.get_by_role("button", name="Filter").click()
    tiles = page.locator(".tile-check")
    expect(tiles).to_have_count(14)
    tiles.nth(0).focus()  # by keyboard: space selects, the arrow moves to the next tile
    page.keyboard.press("Space")
    page.keyboard.press("ArrowRight")
    expect(tiles.nth(1)).to_be_focused()
    page.keyboard.press("Space")
    expect(page.locator("#selected-count")).to_have_text("2 selected")
    # The menu numbers the classes for the number keys ("2 · tulip"): pick the option by its class name.
    tulip = page.locator("#bulk-label option", has_text="tulip").get_attribute("value")
    page.locator("#bulk-label").select_option(value=tulip)
    snap(page, "browse")
    page.get_by_role("button", name="Set class").click()
    expect(page.get_by_text("2 images now in “tulip”.")).to_be_visible()
    expect(page.locator(".tile-check")).to_have_count(12)
    assert Image.objects.filter(dataset=dataset, label__name="tulip").count() == 16
    assert Image.objects.filter(dataset=dataset, label__name="daisy").count() == 12


def test_the_list_page_after_a_dataset_exists(page, django_user_model):
    from webapp.datasets.models import Dataset

    user = django_user_model.objects.create_user("petra", "petra@example.org", PASSWORD)
    Dataset.objects.create(owner=user, name="Street signs", description="Signs photographed in town.")
    sign_in(page, "petra")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Datasets").click()
    expect(page.get_by_role("link", name="Street signs")).to_be_visible()
    snap(page, "list")


def test_hundreds_of_files_go_up_in_batches_of_at_most_100(page, django_user_model):
    from webapp.datasets.models import Dataset, Image

    user = django_user_model.objects.create_user("petra", "petra@example.org", PASSWORD)
    dataset = Dataset.objects.create(owner=user, name="Many")
    sign_in(page, "petra")
    batches = []
    page.on("request", lambda r: batches.append(r) if r.url.endswith("/upload/files/") else None)
    page.goto(f"/datasets/{dataset.pk}/upload/")
    files = [{"name": f"sq_{k:03d}.png", "mimeType": "image/png", "buffer": square((k % 250, 90, 160), k % 50, 8)}
             for k in range(230)]
    files += [{"name": "again.png", "mimeType": "image/png", "buffer": files[0]["buffer"]},
              {"name": "notes.jpg", "mimeType": "image/jpeg", "buffer": b"just text, not a picture"}]
    page.locator("#file-input").set_input_files(files)
    expect(page.locator("#upload-done")).to_have_text("232 of 232 files", timeout=60_000)
    expect(page.locator("#upload-message")).to_contain_text("Done")
    expect(page.locator("#count-accepted")).to_have_text("230")
    expect(page.locator("#count-duplicate")).to_have_text("1")
    expect(page.locator("#count-rejected")).to_have_text("1")
    expect(page.locator(".file-result.duplicate")).to_contain_text("duplicate of sq_000.png")
    expect(page.locator(".file-result.rejected")).to_contain_text("not an image")
    assert len(batches) == 3
    assert Image.objects.filter(dataset=dataset).count() == 230
    page.get_by_label("Only problems").check()
    expect(page.locator(".file-result:visible")).to_have_count(2)
    page.wait_for_timeout(500)
    snap(page, "upload_problems")

    page.get_by_role("link", name="Browse the images").click()
    tiles = page.locator(".tile-check")
    tiles.nth(0).click()
    tiles.nth(4).click(modifiers=["Shift"])
    expect(page.locator("#selected-count")).to_have_text("5 selected")
    expect(tiles.nth(2)).to_be_checked()
    page.get_by_label("Select all on this page").check()
    expect(page.locator("#selected-count")).to_have_text("48 selected")
    page.once("dialog", lambda dialog: dialog.dismiss())  # deleting asks first; say no
    page.get_by_role("button", name="Delete").click()
    page.wait_for_timeout(300)
    expect(page.locator("#selected-count")).to_have_text("48 selected")  # still here: nothing was sent
    assert Image.objects.filter(dataset=dataset, deleted_at__isnull=True).count() == 230
