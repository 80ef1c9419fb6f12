"""Fixtures for labelling tests: a dataset with three classes, a few labelled and some unlabelled images."""

import numpy as np
import pytest

from tests.factories import COLOURS, make_dataset, noisy_square, png

UNLABELLED_COUNT = 6


@pytest.fixture
def pets(owner, media):
    """Return a dataset of red/green/blue squares, 2 labelled per class and UNLABELLED_COUNT unlabelled."""
    from webapp.datasets.services.store import add_image

    dataset = make_dataset(owner, per_split={"train": 2})
    rng = np.random.default_rng(7)
    colours = list(COLOURS.values())
    for n in range(UNLABELLED_COUNT):
        outcome = add_image(dataset, png(noisy_square(colours[n % 3], size=16, rng=rng)), name=f"new-{n}.png",
                            label=None)
        assert outcome.accepted, outcome
    return dataset
