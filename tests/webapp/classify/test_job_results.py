"""The results page and downloads: filter by predicted class, confidence, the low-confidence list, errors."""

import csv
import io

import pytest

from webapp.classify.models import ClassificationJob, JobSource, JobStatus, Prediction

# (name, predicted index, confidence) or (name, error)
ROWS = [("a.jpg", 0, 0.97), ("b.jpg", 1, 0.41), ("c.jpg", 0, 0.55), ("d.jpg", 2, 0.30), ("e.jpg", "unreadable")]


@pytest.fixture
def job(owner, run):
    job = ClassificationJob.objects.create(owner=owner, model_ref=f"run:{run.pk}", model_label="tiny",
                                           source=JobSource.UPLOAD, status=JobStatus.SUCCEEDED, total=5, done=5,
                                           errors=1, class_names=["red", "green", "blue"], top_k=2,
                                           low_confidence=0.5)
    for position, row in enumerate(ROWS):
        if len(row) == 2:
            Prediction.objects.create(job=job, position=position, name=row[0], error=row[1])
        else:
            name, index, confidence = row
            other = (index + 1) % 3
            Prediction.objects.create(job=job, position=position, name=name, predicted_index=index,
                                      confidence=confidence, topk=[[index, confidence], [other, 1 - confidence]])
    return job


def names(response) -> list[str]:
    return [r["p"].name for r in response.context["rows"]]


@pytest.mark.parametrize("query, expected", [
    ("", ["a.jpg", "b.jpg", "c.jpg", "d.jpg", "e.jpg"]),
    ("?class=0", ["a.jpg", "c.jpg"]),
    ("?min_confidence=50", ["a.jpg", "c.jpg"]),
    ("?min_confidence=0.5&class=0", ["a.jpg", "c.jpg"]),
    ("?low=1", ["d.jpg", "b.jpg"]),  # least sure first
    ("?errors=1", ["e.jpg"]),
    ("?class=oops", ["a.jpg", "b.jpg", "c.jpg", "d.jpg", "e.jpg"]),
])
def test_the_page_filters_results(owner_client, job, query, expected):
    response = owner_client.get(f"/classify/jobs/{job.pk}/{query}")
    assert response.status_code == 200
    assert names(response) == expected


def test_the_page_shows_top_k_on_hover_and_counts(owner_client, job):
    content = owner_client.get(f"/classify/jobs/{job.pk}/").content.decode()
    assert "red: 97.0%\ngreen: 3.0%" in content  # the tile's hover text
    assert "Low confidence <span class=\"muted\">2</span>" in content
    assert "unreadable" in content


def test_the_csv_download_follows_the_filters(owner_client, job):
    response = owner_client.get(f"/classify/jobs/{job.pk}/results.csv?low=1")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == ["filename", "class_1", "probability_1", "class_2", "probability_2", "error"]
    assert rows[1:] == [["d.jpg", "blue", "0.300000", "red", "0.700000", ""],
                        ["b.jpg", "green", "0.410000", "blue", "0.590000", ""]]
    assert response["Content-Disposition"] == f'attachment; filename="classification-job-{job.pk}.csv"'


def test_the_json_download_holds_every_result(owner_client, job):
    import json

    document = json.loads(b"".join(owner_client.get(f"/classify/jobs/{job.pk}/results.json").streaming_content))
    assert document["classes"] == ["red", "green", "blue"]
    assert [r["filename"] for r in document["results"]] == [r[0] for r in ROWS]
    assert document["results"][4]["error"] == "unreadable" and document["results"][4]["top_k"] == []
    assert document["results"][0]["top_k"][0] == {"class": "red", "index": 0, "probability": 0.97}


def test_the_status_json_says_where_the_job_is(owner_client, job):
    status = owner_client.get(f"/classify/jobs/{job.pk}/status.json").json()
    assert (status["done"], status["total"], status["errors"], status["finished"]) == (5, 5, 1, True)


def test_a_finished_job_is_deleted_with_its_files(owner_client, job):
    response = owner_client.post(f"/classify/jobs/{job.pk}/delete/")
    assert response.status_code == 302
    assert not ClassificationJob.objects.filter(pk=job.pk).exists()


def test_a_teammate_sees_the_job(client, teammate, job):
    client.force_login(teammate)
    assert client.get(f"/classify/jobs/{job.pk}/").status_code == 200


def test_the_dashboard_counts_jobs(owner_client, job):
    content = owner_client.get("/").content.decode()
    assert "Classification jobs" in content and "/classify/" in content
