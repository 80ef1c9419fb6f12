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


@pytest.fixture
def suggesting_run(owner, pets):
    """Return a succeeded tiny run over a frozen version of `pets` (classes red, green, blue), with weights."""
    from tests.factories import saved_run
    from webapp.datasets.services.versions import freeze_version

    return saved_run(owner, freeze_version(pets, user=owner))


def suggest(job, image, label_name: str, confidence: float, *, margin: float | None = None,
            entropy: float = 0.5):
    """Store a suggestion of `job` for `image` as the worker would (class mapped by name)."""
    from webapp.labelling.models import Suggestion

    label = job.dataset.classes.filter(name=label_name).first()
    return Suggestion.objects.create(job=job, dataset=job.dataset, image=image, model_ref=job.model_ref,
                                     label_name=label_name, label=label, topk=[[label_name, confidence]],
                                     confidence=confidence, entropy=entropy,
                                     margin=confidence - (1 - confidence) if margin is None else margin)


@pytest.fixture
def finished_job(owner, pets, suggesting_run):
    """Return a succeeded pre-label job of `pets` with no suggestions yet (tests add them with suggest())."""
    from django.utils import timezone

    from webapp.labelling.models import PrelabelJob

    return PrelabelJob.objects.create(dataset=pets, created_by=owner, model_ref=f"run:{suggesting_run.pk}",
                                      model_label="tiny", class_names=["red", "green", "blue"], status="succeeded",
                                      finished_at=timezone.now())
