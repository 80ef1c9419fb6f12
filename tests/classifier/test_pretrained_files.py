"""ImageNet weight files: downloaded with torch's verified helper from a real local server, or brought in by hand;
a file that is cut short, corrupt, of another architecture or another format never reaches the cache."""

import pickle

import pytest
import torch
from safetensors.torch import save_file

from classifier import create_model
from classifier.pretrained_files import (
    DownloadError,
    WeightsFile,
    check_shapes,
    download,
    hash_prefix,
    install,
    weights_file_for,
    weights_files,
)
from classifier.weights import WeightsError
from tests.weights_server import WeightsServer, sha256_named


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """Point torch's hub folder at an empty folder; return its checkpoints folder."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    return tmp_path / "torch" / "hub" / "checkpoints"


@pytest.fixture
def served(tmp_path):
    """A real HTTP server on 127.0.0.1 serving a folder of weights files the test writes."""
    with WeightsServer(tmp_path / "served") as server:
        (tmp_path / "served").mkdir(exist_ok=True)
        yield server


def tiny_imagenet_state(seed: int = 0) -> dict[str, torch.Tensor]:
    """Return the tiny custom network's tensors with a 1,000-class head, as an ImageNet file would hold them."""
    torch.manual_seed(seed)
    return create_model("custom", num_classes=1000).state_dict()


def tiny_entry(filename: str) -> WeightsFile:
    """Describe a published file for the tiny custom network (real architectures' files are 45 MB and up)."""
    return WeightsFile(filename=filename, archs=("custom",), arch="custom", weights="")


def leftovers(cache) -> list[str]:
    """Return every file under the cache's parent (partial downloads, staging folders), relative to it."""
    root = cache.parent
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_every_architecture_with_imagenet_weights_has_one_file_with_a_checksum_in_its_name():
    files = {f.filename: f for f in weights_files()}
    assert files["resnet18-f37072fd.pth"].arch == "resnet18"
    assert files["vgg16_bn-6c64b313.pth"].archs == ("vgg16_bn", "vgg16_bn_small")
    assert files["vgg16_bn-6c64b313.pth"].arch == "vgg16_bn"  # the architecture whose layers are the file's
    assert all(f.hash_prefix for f in files.values())
    assert weights_file_for("vgg16_bn_small").filename == "vgg16_bn-6c64b313.pth"
    assert hash_prefix("resnet18-f37072fd.pth") == "f37072fd" and hash_prefix("mine.pth") is None
    with pytest.raises(WeightsError, match="resnet18_small has no ImageNet weights"):
        weights_file_for("resnet18_small")


def test_download_streams_verifies_and_moves_the_file_into_the_cache(cache, served):
    path = sha256_named(served.folder, "custom", tiny_imagenet_state())
    entry = tiny_entry(path.name)
    progress = []

    placed = download(entry, base_url=served.base_url, on_progress=lambda done, total: progress.append((done, total)))

    assert placed == cache / path.name and placed.read_bytes() == path.read_bytes()
    assert progress[-1] == (path.stat().st_size, path.stat().st_size)
    assert leftovers(cache) == [f"checkpoints/{path.name}"]  # no partial file or staging folder stays
    model = create_model("custom", num_classes=5, pretrained=placed)
    assert torch.equal(model.state_dict()["1.weight"], tiny_imagenet_state()["1.weight"])


def test_a_corrupt_download_leaves_nothing_and_says_the_checksum_failed(cache, served):
    path = sha256_named(served.folder, "custom", tiny_imagenet_state())
    torch.save(tiny_imagenet_state(seed=1), path)  # other bytes under the same name: the checksum cannot match

    with pytest.raises(DownloadError, match=r"does not match the checksum in its name .*nothing was kept"):
        download(tiny_entry(path.name), base_url=served.base_url)
    assert leftovers(cache) == []


