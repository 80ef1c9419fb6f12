"""Fixtures every web app test may use: a private media folder, and an empty cache."""

from pathlib import Path

import pytest


@pytest.fixture
def media(settings, tmp_path) -> Path:
    """Point storage at an empty folder of this test's own and return it (tests without a worker only).

    A worker process keeps the MEDIA_ROOT it started with, so a test that needs one must not move it.
    """
    root = tmp_path / "media"
    root.mkdir()
    settings.MEDIA_ROOT = root  # a Path, as settings.py makes it
    return root


@pytest.fixture(autouse=True)
def fresh_cache():
    """Start every test with an empty cache: ids and revisions repeat between tests, so cached answers would too."""
    from django.core.cache import cache

    cache.clear()
