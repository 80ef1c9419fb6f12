"""A person finds that a test image is a resized copy of a training image, warned on the launch form and the
dataset's health card, adjusts the threshold on Datasets → Data checks, and fixes the group in one click; the
warning goes away."""

from playwright.sync_api import expect

PASSWORD = "a-long-test-passphrase-42"


def test_a_leak_is_found_and_fixed_in_one_click(page, django_user_model, settings, tmp_path):
    from tests.webapp.datachecks.conftest import add, copy_of, encoded, photo
    from webapp.datasets.models import Dataset, DatasetClass, Image

    settings.MEDIA_ROOT = tmp_path
    user = django_user_model.objects.create_user("nina", "nina@example.org", PASSWORD)
    dataset = Dataset.objects.create(owner=user, name="Pets")
    cat = DatasetClass.objects.create(dataset=dataset, name="cat", position=0)
    original = add(dataset, encoded(photo(1)), name="cat.png", split="train", label=cat)
    copy = add(dataset, copy_of(1), name="cat-small.jpg", split="test", label=cat)
    for seed, split in ((2, "train"), (3, "val"), (4, "test")):
        add(dataset, encoded(photo(seed)), name=f"other-{seed}.png", split=split, label=cat)

    page.goto("/accounts/login/")
    page.get_by_label("Username").fill("nina")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto("/runs/new/")
    expect(page.locator("#launch-leakage")).to_have_count(0)
    page.locator("select[name=dataset]").select_option(str(dataset.pk))  # the form's script asks, and warns
    expect(page.locator("#launch-leakage")).to_contain_text("1 test image has a near-copy in train")
    page.goto(f"/datasets/{dataset.pk}/")
    health = page.locator("#health")
    expect(health).to_contain_text("1 test image has a near-copy in train: test accuracy will look better than it is.")
    health.get_by_role("link", name="See the 1 group and fix them").click()

    expect(page.get_by_role("heading", name="Near-duplicates")).to_be_visible()
    slider = page.locator("#threshold")
    slider.focus()
    for _ in range(5):
        slider.press("ArrowLeft")
    expect(page.locator("#threshold-value")).to_have_text("5")  # the page's script shows the value as it moves
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(f"{page.url.split('?')[0]}?threshold=5")
    group = page.locator(f'form[data-group="{original.pk},{copy.pk}"]')
    expect(group).to_contain_text("across test, train")
    page.screenshot(path=str(tmp_path / "data-checks.png"), full_page=True)
    group.get_by_role("button", name="train").click()

    expect(page.locator(".messages")).to_contain_text("Moved 1 image to train")
    expect(page.locator("#leakage-ok")).to_be_visible()
    expect(page.locator("#stat-leaking")).to_have_text("0")
    assert Image.objects.get(pk=copy.pk).split == "train"
