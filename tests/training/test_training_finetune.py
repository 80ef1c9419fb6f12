"""Fine-tune modes: head only freezes the backbone; lower_lr gives the backbone a scaled learning rate."""

from __future__ import annotations

import pytest
import torch

from classifier.factory import create_model
from classifier.registry import model_info
from tests.training.training_helpers import TINY_BN_SPEC, tiny_config
from training.config import ConfigError, defaults_for
from training.optim import OPTIMIZERS, SCHEDULERS, param_groups
from training.recipes import recipe_for

HEADS = {"resnet18_small": "fc", "vgg11_bn_small": "classifier", "vit_tiny": "heads", "custom": "head"}


def optimizer_for(arch: str, finetune: str, *, lr: float = 0.1, optimizer: str = "sgd", **model_options):
    """Return (model, optimizer, scheduler) built as fit() builds them, for `arch` fine-tuned in `finetune` mode."""
    model = create_model(arch, num_classes=3, **model_options)
    config = tiny_config(arch=arch, spec=model_options.get("spec"), image_size=model_options.get("image_size", 16),
                         finetune=finetune, pretrained=None, lr=lr, optimizer=optimizer, scheduler="none")
    plan = param_groups(model, head_prefix=model_info(arch).head, finetune=finetune,
                        weight_decay=config.weight_decay, backbone_lr_scale=config.backbone_lr_scale)
    opt = OPTIMIZERS[config.optimizer](plan, config)
    return model, opt, SCHEDULERS[config.scheduler](opt, config, 10)


def step(model, opt, scheduler):
    """Take one training step on random 16 px images."""
    images, labels = torch.randn(4, 3, 16, 16), torch.tensor([0, 1, 2, 0])  # (N, C, H, W), (N,)
    torch.nn.functional.cross_entropy(model(images), labels).backward()
    opt.step()
    scheduler.step()


@pytest.mark.parametrize("arch", list(HEADS))
def test_each_family_names_its_final_layer_as_the_head(arch):
    assert model_info(arch).head == HEADS[arch]


@pytest.mark.parametrize(("arch", "options"), [("custom", {"spec": TINY_BN_SPEC}), ("resnet18_small", {})])
def test_head_only_leaves_the_backbone_unchanged_after_a_step(arch, options):
    model, opt, scheduler = optimizer_for(arch, "head", image_size=16, **options)
    head = HEADS[arch]
    before = {name: p.detach().clone() for name, p in model.named_parameters()}

    step(model, opt, scheduler)

    changed = {name for name, p in model.named_parameters() if not torch.equal(p, before[name])}
    assert changed and all(name.startswith(head + ".") for name in changed), changed
    assert all(not p.requires_grad for name, p in model.named_parameters() if not name.startswith(head + "."))


def test_lower_lr_gives_the_backbone_a_tenth_of_the_heads_learning_rate():
    model, opt, scheduler = optimizer_for("custom", "lower_lr", lr=0.2, spec=TINY_BN_SPEC)
    head_ids = {id(p) for name, p in model.named_parameters() if name.startswith("head.")}
    lrs = {("head" if id(group["params"][0]) in head_ids else "backbone"): group["lr"] for group in opt.param_groups}
    assert lrs == {"head": pytest.approx(0.2), "backbone": pytest.approx(0.02)}
    assert all(p.requires_grad for p in model.parameters())

    step(model, opt, scheduler)  # the groups keep their ratio through the schedule
    lrs = {("head" if id(group["params"][0]) in head_ids else "backbone"): group["lr"] for group in opt.param_groups}
    assert lrs["backbone"] == pytest.approx(lrs["head"] * 0.1)


def test_full_trains_every_layer_at_one_rate():
    _, opt, _ = optimizer_for("custom", "full", lr=0.2, spec=TINY_BN_SPEC)
    assert {group["lr"] for group in opt.param_groups} == {0.2}


def test_head_or_lower_lr_without_weights_is_refused():
    with pytest.raises(ConfigError) as error:
        tiny_config(finetune="head").validate()
    assert "needs pretrained weights" in error.value.errors["finetune"]


@pytest.mark.parametrize("arch", ["resnet18", "vgg11_bn", "vit_tiny", "custom"])
def test_starting_from_weights_takes_a_lower_lr_fewer_epochs_per_family(arch):
    scratch, tuned = defaults_for(arch), defaults_for(arch, pretrained="imagenet")
    if scratch["optimizer"] == tuned["optimizer"]:  # SGD and AdamW rates are not on one scale
        assert tuned["lr"] <= scratch["lr"] / 4
    assert tuned["epochs"] < scratch["epochs"] and tuned["scheduler"] == "cosine"


def test_the_recipe_line_says_it_fine_tunes_and_what_the_defaults_filled():
    line = recipe_for("custom", train_images=240, num_classes=3, pretrained="imagenet",
                      given={"finetune": "lower_lr", "lr": 0.001}).explanation
    assert "fine-tuning from weights, backbone at 0.1× the head's learning rate" in line
    assert "fewer epochs, a warm-up: the custom fine-tune defaults" in line and "lower learning rate" not in line
    scratch = recipe_for("custom", train_images=240, num_classes=3).explanation
    assert "fine-tuning" not in scratch
