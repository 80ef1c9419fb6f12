"""A batch job over a ZIP of good and hostile files, run by the real worker: per-file errors, exact results."""

import csv
import io
import json

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from classifier.factory import load_model
from classifier.predict import predict_topk
from classifier.presets import preset_from_dict
from tests import hostile_files as h
from tests.factories import FEW, colour_image, jpeg, make_version, png, saved_run, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.smoke]

GOOD = {
    "reds/r1.png": png(colour_image("red", seed=1)),
    "reds/r2.jpg": jpeg(colour_image("red", seed=2, size=40)),
    "blues/b1.png": png(colour_image("blue", seed=3)),
    "greens/g1.webp": h.good_webp(24, 24),
    "greens/deep/g2.gif": h.animated_gif(),
    "loose.bmp": h.good_bmp(20, 20),
}
HOSTILE = {
    "reds/truncated.jpg": h.truncated_jpeg(),
    "blues/notes.png": h.text_file(),
    "blues/login.jpg": h.html_page(),
    "huge/bomb.png": h.huge_png_header(),
    "empty.png": h.empty_file(),
    "../escape.png": h.good_png(8, 8),
    "inner/more.zip": h.imagefolder_zip(),
}


def test_a_zip_of_good_and_hostile_files_completes_with_per_file_errors(owner_client, owner, worker):
    from webapp.classify.models import ClassificationJob, JobStatus

    run = saved_run(owner, make_version(owner, name="Colours", per_split=FEW))
    archive = h.zip_of({**GOOD, **HOSTILE, "__MACOSX/._r1.png": b"junk", "reds/": b""})
    response = owner_client.post("/classify/jobs/new/", {
        "model": f"run:{run.pk}", "source": "archive", "top_k": 2, "low_confidence": 50,
        "archive": SimpleUploadedFile("photos.zip", archive)})
    assert response.status_code == 302, response.content.decode()[:2000]
    job = ClassificationJob.objects.get()
    assert job.total == len(GOOD) + len(HOSTILE)  # clutter is not counted; refused entries are
    final = (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)
    job = wait_for(lambda: ClassificationJob.objects.filter(pk=job.pk, status__in=final).first(), timeout=90,
                   what="the job to finish", log=worker.log)
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert (job.done, job.errors) == (len(GOOD) + len(HOSTILE), len(HOSTILE))

    rows = list(csv.DictReader(io.StringIO(_body(owner_client.get(f"/classify/jobs/{job.pk}/results.csv")))))
    by_name = {row["filename"]: row for row in rows}
    assert set(by_name) == set(GOOD) | set(HOSTILE)
    assert "truncated" in by_name["reds/truncated.jpg"]["error"]
    assert "looks like text" in by_name["blues/notes.png"]["error"]
    assert "megapixels" in by_name["huge/bomb.png"]["error"]
    assert "climbs out of its folder" in by_name["../escape.png"]["error"]
    assert "archives inside the archive" in by_name["inner/more.zip"]["error"]

    # Every good file's answer is exactly what classifier.predict says about the same bytes.
    model, card = load_model(settings.MEDIA_ROOT / run.artifacts.get(kind="weights").path)
    preset = preset_from_dict(card.preset)
    document = json.loads(_body(owner_client.get(f"/classify/jobs/{job.pk}/results.json")))
    results = {r["filename"]: r for r in document["results"]}
    for name, data in GOOD.items():
        probabilities, indices = predict_topk(model, preset(Image.open(io.BytesIO(data)))[None], k=2)
        expected = [card.class_names[i] for i in indices[0].tolist()]
        row = by_name[name]
        assert [row["class_1"], row["class_2"]] == expected, name
        assert float(row["probability_1"]) == pytest.approx(float(probabilities[0, 0]), abs=2e-6)
        assert float(row["probability_2"]) == pytest.approx(float(probabilities[0, 1]), abs=2e-6)
        assert row["error"] == ""
        assert [t["class"] for t in results[name]["top_k"]] == expected
        assert results[name]["top_k"][0]["probability"] == pytest.approx(float(probabilities[0, 0]), abs=2e-6)
    assert results["empty.png"]["error"] == "the file is empty"

    page = owner_client.get(f"/classify/jobs/{job.pk}/")
    assert page.status_code == 200 and b"Could not read" in page.content
    thumb = owner_client.get(f"/classify/jobs/{job.pk}/thumbs/0/")
    assert thumb.status_code == 200 and thumb["Content-Type"] == "image/webp"


def _body(response) -> str:
    return b"".join(response.streaming_content).decode()
