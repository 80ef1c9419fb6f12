"""Small builders the dataset page tests share: datasets, distinct tiny images, uploads."""

from django.core.files.uploadedfile import SimpleUploadedFile

from tests.hostile_files import solid_png
from webapp.datasets.models import Dataset, DatasetClass
from webapp.datasets.services.ingest import add_image


def colour(i: int) -> tuple[int, int, int]:
    """Return a colour unique to `i` (so each image has its own bytes and hash)."""
    return (i % 251, (i // 251) % 251, 100 + (i % 7))


def png(i: int = 0, size: int = 16) -> bytes:
    return solid_png(size, size, colour(i))


def upload(name: str, data: bytes, content_type: str = "image/png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


def make_dataset(owner, name: str = "Flowers", classes: tuple[str, ...] = ()) -> Dataset:
    dataset = Dataset.objects.create(owner=owner, name=name)
    for position, class_name in enumerate(classes):
        DatasetClass.objects.create(dataset=dataset, name=class_name, position=position)
    return dataset


def add_images(dataset, n: int, *, label=None, split=None, start: int = 0, size: int = 16) -> list:
    """Store `n` distinct images through the ingest service; return the Image rows."""
    images = []
    for i in range(start, start + n):
        outcome = add_image(dataset, png(i, size), name=f"img{i:04d}.png", label=label, split=split)
        assert outcome.outcome == "accepted", outcome
        images.append(outcome.image)
    dataset.touch()
    return images
