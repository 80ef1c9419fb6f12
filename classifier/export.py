"""Export a model to TorchScript or ONNX, and prove the file answers as the PyTorch model does.

Every export is followed by a parity check: the file is loaded back (TorchScript through torch.jit.load,
ONNX through onnxruntime on the CPU) and run on the given images, once as one batch and once on the
first image alone (so the dynamic batch dimension is exercised), and its logits are compared with the
PyTorch model's. The result is a plain dict, ready to store as JSON; a mismatch or a file that will not
run is reported with passed=False, never raised.

ONNX uses torch's TorchScript-based exporter (dynamo=False): it exports every Lux architecture (ResNet,
VGG, torchvision's ViT, layer-spec networks) with a dynamic batch, needs only `onnx`, and is several
times faster than the dynamo exporter, which also needs onnxscript. torch warns that it is deprecated;
the warning is silenced here because the choice is deliberate and torch is pinned. TorchScript files
are made by tracing (torch.jit.trace), which every one of those models allows; torch.jit is deprecated
in favour of torch.export as well, but a .pt TorchScript file is still what C++ and Java runtimes load.
"""

from __future__ import annotations

import copy
import json
import math
import os
import warnings
from collections.abc import Callable
from pathlib import Path

import torch
from torch import Tensor, nn

# Float32 logits of the same network through another runtime differ by ~1e-6; 1e-3 still catches a
# wrong weight, a wrong layer or a wrong preprocessing constant, which move logits by far more.
DEFAULT_TOLERANCE = 1e-3
DEFAULT_OPSET = 17
TORCHSCRIPT_METADATA = "metadata.json"


class ExportError(RuntimeError):
    """The exporter could not write the file (an operation it cannot express, a bad path)."""


def _cpu_copy(model: nn.Module) -> nn.Module:
    """Return a float32 CPU copy of the model in eval mode; the caller's model is left untouched."""
    # An artefact must not depend on the device it was made on.
    return copy.deepcopy(model).to("cpu", torch.float32).eval()


def _reference_logits(model: nn.Module, images: Tensor) -> Tensor:
    """Return the PyTorch model's (B, num_classes) float32 CPU logits, computed on the CPU in eval mode."""
    # A CPU reference keeps the comparison free of GPU kernel differences (TF32, cuDNN algorithms).
    tensors = [*model.parameters(), *model.buffers()]
    on_cpu = all(t.device.type == "cpu" and (t.dtype == torch.float32 or not t.is_floating_point()) for t in tensors)
    reference = model if on_cpu else _cpu_copy(model)
    was_training = reference.training
    reference.eval()
    try:
        with torch.inference_mode():
            return reference(images).float()
    finally:
        reference.train(was_training)


def _batch(images: Tensor) -> Tensor:
    """Return float32 CPU images as a (B, C, H, W) batch."""
    images = images.detach().to("cpu", torch.float32)
    return images[None] if images.ndim == 3 else images


def compare_logits(reference: Tensor, exported: Tensor, *, tolerance: float = DEFAULT_TOLERANCE) -> dict:
    """Return max_abs_diff, top1_agreement and passed for two (B, num_classes) logit tensors."""
    reference, exported = reference.detach().float().cpu(), exported.detach().float().cpu()
    if reference.shape != exported.shape:
        return {"max_abs_diff": None, "top1_agreement": None, "passed": False,
                "error": f"the export gave logits of shape {tuple(exported.shape)}, "
                         f"the model {tuple(reference.shape)}"}
    difference = float((reference - exported).abs().max()) if reference.numel() else 0.0
    agreement = float((reference.argmax(dim=1) == exported.argmax(dim=1)).float().mean())
    finite = math.isfinite(difference)
    return {
        "max_abs_diff": difference if finite else None,  # JSON has no NaN
        "top1_agreement": agreement,
        # Both, strictly: a near-tie that flips is still an answer a user would see change.
        "passed": finite and difference <= tolerance and agreement == 1.0,
        "error": None if finite else "the export or the model gave non-finite logits",
    }


def check_parity(
    load: Callable[[], Callable[[Tensor], Tensor]], model: nn.Module, images: Tensor, *,
    tolerance: float = DEFAULT_TOLERANCE,
) -> dict:
    """Compare an exported model (`load()` returns its run function) with `model`, batched and alone."""
    images = _batch(images)  # (B, C, H, W) float32 CPU
    reference = _reference_logits(model, images)  # (B, num_classes)
    try:
        run = load()
        whole = run(images)
        single = run(images[:1])
    except Exception as error:  # any runtime failure is a failed check, shown to the user, not a crash
        return {"max_abs_diff": None, "top1_agreement": None, "passed": False,
                "num_images": len(images), "tolerance": tolerance,
                "error": f"the exported model failed to run: {type(error).__name__}: {error}"}
    result = compare_logits(reference, whole, tolerance=tolerance)
    alone = compare_logits(reference[:1], single, tolerance=tolerance)
    if result["passed"] and not alone["passed"]:
        result = {**alone, "top1_agreement": result["top1_agreement"],
                  "error": alone["error"] or "batch of one differs: the batch dimension is not dynamic"}
    return {**result, "num_images": len(images), "tolerance": tolerance}


def library_versions(*names: str) -> dict[str, str]:
    """Return {package: version} for torch and the given packages that are importable."""
    from importlib.metadata import PackageNotFoundError, version

    versions = {"torch": torch.__version__}
    for name in names:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def _prepare(model: nn.Module, example: Tensor, path: str | os.PathLike) -> tuple[nn.Module, Tensor, Path]:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return _cpu_copy(model), _batch(example), path


