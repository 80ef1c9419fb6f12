"""A person lets Lux choose a model within a minute: the search page shows its members, curves and winner.

A real search fills its whole budget by design (each rung trains longer while time is left), and one
ResNet-18-small member alone took 93 s on a loaded 2-core machine, so a browser test of a whole 1-minute search
would take minutes. The search here is started from the form and its members are real runs trained by the real
worker, but the CPU's candidates are the custom CNN alone (2 members: two learning rates) and the plan caps the
epochs so that the search ends after two rungs (the better member continues), as a search whose budget ran out
would.
"""

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.test_run_journey import sign_in
from tests.factories import make_dataset, wait_for

pytestmark = pytest.mark.slow
SHOTS = os.environ.get("LUX_SCREENSHOTS")  # a folder: save screenshots of the search page, wide and narrow
# 8 training images of 2 classes: batches of 8, so rung 0's 40 steps are 40 short epochs.
PER_SPLIT = {"train": 4, "val": 2, "test": 1}


def shoot(page, name):
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / name), full_page=True)


def test_choose_for_me_ends_with_a_winner_whose_members_are_runs(page, owner, worker, monkeypatch):
    import training.search
    from webapp.runs.models import RunStatus
    from webapp.searches.models import Search, SearchStatus
    from webapp.searches.services import launching

    # The live server plans the search in this process. A short search: rung 1 doubles rung 0's epochs, and nobody
    # may train longer than that in all (a member that stopped early may still get another rung under the cap).
    monkeypatch.setattr(training.search, "CPU_ARCHS", ("custom",))
    plan = launching.make_plan
    monkeypatch.setattr(launching, "make_plan",
                        lambda *args: {**plan(*args), "max_epochs": 2 * plan(*args)["rung0_epochs"]})
    make_dataset(owner, name="Squares", classes=("red", "green"), per_split=PER_SPLIT)
    sign_in(page, owner)
    failures = []  # script errors, and anything the Content-Security-Policy refused
    page.on("pageerror", lambda error: failures.append(str(error)))
    page.on("console", lambda m: failures.append(m.text) if "Content Security Policy" in m.text else None)

    page.goto("/runs/new/")
    page.get_by_role("link", name="Choose for me, within N minutes").click()
    page.get_by_label("Dataset", exact=True).select_option(label="Squares")
    page.get_by_label("Within (minutes)").fill("1")
    page.get_by_role("button", name="Start the search").click()

    expect(page.locator("#search-page")).to_be_visible()
    search = Search.objects.get()
    assert page.url.endswith(f"/searches/{search.pk}/")
    expect(page.locator("#search-status")).to_have_text("Running")
    expect(page.locator(".search-members tbody tr")).to_have_count(2)
    shoot(page, "search-running-1280.png")

    wait_for(lambda: Search.objects.filter(pk=search.pk).exclude(status=SearchStatus.RUNNING).exists(),
             timeout=240, interval=1, what="the search to end", log=worker.log)
    search.refresh_from_db()
    assert search.status == SearchStatus.SUCCEEDED, (search.error, search.progress)
    # The page follows the search by itself: it shows the end without being reloaded by the test.
    expect(page.locator("#search-status")).to_have_text("Succeeded", timeout=15_000)
    members = list(search.members.select_related("run").order_by("pk"))
    # Two in rung 0, then one continuation per rung: at least rung 1, more when members stopped early (epochs are
    # those trained, so an early stop leaves room under the cap for another rung).
    rungs = [m.rung for m in members]
    assert rungs[:2] == [0, 0] and rungs[2:] == list(range(1, len(rungs) - 1)) and len(rungs) >= 3, rungs

    rows = page.locator(".search-members tbody tr")
    expect(rows).to_have_count(len(members))
    for member in members:
        row = page.locator(f'.search-members tbody tr:has(a[href="/runs/{member.run_id}/"])')
        expect(row).to_have_count(1)
        run = member.run
        expect(row.locator(".status")).to_have_text(run.get_status_display())
        assert run.status == RunStatus.SUCCEEDED, (run.pk, run.error)
        best = run.epochs.order_by("-val_accuracy").first().val_accuracy
        expect(row.locator("td").nth(4)).to_have_text(f"{member.lr:g}")  # unrounded, as the run name has it
        expect(row.locator("td").nth(1)).to_have_text(f"{100 * best:.1f}%")
    expect(page.locator(".search-members th").nth(1)).to_have_text("Val accuracy")
    expect(page.locator(".search-members tr.winner")).to_have_count(1)
    winner = page.locator(".search-members tr.winner")
    expect(winner.locator(".winner-badge")).to_have_text("winner")
    expect(winner.locator(f'a[href="/runs/{search.winner_id}/"]')).to_have_count(1)
    expect(page.locator(f'#winner a[href="/runs/{search.winner_id}/"]')).to_have_text(search.winner.name)
    best = max(m.run.epochs.order_by("-val_accuracy").first().val_accuracy for m in members)
    expect(page.locator("#winner")).to_contain_text(f"{100 * best:.1f}% validation accuracy, the best of every member")
    expect(page.locator("#search-ended")).to_be_visible()  # a finished search says when it ended, not "ends by"
    expect(page.locator("#search-bar")).to_have_attribute("aria-valuenow", str(len(members)))
    expect(page.get_by_role("link", name="Compare the winner with the first members")).to_have_attribute(
        "href", f"/runs/compare/?run={search.winner_id}&" + "&".join(f"run={m.run_id}" for m in members[:3]))

    # The curves: one line per member and measure, each with the member's epochs.
    page.wait_for_function("() => window.Chart && Chart.getChart('compare-loss') && Chart.getChart('compare-accuracy')")
    for chart in ("compare-loss", "compare-accuracy"):
        points = page.evaluate(f"""() => Chart.getChart('{chart}').data.datasets.map(
            d => d.data.filter(v => v !== null).length)""")
        assert len(points) == 2 * len(members) and all(points), (chart, points)
        # One legend entry per member (its dashed training line shares the colour), so the plot keeps its room.
        legend = page.evaluate(f"() => Chart.getChart('{chart}').legend.legendItems.map(i => i.text)")
        assert legend == [f"run {m.run_id} · custom · lr {m.lr:g}" for m in members], legend
    # A click on a member's name hides both its lines, and a second click shows them again.
    toggle = """() => { const c = Chart.getChart('compare-loss'); const n = c.legend.legendItems.length;
        c.options.plugins.legend.onClick(null, c.legend.legendItems[0], c.legend);
        return [c.isDatasetVisible(0), c.isDatasetVisible(n), c.isDatasetVisible(1)]; }"""
    assert page.evaluate(toggle) == [False, False, True]
    assert page.evaluate(toggle) == [True, True, True]
    assert not failures, failures
    shoot(page, "search-1280.png")
    page.set_viewport_size({"width": 390, "height": 844})
    shoot(page, "search-390.png")
    # The table scrolls, not the page (the charts take a frame to follow the new width: wait for it).
    page.wait_for_function("() => document.documentElement.scrollWidth <= 390", timeout=5_000)
    for chart in ("compare-loss", "compare-accuracy"):
        box = page.locator(f"#{chart}").bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390, (chart, box)
    page.set_viewport_size({"width": 1280, "height": 900})

    # Every member is a normal run: its page, and from the winner the model card (classify and export).
    page.locator(f'.search-members a[href="/runs/{members[2].run_id}/"]').click()
    expect(page.locator("#run-page")).to_be_visible()
    expect(page.locator("#run-status")).to_have_text("Succeeded")
    page.go_back()
    page.locator("#winner").get_by_role("link", name="Model card, classify & export").click()
    expect(page).to_have_url(f"/classify/models/run/{search.winner_id}/", timeout=15_000)
