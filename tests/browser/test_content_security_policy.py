"""Under the Content-Security-Policy, Chromium refuses nothing on the main pages, and they still work:
charts draw, heatmap cells are shaded, bars have widths, confirmations ask, Swagger UI and ReDoc list operations.
"""

import pytest
from playwright.sync_api import expect

from tests.conftest import PASSWORD
from tests.factories import FEW, PETS, confused_evaluation, images_by_class, make_evaluation, make_run, make_version

# Collects every violation the page reports, before any of its own scripts run.
RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__violations.push(e.violatedDirective + " blocked " + (e.blockedURI || "inline") + " at " + e.sourceFile
    + ":" + e.lineNumber);
});
"""


@pytest.fixture
def watched(page, settings, tmp_path):
    """Return the page and a list that gathers console errors about the policy ("Refused to ...")."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    refused = []
    page.context.add_init_script(RECORD_VIOLATIONS)
    page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text
            or m.text.startswith("Refused to") else None)
    return page, refused


def sign_in(page, user):
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def assert_nothing_refused(page, refused, where, *, allowed=()):
    """Fail if the page reported a violation, except for blocked addresses in `allowed`."""
    page.wait_for_load_state("load")
    violations = [v for v in page.evaluate("window.__violations") if not any(a in v for a in allowed)]
    messages = [m for m in refused if not any(a in m for a in allowed)]
    assert not violations and not messages, f"{where}: {violations} {messages}"
    refused.clear()  # all were allowed: start the next page afresh


def test_main_pages_run_under_the_policy(watched, owner):
    page, refused = watched
    version = make_version(owner, classes=PETS, per_split=FEW)
    images = images_by_class(version)
    run = make_run(owner, version, name="resnet on pets")
    evaluation = confused_evaluation(run, images)
    dataset = version.dataset
    image = images["cat"][0]
    sign_in(page, owner)

    response = page.goto("/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert_nothing_refused(page, refused, "dashboard")

    page.goto(f"/datasets/{dataset.pk}/")
    expect(page.locator("canvas").first).to_be_visible()
    assert page.evaluate("() => Object.keys(Chart.instances).length") >= 1  # the health chart drew
    assert_nothing_refused(page, refused, "dataset page")

    for path in (f"/datasets/{dataset.pk}/upload/", f"/datasets/{dataset.pk}/imports/new/",
                 f"/datasets/{dataset.pk}/images/", f"/datasets/{dataset.pk}/images/{image.pk}/",
                 "/runs/", "/runs/new/", "/classify/"):
        page.goto(path)
        assert_nothing_refused(page, refused, path)

    page.goto(f"/runs/{run.pk}/")
    expect(page.locator("#loss-chart")).to_be_visible()
    assert page.evaluate("() => Chart.getChart('loss-chart').data.datasets[0].data.length") == 3
    assert_nothing_refused(page, refused, "run page")

    page.goto(f"/runs/evaluations/{evaluation.pk}/")
    # The 2-of-3 cats-as-dogs cell is shaded red from a stylesheet class, not a style attribute.
    cell = page.locator("#confusion-matrix tbody tr").nth(0).locator("td.cell").nth(1)
    shade = page.evaluate("(td) => getComputedStyle(td).backgroundColor", cell.element_handle())
    assert shade.startswith("rgba(179, 38, 30, 0.65"), shade  # alpha 0.654 for a share of 0.7, as 8 bits
    assert page.evaluate("() => Chart.getChart('per-class-chart').data.labels.length") == 3
    box_height = page.evaluate("() => document.getElementById('per-class-chart').parentElement.offsetHeight")
    assert box_height == 220  # 60 + 3 rows x 22 px is under the minimum: the rows were counted
    assert_nothing_refused(page, refused, "results")

    page.goto(f"/runs/evaluations/{evaluation.pk}/cells/0/1/")
    widths = page.locator(".conf-bar span").evaluate_all("spans => spans.map((s) => s.style.width)")
    assert len(widths) == 2 and all(w.endswith("%") and float(w[:-1]) > 30 for w in widths)
    before = dataset.images.filter(deleted_at__isnull=True).count()
    page.once("dialog", lambda dialog: dialog.dismiss())  # removing asks first; say no
    page.get_by_role("button", name="Remove from dataset").first.click()
    page.wait_for_timeout(300)
    assert dataset.images.filter(deleted_at__isnull=True).count() == before == 21  # nothing was removed
    assert_nothing_refused(page, refused, "gallery")

    better = make_run(owner, version, name="better")
    make_evaluation(better, [(img, k, k, 3.0) for k, name in enumerate(("cat", "dog", "fox")) for img in images[name]])
    page.goto(f"/runs/compare/?runs={run.pk},{better.pk}")
    # Cats: more on the diagonal and fewer called dogs are both better, so both cells are green.
    cells = page.locator("table.matrix.diff tbody tr").nth(0).locator("td.cell")
    shades = cells.evaluate_all("tds => tds.map((td) => getComputedStyle(td).backgroundColor)")
    assert shades[0].startswith("rgba(26, 127, 75, 0.65") and shades[1].startswith("rgba(26, 127, 75, 0.65"), shades
    assert shades[2].endswith(", 0)")  # unchanged: transparent
    assert_nothing_refused(page, refused, "compare")


def test_api_docs_run_under_the_policy(watched, owner):
    page, refused = watched
    sign_in(page, owner)

    page.goto("/api/docs/")
    expect(page.locator(".opblock").first).to_be_visible()  # Swagger UI read the schema and listed operations
    assert page.locator(".opblock").count() > 20
    assert_nothing_refused(page, refused, "Swagger UI")

    page.goto("/api/redoc/")
    # ReDoc reads the whole schema before it shows anything: slow on a busy machine.
    expect(page.locator("[role=menuitem]").first).to_be_visible(timeout=60_000)  # it listed operations
    expect(page.get_by_text("Datasets, training runs, evaluations").first).to_be_visible()
    # Its footer logo comes from a CDN, which the policy refuses (Lux works offline); the link text stays.
    assert_nothing_refused(page, refused, "ReDoc", allowed=("https://cdn.redoc.ly/",))
