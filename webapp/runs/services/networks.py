"""Shapes of a user's own network, computed by the engine's calculator (classifier.netspec) and nothing else."""

from __future__ import annotations

from classifier.netspec import SpecError, layer_shapes

MAX_LAYERS = 200  # a builder page never needs more; a bigger body is a mistake or abuse
MAX_IMAGE_SIZE = 1024  # the largest design size the builder checks a network at
PREVIEW_CLASSES = 10  # the head size used to check a network before it meets a dataset


def _rows(spec, image_size: int, num_classes: int) -> list[dict]:
    return [{"index": row.index, "kind": row.kind, "label": row.label, "out_shape": list(row.out_shape),
             "params": row.params, "formula": row.formula}
            for row in layer_shapes(spec, image_size=image_size, num_classes=num_classes)]


def network_shapes(spec, *, image_size, num_classes) -> dict:
    """Return {"ok", "layers", "total_params", "error": {"layer", "message"} or None} for a layer spec.

    On an error, "layers" still lists the layers before the one at fault, so a page can show how far it got.
    """
    if isinstance(spec, list) and len(spec) > MAX_LAYERS:
        return _failed([], None, f"a network may have at most {MAX_LAYERS} layers, this one has {len(spec)}")
    try:
        layers = _rows(spec, image_size, num_classes)
    except SpecError as exc:
        return _failed(_prefix(spec, exc.layer, image_size, num_classes), exc.layer, exc.message)
    except (ValueError, TypeError) as exc:
        return _failed([], None, str(exc))
    return {"ok": True, "layers": layers, "total_params": sum(row["params"] for row in layers), "error": None}


def _prefix(spec, layer: int | None, image_size, num_classes) -> list[dict]:
    """Return the rows of the layers before `layer` (without the head), or [] when they cannot be computed."""
    if not layer or layer <= 1 or not isinstance(spec, list):
        return []
    try:
        return _rows(spec[:layer - 1], image_size, num_classes)[:-1]
    except (SpecError, ValueError, TypeError):
        return []


def _failed(layers: list[dict], layer: int | None, message: str) -> dict:
    return {"ok": False, "layers": layers, "total_params": None, "error": {"layer": layer, "message": message}}
