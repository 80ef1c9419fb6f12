"""Heads that keep what they know: a model started from an earlier one keeps the head rows of shared classes."""

import torch

from classifier import ModelCard, create_model, save_model
from classifier.presets import EvalPreset
from classifier.transfer import shared_classes

SPEC = [{"type": "conv", "channels": 8, "kernel": 3}, {"type": "relu"}, {"type": "globalavgpool"}]


def earlier_model(tmp_path, names):
    """Save a tiny trained-looking model for `names` as a Lux file; return (model, path)."""
    torch.manual_seed(0)
    model = create_model("custom", num_classes=len(names), image_size=16, spec=SPEC).eval()
    card = ModelCard(arch="custom", num_classes=len(names), class_names=list(names), image_size=16,
                     preset=EvalPreset(size=16).to_dict(), spec=SPEC)
    path = tmp_path / "earlier.safetensors"
    save_model(path, model, card)
    return model, path


def test_shared_classes_match_by_name_whatever_the_case():
    assert shared_classes(["cat", "Dog", "fox"], ["dog", "bird", "CAT "]) == [(0, 1), (2, 0)]


def test_before_any_step_the_shared_classes_answer_as_the_earlier_model_did(tmp_path):
    old, path = earlier_model(tmp_path, ["cat", "dog", "fox"])
    torch.manual_seed(1)
    new = create_model("custom", num_classes=3, image_size=16, spec=SPEC, pretrained=path,
                       class_names=["dog", "bird", "cat"]).eval()
    images = torch.rand(4, 3, 16, 16)

    with torch.inference_mode():
        before, after = old(images), new(images)  # (4, 3) logits each

    assert torch.allclose(after[:, 0], before[:, 1]) and torch.allclose(after[:, 2], before[:, 0])
    assert not torch.allclose(after[:, 1], before[:, 2])  # bird is new: its row starts fresh, not as fox's


def test_a_head_for_more_classes_keeps_the_known_rows_and_the_backbone(tmp_path):
    old, path = earlier_model(tmp_path, ["0", "1"])
    new = create_model("custom", num_classes=4, image_size=16, spec=SPEC, pretrained=path,
                       class_names=["0", "1", "2", "3"])
    head = [k for k in new.state_dict() if k.endswith("weight")][-1]
    assert torch.equal(new.state_dict()[head][:2], old.state_dict()[head])
    assert torch.equal(new.state_dict()["1.weight"], old.state_dict()["1.weight"])  # the backbone


def test_without_class_names_a_head_that_does_not_fit_stays_fresh(tmp_path):
    old, path = earlier_model(tmp_path, ["cat", "dog", "fox"])
    torch.manual_seed(1)
    fresh = create_model("custom", num_classes=2, image_size=16, spec=SPEC)
    torch.manual_seed(1)
    new = create_model("custom", num_classes=2, image_size=16, spec=SPEC, pretrained=path)
    head = [k for k in new.state_dict() if k.endswith("weight")][-1]
    assert torch.equal(new.state_dict()[head], fresh.state_dict()[head])
