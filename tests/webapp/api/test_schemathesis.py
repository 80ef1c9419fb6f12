"""Every API operation keeps the promises of its OpenAPI schema: Schemathesis, all checks, a few examples each.

The schema is the app's own (drf-spectacular's generator, as /api/schema/ serves it). Requests go through the
project's WSGI handler inside the test's transaction, so nothing a request queues ever reaches a worker, signed
in with the token of a user who owns a small dataset, a finished run, an evaluation, a network, a batch job,
an export and an explanation. A path id is either drawn at random (no such object: 404) or one of those rows.
"""

import pytest
import schemathesis
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.config import SchemathesisConfig

from webapp.wsgi import application

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

EXAMPLES = 6  # per operation and phase: every operation in about two minutes on two shared cores
OWNED_IDS: dict[str, int] = {}  # path prefix -> the id of a row the signed-in user owns (filled by `signed_in`)
OWNED_FIELDS: dict[str, object] = {}  # body field -> a value naming such a row
# A run launched here is never trained (nothing a test transaction queues is sent), but keep it tiny anyway.
TINY_RUN = {"version": None, "pretrained": False, "image_size": 16, "epochs": 1, "batch_size": 4, "optimizer": "",
            "lr": None, "weight_decay": None, "scheduler": "", "warmup_epochs": None, "label_smoothing": None,
            "augment": "none", "patience": None, "mixed_precision": "off", "seed": 0, "device": "cpu"}

# Every check runs with its defaults but one: a schema cannot say which ids exist or which names are taken,
# so a schema-valid request naming another dataset's class, or a name you already use, may be refused. It
# gets the documented 400 with the field at fault (response_schema_conformance checks that body).
CONFIG = SchemathesisConfig.from_dict({"checks": {"positive_data_acceptance": {
    "expected-statuses": ["2xx", "3xx", "400", "401", "403", "404", "409", "429", "5xx"]}}})
schema = schemathesis.openapi.from_dict(SchemaGenerator().get_schema(request=None, public=True), config=CONFIG)
schema.app = application  # every request, the checks' own probes too, goes through the WSGI handler


@pytest.fixture
def wsgi_app():
    """Keep the WSGI handler from closing the test's database connection after each request."""
    from django.core import signals
    from django.db import close_old_connections

    # As Django's own test client does: the test's transaction must outlive every request.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield application
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def signed_in(owner, settings, tmp_path) -> dict:
    """Return the headers of a request by a user who owns one of everything the API has ids for."""
    from rest_framework.authtoken.models import Token

    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.LUX_QUICK_WAIT_SECONDS = 0.1  # no worker runs here: a quick test answers 503 at once
    _own_one_of_everything(owner)
    return {"Authorization": f"Token {Token.objects.create(user=owner).key}"}


def _own_one_of_everything(owner) -> None:
    from tests.factories import FEW, TINY_SPEC, colour_image, make_version, png, saved_run
    from webapp.classify.services.explain import create_explanation
    from webapp.classify.services.jobs import create_upload_job
    from webapp.runs.models import CustomNetwork
    from webapp.runs.services.evaluations import evaluate_on_version

    version = make_version(owner, name="Colours", per_split=FEW)
    dataset, run = version.dataset, saved_run(owner, version)
    network = CustomNetwork.objects.create(owner=owner, name="tiny", spec=TINY_SPEC, image_size=16)
    explanation = create_explanation(owner, f"run:{run.pk}", data=png(colour_image("red")), name="red.png",
                                     wait=False)
    _finish_explanation(explanation)
    first, second = dataset.classes.order_by("position")[:2]
    OWNED_IDS.clear()
    OWNED_IDS.update({
        "/api/datasets/": dataset.pk, "/api/classes/": first.pk, "/api/images/": dataset.images.first().pk,
        "/api/versions/": version.pk, "/api/runs/": run.pk, "/api/networks/": network.pk,
        "/api/evaluations/": evaluate_on_version(run, version, "test", user=owner).pk,
        "/api/classify/jobs/": create_upload_job(owner, f"run:{run.pk}").pk,
        "/api/classify/exports/": _finished_export(run).pk, "/api/classify/explanations/": explanation.pk})
    OWNED_FIELDS.clear()
    OWNED_FIELDS.update({"dataset": dataset.pk, "version": version.pk, "run": run.pk, "model": f"run:{run.pk}",
                         "into": second.pk, "label": second.pk, "ids": [OWNED_IDS["/api/images/"]],
                         "arch": f"net:{network.pk}", "kind": "input"})


def _finish_explanation(explanation) -> None:
    """Give the explanation the input picture a worker would have drawn."""
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    from tests.factories import colour_image, png
    from webapp.classify.models import ExplanationStatus

    picture = ContentFile(png(colour_image("red")))
    name = default_storage.save(f"classify/explanations/{explanation.pk}/input.png", picture)
    explanation.result = {**(explanation.result or {}), "images": {"input": name}}
    explanation.status = ExplanationStatus.SUCCEEDED
    explanation.save()


def _finished_export(run):
    """Return an ONNX export of `run` as a worker leaves one that is done (the file's bytes are not a model)."""
    from pathlib import Path

    from django.conf import settings

    from webapp.classify.services.exports import request_export
    from webapp.runs.models import ModelArtifact

    artifact = request_export(run, "onnx", user=run.owner)
    path = Path(settings.MEDIA_ROOT) / run.output_dir / "model.onnx"
    path.write_bytes(b"onnx")
    ModelArtifact.objects.filter(pk=artifact.pk).update(path=str(Path(run.output_dir) / "model.onnx"), size_bytes=4,
                                                         details={"state": "done", "format": "onnx"})
    return artifact


@schema.hook
def flatmap_case(context, case):
    """Send a valid request about rows the user owns as often as one with random ids (most likely: not found)."""
    if not case.meta.generation.mode.is_positive or any(c.mode.is_negative for c in case.meta.components.values()):
        return st.just(case)  # an owned id could turn an invalid request into a valid one
    # Hypothesis tries False first: start with the owned rows, where most of the code is.
    return st.booleans().map(lambda random_ids: case if random_ids else _about_owned_rows(case))


def _about_owned_rows(case):
    path = case.operation.path
    if "id" in (case.path_parameters or {}):
        owned = next((pk for prefix, pk in OWNED_IDS.items() if path.startswith(prefix)), None)
        case.path_parameters = {**case.path_parameters, "id": str(owned or case.path_parameters["id"])}
        if "kind" in case.path_parameters:
            case.path_parameters["kind"] = OWNED_FIELDS["kind"]
    # JSON bodies only: Schemathesis re-checks a changed body, and reads a multipart file's bytes as invalid.
    if isinstance(case.body, dict) and case.media_type == "application/json":
        owned = {key: value for key, value in OWNED_FIELDS.items() if key in case.body}
        if (case.method.upper(), path) == ("POST", "/api/runs/"):
            owned.update(TINY_RUN)
        if owned:
            case.body = {**case.body, **owned}
    return case


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_every_operation_keeps_its_schema_promises(case, signed_in, wsgi_app):
    case.call_and_validate(headers=signed_in)
