"""A job over a labelled dataset version also produces an Evaluation the runs results pages show."""

import csv
import io

import pytest

from tests.factories import saved_run
from webapp.classify.services.jobs import create_version_job
from webapp.classify.worker.jobs import execute_job


def test_it_classifies_a_split_and_evaluates_the_model(owner_client, owner, run, version):
    from webapp.classify.models import ClassificationJob
    from webapp.runs.models import EvalPrediction

    response = owner_client.post("/classify/jobs/new/", {"model": f"run:{run.pk}", "source": "version",
                                                         "version": version.pk, "split": "test", "top_k": 3,
                                                         "low_confidence": 50})
    assert response.status_code == 302, response.content.decode()[:3000]
    job = ClassificationJob.objects.get()
    assert job.total == 9
    assert execute_job(job.pk, worker="here") == "succeeded"
    job.refresh_from_db()
    evaluation = job.evaluation
    assert evaluation is not None, job.evaluation_note
    assert (evaluation.run_id, evaluation.version_id, evaluation.split, evaluation.num_samples) == \
        (run.pk, version.pk, "test", 9)
    assert EvalPrediction.objects.filter(evaluation=evaluation).count() == 9
    hits = sum(p.predicted_index == p.true_index for p in job.predictions.all())
    assert evaluation.top1 == pytest.approx(hits / 9)
    page = owner_client.get(f"/classify/jobs/{job.pk}/")
    assert f"/runs/evaluations/{evaluation.pk}/".encode() in page.content
    # A percentage, as on every other page.
    assert f"Top-1 <strong>{evaluation.top1 * 100:.1f}%</strong>".encode() in page.content
    assert owner_client.get(f"/runs/evaluations/{evaluation.pk}/").status_code == 200
    rows = list(csv.DictReader(io.StringIO(b"".join(
        owner_client.get(f"/classify/jobs/{job.pk}/results.csv").streaming_content).decode())))
    assert sorted({r["true_class"] for r in rows}) == ["blue", "green", "red"]


def test_a_model_that_lacks_a_class_gets_no_evaluation_but_still_classifies(owner, version):
    from webapp.datasets.models import Dataset, DatasetVersion

    other = DatasetVersion.objects.create(dataset=Dataset.objects.create(owner=owner, name="Other"), number=1,
                                          revision=1, class_names=["red", "cyan", "blue"], counts={},
                                          content_hash="x")
    narrow = saved_run(owner, other, name="narrow")
    job = create_version_job(owner, f"run:{narrow.pk}", version, "test")
    assert execute_job(job.pk, worker="here") == "succeeded"
    job.refresh_from_db()
    assert job.evaluation is None
    assert "does not know the class “green”" in job.evaluation_note
    assert job.predictions.exclude(predicted_index=None).count() == 9


def test_an_empty_split_is_refused(owner, run, version):
    from webapp.classify.services.jobs import JobError

    version.entries.filter(split="val").delete()
    with pytest.raises(JobError, match="holds no images"):
        create_version_job(owner, f"run:{run.pk}", version, "val")
