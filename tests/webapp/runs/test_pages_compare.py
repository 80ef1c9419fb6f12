"""Comparing runs: settings that differ, per-class accuracy with deltas, and the matrix difference."""

import re

import pytest
from django.urls import reverse

from tests.factories import FEW, confused_evaluation, images_by_class, make_evaluation, make_run, make_version

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]


@pytest.fixture
def two_runs(owner, pets):
    version, images = pets
    first = make_run(owner, version, name="first", config={"lr": 0.1})
    confused_evaluation(first, images)
    second = make_run(owner, version, name="second", config={"lr": 0.01})
    # Every cat right now; the fox passed for a cat stays wrong.
    outcomes = [(img, 0, 0, 3.0) for img in images["cat"]] + [(img, 1, 1, 3.0) for img in images["dog"]] + [
        (images["fox"][0], 2, 0, 2.0), (images["fox"][1], 2, 2, 3.0), (images["fox"][2], 2, 2, 3.0)]
    make_evaluation(second, outcomes)
    return first, second


def compare_url(*runs):
    return reverse("run_compare") + "?" + "&".join(f"run={run.pk}" for run in runs)


def test_it_lists_only_the_settings_that_differ(owner_client, two_runs):
    html = owner_client.get(compare_url(*two_runs)).content.decode()
    table = html[html.index('id="config-diff"'):html.index("</section>", html.index('id="config-diff"'))]
    assert re.findall(r"<code>(\w+)</code>", table) == ["lr"]
    assert "<td>0.1</td><td>0.01</td>" in table


def test_per_class_accuracy_side_by_side_with_deltas(owner_client, two_runs):
    html = owner_client.get(compare_url(*two_runs)).content.decode()
    table = html[html.index('id="per-class-compare"'):]
    cat = re.search(r"<tr><td>cat</td>(.*?)</tr>", table).group(1)
    assert "33.3%" in cat and "100.0%" in cat and '<span class="delta up">+66.7</span>' in cat
    fox = re.search(r"<tr><td>fox</td>(.*?)</tr>", table).group(1)
    assert '<span class="delta ">+0.0</span>' in fox


def test_matrix_difference_marks_what_changed(owner_client, two_runs):
    html = owner_client.get(compare_url(*two_runs)).content.decode()
    diff = html[html.index('id="matrix-diff"'):]
    cat_row = re.search(r'<tr><th scope="row">cat</th>(.*?)</tr>', diff).group(1)
    cells = re.findall(r"<td [^>]*>(.*?)</td>", cat_row)
    assert cells[:2] == ["+67", "-67"]  # more cats on the diagonal, fewer cats called dogs


def test_runs_on_different_classes_say_why_they_cannot_be_compared(owner_client, owner, two_runs):
    other = make_version(owner, name="Birds", classes=("owl", "emu"), per_split=FEW)
    images = images_by_class(other)
    third = make_run(owner, other, name="birds")
    make_evaluation(third, [(images["owl"][0], 0, 0, 2.0), (images["emu"][0], 1, 1, 2.0)])
    html = owner_client.get(compare_url(two_runs[0], third)).content.decode()
    assert 'id="not-comparable"' in html and "different classes" in html and "lacks cat, dog, fox" in html


def test_it_needs_two_runs(owner_client, two_runs):
    html = owner_client.get(compare_url(two_runs[0])).content.decode()
    assert "Pick at least two runs to compare." in html


def test_outsiders_get_404(outsider_client, two_runs):
    assert outsider_client.get(compare_url(*two_runs)).status_code == 404
