"""A person relabels an image from a confusion-matrix cell and retrains: the new run starts from the old one."""

import pytest
from playwright.sync_api import expect

from tests.browser.test_run_journey import sign_in
from tests.factories import make_dataset, tiny_network, wait_until_finished

pytestmark = pytest.mark.slow
CLASSES = ("red", "green")


def test_cell_relabel_retrain_starts_from_the_old_run(page, owner, worker):
    from webapp.datasets.models import Image
    from webapp.runs.forms import LaunchForm
    from webapp.runs.models import RunStatus, TrainingRun

    dataset = make_dataset(owner, name="Squares", classes=CLASSES, per_split={"train": 4, "val": 2, "test": 3})
    network = tiny_network(owner)
    form = LaunchForm(data={"dataset": dataset.pk, "arch": f"net:{network.pk}", "epochs": 2, "batch_size": 4,
                            "device": "cpu", "name": "first"}, user=owner)
    assert form.is_valid(), form.errors
    old = wait_until_finished(form.launch().pk, timeout=120, log=worker.log)
    assert old.status == RunStatus.SUCCEEDED, (old.error, old.traceback)
    evaluation = old.evaluations.get(split="test")
    sign_in(page, owner)

    page.goto(f"/runs/evaluations/{evaluation.pk}/")
    page.locator("#confusion-matrix td.cell a").first.click()
    item = page.locator(".gallery-item").first
    image_id = int(item.get_attribute("data-image-id"))
    other = next(name for name in CLASSES if name != Image.objects.get(pk=image_id).label.name)
    item.locator("select[name=label]").select_option(label=other)
    item.get_by_role("button", name="Relabel").click()
    expect(page.get_by_text(f"is now labelled {other} in Squares")).to_be_visible()

    page.get_by_role("button", name="Retrain with the new labels").click()

    expect(page.locator("#run-page")).to_be_visible()
    new = TrainingRun.objects.exclude(pk=old.pk).get()
    assert page.url.endswith(f"/runs/{new.pk}/")
    expect(page.locator("#run-status")).to_have_text("Succeeded", timeout=90_000)
    expect(page.locator("#run-started-from a")).to_have_attribute("href", f"/runs/{old.pk}/")
    new.refresh_from_db()
    assert new.version.number == old.version.number + 1
    assert new.version.entries.get(image_id=image_id).class_index == new.version.class_names.index(other)
    assert new.config["init_from"]["id"] == old.pk
