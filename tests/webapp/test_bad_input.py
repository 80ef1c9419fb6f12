"""Bad input gets a clear 4xx (JSON from the API), never a server error: on SQLite and on PostgreSQL alike.

Numbers too large for a database column (SQLite raises OverflowError), NUL characters (PostgreSQL refuses them
in text), digits that are not ASCII ("²".isdigit() is true), JSON of the wrong shape, NaN, and settings that pass
a form but cannot run.
"""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from tests.factories import colour_image, png
from tests.webapp.routes import PAGE_ROUTES
from tests.webapp.world import build_world
from webapp.classify.models import JobInput
from webapp.core.models import Worker

pytestmark = pytest.mark.django_db

HUGE = "9" * 30
NUL = "a\x00b"
BAD_IDS = [HUGE, f"-{HUGE}", "1e400", "²", "1.5", "x", NUL, "0"]
BAD_VALUES = ["", "x", "-1", "1e400", HUGE, NUL, "nan", "²"]


@pytest.fixture
def world(owner, media, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return build_world(owner)


@pytest.fixture
def signed_in(client, owner):
    client.force_login(owner)
    return client


def refused(response, *codes):
    """Assert a 4xx (one of `codes` when given) in JSON, and return the body."""
    assert 400 <= response.status_code < 500 and (not codes or response.status_code in codes), \
        (response.status_code, response.content[:300])
    assert response["Content-Type"] == "application/json", response["Content-Type"]
    return response.json()


# ---- the API's query parameters

ID_FILTERS = [("/api/runs/", "version"), ("/api/runs/", "dataset"), ("/api/evaluations/", "run"),
              ("/api/evaluations/", "version"), ("/api/images/", "class"), ("/api/images/", "dataset"),
              ("/api/classes/", "dataset"), ("/api/versions/", "dataset"), ("/api/imports/", "dataset"),
              ("/api/classify/exports/", "run")]


@pytest.mark.parametrize("value", BAD_IDS)
@pytest.mark.parametrize(("url", "name"), ID_FILTERS)
def test_an_id_filter_that_is_no_id_is_a_400(signed_in, url, name, value):
    body = refused(signed_in.get(url, {name: value}), 400)
    assert name in body or name in str(body).lower(), body


TEXT_FILTERS = [("/api/runs/", "arch"), ("/api/runs/", "status"), ("/api/runs/", "ordering"),
                ("/api/images/", "search"), ("/api/images/", "q"), ("/api/images/", "split"),
                ("/api/images/", "status"), ("/api/evaluations/", "split")]


@pytest.mark.parametrize(("url", "name"), TEXT_FILTERS)
def test_a_nul_character_in_a_text_filter_is_a_400(signed_in, url, name):
    refused(signed_in.get(url, {name: NUL}), 400)


@pytest.mark.parametrize("value", [HUGE, "-1", "nan", "1e400", NUL, "²"])
def test_the_object_endpoints_refuse_malformed_query_parameters(signed_in, world, value):
    urls = [(f"/api/runs/{world.run.pk}/status/", "since_epoch"),
            (f"/api/evaluations/{world.evaluation.pk}/predictions/", "true"),
            (f"/api/evaluations/{world.evaluation.pk}/predictions/", "predicted"),
            (f"/api/evaluations/{world.evaluation.pk}/predictions/", "correct"),
            (f"/api/classify/jobs/{world.job.pk}/results/", "class"),
            (f"/api/classify/jobs/{world.job.pk}/results/", "min_confidence"),
            (f"/api/classify/jobs/{world.job.pk}/results/", "max_confidence"),
            (f"/api/classify/jobs/{world.job.pk}/download/csv/", "min_confidence"),
            (f"/api/imports/{world.upload.pk}/items/", "outcome"),
            (f"/api/classify/jobs/{world.job.pk}/results/", "page_size"), ("/api/runs/", "page_size")]
    for url, name in urls:
        refused(signed_in.get(url, {name: value}), 400)
    for url in ("/api/runs/", f"/api/classify/jobs/{world.job.pk}/results/"):
        refused(signed_in.get(url, {"page": value}), 404)


def test_an_id_the_router_does_not_take_is_a_json_404(signed_in):
    for url in ("/api/datasets/0.5/", "/api/datasets/²/", f"/api/runs/{HUGE}/", "/api/runs/1.json",
                "/api/runs/1/epochs.json", "/api/classify/jobs/-1/results/"):
        response = signed_in.get(url, follow=True)
        refused(response, 404)


def test_an_api_error_is_json_not_a_page(signed_in, world):
    refused(signed_in.put(f"/api/runs/{world.run.pk}/", {}, content_type="application/json"), 405)
    refused(signed_in.post("/api/datasets/", "{not json", content_type="application/json"), 400)
    refused(signed_in.post("/api/datasets/", "name=x", content_type="text/csv"), 415)


# ---- the API's bodies

@pytest.mark.parametrize("body", ["[]", '"x"', "3", "null", "[{}]", '{"dataset": []}'])
def test_a_launch_whose_body_is_not_an_object_is_a_400(signed_in, body):
    refused(signed_in.post("/api/runs/", body, content_type="application/json"), 400)


@pytest.mark.parametrize("body", ["[]", '"x"', "3"])
@pytest.mark.parametrize("url", ["/api/datasets/", "/api/versions/", "/api/classes/", "/api/networks/",
                                 "/api/networks/shapes/", "/api/classify/exports/", "/api/images/bulk/"])
def test_any_json_body_that_is_not_an_object_is_a_400(signed_in, url, body):
    refused(signed_in.post(url, body, content_type="application/json"), 400)


NOT_REFS = ["run:²", "run:¹²", "imported:٣", "run:" + HUGE, "run:-1", "run:1\x00", "run:", "nothing", "run:0x1"]


def _image(name="red.png"):
    return SimpleUploadedFile(name, png(colour_image("red")), content_type="image/png")


@pytest.mark.parametrize("ref", NOT_REFS)
def test_a_model_reference_that_is_no_reference_is_a_4xx(signed_in, world, ref):
    refused(signed_in.post("/api/classify/predict/", {"model": ref, "image": _image()}), 400, 404)
    refused(signed_in.post("/api/classify/jobs/", {"model": ref, "files": [_image()]}), 400, 404)
    refused(signed_in.post("/api/classify/jobs/", {"model": ref, "version": world.version.pk, "split": "test"},
                           content_type="application/json"), 400, 404)
    refused(signed_in.post("/api/classify/explanations/", {"model": ref, "image": _image()}), 400, 404)
    for url in ("/classify/quick/", "/classify/explain/"):
        assert signed_in.post(url, {"model": ref, "images": [_image()], "image": _image()}).status_code == 400
    assert signed_in.post("/classify/jobs/new/", {"model": ref, "source": "upload",
                                                  "files": [_image()]}).status_code == 400


def test_a_model_card_of_a_key_that_is_no_id_is_a_404(signed_in, world):
    for kind, key in (("run", "²"), ("run", HUGE), ("imported", "٣"), ("imported", HUGE), ("imagenet", NUL)):
        assert signed_in.get(f"/classify/models/{kind}/{key}/").status_code == 404, (kind, key)


def test_adding_files_to_a_job_holding_one_file_numbers_them_on(signed_in, world):
    job = world.pending_job
    assert list(job.inputs.values_list("position", flat=True)) == [0]
    response = signed_in.post(f"/api/classify/jobs/{job.pk}/files/", {"files": [_image("b.png"), _image("c.png")]})
    assert response.status_code == 200 and response.json()["total"] == 3
    assert list(JobInput.objects.filter(job=job).values_list("position", flat=True)) == [0, 1, 2]
    response = signed_in.post(f"/classify/jobs/{job.pk}/files/", {"files": [_image("d.png")]})
    assert response.status_code == 200 and response.json()["total"] == 4


# ---- the job page's filters

@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "-1", "2", "abc", "1e400", "", HUGE, NUL, "NaN%"])
def test_the_job_page_reads_any_confidence_filter(signed_in, world, value):
    for name in ("min_confidence", "max_confidence", "class", "low", "errors", "page"):
        for page in ("classify_job", "classify_job_csv", "classify_job_json"):
            response = signed_in.get(reverse(page, args=[world.job.pk]), {name: value})
            assert response.status_code == 200, (page, name, value)
    refused(signed_in.get(f"/api/classify/jobs/{world.job.pk}/results/", {"min_confidence": value}), 400) \
        if value not in ("", "2", HUGE) else None


