"""Build your own network: a JSON list of layers, checked shape by shape before anything is built."""

from __future__ import annotations

import difflib
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

# A spec that would need more parameters than this is almost surely a mistake (a flatten too early).
MAX_PARAMETERS = 100_000_000

# Three conv blocks and a hidden linear layer: 99% on 32 px digits in well under a minute on a CPU.
DEFAULT_SPEC: list[dict] = [
    {"type": "conv", "channels": 32, "kernel": 3, "stride": 1, "padding": 1},
    {"type": "batchnorm"},
    {"type": "relu"},
    {"type": "maxpool", "kernel": 2, "stride": 2},
    {"type": "conv", "channels": 64, "kernel": 3, "stride": 1, "padding": 1},
    {"type": "batchnorm"},
    {"type": "relu"},
    {"type": "maxpool", "kernel": 2, "stride": 2},
    {"type": "conv", "channels": 128, "kernel": 3, "stride": 1, "padding": 1},
    {"type": "batchnorm"},
    {"type": "relu"},
    {"type": "globalavgpool"},
    {"type": "dropout", "p": 0.2},
    {"type": "linear", "features": 128},
    {"type": "relu"},
]


class SpecError(ValueError):
    """A layer spec that cannot be built; `.layer` is the 1-based layer index, or None for the whole spec."""

    def __init__(self, message: str, layer: int | None = None):
        super().__init__(message)
        self.layer = layer
        self.message = message


@dataclass
class LayerShape:
    """One row of the shape table: what a layer outputs (without the batch dimension)."""

    index: int
    kind: str
    label: str
    out_shape: tuple[int, ...]
    params: int
    formula: str = ""  # for convolutions and pools: the output side worked out, "1 + ⌊(32 − 3 + 2·1) / 1⌋ = 32"


@dataclass(frozen=True)
class Field:
    """A numeric field of a layer; `default` None means the field is required."""

    name: str
    default: Callable[[dict], float | int] | None = None
    minimum: float = 1
    whole: bool = True
    below: float | None = None  # exclusive upper bound


@dataclass(frozen=True)
class LayerKind:
    """How one layer type validates, changes the shape, counts parameters, builds and names itself."""

    fields: tuple[Field, ...]
    needs: str  # "spatial", "flat" or "any"
    shape: Callable[[tuple, dict], tuple]
    params: Callable[[tuple, dict], int]
    build: Callable[[tuple, dict], nn.Module]
    label: Callable[[dict], str]


def _window(size: int, kernel: int, stride: int, padding: int) -> int:
    """Return 1 + floor((size - kernel + 2*padding) / stride), the side of a conv or pool output."""
    return 1 + (size - kernel + 2 * padding) // stride


def window_formula(size: int, fields: dict) -> str:
    """Return the output-side formula with a layer's numbers filled in, as the lecture writes it."""
    k, p, st = fields["kernel"], fields["padding"], fields["stride"]
    return f"1 + ⌊({size} − {k} + 2·{p}) / {st}⌋ = {_window(size, k, st, p)}"


def _conv_shape(shape, f):
    side = _window(shape[1], f["kernel"], f["stride"], f["padding"])
    return (f["channels"], side, side)


def _pool_shape(shape, f):
    side = _window(shape[1], f["kernel"], f["stride"], f["padding"])
    return (shape[0], side, side)


def _stride_label(f: dict, usual: int) -> str:
    return f", stride {f['stride']}" if f["stride"] != usual else ""


