"""Fixtures for classification tests: private media, a labelled colour version, a saved tiny run."""

from pathlib import Path

import pytest


@pytest.fixture
def media(settings, tmp_path) -> Path:
    """Point storage at an empty folder of this test's own (tests without a worker only)."""
    root = tmp_path / "media"
    root.mkdir()
    settings.MEDIA_ROOT = str(root)
    return root


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
    from tests.webapp.classify.factories import colour_version

    return colour_version(owner)


@pytest.fixture
def run(owner, version):
    from tests.webapp.classify.factories import saved_run

    return saved_run(owner, version)
