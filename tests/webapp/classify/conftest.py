"""Fixtures for classification tests: eager tasks, a labelled colour version, a saved tiny run."""

import pytest


@pytest.fixture
def eager():
    """Run tasks in this process when they are sent (for pages that wait on a task's result)."""
    from webapp.celery import app

    before = (app.conf.task_always_eager, app.conf.task_eager_propagates)
    app.conf.task_always_eager, app.conf.task_eager_propagates = True, True
    yield app
    app.conf.task_always_eager, app.conf.task_eager_propagates = before


@pytest.fixture
def version(owner, media):
    from tests.factories import FEW, make_version

    return make_version(owner, name="Colours", per_split=FEW)


@pytest.fixture
def run(owner, version):
    from tests.factories import saved_run

    return saved_run(owner, version)
