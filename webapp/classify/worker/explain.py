"""Explanations, the worker's side: compute and store every picture of one explanation."""

from __future__ import annotations

import logging
import time
import uuid

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from webapp.classify.models import Explanation, ExplanationStatus
from webapp.classify.services import refs
from webapp.classify.services.explain import ExplainError, png_names
from webapp.classify.services.reaper import EXPLANATIONS
from webapp.core.reaping import Heartbeat

log = logging.getLogger(__name__)
GRID_MIN_WIDTH = 256  # small grids are scaled up (nearest neighbour) to at least this many pixels
STAGE_CHANNELS = 16
FILTERS_SHOWN = 64


def run_explanation(explanation_id: int, *, worker: str = "", token: str | None = None) -> str:
    """Compute and store every picture of one explanation (the task body).

    `token` is the task id of the message: one the explanation no longer names (asked again since, or a
    late redelivery) claims nothing, and a worker that lost its claim writes nothing.
    """
    attempt = EXPLANATIONS.claim(explanation_id, token=token, worker=worker)
    if attempt is None:
        return "not claimed"
    explanation = Explanation.objects.get(pk=explanation_id)
    leased = EXPLANATIONS.leased(explanation_id, attempt)
    with Heartbeat.of(EXPLANATIONS, explanation_id, attempt):
        try:
            result = _compute(explanation)
        except Exception as error:
            log.exception("explanation %s failed", explanation_id)
            message = getattr(error, "message", None) or f"{type(error).__name__}: {error}"
            leased.update(status=ExplanationStatus.FAILED, error=f"Could not explain this image: {message}"[:2000])
            return "failed"
    return "succeeded" if leased.update(status=ExplanationStatus.SUCCEEDED, result=result) else "lost"


def _compute(explanation: Explanation) -> dict:
    from classifier.explain import (
        attention_rollout,
        cam_layers,
        channel_grid,
        choose_layer,
        feature_maps,
        filter_grid,
        first_layer_filters,
        grad_cam,
        grid_png,
        heatmap_png,
        overlay_png,
        png_bytes,
    )
    from classifier.registry import model_info
    from webapp.classify.services import loader
    from webapp.classify.services.decode import as_seen, decode
    from webapp.classify.services.pipeline import answer, prepare
    from webapp.datasets.services.store import image_limits

    started = time.perf_counter()
    loaded, _ = loader.get_model(refs.resolve(explanation.owner, explanation.model_ref))
    with default_storage.open(explanation.image, "rb") as handle:
        pixels = decode(handle.read(), loaded.resize_size, limits=image_limits()).pixels
    x = prepare(loaded.preset, [pixels], device=loaded.device)  # (1, 3, S, S)
    seen = as_seen(x[0], loaded.preset.mean, loaded.preset.std)  # PIL, S x S
    probabilities, indices, _ = answer(loaded.model, x, k=5)
    names = loaded.class_names
    top = [{"index": int(i), "name": names[int(i)], "probability": float(p)}
           for p, i in zip(probabilities[0], indices[0], strict=True)]
    folder = f"classify/explanations/{explanation.pk}/{uuid.uuid4().hex[:8]}"
    write = _writer(folder)
    vit = model_info(loaded.arch).family == "vit"
    chosen = explanation.class_index if explanation.class_index is not None else top[0]["index"]
    if not 0 <= chosen < len(names):
        raise ExplainError(f"the model has {len(names)} classes; class {chosen} does not exist")
    layers, cam_layer = [], ""
    if vit:
        heat, method, layer = attention_rollout(loaded.model, x[0]), "Attention rollout", "all attention blocks"
    else:
        found = cam_layers(loaded.model, x[0])
        if explanation.layer and explanation.layer not in {row.name for row in found}:
            raise ExplainError(f"the model has no layer {explanation.layer!r} that Grad-CAM can use; choose one "
                               "of the layers the explanation page offers")
        cam = grad_cam(loaded.model, x[0], class_index=chosen, layer=explanation.layer or None)
        described = next(row for row in found if row.name == cam.layer)
        heat, method, cam_layer = cam.heatmap, "Grad-CAM", cam.layer
        layer = f"{cam.layer} ({described.kind}, {described.height}×{described.width})"
        layers = offered_layers(found, chosen=cam.layer, automatic=choose_layer(found).name)
    images = {"input": write("input", png_bytes(seen)), "overlay": write("overlay", overlay_png(seen, heat)),
              "heatmap": write("heatmap", heatmap_png(heat))}
    stages = []
    if not vit:
        for stage, activations in feature_maps(loaded.model, x[0]):
            grid = channel_grid(activations, count=STAGE_CHANNELS)  # (H, W)
            stages.append({"name": stage, "channels": int(activations.shape[0]), "height": int(activations.shape[1]),
                           "width": int(activations.shape[2]), "shown": min(STAGE_CHANNELS, activations.shape[0]),
                           "image": write(f"stage-{stage}", grid_png(grid, scale=_scale(grid.shape[-1])))})
    filters = first_layer_filters(loaded.model)  # (N, C, k, k)
    grid = filter_grid(filters, count=FILTERS_SHOWN)
    images["filters"] = write("filters", grid_png(grid if grid.shape[0] == 3 else grid[:1],
                                                  scale=_scale(grid.shape[-1])))
    _forget_old(explanation)
    return {
        "top": top, "classes": len(names), "class_names_all": list(names[:2000]), "class_index": chosen,
        "class_name": names[chosen],
        "method": method, "layer": layer, "layer_name": cam_layer, "layer_auto": not explanation.layer,
        "layers": layers, "class_agnostic": vit, "image_size": loaded.preset.size,
        "arch": loaded.arch, "images": images, "stages": stages,
        "filters": {"count": int(filters.shape[0]), "shown": min(FILTERS_SHOWN, int(filters.shape[0])),
                    "kernel": int(filters.shape[-1]), "channels": int(filters.shape[1])},
        "seconds": round(time.perf_counter() - started, 3),
    }


def offered_layers(found: list, *, chosen: str, automatic: str) -> list[dict]:
    """Return the layers a person may pick: the last of each map size (one per stage), and the ones in use."""
    last_of_size = {(row.height, row.width): row.name for row in found}
    keep = set(last_of_size.values()) | {chosen, automatic}
    return [{"name": row.name, "kind": row.kind, "size": f"{row.height}×{row.width}",
             "automatic": row.name == automatic} for row in found if row.name in keep]


def _scale(width: int) -> int:
    return max(1, min(16, -(-GRID_MIN_WIDTH // max(width, 1))))


def _writer(folder: str):
    def write(kind: str, png: bytes) -> str:
        return default_storage.save(f"{folder}/{kind}.png", ContentFile(png))

    return write


def _forget_old(explanation: Explanation) -> None:
    """Delete the PNGs of an earlier computation of the same explanation."""
    for name in png_names(explanation).values():
        default_storage.delete(name)
