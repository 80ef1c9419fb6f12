"""The results page: summary numbers, the confusion-matrix heatmap and its links, per-class table, calibration."""

import re

import pytest
from django.urls import reverse

from tests.factories import images_by_class, make_evaluation, make_run, make_version

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]


def cell_links(html: str, evaluation) -> dict[tuple[int, int], int]:
    """Return {(true, pred): count} of every linked matrix cell on the page."""
    pattern = rf'href="/runs/evaluations/{evaluation.pk}/cells/(\d+)/(\d+)/"[^>]*><span class="count">(\d+)</span>'
    return {(int(t), int(p)): int(n) for t, p, n in re.findall(pattern, html)}


def test_it_shows_the_summary(owner_client, finished):
    run, evaluation, _ = finished
    html = owner_client.get(reverse("evaluation_detail", args=[evaluation.pk])).content.decode()
    # 6 of 9 right.
    assert 'data-testid="top1">66.7%' in html
    assert "Best epoch" in html and "12 s" in html  # train_seconds 12.5


def test_every_nonzero_cell_links_to_its_gallery_with_its_count(owner_client, finished):
    _, evaluation, _ = finished
    html = owner_client.get(reverse("evaluation_detail", args=[evaluation.pk])).content.decode()
    assert cell_links(html, evaluation) == {(0, 0): 1, (0, 1): 2, (1, 1): 3, (2, 0): 1, (2, 2): 2}
    assert html.count('class="cell diagonal') == 3


def test_it_offers_the_row_normalised_view(owner_client, finished):
    _, evaluation, _ = finished
    html = owner_client.get(reverse("evaluation_detail", args=[evaluation.pk])).content.decode()
    assert 'id="normalise-toggle"' in html
    # cat row: 1 of 3 right, 2 of 3 predicted dog.
    assert '<span class="count">2</span><span class="share">67%</span>' in html
    assert '<span class="count">1</span><span class="share">33%</span>' in html


def test_per_class_table_is_worst_first_with_the_right_numbers(owner_client, finished):
    _, evaluation, _ = finished
    html = owner_client.get(reverse("evaluation_detail", args=[evaluation.pk])).content.decode()
    table = html[html.index('id="per-class-table"'):html.index("</table>", html.index('id="per-class-table"'))]
    order = re.findall(r'<tr data-class="(\w+)">', table)
    assert order == ["cat", "fox", "dog"]  # recall 1/3, 2/3, 3/3
    cat = table[table.index('data-class="cat"'):table.index('data-class="fox"')]
    # cat: precision 1/2 (fox passed for cat), recall 1/3, F1 = 2*.5*.333/(.833) = 0.4, support 3.
    assert re.findall(r'data-value="([\d.]+)"', cat) == ["0.5", "0.3333333333333333", "0.4", "3"]
    assert "50.0%" in cat and "33.3%" in cat and "0.400" in cat


def test_it_shows_calibration(owner_client, finished):
    _, evaluation, _ = finished
    html = owner_client.get(reverse("evaluation_detail", args=[evaluation.pk])).content.decode()
    assert "Expected calibration error" in html
    assert f"{evaluation.ece * 100:.2f}%" in html
    # PostgreSQL's jsonb reorders keys, so look for the first bin's parts rather than one spelling of it.
    assert 'id="reliability-chart"' in html and '"reliability": [{' in html and '"lower": 0.0' in html


def test_above_fifty_classes_it_lists_the_most_confused_pairs_instead_of_a_grid(owner_client, owner, media):
    names = tuple(f"c{i:02d}" for i in range(52))
    version = make_version(owner, name="Many", classes=names, per_split={"train": 1, "val": 1, "test": 1})
    images = images_by_class(version)
    run = make_run(owner, version)
    # Every class right except c03 (predicted c07) and c10 (predicted c11).
    outcomes = [(images[n][0], i, {3: 7, 10: 11}.get(i, i), 3.0) for i, n in enumerate(names)]
    evaluation = make_evaluation(run, outcomes)
    html = owner_client.get(reverse("evaluation_detail", args=[evaluation.pk])).content.decode()
    assert 'id="confusion-matrix"' not in html
    pairs = html[html.index('id="confused-pairs"'):]
    assert re.findall(r"<td>(c\d\d)</td><td>(c\d\d)</td>", pairs) == [("c03", "c07"), ("c10", "c11")]
    assert reverse("evaluation_cell", args=[evaluation.pk, 3, 7]) in pairs
    assert reverse("evaluation_confusion_csv", args=[evaluation.pk]) in html


def test_an_unfinished_evaluation_shows_a_waiting_page(owner_client, finished):
    run, evaluation, _ = finished
    evaluation.status = "queued"
    evaluation.save()
    response = owner_client.get(reverse("evaluation_detail", args=[evaluation.pk]))
    assert b"Evaluating on" in response.content
    status = owner_client.get(reverse("evaluation_status", args=[evaluation.pk])).json()
    assert status["status"] == "queued"
    assert owner_client.get(reverse("evaluation_cell", args=[evaluation.pk, 0, 0])).status_code == 404


def test_outsiders_get_404(outsider_client, finished):
    _, evaluation, _ = finished
    for name in ("evaluation_detail", "evaluation_status"):
        assert outsider_client.get(reverse(name, args=[evaluation.pk])).status_code == 404


def test_a_teammate_may_see_results(client, teammate, finished):
    _, evaluation, _ = finished
    client.force_login(teammate)
    assert client.get(reverse("evaluation_detail", args=[evaluation.pk])).status_code == 200
