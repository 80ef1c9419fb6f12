"""Fixtures for data-check tests: small photos made with Pillow, their resized copies, and a leaking dataset."""

import io

import numpy as np
import pytest
from PIL import Image as PILImage


def photo(seed: int, size: int = 96) -> PILImage.Image:
    """Return a smooth random picture (an 8x8 colour field blown up), unlike any other seed's."""
    rng = np.random.default_rng(seed)
    small = PILImage.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8))
    return small.resize((size, size), PILImage.Resampling.BICUBIC)


def encoded(image: PILImage.Image, fmt: str = "PNG") -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **({"quality": 85} if fmt == "JPEG" else {}))
    return out.getvalue()


def copy_of(seed: int) -> bytes:
    """Return a near-copy of photo(seed): resized to 70 px and saved as JPEG (other bytes, same picture)."""
    return encoded(photo(seed).resize((70, 70), PILImage.Resampling.LANCZOS), "JPEG")


def add(dataset, data: bytes, *, name: str, split: str, label=None):
    from webapp.datasets.services.store import add_image

    outcome = add_image(dataset, data, name=name, label=label, split=split)
    assert outcome.accepted, outcome
    return outcome.image


@pytest.fixture
def leaky(owner, media):
    """Return a dataset whose photo 1 is in train and its copy in test, photo 2 twice in train, photos 3-5 alone."""
    from webapp.datasets.models import Dataset, DatasetClass

    dataset = Dataset.objects.create(owner=owner, name="Leaky")
    cat = DatasetClass.objects.create(dataset=dataset, name="cat", position=0)
    dog = DatasetClass.objects.create(dataset=dataset, name="dog", position=1)
    images = {
        "a": add(dataset, encoded(photo(1)), name="a.png", split="train", label=cat),
        "a_copy": add(dataset, copy_of(1), name="a-copy.jpg", split="test", label=cat),
        "b": add(dataset, encoded(photo(2)), name="b.png", split="train", label=dog),
        "b_copy": add(dataset, copy_of(2), name="b-copy.jpg", split="train", label=dog),
    }
    for seed, split in ((3, "train"), (4, "val"), (5, "test")):
        images[f"p{seed}"] = add(dataset, encoded(photo(seed)), name=f"p{seed}.png", split=split,
                                 label=cat if seed % 2 else dog)
    dataset.refresh_from_db()
    dataset.pics = images
    return dataset


@pytest.fixture
def sent_checks(monkeypatch):
    """Record the check tasks sent to the broker (queue, task id) instead of sending them."""
    from webapp.datachecks.tasks import run_check

    sent = []
    monkeypatch.setattr(run_check, "apply_async",
                        lambda args=None, task_id=None, queue=None, **kw: sent.append((queue, task_id)))
    return sent


@pytest.fixture(autouse=True)
def no_heartbeat_here(monkeypatch):
    """Run checks in-process without a heartbeat: a test's rows are not committed (django_db), so the heartbeat
    thread, on a connection of its own, would find no row to beat and stop the check as lost after a second
    on PostgreSQL. The drills in tests/webapp/core/test_job_reaping.py run real workers, heartbeats and all."""
    import webapp.datachecks.worker

    monkeypatch.setattr(webapp.datachecks.worker, "PROGRESS_INTERVAL_S", 3600.0)