def test_a_download_cut_short_leaves_nothing(cache, served):
    path = sha256_named(served.folder, "custom", tiny_imagenet_state())
    served.cut.add(path.name)  # the server promises the whole file and closes after half of it

    with pytest.raises(DownloadError, match="cut short"):
        download(tiny_entry(path.name), base_url=served.base_url)
    assert leftovers(cache) == []


def test_a_missing_file_or_an_unreachable_server_is_explained(cache, served):
    with pytest.raises(DownloadError, match=r"answered HTTP 404 .*nothing was downloaded"):
        download(tiny_entry("custom-00000000.pth"), base_url=served.base_url)
    with pytest.raises(DownloadError, match="cannot reach http://127.0.0.1:9/"):
        download(tiny_entry("custom-00000000.pth"), base_url="http://127.0.0.1:9/")
    assert leftovers(cache) == []


def test_a_file_with_torchvisions_name_is_checked_against_its_checksum(cache, tmp_path):
    path = sha256_named(tmp_path / "mine", "custom", tiny_imagenet_state())
    entry = tiny_entry(path.name)

    installed = install(entry, path, original_name=path.name)
    assert (installed.check, installed.path) == ("checksum", cache / path.name)

    installed.path.unlink()
    torch.save(tiny_imagenet_state(seed=1), path)
    with pytest.raises(WeightsError, match="SHA-256 begins .* nothing was stored"):
        install(entry, path, original_name=path.name)
    assert leftovers(cache) == []


def test_a_state_dict_under_another_name_is_checked_by_its_shapes(cache, tmp_path):
    entry = tiny_entry("custom-12345678.pth")
    source = tmp_path / "exported.safetensors"
    save_file({k: v.contiguous() for k, v in tiny_imagenet_state().items()}, str(source))

    installed = install(entry, source, original_name="exported.safetensors")

    assert installed.check == "shapes" and installed.path == cache / entry.filename
    stored = torch.load(installed.path, weights_only=True)  # stored as a PyTorch file, where torch looks
    assert torch.equal(stored["head.0.weight"], tiny_imagenet_state()["head.0.weight"])
    assert leftovers(cache) == [f"checkpoints/{entry.filename}"]


class Payload:
    """An object whose unpickling would run code."""

    def __reduce__(self):
        return (print, ("this ran",))


@pytest.mark.parametrize(("content", "name", "error"), [
    (lambda: {"1.weight": torch.zeros(3)}, "wrong.pth", r"not custom's ImageNet weights: .*missing"),
    (lambda: create_model("custom", num_classes=10).state_dict(), "ten.pth", "with other shapes"),
    ("truncated", "cut.pth", "corrupt or incomplete"),
    ("pickle", "evil.pth", "pickle of arbitrary objects"),
    (b"GIF89a not weights", "picture.pth", "not a safetensors or PyTorch weights file"),
    (b"whatever", "weights.onnx", "neither a .pth nor a .safetensors file"),
])
def test_wrong_files_are_refused_and_nothing_is_stored(cache, tmp_path, content, name, error, capsys):
    source = tmp_path / name
    if content == "truncated":
        torch.save(tiny_imagenet_state(), source)
        source.write_bytes(source.read_bytes()[: source.stat().st_size // 2])
    elif content == "pickle":
        source.write_bytes(pickle.dumps({"1.weight": Payload()}))
    elif isinstance(content, bytes):
        source.write_bytes(content)
    else:
        torch.save(content(), source)

    with pytest.raises(WeightsError, match=error):
        install(tiny_entry("custom-12345678.pth"), source, original_name=name)
    assert leftovers(cache) == []
    assert "this ran" not in capsys.readouterr().out


def test_a_real_architectures_shapes_are_checked_without_building_its_weights(cache, tmp_path):
    resnet34 = weights_file_for("resnet34")
    with torch.device("meta"):
        resnet18 = create_model("resnet18", num_classes=1000).state_dict()
    with pytest.raises(WeightsError, match="not resnet34's ImageNet weights.*look like resnet18's"):
        check_shapes(resnet34, resnet18)
