"""The copy-paste examples on the API-token page and the model card really classify an image."""

import os
import subprocess
import sys
from html import unescape

import pytest
from rest_framework.authtoken.models import Token

from tests.factories import FEW, colour_image, make_version, png, saved_run

pytestmark = [pytest.mark.slow]


def snippet(html: str, name: str) -> str:
    """Return the text of the <pre data-snippet="name"> block in a page."""
    start = html.index(f'data-snippet="{name}"')
    start = html.index(">", start) + 1
    return unescape(html[start:html.index("</pre>", start)])


def test_the_curl_and_python_examples_answer_with_the_models_classes(worker, live_server, owner, client, tmp_path):
    model = saved_run(owner, make_version(owner, name="Colours", per_split=FEW))
    token = Token.objects.create(user=owner)
    client.force_login(owner)
    card = client.get(f"/classify/models/run/{model.pk}/", HTTP_HOST=live_server.url.split("//")[1]).content.decode()
    (tmp_path / "photo.jpg").write_bytes(png(colour_image("green")))
    env = {**os.environ, "LUX_TOKEN": token.key}

    curl = subprocess.run(["bash", "-c", snippet(card, "curl")], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=120)
    assert curl.returncode == 0 and '"top_k":[{' in curl.stdout.replace(" ", ""), (curl.stdout, curl.stderr)

    python = subprocess.run([sys.executable, "-c", snippet(card, "python")], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=120)
    assert python.returncode == 0, python.stderr
    assert {line.split(":")[0] for line in python.stdout.splitlines()} == {"red", "green", "blue"}

    # The token page shows the same examples, for any model (the model is the one thing to fill in).
    page = client.get("/accounts/token/", HTTP_HOST=live_server.url.split("//")[1]).content.decode()
    assert "-F model=run:ID" in snippet(page, "curl") and live_server.url in snippet(page, "curl")
