"""Weight files: a saved model is self-describing (safetensors with a JSON model card in its header)."""

from __future__ import annotations

import json
import os
import pickle
import struct
import warnings
import zipfile
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import Tensor, nn

CARD_KEY = "lux_model_card"
_WRAPPERS = ("state_dict", "model", "model_state_dict", "module")
_PREFIXES = ("module.", "_orig_mod.")  # added by DistributedDataParallel and torch.compile


class WeightsError(ValueError):
    """A weights file that cannot be read or does not fit the model, explained for a person."""


@dataclass
class ModelCard:
    """Everything needed to rebuild a saved model and preprocess its inputs."""

    arch: str
    num_classes: int
    class_names: list[str]
    image_size: int
    preset: dict
    spec: list | None = None
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        """Return the card as JSON-ready values."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> ModelCard:
        """Rebuild a card from `to_dict()`, ignoring keys newer versions may add."""
        known = {name: d[name] for name in cls.__dataclass_fields__ if name in d}
        return cls(**known)


def save_model(path: str | os.PathLike, model: nn.Module, card: ModelCard) -> None:
    """Write the model's weights and card to one .safetensors file."""
    if len(card.class_names) != card.num_classes:
        raise ValueError(f"the card has {len(card.class_names)} class names for {card.num_classes} classes")
    if card.spec is None and getattr(model, "spec", None) is not None:
        card = replace(card, spec=model.spec)  # store the spec actually built, even if it was the default
    state_dict = _plain_keys(model.state_dict())
    tensors = {name: tensor.detach().cpu().contiguous() for name, tensor in state_dict.items()}
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(path), metadata={CARD_KEY: json.dumps(card.to_dict())})


def read_card(path: str | os.PathLike) -> ModelCard:
    """Return the model card stored in a Lux .safetensors file."""
    header = _safetensors_header(Path(path))
    if header is None:
        raise WeightsError(f"{Path(path).name} is not a safetensors file, so it has no model card")
    metadata = header.get("__metadata__") or {}
    if CARD_KEY not in metadata:
        raise WeightsError(f"{Path(path).name} holds weights but no Lux model card (architecture, classes)")
    try:
        return ModelCard.from_dict(json.loads(metadata[CARD_KEY]))
    except (ValueError, TypeError) as error:
        raise WeightsError(f"{Path(path).name} has an unreadable model card: {error}") from error


def _safetensors_header(path: Path) -> dict | None:
    """Return the JSON header if `path` is laid out as safetensors (8-byte length, then JSON), else None."""
    with open(path, "rb") as file:
        start = file.read(9)
        if len(start) < 9 or start[8:9] != b"{":
            return None
        (length,) = struct.unpack("<Q", start[:8])
        if length > os.path.getsize(path) - 8:
            raise WeightsError(f"{path.name} looks like safetensors but is cut short (corrupt or incomplete)")
        file.seek(8)
        try:
            return json.loads(file.read(length))
        except ValueError as error:
            raise WeightsError(f"{path.name} has a corrupt safetensors header") from error


