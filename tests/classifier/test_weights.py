"""Weight files: a saved model rebuilds itself, and every unusable file is explained."""

import pickle

import pytest
import torch
from safetensors.torch import save_file

from classifier import (
    ModelCard,
    WeightsError,
    create_model,
    load_model,
    load_weights_into,
    read_state_dict,
    save_model,
)

SPEC = [{"type": "conv", "channels": 4}, {"type": "relu"}, {"type": "maxpool"}]


def card_for(arch, spec=None, classes=3):
    return ModelCard(arch=arch, num_classes=classes, class_names=[f"c{i}" for i in range(classes)],
                     image_size=16, preset={"type": "EvalPreset", "size": 16}, spec=spec, extra={"epochs": 2})


@pytest.mark.parametrize("arch, spec", [("custom", SPEC), ("resnet18_small", None), ("vit_tiny", None)])
def test_a_saved_model_rebuilds_itself(tmp_path, arch, spec):
    model = create_model(arch, num_classes=3, image_size=16, spec=spec).eval()
    save_model(tmp_path / "m.safetensors", model, card_for(arch, spec))
    loaded, card = load_model(tmp_path / "m.safetensors")
    images = torch.randn(2, 3, 16, 16)
    assert not loaded.training
    torch.testing.assert_close(loaded(images), model(images), rtol=0, atol=0)
    assert card == card_for(arch, spec)


def test_cards_round_trip_and_ignore_unknown_keys():
    card = card_for("custom", SPEC)
    assert ModelCard.from_dict({**card.to_dict(), "added_later": 1}) == card


def test_it_reads_checkpoints_in_the_usual_wrappings(tmp_path):
    model = create_model("custom", num_classes=3, image_size=8, spec=SPEC)
    state = model.state_dict()
    wrappings = {
        "plain.pth": state,
        "lightning.ckpt": {"state_dict": state, "epoch": 3},
        "reference.pt": {"model": state, "optimizer": {"lr": 0.1}, "epoch": 3},
        "ddp.pth": {f"module.{k}": v for k, v in state.items()},
    }
    for name, content in wrappings.items():
        torch.save(content, tmp_path / name)
        loaded = read_state_dict(tmp_path / name)
        assert loaded.keys() == state.keys(), name
        load_weights_into(create_model("custom", num_classes=3, image_size=8, spec=SPEC), loaded)


class Anything:
    pass


@pytest.mark.parametrize(
    "content, message",
    [
        (b"hello, this is text", "not a safetensors or PyTorch weights file"),
        (b"", "not a safetensors or PyTorch weights file"),
        (pickle.dumps({"weights": Anything()}), "pickle of arbitrary objects, not a state dict"),
    ],
    ids=["text", "empty", "pickle"],
)
def test_unusable_files_are_explained(tmp_path, content, message):
    (tmp_path / "w.pth").write_bytes(content)
    with pytest.raises(WeightsError, match=message):
        read_state_dict(tmp_path / "w.pth")


def test_objects_that_are_not_state_dicts_are_explained(tmp_path):
    torch.save({"epoch": 3, "accuracy": 0.9}, tmp_path / "a.pth")
    with pytest.raises(WeightsError, match="not a state dict of tensors"):
        read_state_dict(tmp_path / "a.pth")
    torch.save({"weights": Anything()}, tmp_path / "b.pth")
    with pytest.raises(WeightsError, match="pickle of arbitrary objects"):
        read_state_dict(tmp_path / "b.pth")
    with pytest.raises(WeightsError, match="no weights file"):
        read_state_dict(tmp_path / "missing.pth")


def test_cut_short_files_are_called_corrupt(tmp_path):
    model = create_model("custom", num_classes=3, image_size=8, spec=SPEC)
    save_model(tmp_path / "m.safetensors", model, card_for("custom", SPEC))
    torch.save(model.state_dict(), tmp_path / "m.pth")
    for name in ("m.safetensors", "m.pth"):
        data = (tmp_path / name).read_bytes()
        (tmp_path / f"cut-{name}").write_bytes(data[: len(data) // 2])
        with pytest.raises(WeightsError, match="corrupt|cut short"):
            read_state_dict(tmp_path / f"cut-{name}")


def test_a_pth_missing_its_last_bytes_is_called_corrupt(tmp_path):
    torch.save({"w": torch.zeros(100, 100), "b": torch.zeros(100)}, tmp_path / "big.pth")
    data = (tmp_path / "big.pth").read_bytes()
    for missing in range(1, 9):  # torch raised a bare OSError (EINVAL) for these
        (tmp_path / "cut.pth").write_bytes(data[:-missing])
        with pytest.raises(WeightsError, match="corrupt or incomplete"):
            read_state_dict(tmp_path / "cut.pth")


def test_a_safetensors_file_without_a_card_cannot_be_loaded_as_a_model(tmp_path):
    save_file({"w": torch.zeros(2)}, str(tmp_path / "bare.safetensors"))
    assert set(read_state_dict(tmp_path / "bare.safetensors")) == {"w"}
    with pytest.raises(WeightsError, match="no Lux model card"):
        load_model(tmp_path / "bare.safetensors")


def test_a_head_for_other_classes_is_explained_or_skipped():
    ten = create_model("resnet18_small", num_classes=10, image_size=16)
    thousand = create_model("resnet18_small", num_classes=1000, image_size=16).state_dict()
    with pytest.raises(WeightsError, match="expects 10 classes, file has 1000"):
        load_weights_into(ten, thousand)
    head_before = ten.fc.weight.clone()
    load_weights_into(ten, thousand, strict_head=False)
    assert torch.equal(ten.fc.weight, head_before)
    assert torch.equal(ten.conv1.weight, thousand["conv1.weight"])


def test_weights_of_another_architecture_are_explained():
    small = create_model("resnet18_small", num_classes=10, image_size=16)
    other = create_model("resnet34_small", num_classes=10, image_size=16).state_dict()
    with pytest.raises(WeightsError, match=r"unexpected keys: layer1\.2\.conv1\.weight"):
        load_weights_into(small, other)
    del other["layer1.0.conv1.weight"]
    with pytest.raises(WeightsError, match=r"missing keys: layer1\.0\.conv1\.weight"):
        load_weights_into(small, other)
    grayscale = {**small.state_dict(), "conv1.weight": torch.zeros(64, 1, 3, 3)}
    with pytest.raises(WeightsError, match=r"conv1\.weight: file has \(64, 1, 3, 3\), model expects \(64, 3, 3, 3\)"):
        load_weights_into(small, grayscale)



def test_the_built_spec_is_stored_even_when_it_was_the_default(tmp_path):
    model = create_model("custom", num_classes=3)
    save_model(tmp_path / "m.safetensors", model, card_for("custom", spec=None))
    loaded, card = load_model(tmp_path / "m.safetensors")
    assert card.spec == model.spec and card.spec