KINDS: dict[str, LayerKind] = {
    "conv": LayerKind(
        fields=(
            Field("channels"),
            Field("kernel", lambda f: 3),
            Field("stride", lambda f: 1),
            Field("padding", lambda f: f["kernel"] // 2, minimum=0),
        ),
        needs="spatial",
        shape=_conv_shape,
        params=lambda s, f: s[0] * f["channels"] * f["kernel"] ** 2 + f["channels"],
        build=lambda s, f: nn.Conv2d(s[0], f["channels"], f["kernel"], f["stride"], f["padding"]),
        label=lambda f: f"conv {f['kernel']}x{f['kernel']}, {f['channels']} channels"
        + _stride_label(f, 1)
        + (f", padding {f['padding']}" if f["padding"] != f["kernel"] // 2 else ""),
    ),
    "maxpool": LayerKind(
        fields=(Field("kernel", lambda f: 2), Field("stride", lambda f: f["kernel"]),
                Field("padding", lambda f: 0, minimum=0)),
        needs="spatial",
        shape=_pool_shape,
        params=lambda s, f: 0,
        build=lambda s, f: nn.MaxPool2d(f["kernel"], f["stride"], f["padding"]),
        label=lambda f: f"max-pool {f['kernel']}x{f['kernel']}" + _stride_label(f, f["kernel"]),
    ),
    "avgpool": LayerKind(
        fields=(Field("kernel", lambda f: 2), Field("stride", lambda f: f["kernel"]),
                Field("padding", lambda f: 0, minimum=0)),
        needs="spatial",
        shape=_pool_shape,
        params=lambda s, f: 0,
        build=lambda s, f: nn.AvgPool2d(f["kernel"], f["stride"], f["padding"]),
        label=lambda f: f"average-pool {f['kernel']}x{f['kernel']}" + _stride_label(f, f["kernel"]),
    ),
    "globalavgpool": LayerKind(
        fields=(),
        needs="spatial",
        shape=lambda s, f: (s[0],),
        params=lambda s, f: 0,
        build=lambda s, f: nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten()),
        label=lambda f: "global average pool",
    ),
    "relu": LayerKind((), "any", lambda s, f: s, lambda s, f: 0, lambda s, f: nn.ReLU(inplace=True),
                      lambda f: "ReLU"),
    "batchnorm": LayerKind(
        fields=(),
        needs="any",
        shape=lambda s, f: s,
        params=lambda s, f: 2 * s[0],
        build=lambda s, f: nn.BatchNorm2d(s[0]) if len(s) == 3 else nn.BatchNorm1d(s[0]),
        label=lambda f: "batch-norm",
    ),
    "dropout": LayerKind(
        fields=(Field("p", lambda f: 0.5, minimum=0, whole=False, below=1),),
        needs="any",
        shape=lambda s, f: s,
        params=lambda s, f: 0,
        build=lambda s, f: nn.Dropout(f["p"]),
        label=lambda f: f"dropout {f['p']:g}",
    ),
    "flatten": LayerKind((), "spatial", lambda s, f: (s[0] * s[1] * s[2],), lambda s, f: 0,
                         lambda s, f: nn.Flatten(), lambda f: "flatten"),
    "linear": LayerKind(
        fields=(Field("features"),),
        needs="flat",
        shape=lambda s, f: (f["features"],),
        params=lambda s, f: s[0] * f["features"] + f["features"],
        build=lambda s, f: nn.Linear(s[0], f["features"]),
        label=lambda f: f"linear, {f['features']} features",
    ),
}


def _where(index: int, kind: str, label: str | None = None) -> str:
    return f"layer {index} ({label or kind})"


def _read_fields(index: int, layer: object) -> tuple[str, dict]:
    """Return the layer's type and its validated fields (defaults filled in)."""
    if not isinstance(layer, dict):
        raise SpecError(f"layer {index} must be an object like {{\"type\": \"relu\"}}, got {layer!r}", index)
    kind = layer.get("type")
    if kind not in KINDS:
        if kind is None:
            raise SpecError(f"layer {index} has no \"type\"; known types: {', '.join(KINDS)}", index)
        close = difflib.get_close_matches(str(kind), list(KINDS), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise SpecError(f"layer {index}: unknown type {kind!r}{hint} Known types: {', '.join(KINDS)}", index)
    spec = KINDS[kind]
    allowed = {field.name for field in spec.fields}
    unknown = sorted(set(layer) - allowed - {"type"})
    if unknown:
        accepts = f"accepts {', '.join(sorted(allowed))}" if allowed else "takes no settings"
        raise SpecError(f"layer {index} ({kind}): unknown field {unknown[0]!r}; {kind} {accepts}", index)
    values: dict = {}
    for field in spec.fields:
        values[field.name] = _read_value(index, kind, field, layer, values)
    return kind, values


def _read_value(index: int, kind: str, field: Field, layer: dict, values: dict):
    """Return one validated field value, or its default."""
    if field.name not in layer:
        if field.default is None:
            raise SpecError(f"layer {index} ({kind}): missing {field.name!r}", index)
        return field.default(values)
    value = layer[field.name]
    is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if field.whole:
        if not is_number or (isinstance(value, float) and not value.is_integer()):
            raise SpecError(f"layer {index} ({kind}): {field.name!r} must be a whole number, "
                            f"got {value!r}", index)
        value = int(value)
    elif not is_number:
        raise SpecError(f"layer {index} ({kind}): {field.name!r} must be a number, got {value!r}", index)
    if value < field.minimum:
        raise SpecError(f"layer {index} ({kind}): {field.name!r} must be at least {field.minimum:g}, "
                        f"got {value!r}", index)
    if field.below is not None and value >= field.below:
        raise SpecError(f"layer {index} ({kind}): {field.name!r} must be below {field.below:g}, "
                        f"got {value!r}", index)
    return value


def _check_fits(index: int, kind: str, fields: dict, label: str, shape: tuple) -> None:
    """Raise SpecError if the layer cannot take `shape` (wrong stage, padding too large)."""
    where = _where(index, kind, label)
    needs = KINDS[kind].needs
    if needs == "spatial" and len(shape) == 1:
        if kind == "flatten":
            raise SpecError(f"{where}: the input is already flat; remove this second flatten", index)
        raise SpecError(f"{where} comes after the map was flattened: {kind} needs a spatial map, "
                        "so move it before the flatten (or global average pool)", index)
    if needs == "flat" and len(shape) == 3:
        raise SpecError(f"{where} needs a flat input but gets a {_describe(shape)} map: "
                        "add a Flatten (or Global average pool) layer before it", index)
    if kind in ("maxpool", "avgpool") and 2 * fields["padding"] > fields["kernel"]:
        raise SpecError(f"{where}: padding {fields['padding']} is more than half the kernel "
                        f"{fields['kernel']}", index)


def _describe(shape: tuple) -> str:
    return f"{shape[0]}x{shape[1]}x{shape[2]}" if len(shape) == 3 else f"{shape[0]}-feature"


def _plan(spec: list[dict], image_size: int, num_classes: int, in_channels: int):
    """Validate the spec and return [(LayerShape, kind, fields, in_shape)] including the head."""
    if not isinstance(spec, list):
        raise SpecError(f"a spec is a list of layers, got {type(spec).__name__}")
    sizes = {"image size": image_size, "num_classes": num_classes, "in_channels": in_channels}
    for name, value in sizes.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise SpecError(f"{name} must be a positive whole number, got {value!r}")
    shape: tuple[int, ...] = (in_channels, image_size, image_size)
    plan = []
    for index, layer in enumerate(spec, start=1):
        kind, fields = _read_fields(index, layer)
        label = KINDS[kind].label(fields)
        _check_fits(index, kind, fields, label, shape)
        out = KINDS[kind].shape(shape, fields)
        formula = window_formula(shape[1], fields) if "kernel" in fields and len(shape) == 3 else ""
        if len(out) == 3 and out[1] < 1:
            raise SpecError(f"{_where(index, kind, label)} would shrink the {shape[1]}x{shape[2]} map to "
                            f"{max(out[1], 0)}x{max(out[2], 0)} ({formula}): lower its kernel or stride, add "
                            "padding, or remove a pool before it", index)
        row = LayerShape(index, kind, label, out, KINDS[kind].params(shape, fields), formula)
        plan.append((row, kind, fields, shape))
        shape = out
    flat = shape[0] * shape[1] * shape[2] if len(shape) == 3 else shape[0]
    head_label = f"{'flatten + ' if len(shape) == 3 else ''}linear, {num_classes} classes"
    head = LayerShape(len(spec) + 1, "head", head_label, (num_classes,), flat * num_classes + num_classes)
    plan.append((head, "head", {}, shape))
    _check_size(plan)
    return plan


def _check_size(plan) -> None:
    """Raise SpecError if the whole network has more parameters than MAX_PARAMETERS."""
    total = sum(row.params for row, *_ in plan)
    if total > MAX_PARAMETERS:
        biggest = max((row for row, *_ in plan), key=lambda row: row.params)
        raise SpecError(
            f"the network would have {total:,} parameters, more than the {MAX_PARAMETERS:,} allowed; "
            f"{_where(biggest.index, biggest.kind, biggest.label)} alone has {biggest.params:,}: "
            "pool or shrink the map before flattening", biggest.index)


def layer_shapes(
    spec: list[dict], *, image_size: int, num_classes: int, in_channels: int = 3
) -> list[LayerShape]:
    """Return every layer's output shape and parameter count, the automatic head last."""
    return [row for row, *_ in _plan(spec, image_size, num_classes, in_channels)]


class SpecNetwork(nn.Sequential):
    """A network built from a spec; keeps the spec so it can be saved with the weights."""

    def __init__(self, layers: OrderedDict, spec: list[dict], image_size: int, in_channels: int):
        super().__init__(layers)
        self.spec = spec
        self.image_size = image_size
        self.in_channels = in_channels


def build_network(spec: list[dict], *, num_classes: int, image_size: int, in_channels: int = 3) -> nn.Module:
    """Build the module `spec` describes, with a linear head to `num_classes` appended."""
    layers: OrderedDict[str, nn.Module] = OrderedDict()
    for row, kind, fields, in_shape in _plan(spec, image_size, num_classes, in_channels):
        if kind == "head":
            flat = in_shape[0] * in_shape[1] * in_shape[2] if len(in_shape) == 3 else in_shape[0]
            linear = nn.Linear(flat, num_classes)
            flatten = [nn.Flatten()] if len(in_shape) == 3 else []
            layers["head"] = nn.Sequential(*flatten, linear)
        else:
            layers[str(row.index)] = KINDS[kind].build(in_shape, fields)
    return SpecNetwork(layers, [dict(layer) for layer in spec], image_size, in_channels)
