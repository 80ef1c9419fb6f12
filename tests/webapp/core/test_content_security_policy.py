"""Every page is sent with the Content-Security-Policy, and its HTML holds nothing the policy would refuse:
no inline script (JSON data blocks aside), no on*= handler, no style attribute or element, no javascript: URL.

The pages are found by walking the URL resolver, so a new page is checked without being listed here.
"""

from html.parser import HTMLParser

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tests.factories import (
    FEW,
    PETS,
    colour_image,
    confused_evaluation,
    images_by_class,
    make_evaluation,
    make_run,
    make_version,
    png,
    saved_run,
)
from webapp.core.csp import PAGE_POLICY, REDOC_POLICY

pytestmark = pytest.mark.django_db

# What each route's <pk> is, by the start of its URL name (the longest prefix wins); the rest are datasets.
PK_OF = {"run_": "run", "evaluation_": "evaluation", "gallery_": "evaluation", "network_": "network",
         "classify_job": "job", "classify_imported": "imported", "classify_export": "saved",
         "classify_artifact": "weights", "classify_explanation": "explanation"}


class Inline(HTMLParser):
    """Collect every piece of markup that the page policy would refuse to run or apply."""

    def __init__(self):
        super().__init__()
        self.refused = []

    def handle_starttag(self, tag, attrs):
        names = dict(attrs)
        if tag == "script" and "src" not in names and names.get("type") != "application/json":
            self.refused.append(f"inline <script> at line {self.getpos()[0]}")
        if tag == "style":
            self.refused.append(f"<style> element at line {self.getpos()[0]}")
        for name, value in attrs:
            if name.startswith("on") or name == "style":
                self.refused.append(f'<{tag} {name}="{value}"> at line {self.getpos()[0]}')
            elif name in ("href", "src", "action", "formaction") and (value or "").strip().lower().startswith(
                    "javascript:"):
                self.refused.append(f'<{tag} {name}="{value}"> at line {self.getpos()[0]}')


def refused_markup(html: str) -> list[str]:
    parser = Inline()
    parser.feed(html)
    return parser.refused


def page_routes(patterns=None, prefix=""):
    """Yield (URL name, parameter names) of every named route outside /admin/ and the REST API."""
    for entry in patterns if patterns is not None else get_resolver().url_patterns:
        if isinstance(entry, URLResolver):
            route = prefix + str(entry.pattern)
            if not route.startswith(("admin/", "api/")):
                yield from page_routes(entry.url_patterns, route)
        elif isinstance(entry, URLPattern) and entry.name:
            yield entry.name, list(entry.pattern.converters)


@pytest.fixture
def eager():
    """Run tasks in this process when they are sent (the quick test answers in the request)."""
    from webapp.celery import app

    before = (app.conf.task_always_eager, app.conf.task_eager_propagates)
    app.conf.task_always_eager, app.conf.task_eager_propagates = True, True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = before


@pytest.fixture
def world(owner, settings, tmp_path):
    """Return one of everything a page shows, in the states whose templates differ most."""
    from classifier.presets import EvalPreset
    from webapp.classify.models import (
        ClassificationJob,
        Explanation,
        ImportedModel,
        JobSource,
        JobStatus,
        Prediction,
    )
    from webapp.classify.worker.explain import run_explanation
    from webapp.datasets.models import Import, ImportStatus
    from webapp.runs.models import CustomNetwork, Evaluation, EvaluationStatus

    settings.MEDIA_ROOT = str(tmp_path / "media")
    version = make_version(owner, classes=PETS, per_split=FEW)
    images = images_by_class(version)
    run = make_run(owner, version, name="resnet on pets")
    evaluation = confused_evaluation(run, images)
    better = make_run(owner, version, name="better")
    make_evaluation(better, [(img, k, k, 3.0) for k, name in enumerate(("cat", "dog", "fox")) for img in images[name]])
    pending = Evaluation.objects.create(run=run, version=version, split="val", class_names=version.class_names,
                                        status=EvaluationStatus.QUEUED)
    saved = saved_run(owner, version)
    job = ClassificationJob.objects.create(owner=owner, model_ref=f"run:{saved.pk}", model_label="tiny",
                                           source=JobSource.UPLOAD, status=JobStatus.SUCCEEDED, total=2, done=2,
                                           class_names=list(version.class_names))
    for position, (index, confidence) in enumerate([(0, 0.9), (1, 0.4)]):
        Prediction.objects.create(job=job, position=position, name=f"{position}.png", predicted_index=index,
                                  confidence=confidence, topk=[[index, confidence], [2, 0.05]])
    explanation = Explanation.objects.create(owner=owner, model_ref=f"run:{saved.pk}", model_label="tiny",
                                             image=images["cat"][0].file.name)
    run_explanation(explanation.pk)
    imported = ImportedModel.objects.create(owner=owner, name="imp", arch="custom", class_names=["a"],
                                            image_size=16, preset=EvalPreset(size=16).to_dict(), file="x",
                                            original_format="pth", sha256="0")
    dataset = version.dataset
    return {
        "dataset": dataset, "run": run, "better": better, "evaluation": evaluation, "pending": pending,
        "saved": saved, "job": job, "explanation": explanation, "imported": imported,
        "weights": saved.artifacts.get(kind="weights"),
        "network": CustomNetwork.objects.create(owner=owner, name="probe", image_size=8,
                                                spec=[{"type": "flatten"}, {"type": "linear", "features": 4}]),
        "import": Import.objects.create(dataset=dataset, created_by=owner, status=ImportStatus.RUNNING, total=10,
                                        done=4, accepted=4),
        "image": images["cat"][0], "class": dataset.classes.first(), "version": version,
    }


