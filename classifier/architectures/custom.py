"""The "custom" architecture: a network built from a JSON layer spec."""

from __future__ import annotations

from torch import nn

from classifier.netspec import DEFAULT_SPEC, build_network, layer_shapes
from classifier.registry import register_model


def _check_spec(image_size: int, spec: list[dict] | None) -> None:
    """Raise SpecError (a ValueError) if the spec cannot run at `image_size` px."""
    layer_shapes(DEFAULT_SPEC if spec is None else spec, image_size=image_size, num_classes=1)


@register_model(
    "custom",
    family="custom",
    default_image_size=32,
    small=True,
    min_image_size=1,
    description="A network you describe layer by layer (conv, relu, max-pool, batch-norm, dropout, "
    "flatten, linear); without a spec, a small 5-layer CNN.",
    head="head",
    size_check=_check_spec,
)
def custom(*, num_classes: int, image_size: int, spec: list[dict] | None = None) -> nn.Module:
    """Build the network `spec` describes (the default CNN when spec is None)."""
    spec = DEFAULT_SPEC if spec is None else spec
    return build_network(spec, num_classes=num_classes, image_size=image_size)
