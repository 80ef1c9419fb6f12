"""A batch job's unsure images come back into the loop: from the job's page into a dataset, unlabelled, with the
job's predictions as suggestions; then the labelling page narrowed to "suggested red, below 60%" by its filter,
whose queue (the page's script) keeps the filter while a person labels from the keyboard."""

import numpy as np
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from playwright.sync_api import expect

from tests.browser.test_labelling_journey import sign_in, squares
from tests.factories import COLOURS, noisy_square, png

CONFIDENCES = [0.95, 0.55, 0.40, 0.58, 0.30, 0.52]  # by position; classes red, green, blue, red, green, blue


def test_send_a_jobs_unsure_images_to_a_dataset_and_label_them_by_a_filter(page, django_user_model, settings,
                                                                           tmp_path):
    from webapp.classify.models import ClassificationJob, JobInput, Prediction

    settings.MEDIA_ROOT = tmp_path
    user, dataset, classes, _ = squares(django_user_model, 3)
    job = ClassificationJob.objects.create(owner=user, model_ref="imported:7", model_label="squares net",
                                           source="upload", status="succeeded", total=6, done=6,
                                           class_names=["red", "green", "blue"], low_confidence=0.6)
    rng = np.random.default_rng(5)
    colours = list(COLOURS.values())
    for position, confidence in enumerate(CONFIDENCES):
        index = position % 3
        source = default_storage.save(f"classify/jobs/{job.pk}/inputs/{position}.img",
                                      ContentFile(png(noisy_square(colours[index], size=24, rng=rng))))
        JobInput.objects.create(job=job, position=position, name=f"photo-{position}.png", file=source)
        rest = (1 - confidence) / 2
        Prediction.objects.create(job=job, position=position, name=f"photo-{position}.png", source=source,
                                  predicted_index=index, confidence=confidence,
                                  topk=[[index, confidence], [(index + 1) % 3, rest], [(index + 2) % 3, rest]])

    sign_in(page, "lena")
    page.goto(f"/classify/jobs/{job.pk}/")
    page.get_by_role("link", name="Send to a dataset").click()
    page.get_by_label("Dataset").select_option("Squares")
    page.get_by_label("Low-confidence only").check()
    page.get_by_label("Below (%)").fill("60")
    page.get_by_role("button", name="Send to the dataset").click()
    expect(page.locator(".messages")).to_contain_text("5 of 5 images added to Squares as unlabelled")
    expect(page.locator("#suggesting-model")).to_contain_text("squares net")
    expect(page.locator("#suggesting-model")).to_contain_text(f"batch job {job.pk}")

    # Narrow the queue to the images suggested red below 60%: photo-3 (58%) only, of the 8 unlabelled.
    page.get_by_label("Suggested as").select_option("red")
    page.get_by_label("below (%)", exact=True).fill("60")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#label-filter")).to_contain_text("unlabelled images suggested as red with confidence "
                                                          "below 60%")
    expect(page.locator("#label-remaining")).to_have_text("1")
    expect(page.locator("#label-image")).to_have_attribute("alt", "photo-3.png")
    expect(page.locator("#label-suggestion")).to_contain_text("red")
    page.keyboard.press("Enter")  # accept the suggestion
    expect(page.locator("#label-done")).to_be_visible()
    link = page.locator("#label-filter-link").get_attribute("href")
    assert "suggested=" in link and "max_confidence=60" in link
    page.goto(f"/datasets/{dataset.pk}/label/{link}")
    expect(page.locator("#label-remaining")).to_have_text("0")
