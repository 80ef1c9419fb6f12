"""Fixtures for dataset tests: a dataset with two classes, upload helpers."""

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests import hostile_files as h


@pytest.fixture
def dataset(owner):
    from webapp.datasets.models import Dataset

    return Dataset.objects.create(owner=owner, name="Pets")


@pytest.fixture
def cats(dataset):
    from webapp.datasets.services.classes import create_class

    return create_class(dataset, "cats")


@pytest.fixture
def dogs(dataset, cats):
    from webapp.datasets.services.classes import create_class

    return create_class(dataset, "dogs")


def files_under(root: Path) -> list[str]:
    """Return every file below `root`, relative, sorted."""
    return sorted(str(p.relative_to(root)) for p in Path(root).rglob("*") if p.is_file())


def upload(name: str, data: bytes, content_type: str = "application/octet-stream") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


def jpeg(seed: int, size: int = 16) -> bytes:
    """Return a distinct small JPEG for each seed."""
    return h.good_jpeg(size, size, seed=seed)


@pytest.fixture(autouse=True)
def _empty_cache():
    """Start every test with an empty cache (health numbers are cached per dataset revision)."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def owner_api(api_client, owner):
    api_client.force_authenticate(owner)
    return api_client


@pytest.fixture
def outsider_api(outsider):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(outsider)
    return client


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    """Hash the named users' passwords cheaply: these tests are about images, not logins."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
