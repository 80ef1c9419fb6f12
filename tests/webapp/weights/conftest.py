"""Fixtures for the weights app: an empty torch cache, and a tiny published file on a real local HTTP server."""

import pytest
import torch

from classifier import create_model, pretrained_files
from classifier.pretrained_files import WeightsFile
from tests.weights_server import WeightsServer, sha256_named


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """Point torch's hub folder at an empty folder; return its checkpoints folder."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    return tmp_path / "torch" / "hub" / "checkpoints"


@pytest.fixture
def published(tmp_path, monkeypatch, settings, cache):
    """Serve a tiny network's "ImageNet" file named for its SHA-256, listed with torchvision's real files.

    Real files are 45 MB and up, and their checksums cannot be forged, so the tiny custom network stands in.
    """
    torch.manual_seed(0)
    path = sha256_named(tmp_path / "served", "custom", create_model("custom", num_classes=1000).state_dict())
    tiny = WeightsFile(filename=path.name, archs=("custom",), arch="custom", weights="a test file")
    real = pretrained_files.weights_files()
    monkeypatch.setattr(pretrained_files, "weights_files", lambda: [tiny, *real])
    with WeightsServer(tmp_path / "served") as server:
        settings.LUX_WEIGHTS_BASE_URL = server.base_url
        settings.LUX_OFFLINE = False
        server.entry = tiny
        server.path = path
        yield server


@pytest.fixture
def sent(monkeypatch):
    """Record the download tasks sent to the broker (queue and task id) instead of sending them."""
    from webapp.weights.tasks import fetch_weights

    calls = []
    monkeypatch.setattr(fetch_weights, "apply_async",
                        lambda args, task_id, **options: calls.append((args[0], task_id, options.get("queue"))))
    return calls
