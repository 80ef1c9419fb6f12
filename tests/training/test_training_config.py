"""TrainConfig validation: every bad field is reported at once, by name, in words."""

from __future__ import annotations

import pytest

from classifier.registry import list_models
from training import ConfigError, TrainConfig, defaults_for


def test_the_defaults_are_valid():
    TrainConfig().validate()


def test_it_reports_every_bad_field_at_once():
    config = TrainConfig(epochs=0, lr=-1.0, optimizer="adam", scheduler="linear", augment="heavy",
                         mixed_precision="fp16", batch_size=0, label_smoothing=1.0)
    with pytest.raises(ConfigError) as caught:
        config.validate()
    assert set(caught.value.errors) == {"epochs", "lr", "optimizer", "scheduler", "augment", "mixed_precision",
                                        "batch_size", "label_smoothing"}
    assert "sgd" in caught.value.errors["optimizer"] and "adamw" in caught.value.errors["optimizer"]
    assert "onecycle" in caught.value.errors["scheduler"]


def test_it_rejects_an_unknown_architecture_with_a_suggestion():
    with pytest.raises(ConfigError) as caught:
        TrainConfig(arch="resnet18_smal").validate()
    assert "resnet18_small" in caught.value.errors["arch"]


def test_it_rejects_an_image_size_the_model_cannot_take():
    with pytest.raises(ConfigError) as caught:
        TrainConfig(arch="vit_tiny", image_size=31).validate()
    assert "image_size" in caught.value.errors


def test_it_reports_an_impossible_layer_spec_under_spec():
    spec = [{"type": "maxpool", "kernel": 2, "stride": 2}] * 6
    with pytest.raises(ConfigError) as caught:
        TrainConfig(arch="custom", spec=spec, image_size=16).validate()
    assert set(caught.value.errors) == {"spec"}
    assert "0x0" in caught.value.errors["spec"]


def test_a_spec_only_goes_with_the_custom_architecture():
    with pytest.raises(ConfigError) as caught:
        TrainConfig(arch="resnet18_small", spec=[{"type": "relu"}]).validate()
    assert "custom" in caught.value.errors["spec"]


@pytest.mark.parametrize(("overrides", "field"), [
    (dict(warmup_epochs=10, epochs=10), "warmup_epochs"),
    (dict(finetune="head"), "finetune"),
    (dict(pretrained="/no/such/weights.pth"), "pretrained"),
    (dict(pretrained="imagenet", arch="resnet18_small"), "pretrained"),
    (dict(optimizer="sgd", nesterov=True, momentum=0.0), "nesterov"),
    (dict(epochs=True), "epochs"),
    (dict(lr=float("nan")), "lr"),
    (dict(keep_last=0), "keep_last"),
    (dict(device="tpu"), "device"),
    (dict(class_balance="oversample"), "class_balance"),
])
def test_it_rejects_impossible_combinations(overrides, field):
    with pytest.raises(ConfigError) as caught:
        TrainConfig(**overrides).validate()
    assert field in caught.value.errors


def test_from_dict_names_unknown_keys():
    with pytest.raises(ConfigError) as caught:
        TrainConfig.from_dict({"epochs": 3, "learning_rate": 0.1, "bogus": 1})
    assert set(caught.value.errors) == {"learning_rate", "bogus"}


def test_to_dict_and_from_dict_round_trip():
    config = TrainConfig(arch="custom", spec=[{"type": "conv", "channels": 4, "kernel": 3}], epochs=2)
    assert TrainConfig.from_dict(config.to_dict()) == config


@pytest.mark.parametrize("arch", list_models())
def test_defaults_for_every_architecture_validate(arch):
    TrainConfig.from_dict(defaults_for(arch))


def test_defaults_differ_by_family_and_for_fine_tuning():
    assert defaults_for("vit_tiny")["lr"] < defaults_for("resnet18_small")["lr"]
    assert defaults_for("resnet18_small")["scheduler"] == "onecycle"
    assert defaults_for("resnet50")["image_size"] == 224 and defaults_for("resnet18_small")["image_size"] == 32
    tuned = defaults_for("resnet50", pretrained="imagenet")
    assert tuned["optimizer"] == "sgd" and tuned["scheduler"] == "cosine" and tuned["pretrained"] == "imagenet"
