"""Fixtures for the training-engine tests: a tiny colour folder and its cache."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.training.training_helpers import make_colour_folder, tiny_config
from training import build_cache, cache_size_for, scan_image_folder


@pytest.fixture(scope="session")
def colour_folder(tmp_path_factory) -> Path:
    return make_colour_folder(tmp_path_factory.mktemp("colours"))


@pytest.fixture(scope="session")
def colour_data(colour_folder, tmp_path_factory):
    """The colour folder, cached at 16 px (48 train, 6 val, 6 test images)."""
    source = scan_image_folder(colour_folder, seed=0)
    return build_cache(source, cache_size=cache_size_for(tiny_config()),
                       cache_dir=tmp_path_factory.mktemp("cache"))
