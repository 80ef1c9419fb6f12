"""Fixtures for the run tests: the owner's three-class version "Pets" and a finished run on it."""

import pytest

from tests.factories import FEW, PETS, confused_evaluation, images_by_class, make_run, make_version


@pytest.fixture
def pets(owner, media):
    """Return (version, {class: [3 test images]}) of the owner's three-class dataset "Pets"."""
    version = make_version(owner, name="Pets", classes=PETS, per_split=FEW)
    return version, images_by_class(version)


@pytest.fixture
def finished(owner, pets):
    """Return (run, evaluation, images): a succeeded run and its confused test evaluation."""
    version, images = pets
    run = make_run(owner, version, name="resnet on pets")
    return run, confused_evaluation(run, images), images
