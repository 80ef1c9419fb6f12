"""Exports answer as the PyTorch model does, and the parity check says so, or says plainly that they do not."""

import copy
import json

import pytest
import torch

from classifier import create_model
from classifier.export import (
    DEFAULT_TOLERANCE,
    ExportError,
    compare_logits,
    export_onnx,
    export_torchscript,
    verify_onnx,
    verify_torchscript,
)

ARCHITECTURES = ["resnet18_small", "vgg11_bn_small", "vit_tiny", "custom"]
KEYS = {"format", "path", "max_abs_diff", "top1_agreement", "passed", "tolerance", "opset", "library_versions"}


SIZE = 16  # tiny inputs: the export's cost is in tracing and serialising, not in the pixels


def trained_looking(name: str) -> torch.nn.Module:
    """Return `name` with no all-zero weights (torchvision's ViT head starts at zero: its logits would all be 0)."""
    torch.manual_seed(0)
    model = create_model(name, num_classes=5, image_size=SIZE)
    with torch.no_grad():
        for parameter in model.parameters():
            if not parameter.any():
                parameter.normal_(0, 0.2)
    return model


@pytest.fixture(scope="module")
def models():
    return {name: trained_looking(name) for name in ARCHITECTURES}


@pytest.fixture(scope="module")
def images():
    return torch.randn(3, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(1))  # (B, 3, 16, 16)


@pytest.fixture(scope="module")
def exported(models, images, tmp_path_factory):
    """Return export(name, fmt) -> (path, result): each model exported once per format for the module."""
    folder, done = tmp_path_factory.mktemp("exports"), {}
    exporters = {"onnx": export_onnx, "pt": export_torchscript}

    def export(name: str, fmt: str):
        if (name, fmt) not in done:
            path = folder / f"{name}.{fmt}"
            # Exported from one image, checked on three: the batch dimension must be dynamic.
            done[name, fmt] = path, exporters[fmt](models[name], images[:1], path, images=images)
        return done[name, fmt]

    return export


def assert_passes(result: dict, fmt: str):
    assert KEYS <= set(result)
    assert result["format"] == fmt and result["passed"] is True, result
    assert result["max_abs_diff"] <= DEFAULT_TOLERANCE and result["top1_agreement"] == 1.0
    assert result["num_images"] == 3
    json.dumps(result)  # stored as JSON as it is


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_onnx_export_matches_pytorch_in_onnxruntime(name, exported):
    path, result = exported(name, "onnx")

    assert_passes(result, "onnx")
    assert result["path"] == str(path) and result["opset"] == 17 and path.stat().st_size > 1000
    assert set(result["library_versions"]) == {"torch", "onnx", "onnxruntime"}


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_torchscript_export_matches_pytorch(name, exported):
    _, result = exported(name, "pt")

    assert_passes(result, "torchscript")
    assert result["opset"] is None and "torch" in result["library_versions"]


def test_export_leaves_the_callers_model_as_it_was(models, images, tmp_path):
    model = models["custom"].train()
    before = copy.deepcopy(model.state_dict())
    try:
        export_onnx(model, images[:1], tmp_path / "m.onnx", images=images)
        export_torchscript(model, images[:1], tmp_path / "m.pt", images=images)
        assert model.training
        assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    finally:
        model.eval()


def test_a_file_from_a_different_model_fails_the_check(models, images, exported):
    path, original = exported("vgg11_bn_small", "onnx")
    assert original["passed"]

    result = verify_onnx(path, models["resnet18_small"], images)

    assert result["passed"] is False
    assert result["max_abs_diff"] > DEFAULT_TOLERANCE


@pytest.mark.parametrize("verify, fmt", [(verify_onnx, "onnx"), (verify_torchscript, "pt")])
def test_one_wrong_weight_fails_the_check(verify, fmt, models, images, exported):
    path, original = exported("custom", fmt)
    assert original["passed"]
    nudged = copy.deepcopy(models["custom"])
    with torch.no_grad():
        nudged.head[-1].bias[0] += 0.01  # ten times the tolerance, on one logit

    result = verify(path, nudged, images)

    assert result["passed"] is False
    assert result["max_abs_diff"] == pytest.approx(0.01, rel=1e-3)


def test_a_file_that_will_not_run_is_a_failed_check_not_a_crash(models, images, tmp_path):
    path = tmp_path / "broken.onnx"
    path.write_bytes(b"not an onnx model")

    result = verify_onnx(path, models["custom"], images)

    assert result["passed"] is False and result["max_abs_diff"] is None
    assert "failed to run" in result["error"]


def test_compare_logits_fails_on_shape_mismatch_or_nan():
    reference = torch.tensor([[1.0, 2.0], [3.0, 0.0]])
    assert compare_logits(reference, reference.clone())["passed"] is True
    assert compare_logits(reference, reference[:, :1])["passed"] is False
    broken = compare_logits(reference, torch.tensor([[1.0, float("nan")], [3.0, 0.0]]))
    assert broken["passed"] is False and broken["max_abs_diff"] is None
    flipped = compare_logits(reference, torch.tensor([[2.0, 1.0], [3.0, 0.0]]), tolerance=5.0)
    assert flipped["passed"] is False and flipped["top1_agreement"] == 0.5


@pytest.mark.parametrize("export", [export_onnx, export_torchscript])
def test_a_file_that_cannot_be_written_raises_export_error(export, models, images, tmp_path):
    with pytest.raises(ExportError, match="export failed"):
        export(models["custom"], images[:1], tmp_path, images=images)  # a folder, not a file


@pytest.mark.parametrize("fmt", ["onnx", "pt"])
def test_an_exported_file_carries_its_classes_and_preprocessing(fmt, models, images, tmp_path):
    import onnxruntime

    from classifier.export import TORCHSCRIPT_METADATA, model_metadata

    metadata = model_metadata(arch="custom", class_names=["cat", "dog", "owl", "émeu", "ant"], size=SIZE,
                              resize_size=18, mean=(0.5, 0.4, 0.3), std=(0.2, 0.2, 0.25))
    path = tmp_path / f"custom.{fmt}"
    export = {"onnx": export_onnx, "pt": export_torchscript}[fmt]
    assert export(models["custom"], images[:1], path, images=images, metadata=metadata)["passed"]

    if fmt == "onnx":
        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        found = session.get_modelmeta().custom_metadata_map
    else:
        extra = {TORCHSCRIPT_METADATA: ""}
        torch.jit.load(str(path), _extra_files=extra)
        found = json.loads(extra[TORCHSCRIPT_METADATA])
    assert json.loads(found["class_names"]) == ["cat", "dog", "owl", "émeu", "ant"]
    assert json.loads(found["mean"]) == pytest.approx([0.5, 0.4, 0.3])
    assert json.loads(found["std"]) == pytest.approx([0.2, 0.2, 0.25])
    assert (found["input_size"], found["resize_size"], found["arch"]) == (str(SIZE), "18", "custom")
