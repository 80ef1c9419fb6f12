"""An uploaded image whose bytes are also a web page (a polyglot) is sent so that it can never run: typed by
the format Lux found in it (not the upload's name), no sniffing, and a sandboxing policy that loads nothing."""

import io

import pytest
from PIL import Image as PILImage
from PIL.PngImagePlugin import PngInfo

from webapp.datasets.models import Dataset
from webapp.datasets.services.store import add_image

pytestmark = pytest.mark.django_db
PAGE = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"
SANDBOX = "default-src 'none'; style-src 'unsafe-inline'; sandbox"


def png_page() -> bytes:
    """Return a valid PNG that carries a whole HTML page with a script in a text chunk."""
    info = PngInfo()
    info.add_text("Comment", PAGE.decode())
    out = io.BytesIO()
    PILImage.new("RGB", (8, 8), (200, 30, 60)).save(out, "PNG", pnginfo=info)
    return out.getvalue()


def gif_page() -> bytes:
    """Return a valid GIF89a that carries an HTML page with a script in its comment."""
    out = io.BytesIO()
    PILImage.new("P", (300, 300), 1).save(out, "GIF", comment=PAGE)  # too big to be its own thumbnail
    return out.getvalue()


@pytest.fixture
def dataset(owner, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return Dataset.objects.create(owner=owner, name="Polyglots")


def stored(dataset, data: bytes, name: str):
    outcome = add_image(dataset, data, name=name, label=None)
    assert outcome.accepted, outcome
    return outcome.image


def assert_cannot_run(response, content_type: str):
    assert response.status_code == 200
    assert response["Content-Type"] == content_type
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == SANDBOX
    disposition = response["Content-Disposition"]
    assert disposition.startswith("inline;") and ".html" not in disposition and ".svg" not in disposition


@pytest.mark.parametrize("make, upload_name, content_type", [
    (png_page, "cat.html", "image/png"), (gif_page, "cat.svg", "image/gif")])
def test_a_polyglot_image_is_sent_so_it_cannot_run(owner_client, dataset, make, upload_name, content_type):
    data = make()
    assert b"<script>" in data and PILImage.open(io.BytesIO(data)).format in ("PNG", "GIF")
    image = stored(dataset, data, upload_name)

    response = owner_client.get(f"/datasets/{dataset.pk}/images/{image.pk}/file/")
    assert_cannot_run(response, content_type)
    assert b"".join(response.streaming_content) == data  # the bytes as uploaded: the headers are the guard

    thumbnail = owner_client.get(f"/datasets/{dataset.pk}/images/{image.pk}/thumbnail/")
    assert_cannot_run(thumbnail, "image/png" if content_type == "image/png" else "image/webp")


def test_the_api_sends_uploaded_files_the_same_way(api_client, owner, dataset):
    image = stored(dataset, png_page(), "cat.html")
    api_client.force_authenticate(owner)
    for url in (f"/api/images/{image.pk}/content/", f"/api/images/{image.pk}/thumbnail/"):
        assert_cannot_run(api_client.get(url), "image/png")


def test_pages_keep_the_page_policy(owner_client, dataset):
    image = stored(dataset, png_page(), "cat.html")
    response = owner_client.get(f"/datasets/{dataset.pk}/images/{image.pk}/")
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert "sandbox" not in response["Content-Security-Policy"]
