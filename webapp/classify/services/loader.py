"""The worker's small LRU of loaded models, so a second quick test does not read the weights again.

Keyed by the model reference plus the weights file's path, size and modification time: a file replaced
under the same reference (a re-import, a re-run) is loaded afresh. Lives in the worker process (each pool
child has its own); LOADS counts the weight files this process has read, so tests and the quick-test
answer can show whether the cache was hit.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from torch import nn

from webapp.classify.services.refs import ModelSource

log = logging.getLogger(__name__)
LOADS = 0  # weight files read from disk by this process
DEFAULT_CAPACITY = 3
_CACHE: OrderedDict[tuple, LoadedModel] = OrderedDict()
_LOCK = threading.Lock()


@dataclass
class LoadedModel:
    """A model ready to answer, with what is needed to feed it and name its answers."""

    model: nn.Module
    arch: str
    class_names: list[str]
    image_size: int
    preset: object  # classifier.presets.EvalPreset
    device: object  # torch.device
    source: ModelSource
    card: object  # classifier.weights.ModelCard
    channels_last: bool = False

    @property
    def resize_size(self) -> int:
        return self.preset.resize_size


def capacity() -> int:
    """Return how many models a worker keeps loaded (LUX_MODEL_CACHE_SIZE, default 3)."""
    return max(1, int(getattr(settings, "LUX_MODEL_CACHE_SIZE", 0) or os.environ.get("LUX_MODEL_CACHE_SIZE")
                      or DEFAULT_CAPACITY))


def weights_file(source: ModelSource) -> Path:
    """Return the absolute weights file of a source."""
    if source.kind == "imagenet":
        from classifier.pretrained import imagenet_weights_path

        return imagenet_weights_path(source.arch)
    return Path(settings.MEDIA_ROOT) / source.path


def _key(source: ModelSource, device) -> tuple:
    path = weights_file(source)
    stat = path.stat()  # FileNotFoundError: the weights were deleted
    return (source.ref, str(path), stat.st_size, stat.st_mtime_ns, str(device))


def worker_device():
    """Return the device this worker classifies on (LUX_DEVICE: auto, cpu or cuda)."""
    from training.device import resolve_device

    return resolve_device(settings.LUX_DEVICE)


def get_model(source: ModelSource, *, device=None) -> tuple[LoadedModel, bool]:
    """Return (the loaded model, whether it came from the cache), loading and caching it if needed."""
    device = device or worker_device()
    key = _key(source, device)
    with _LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key], True
    loaded = _load(source, device)
    with _LOCK:
        for stale in [k for k in _CACHE if k[0] == source.ref]:  # an older file of the same reference
            del _CACHE[stale]
        _CACHE[key] = loaded
        while len(_CACHE) > capacity():
            _CACHE.popitem(last=False)
    return loaded, False


def _load(source: ModelSource, device) -> LoadedModel:
    global LOADS
    from classifier.presets import EvalPreset, preset_from_dict

    if source.kind == "imagenet":
        model, card = _imagenet(source.arch)
        model = model.to(device).eval()
    else:
        from classifier.factory import load_model

        model, card = load_model(weights_file(source), device=device)
    LOADS += 1
    from classifier.registry import model_info
    from webapp.classify.services.pipeline import use_channels_last

    channels_last = use_channels_last(model, model_info(card.arch).family)
    log.info("loaded %s (%s) on %s; %d loads in this process", source.ref, source.label, device, LOADS)
    preset = preset_from_dict(card.preset)
    if not isinstance(preset, EvalPreset):
        preset = preset.eval_preset()
    return LoadedModel(model=model, arch=card.arch, class_names=list(card.class_names), image_size=card.image_size,
                       preset=preset, device=device, source=source, card=card,
                       channels_last=channels_last)


def _imagenet(arch: str):
    """Return (model, card) for torchvision's ImageNet weights of `arch`, read from the local cache."""
    from classifier.factory import create_model
    from classifier.presets import EvalPreset
    from classifier.pretrained import imagenet_class_names
    from classifier.registry import model_info
    from classifier.weights import ModelCard

    size = model_info(arch).default_image_size
    model = create_model(arch, num_classes=1000, image_size=size, pretrained="imagenet")
    names = imagenet_class_names()
    card = ModelCard(arch=arch, num_classes=1000, class_names=names, image_size=size,
                     preset=EvalPreset(size=size).to_dict(), extra={"weights": model_info(arch).imagenet_weights})
    return model, card


def clear() -> None:
    """Forget every loaded model (tests; a worker freeing memory)."""
    with _LOCK:
        _CACHE.clear()
