"""Copy-paste examples of calling the predict endpoint, shown on the API-token page and on every model card."""

from __future__ import annotations

import shlex

from django.urls import reverse

MODEL_PLACEHOLDER = "run:ID"


def predict_snippets(request, model_ref: str = MODEL_PLACEHOLDER) -> dict[str, str]:
    """Return {"curl": ..., "python": ...} that classify photo.jpg with `model_ref` on this server."""
    # The token is read from the environment, never pasted into the snippet: shell history and notebooks keep it.
    url = request.build_absolute_uri(reverse("classify-predict-list"))
    curl = "\n".join([
        f"curl -sS -X POST {shlex.quote(url)} \\",
        '  -H "Authorization: Token $LUX_TOKEN" \\',
        f"  -F {shlex.quote(f'model={model_ref}')} -F top_k=5 -F image=@photo.jpg",
    ])
    python = "\n".join([
        "import os, time, requests",
        "",
        f"URL = {url!r}",
        'headers = {"Authorization": f"Token {os.environ[\'LUX_TOKEN\']}"}',
        'with open("photo.jpg", "rb") as image:',
        f"    answer = requests.post(URL, headers=headers, data={{'model': {model_ref!r}, 'top_k': 5}},",
        '                           files={"image": image})',
        "while answer.status_code == 202:  # the worker needs longer: ask again where it says",
        "    time.sleep(0.5)",
        '    answer = requests.get(requests.compat.urljoin(URL, answer.json()["status_url"]), headers=headers)',
        "answer.raise_for_status()",
        'for guess in answer.json()["top_k"]:',
        '    print(f"{guess[\'name\']}: {guess[\'probability\']:.1%}")',
    ])
    return {"curl": curl, "python": python}