def export_torchscript(
    model: nn.Module, example: Tensor, path: str | os.PathLike, *,
    images: Tensor | None = None, tolerance: float = DEFAULT_TOLERANCE, metadata: dict[str, str] | None = None,
) -> dict:
    """Trace the model to a TorchScript file and return the parity check against it on `images`.

    `metadata` (text keys and values: class names, mean/std, input size) goes into the file as the extra file
    `metadata.json`, which `torch.jit.load(path, _extra_files={"metadata.json": ""})` reads back.
    """
    cpu_model, example, path = _prepare(model, example, path)
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer warnings about shape asserts that do not apply here
            traced = torch.jit.trace(cpu_model, example, check_trace=False)
            torch.jit.save(traced, str(path), _extra_files={TORCHSCRIPT_METADATA: json.dumps(metadata or {})})
    except Exception as error:
        raise ExportError(f"TorchScript export failed: {type(error).__name__}: {error}") from error
    return verify_torchscript(path, model, example if images is None else images, tolerance=tolerance)


def verify_torchscript(
    path: str | os.PathLike, model: nn.Module, images: Tensor, *, tolerance: float = DEFAULT_TOLERANCE
) -> dict:
    """Load a TorchScript file and return its parity check against `model` on `images`."""
    def load() -> Callable[[Tensor], Tensor]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # torch.jit is deprecated; see the module doc
            loaded = torch.jit.load(str(path), map_location="cpu").eval()

        def run(batch: Tensor) -> Tensor:
            with torch.inference_mode():
                return loaded(batch)

        return run

    result = check_parity(load, model, images, tolerance=tolerance)
    return {"format": "torchscript", "path": str(path), **result, "opset": None,
            "library_versions": library_versions()}


def export_onnx(
    model: nn.Module, example: Tensor, path: str | os.PathLike, *,
    images: Tensor | None = None, opset: int = DEFAULT_OPSET, tolerance: float = DEFAULT_TOLERANCE,
    metadata: dict[str, str] | None = None,
) -> dict:
    """Export the model to ONNX with a dynamic batch and return the onnxruntime parity check on `images`.

    `metadata` (text keys and values) goes into the model's metadata_props, which onnxruntime shows as
    `session.get_modelmeta().custom_metadata_map`: a file that travels alone still says its classes and inputs.
    """
    cpu_model, example, path = _prepare(model, example, path)
    # Under no_grad, nn.MultiheadAttention takes a fused fast path the ONNX exporter cannot translate.
    fastpath = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the legacy exporter's deprecation notice; see the module doc
            torch.onnx.export(
                cpu_model, (example,), str(path), dynamo=False, opset_version=opset,
                input_names=["images"], output_names=["logits"],
                dynamic_axes={"images": {0: "batch"}, "logits": {0: "batch"}},
            )
    except Exception as error:
        raise ExportError(f"ONNX export failed: {type(error).__name__}: {error}") from error
    finally:
        torch.backends.mha.set_fastpath_enabled(fastpath)
    if metadata:
        _set_onnx_metadata(path, metadata)
    result = verify_onnx(path, model, example if images is None else images, tolerance=tolerance)
    return {**result, "opset": result["opset"] or opset}


def verify_onnx(
    path: str | os.PathLike, model: nn.Module, images: Tensor, *, tolerance: float = DEFAULT_TOLERANCE
) -> dict:
    """Run an ONNX file through onnxruntime and return its parity check against `model` on `images`."""
    def load() -> Callable[[Tensor], Tensor]:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3  # errors only: the check reports problems itself
        options.intra_op_num_threads = 1  # a handful of images; extra threads would only contend
        session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        name = session.get_inputs()[0].name
        return lambda batch: torch.from_numpy(session.run(None, {name: batch.numpy()})[0])

    result = check_parity(load, model, images, tolerance=tolerance)
    return {"format": "onnx", "path": str(path), **result, "opset": _onnx_opset(path),
            "library_versions": library_versions("onnx", "onnxruntime")}


def _set_onnx_metadata(path: Path, metadata: dict[str, str]) -> None:
    """Write text key/value pairs into an ONNX file's metadata_props, in place."""
    import onnx

    try:
        proto = onnx.load(str(path))
        onnx.helper.set_model_props(proto, {str(key): str(value) for key, value in metadata.items()})
        onnx.save(proto, str(path))
    except Exception as error:
        raise ExportError(f"ONNX export failed writing its metadata: {type(error).__name__}: {error}") from error


def model_metadata(*, arch: str, class_names: list[str], size: int, resize_size: int, mean, std) -> dict[str, str]:
    """Return what a reader of an exported file needs to use it alone: classes and how to prepare an image."""
    return {
        "producer": "Lux",
        "arch": arch,
        "class_names": json.dumps(list(class_names)),
        "input": f"images: float32 (batch, 3, {size}, {size}), RGB",
        "input_size": str(size),
        "resize_size": str(resize_size),
        "preprocessing": f"resize the shorter side to {resize_size} px, centre-crop {size} px, scale to 0-1, "
                         "subtract mean and divide by std per channel",
        "mean": json.dumps([float(v) for v in mean]),
        "std": json.dumps([float(v) for v in std]),
    }


def _onnx_opset(path: str | os.PathLike) -> int | None:
    """Return the default-domain opset an ONNX file declares, or None if it cannot be read."""
    try:
        import onnx

        proto = onnx.load(str(path), load_external_data=False)
        return next((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), None)
    except Exception:  # an unreadable file is already reported by the parity check
        return None
