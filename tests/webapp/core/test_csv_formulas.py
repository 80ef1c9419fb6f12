"""Every CSV download writes hostile names as text, so a spreadsheet never runs them as formulas (OWASP)."""

import csv
import io
import zipfile

import pytest
from django.urls import reverse

from tests.factories import FEW, confused_evaluation, images_by_class, make_run, make_version
from webapp.classify.models import ClassificationJob, JobSource, JobStatus, Prediction
from webapp.core.csvsafe import safe_cell
from webapp.datasets.services.versions import export_version_zip

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]
HOSTILE_CLASSES = ("=cmd|'calc'!A0", "+dog", "@fox")


def rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


@pytest.mark.parametrize("cell, safe", [
    ("=1+1", "'=1+1"), ("+1", "'+1"), ("-2+3", "'-2+3"), ("@SUM(1+1)*cmd.png", "'@SUM(1+1)*cmd.png"),
    ("\t=1", "'\t=1"), ("\r=1", "'\r=1"), ("cat.png", "cat.png"), ("", ""), ("a=b", "a=b"), (3, 3), (0.5, 0.5),
])
def test_a_cell_that_would_run_as_a_formula_gets_a_leading_quote(cell, safe):
    assert safe_cell(cell) == safe


@pytest.fixture
def hostile(owner):
    version = make_version(owner, name="Hostile", classes=HOSTILE_CLASSES, per_split=FEW)
    images = images_by_class(version)
    run = make_run(owner, version, name="hostile")
    return version, confused_evaluation(run, {"cat": images[HOSTILE_CLASSES[0]], "dog": images["+dog"],
                                              "fox": images["@fox"]})


def test_the_job_results_csv_escapes_file_names_class_names_and_errors(owner_client, owner):
    job = ClassificationJob.objects.create(owner=owner, model_ref="run:0", model_label="tiny", source=JobSource.UPLOAD,
                                           status=JobStatus.SUCCEEDED, total=2, done=2, errors=1, top_k=1,
                                           class_names=["=HYPERLINK(\"http://x\")", "green"])
    Prediction.objects.create(job=job, position=0, name="@SUM(1+1)*cmd.png", predicted_index=0, confidence=0.9,
                              topk=[[0, 0.9]])
    Prediction.objects.create(job=job, position=1, name="-2+3.png", error="+unreadable")
    got = rows(owner_client.get(f"/classify/jobs/{job.pk}/results.csv"))
    assert got[1] == ["'@SUM(1+1)*cmd.png", "'=HYPERLINK(\"http://x\")", "0.900000", ""]
    assert got[2] == ["'-2+3.png", "", "", "'+unreadable"]


def test_the_confusion_csv_escapes_class_names(owner_client, hostile):
    _, evaluation = hostile
    got = rows(owner_client.get(reverse("evaluation_confusion_csv", args=[evaluation.pk])))
    assert got[0] == ["true \\ predicted", "'=cmd|'calc'!A0", "'+dog", "'@fox"]
    assert [row[0] for row in got[1:]] == ["'=cmd|'calc'!A0", "'+dog", "'@fox"]


def test_the_per_class_csv_escapes_class_names(owner_client, hostile):
    _, evaluation = hostile
    got = rows(owner_client.get(reverse("evaluation_per_class_csv", args=[evaluation.pk])))
    assert [row[0] for row in got[1:]] == ["'=cmd|'calc'!A0", "'+dog", "'@fox"]
    assert got[1][1:] == ["0", "0.500000", "0.333333", "0.400000", "3"]


def test_the_predictions_csv_escapes_file_and_class_names(owner_client, hostile):
    _, evaluation = hostile
    body = rows(owner_client.get(reverse("evaluation_predictions_csv", args=[evaluation.pk])))[1:]
    assert len(body) == 9
    for row in body:
        file_name, true_class, predicted_class, top5 = row[1], row[3], row[4], row[7]
        assert file_name.startswith(("'=cmd", "'+dog-", "'@fox-")), file_name
        assert true_class in {"'=cmd|'calc'!A0", "'+dog", "'@fox"}
        assert predicted_class in {"'=cmd|'calc'!A0", "'+dog", "'@fox"}
        assert top5.startswith("'")


def test_the_exported_version_manifest_escapes_class_and_file_names(owner, hostile):
    version, _ = hostile
    with zipfile.ZipFile(io.BytesIO(b"".join(export_version_zip(version)))) as zf:
        manifest = list(csv.reader(io.StringIO(zf.read("manifest.csv").decode())))
    assert manifest[0] == ["path", "class", "split", "sha256", "original_name"]
    assert {row[1] for row in manifest[1:]} == {"'=cmd|'calc'!A0", "'+dog", "'@fox"}
    assert all(row[4].startswith("'") for row in manifest[1:])