def route_kwargs(name: str, params: list[str], world: dict) -> dict:
    """Return the arguments that make route `name` show `world`'s rows."""
    owner_of_pk = max((p for p in PK_OF if name.startswith(p)), key=len, default=None)
    values = {
        "pk": world[PK_OF[owner_of_pk]].pk if owner_of_pk else world["dataset"].pk,
        "import_pk": world["import"].pk, "image_pk": world["image"].pk, "class_pk": world["class"].pk,
        "number": world["version"].number, "true": 0, "pred": 1, "image_id": world["image"].pk, "position": 0,
        "kind": "overlay" if name == "classify_explanation_png" else "run", "key": world["saved"].pk, "fmt": "onnx",
        "ticket": f"{world['dataset'].owner_id}-{'0' * 32}",  # a quick test already collected: its 404 page
        "batch_pk": 10**9,  # a bulk label batch that does not exist: its 404 page
    }
    return {param: values[param] for param in params}


def test_every_page_is_sent_with_the_policy_and_holds_nothing_it_refuses(owner_client, world, eager):
    checked = []
    for name, params in page_routes():
        url = reverse(name, kwargs=route_kwargs(name, params, world))
        response = owner_client.get(url)
        assert response.status_code < 500, url
        assert response["Content-Security-Policy"], url
        if response.get("Content-Type", "").startswith("text/html") and response.status_code == 200:
            assert refused_markup(response.content.decode()) == [], url
            checked.append(name)
    # The walk reached the pages that carried inline code before, in the states that showed it.
    for name in ("dataset_detail", "import_create", "import_detail", "evaluation_detail", "evaluation_cell",
                 "run_compare", "classify_job", "classify_model_card", "classify_explanation", "run_detail"):
        assert name in checked, name
    assert len(checked) >= 35, checked

    pending = owner_client.get(reverse("evaluation_detail", args=[world["pending"].pk])).content.decode()
    assert "evaluation_pending.js" in pending and refused_markup(pending) == []
    compare = owner_client.get(reverse("run_compare") + f"?runs={world['run'].pk},{world['better'].pk}")
    assert 'class="cell diagonal dark up shade-7"' in compare.content.decode()  # cats: 33% right, now all
    assert refused_markup(compare.content.decode()) == []
    answer = owner_client.post(reverse("classify_quick"), {
        "model": f"run:{world['saved'].pk}", "images": [SimpleUploadedFile("r.png", png(colour_image("red")))]})
    assert b"cl-bars" in answer.content and refused_markup(answer.content.decode()) == []


def test_pages_for_visitors_are_sent_with_the_policy(client, owner):
    for url in ("/accounts/login/", "/healthz", "/no-such-page/"):
        response = client.get(url)
        assert response["Content-Security-Policy"] == PAGE_POLICY, url
        if response["Content-Type"].startswith("text/html"):
            assert refused_markup(response.content.decode()) == [], url


def test_the_page_policy_allows_only_lux_itself():
    directives = dict(part.split(" ", 1) for part in PAGE_POLICY.split("; "))
    assert directives == {
        "default-src": "'self'", "img-src": "'self' data: blob:", "style-src": "'self'", "script-src": "'self'",
        "object-src": "'none'", "base-uri": "'self'", "frame-ancestors": "'none'", "form-action": "'self'"}


def test_swagger_ui_loads_its_start_up_code_as_a_file(owner_client):
    page = owner_client.get("/api/docs/")
    assert page["Content-Security-Policy"] == PAGE_POLICY
    html = page.content.decode()
    assert refused_markup(html) == []
    assert '<script src="/api/docs/?script="></script>' in html
    script = owner_client.get("/api/docs/?script=")
    assert script["Content-Type"].startswith("application/javascript")
    assert b"SwaggerUIBundle" in script.content and b'"/api/schema/"' in script.content


def test_redoc_gets_its_own_policy_with_scripts_still_from_files(owner_client):
    page = owner_client.get("/api/redoc/")
    assert page["Content-Security-Policy"] == REDOC_POLICY
    assert "script-src 'self';" in REDOC_POLICY and "unsafe-eval" not in REDOC_POLICY
    html = page.content.decode()
    assert refused_markup(html) == []
    assert "fonts.googleapis.com" not in html  # Lux works offline
