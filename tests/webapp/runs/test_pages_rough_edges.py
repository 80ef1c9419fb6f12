"""Small things a new user noticed on the runs pages: one time format, live links, errors first."""

import datetime as dt

import pytest
from django.urls import reverse

from tests.factories import make_evaluation, make_run
from webapp.runs.models import ModelArtifact, RunStatus, TrainingRun
from webapp.runs.services.status import carried_timings

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]


def test_every_time_on_the_run_pages_is_written_one_way(owner_client, owner, pets, media):
    run = make_run(owner, pets[0])
    (media / "w.safetensors").write_bytes(b"w")
    ModelArtifact.objects.create(run=run, kind=ModelArtifact.Kind.WEIGHTS, path="w.safetensors")
    moment = dt.datetime(2026, 12, 4, 3, 25, 51, tzinfo=dt.UTC)
    TrainingRun.objects.filter(pk=run.pk).update(created_at=moment, started_at=moment, finished_at=moment)
    page = owner_client.get(reverse("run_detail", args=[run.pk])).content.decode()
    for tag in ("<dd>", '<dd id="run-started">', '<dd id="run-finished">'):
        assert f"{tag}Dec 4, 2026 03:25:51</dd>" in page
    live = owner_client.get(reverse("run_status", args=[run.pk])).json()["shown_times"]
    assert live == {"created_at": "Dec 4, 2026 03:25:51", "started_at": "Dec 4, 2026 03:25:51",
                    "finished_at": "Dec 4, 2026 03:25:51"}  # what the live page writes: the same words
    assert "Dec 4, 2026 03:25:51" in owner_client.get(reverse("run_list")).content.decode()
    card = owner_client.get(reverse("classify_model_card", args=["run", run.pk])).content.decode()
    assert "<th>Trained</th><td>Dec 4, 2026 03:25:51" in card


def test_the_live_page_can_show_the_model_card_link_when_the_run_ends(owner_client, owner, pets):
    run = make_run(owner, pets[0], status=RunStatus.RUNNING)
    page = owner_client.get(reverse("run_detail", args=[run.pk])).content.decode()
    card = reverse("classify_model_card", args=["run", run.pk])
    assert f'href="{card}" id="model-card-link" hidden' in page  # there, hidden, for the script to reveal
    assert owner_client.get(reverse("run_status", args=[run.pk])).json()["model_card_url"] is None
    TrainingRun.objects.filter(pk=run.pk).update(status=RunStatus.SUCCEEDED)
    assert owner_client.get(reverse("run_status", args=[run.pk])).json()["model_card_url"] == card


def test_a_class_in_the_per_class_table_opens_its_errors_first(owner_client, finished):
    _, evaluation, _ = finished  # 2 cats pass for dogs, 1 fox for a cat, every dog right
    html = owner_client.get(reverse("evaluation_detail", args=[evaluation.pk])).content.decode()
    table = html[html.index('id="per-class-table"'):html.index("</table>", html.index('id="per-class-table"'))]
    assert reverse("evaluation_cell", args=[evaluation.pk, 0, 1]) in table  # cat: its cats taken for dogs
    assert reverse("evaluation_cell", args=[evaluation.pk, 2, 0]) in table  # fox: its fox taken for a cat
    assert reverse("evaluation_cell", args=[evaluation.pk, 1, 1]) in table  # dog: no errors, its right ones
    assert "Its commonest error: 2 images of cat predicted as dog" in table


def test_after_a_resume_the_phase_timings_say_they_are_the_latest_attempts(owner_client, owner, pets):
    run = make_run(owner, pets[0], attempts=2, train_seconds=41.0)
    TrainingRun.objects.filter(pk=run.pk).update(timings={"cache_s": 2.0, "fit_s": 72.0, "resumed_from": {"epoch": 2}})
    page = owner_client.get(reverse("run_detail", args=[run.pk])).content.decode()
    assert '<dd id="run-timings">attempt 2 only: cache 2 s · fit 1 min 12 s</dd>' in page
    live = owner_client.get(reverse("run_status", args=[run.pk])).json()
    assert live["timings_text"] == "attempt 2 only: cache 2 s · fit 1 min 12 s"
    TrainingRun.objects.filter(pk=run.pk).update(attempts=1)
    assert owner_client.get(reverse("run_status", args=[run.pk])).json()["timings_text"] == "cache 2 s · fit 1 min 12 s"


def test_a_resumed_run_shows_each_attempts_phases_beside_the_epochs_of_all(owner_client, owner, pets):
    run = make_run(owner, pets[0], attempts=3, train_seconds=41.0)
    carried = carried_timings(carried_timings({"cache_s": 1.0, "fit_s": 20.0}, 2) | {"cache_s": 1.0, "fit_s": 18.0}, 3)
    assert carried == {"earlier": {"attempts": 2, "cache_s": 2.0, "fit_s": 38.0}}  # what attempt 3 starts with
    TrainingRun.objects.filter(pk=run.pk).update(timings=carried | {"cache_s": 2.0, "fit_s": 72.0})
    words = "attempt 3: cache 2 s · fit 1 min 12 s; attempts 1–2 together: cache 2 s · fit 38 s"
    page = owner_client.get(reverse("run_detail", args=[run.pk])).content.decode()
    assert f'<dd id="run-timings">{words}</dd>' in page
    assert '<dd id="run-train-time">41 s in the epochs of 3 attempts</dd>' in page
    live = owner_client.get(reverse("run_status", args=[run.pk])).json()
    assert live["timings_text"] == words and live["train_time_text"] == "41 s in the epochs of 3 attempts"

def calibration_text(client, evaluation) -> str:
    html = client.get(reverse("evaluation_detail", args=[evaluation.pk])).content.decode()
    start = html.index('id="calibration-reading"')
    return html[start:html.index("</p>", start)]


def test_the_calibration_text_reads_over_confidence_from_bars_below_the_diagonal(owner_client, owner, pets):
    version, images = pets
    sure = [(images[name][i], t, 0 if name == "fox" else t, 9.0)  # ~100% sure, the foxes all wrong: right 67%
            for t, name in enumerate(("cat", "dog", "fox")) for i in range(3)]
    text = calibration_text(owner_client, make_evaluation(make_run(owner, version), sure))
    assert 'data-kind="over"' in text and "below the diagonal: the model is over-confident" in text
    assert "says 100% sure and is right 67% of the time" in text


def test_the_calibration_text_reads_under_confidence_from_bars_above_the_diagonal(owner_client, owner, pets):
    version, images = pets
    timid = [(images[name][i], t, t, 0.5) for t, name in enumerate(("cat", "dog", "fox")) for i in range(3)]
    text = calibration_text(owner_client, make_evaluation(make_run(owner, version), timid))  # 45% sure, all right
    assert 'data-kind="under"' in text and "above the diagonal: the model is under-confident" in text
    assert "says 45% sure and is right 100% of the time" in text