# ---- launching a run: settings that pass a form but could never run

@pytest.fixture
def launchable(world):
    return {"dataset": world.dataset.pk, "arch": f"net:{world.network.pk}", "epochs": 1, "batch_size": 3}


def test_an_image_size_beyond_what_the_worker_can_train_is_refused(signed_in, launchable, settings):
    body = refused(signed_in.post("/api/runs/", {**launchable, "image_size": 4096}, content_type="application/json"),
                   400)
    assert "image_size" in body
    response = signed_in.post(reverse("run_new"), {**launchable, "image_size": 4096})
    assert response.status_code == 200 and "image_size" in response.context["form"].errors
    body = refused(signed_in.post("/api/runs/", {**launchable, "arch": "resnet18_small", "image_size": 4,
                                                "dataset": launchable["dataset"]},
                                  content_type="application/json"), 400)
    assert "image_size" in body  # below the architecture's own smallest size


def test_cuda_is_refused_when_no_worker_has_a_gpu(signed_in, launchable):
    Worker.objects.create(hostname="cpu@box", queues="default,gpu", pid=1, device="cpu")
    body = refused(signed_in.post("/api/runs/", {**launchable, "device": "cuda"}, content_type="application/json"),
                   400)
    assert "device" in body and "GPU" in body["device"][0]
    response = signed_in.post(reverse("run_new"), {**launchable, "device": "cuda"})
    assert response.status_code == 200 and "device" in response.context["form"].errors


