"""Import weights trained elsewhere: checked against the architecture, re-saved as a Lux model file.

Only tensors are ever read (classifier.weights.read_state_dict: safetensors, or torch.load with
weights_only=True), so a pickle that would run code is refused without running it. A file that fits is
re-saved as .safetensors with its model card, so every later use loads it like a trained run's weights.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import torch
from django.conf import settings
from django.core.files import File
from django.db import IntegrityError, transaction

from webapp.classify.models import ImportedModel
from webapp.core.errors import FieldError
from webapp.core.files import file_sha256
from webapp.datasets.validation import as_sentence, format_bytes

SUFFIXES = (".safetensors", ".pth", ".pt")
MAX_CLASSES = 10_000


class ImportModelError(FieldError):
    """The upload cannot become a model; `field` names the form field at fault."""


def max_model_bytes() -> int:
    """Return the largest weights file accepted (LUX_MAX_MODEL_BYTES, default 2 GiB)."""
    return int(getattr(settings, "LUX_MAX_MODEL_BYTES", 2 * 1024**3))


def parse_class_names(text: str) -> list[str]:
    """Return class names given one per line (or comma-separated on one line), or raise ImportModelError."""
    lines = [line.strip() for line in str(text or "").splitlines() if line.strip()]
    if len(lines) == 1 and "," in lines[0]:
        lines = [part.strip() for part in lines[0].split(",") if part.strip()]
    if not lines:
        raise ImportModelError("Give the class names, one per line, in the order of the model's outputs.",
                               "class_names")
    if len(lines) > MAX_CLASSES:
        raise ImportModelError(f"At most {MAX_CLASSES:,} classes.", "class_names")
    repeated = sorted({name for name in lines if lines.count(name) > 1})
    if repeated:
        raise ImportModelError(f"Each class name must be different; repeated: {', '.join(repeated[:5])}.",
                               "class_names")
    return lines


def import_model(owner, *, name: str, upload, arch: str = "", network=None, class_names: list[str] | None = None,
                 image_size: int | None = None) -> ImportedModel:
    """Check an uploaded weights file against its architecture and store it as an ImportedModel."""
    name = (name or "").strip()
    if not name:
        raise ImportModelError("Give the model a name.", "name")
    if ImportedModel.objects.filter(owner=owner, name=name).exists():
        raise ImportModelError(f"You already have a model called “{name}”.", "name")
    suffix = Path(upload.name or "").suffix.lower()
    if suffix not in SUFFIXES:
        raise ImportModelError("Upload a .safetensors file or a PyTorch state dict saved as .pth or .pt.", "file")
    if not upload.size:
        raise ImportModelError("The file is empty.", "file")
    if upload.size > max_model_bytes():
        raise ImportModelError(f"The file is {format_bytes(upload.size)}; the limit is "
                               f"{format_bytes(max_model_bytes())}.", "file")
    with tempfile.TemporaryDirectory(dir=_tmp_dir()) as folder:
        original = Path(folder) / _safe_name(upload.name, suffix)  # messages name the file as the user knows it
        with open(original, "wb") as out:
            for chunk in upload.chunks():
                out.write(chunk)
        card, model = _check(original, arch=arch, network=network, class_names=class_names, image_size=image_size)
        saved = Path(folder) / "model.safetensors"
        from classifier.weights import save_model

        save_model(saved, model, card)
        row = ImportedModel(owner=owner, name=name[:200], arch=card.arch, network=network, spec=card.spec,
                            class_names=card.class_names, image_size=card.image_size, preset=card.preset,
                            original_name=str(upload.name)[:300],
                            original_format="safetensors" if suffix == ".safetensors" else "pth",
                            sha256=file_sha256(original), size_bytes=saved.stat().st_size)
        with open(saved, "rb") as handle:
            row.file.save("model.safetensors", File(handle), save=False)
    try:
        with transaction.atomic():
            row.save()
    except IntegrityError:
        row.file.delete(save=False)
        raise ImportModelError(f"You already have a model called “{name}”.", "name")
    return row


def _check(path: Path, *, arch, network, class_names, image_size):
    """Return (ModelCard, model with the file's weights) or raise ImportModelError saying what does not fit."""
    from classifier.factory import create_model
    from classifier.presets import EvalPreset
    from classifier.registry import check_image_size, list_models, model_info
    from classifier.weights import ModelCard, WeightsError, load_weights_into, read_card, read_state_dict

    try:
        state = read_state_dict(path)
    except WeightsError as error:
        raise ImportModelError(as_sentence(str(error), keep_case=True), "file")
    except OSError:  # torch's zip reader raises OSError for some cut-short files, which read_state_dict lets by
        raise ImportModelError(f"{path.name} is a corrupt or incomplete PyTorch file (its archive cannot be read).",
                               "file")
    try:
        stored = read_card(path)  # a Lux file says what it is; the form may leave those fields blank
    except WeightsError:
        stored = None
    spec = network.spec if network is not None else (stored.spec if stored and not arch else None)
    arch = "custom" if network is not None else (arch or (stored.arch if stored else ""))
    if arch not in list_models():
        raise ImportModelError("Choose the architecture the weights were trained with.", "arch")
    class_names = class_names or (list(stored.class_names) if stored else None)
    if not class_names:
        raise ImportModelError("Give the class names, one per line, in the order of the model's outputs.",
                               "class_names")
    size = image_size or (network.image_size if network is not None else None) or \
        (stored.image_size if stored else model_info(arch).default_image_size)
    try:
        check_image_size(arch, size, spec)
    except ValueError as error:
        raise ImportModelError(as_sentence(str(error)), "image_size")
    model = create_model(arch, num_classes=len(class_names), image_size=size, spec=spec)
    try:
        load_weights_into(model, state, strict_head=True)
    except WeightsError as error:
        raise ImportModelError(_misfit(str(error), state, arch, len(class_names), size, spec), "file")
    preset = stored.preset if stored and stored.image_size == size else EvalPreset(size=size).to_dict()
    card = ModelCard(arch=arch, num_classes=len(class_names), class_names=list(class_names), image_size=size,
                     preset=preset, spec=spec, extra={"imported_from": path.name})
    return card, model.eval()


def _misfit(message: str, state: dict, arch: str, num_classes: int, size: int, spec) -> str:
    """Return why the weights do not fit, with the architecture they do look like when one matches."""
    text = as_sentence(message.replace("the weights do not fit this model", f"these weights do not fit {arch} "
                                                                          f"with {num_classes} classes"))
    if "the head does not fit" in message:
        return text + " Give one class name per output of the file's head, in order."
    guesses = [name for name in guess_architectures(state, size) if name != arch]
    if guesses:
        text += f" They look like {' or '.join(guesses[:3])}."
    return text


def guess_architectures(state: dict, image_size: int) -> list[str]:
    """Return the registered architectures whose layers (head aside) have exactly these names and shapes."""
    from classifier.factory import create_model
    from classifier.registry import list_models, model_info

    theirs = {key: tuple(value.shape) for key, value in state.items()}
    found = []
    for name in list_models():
        info = model_info(name)
        if info.family == "custom":
            continue  # any layer list would do: no honest guess
        try:
            with torch.device("meta"):  # shapes only: building ViT-L this way costs milliseconds
                model = create_model(name, num_classes=2, image_size=max(image_size, info.min_image_size))
        except ValueError:
            continue
        ours = {k: tuple(v.shape) for k, v in model.state_dict().items() if not k.startswith(info.head + ".")}
        body = {k: v for k, v in theirs.items() if not k.startswith(info.head + ".")}
        if ours == body:
            found.append(name)
    return found


def _safe_name(name, suffix: str) -> str:
    """Return the upload's base name with only plain characters (it is only shown, inside a private folder)."""
    stem = Path(str(name or "")).stem
    clean = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in stem)[:100].strip("._") or "weights"
    return clean + suffix





def _tmp_dir() -> str:
    folder = Path(settings.DATA_DIR) / "tmp"
    folder.mkdir(parents=True, exist_ok=True)
    return str(folder)


def delete_imported(model: ImportedModel) -> None:
    """Delete an imported model and its file."""
    name, storage = model.file.name, model.file.storage
    model.delete()
    if name:
        storage.delete(name)