def read_state_dict(path: str | os.PathLike) -> dict[str, Tensor]:
    """Return the tensors of a .safetensors or .pth/.pt file, unwrapped from checkpoint dicts."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"no weights file at {path}")
    if _safetensors_header(path) is not None:
        try:
            return _plain_keys(load_file(str(path)))
        except SafetensorError as error:
            raise WeightsError(f"{path.name} is a corrupt safetensors file: {error}") from error
    with open(path, "rb") as file:
        magic = file.read(2)
    # torch.save writes a zip archive; older files are a bare pickle starting with the PROTO opcode 0x80.
    if not (magic == b"PK" or magic[:1] == b"\x80"):
        raise WeightsError(f"{path.name} is not a safetensors or PyTorch weights file")
    try:
        with warnings.catch_warnings():  # torch warns about pickle protocols before refusing them anyway
            warnings.simplefilter("ignore", UserWarning)
            loaded = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        raise WeightsError(f"{path.name}: this is a pickle of arbitrary objects, not a state dict; "
                           "Lux only loads plain tensors (save one with torch.save(model.state_dict()))"
                           ) from error
    except (RuntimeError, EOFError, zipfile.BadZipFile, ValueError, OSError) as error:
        # OSError: a zip cut short near its end fails a seek inside torch with EINVAL.
        reason = str(error).split(". ")[0]  # torch's first sentence; the rest is advice about pickles
        raise WeightsError(f"{path.name} is a corrupt or incomplete PyTorch file ({reason})") from error
    return _plain_keys(_unwrap(loaded, path.name))


def _unwrap(loaded: object, name: str) -> dict[str, Tensor]:
    """Return the state dict inside a checkpoint-like object, or raise WeightsError."""
    for _ in range(3):  # e.g. {"model": {"state_dict": {...}}}
        if isinstance(loaded, dict) and not _all_tensors(loaded):
            inner = next((loaded[key] for key in _WRAPPERS if isinstance(loaded.get(key), dict)), None)
            if inner is None:
                break
            loaded = inner
    if not isinstance(loaded, dict) or not loaded or not _all_tensors(loaded):
        raise WeightsError(f"{name} holds {type(loaded).__name__}, not a state dict of tensors "
                           f"(looked inside {', '.join(repr(k) for k in _WRAPPERS)})")
    return loaded


def _all_tensors(d: dict) -> bool:
    return all(isinstance(key, str) and isinstance(value, Tensor) for key, value in d.items())


def _plain_keys(state_dict: dict[str, Tensor]) -> dict[str, Tensor]:
    """Strip the prefixes DDP and torch.compile add, so any such file loads into a plain model."""
    for prefix in _PREFIXES:
        if state_dict and all(key.startswith(prefix) for key in state_dict):
            state_dict = {key[len(prefix):]: value for key, value in state_dict.items()}
    return dict(state_dict)


def head_prefix(model: nn.Module) -> str:
    """Return the state-dict prefix of the model's classification head: its last linear layer."""
    last = None
    for name, module in model.named_modules():
        if isinstance(module, nn.Linear):
            last = name
    if last is None:
        raise WeightsError("the model has no linear layer to serve as a head")
    return last


def _in_head(key: str, head: str) -> bool:
    return key == head or key.startswith(head + ".")


def _listed(keys: list[str], limit: int = 5) -> str:
    more = f" and {len(keys) - limit} more" if len(keys) > limit else ""
    return ", ".join(keys[:limit]) + more


def load_weights_into(model: nn.Module, state_dict: dict[str, Tensor], *, strict_head: bool = True,
                      head: str | None = None) -> None:
    """Copy `state_dict` into `model`; strict_head=False keeps a head that does not fit as initialised."""
    head = head or head_prefix(model)
    own = model.state_dict()
    state_dict = _plain_keys(state_dict)
    if not strict_head:
        state_dict = {k: v for k, v in state_dict.items()
                      if not _in_head(k, head) or (k in own and own[k].shape == v.shape)}
    missing = [k for k in own if k not in state_dict and (strict_head or not _in_head(k, head))]
    unexpected = [k for k in state_dict if k not in own]
    mismatched = [k for k in state_dict if k in own and own[k].shape != state_dict[k].shape]
    problems = []
    head_mismatch = [k for k in mismatched if _in_head(k, head)]
    if head_mismatch:
        file_classes, model_classes = state_dict[head_mismatch[0]].shape[0], own[head_mismatch[0]].shape[0]
        problems.append(f"the head does not fit: this model expects {model_classes} classes, "
                        f"file has {file_classes}")
    problems += [f"{k}: file has {tuple(state_dict[k].shape)}, model expects {tuple(own[k].shape)}"
                 for k in mismatched if not _in_head(k, head)][:5]
    if missing:
        problems.append(f"missing keys: {_listed(missing)}")
    if unexpected:
        problems.append(f"unexpected keys: {_listed(unexpected)}")
    if problems:
        raise WeightsError("the weights do not fit this model: " + "; ".join(problems))
    model.load_state_dict(state_dict, strict=False)