def test_cuda_is_accepted_when_a_worker_has_a_gpu(signed_in, launchable):
    Worker.objects.create(hostname="gpu@box", queues="default,gpu", pid=1, device="cuda (NVIDIA H200)")
    response = signed_in.post("/api/runs/", {**launchable, "device": "cuda"}, content_type="application/json")
    assert response.status_code == 201, response.json()


def test_notes_of_a_megabyte_are_refused(signed_in, launchable):
    body = refused(signed_in.post("/api/runs/", {**launchable, "notes": "n" * 1_000_000},
                                  content_type="application/json"), 400)
    assert "notes" in body
    response = signed_in.post("/api/runs/", {**launchable, "notes": "n" * 10_000}, content_type="application/json")
    assert response.status_code == 201, response.json()


@pytest.mark.slow
def test_a_one_batch_run_of_three_epochs_trains_under_the_one_cycle_schedule(worker, owner, client):
    from tests.factories import make_dataset, tiny_network, wait_until_finished
    from webapp.runs.models import RunStatus

    client.force_login(owner)
    dataset = make_dataset(owner, per_split={"train": 1, "val": 1, "test": 1})
    network = tiny_network(owner)
    response = client.post("/api/runs/", {"dataset": dataset.pk, "arch": f"net:{network.pk}", "epochs": 3,
                                          "batch_size": 3, "scheduler": "onecycle", "device": "cpu"},
                           content_type="application/json")
    assert response.status_code == 201, response.json()
    run = wait_until_finished(response.json()["id"], log=worker.log)
    assert run.status == RunStatus.SUCCEEDED, (run.error, run.traceback)
    assert run.epochs.count() == 3


# ---- pages: every GET page, every query parameter a page reads, with values no form would send

PARAMS = ["status", "dataset", "version", "arch", "network", "sort", "page", "run", "runs", "label", "split", "q",
          "search", "per_page", "back", "outcome", "class", "min_confidence", "max_confidence", "low", "errors",
          "model", "source", "next", "threshold", "check", "kind"]
PAGES_WITHOUT_IDS = ["dashboard", "dataset_list", "dataset_create", "run_list", "run_new", "run_compare",
                     "network_new", "classify_home", "classify_job_new", "classify_model_import",
                     "classify_explain_new", "accounts", "api_token"]
# The pages whose views read request.GET: each of their parameters is also sent on its own.
READERS = {"run_list", "run_new", "run_compare", "dataset_browse", "image_detail", "import_detail",
           "evaluation_cell", "classify_job", "classify_job_csv", "classify_job_json", "classify_home",
           "classify_job_new", "classify_explain_new", "datachecks_page", "datachecks_labels", "datachecks_status"}


def _get_pages(world) -> list[tuple[str, str]]:
    """Return (name, url) of every page that answers its owner's GET."""
    pages = [(name, reverse(name)) for name in PAGES_WITHOUT_IDS]
    for name, visits in PAGE_ROUTES.items():
        pages += [(name, reverse(name, kwargs=v.kwargs(world))) for v in visits if v.owner.get("GET") == 200]
    return pages


@pytest.mark.parametrize("value", BAD_VALUES)
def test_no_page_fails_on_a_malformed_query_parameter(signed_in, world, value):
    for name, url in _get_pages(world):
        response = signed_in.get(url, {param: value for param in PARAMS})
        assert response.status_code < 500, (url, value)
        for param in PARAMS if name in READERS else ():
            response = signed_in.get(url, {param: value})
            assert response.status_code < 500, (url, param, value)


def test_the_run_pages_ignore_ids_no_database_holds(signed_in, world):
    for query in ({"dataset": HUGE}, {"dataset": "²"}, {"run": [HUGE, world.run.pk]}, {"runs": f"{HUGE},²"},
                  {"version": HUGE}, {"network": HUGE}, {"arch": NUL}, {"status": NUL}):
        for url in (reverse("run_list"), reverse("run_compare"), reverse("run_new")):
            assert signed_in.get(url, query).status_code in (200, 404), (url, query)
