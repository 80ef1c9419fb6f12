"""Fine-tuning from weights (ImageNet or an earlier model): the modes, and each family's gentle recipe.

The modes are a TrainConfig setting (`finetune`) that `training.optim.param_groups` turns into optimizer
parameter groups: "full" trains every layer at the same learning rate; "head" trains only the classifier's
final layer (the registry's `head` prefix: `fc` for ResNet, `classifier` / `classifier.6` for VGG, `heads` for
ViT, `head` for custom networks), the rest frozen with requires_grad off; "lower_lr" trains the backbone at
`backbone_lr_scale` times the head's learning rate, so features that already work are nudged, not overwritten.
"""

from __future__ import annotations

from typing import Any

FINETUNE_MODES: dict[str, str] = {
    "full": "every layer at the same learning rate",
    "head": "the final layer only (the rest frozen)",
    "lower_lr": "the backbone at a lower learning rate than the head",
}

# Per family, what starting from weights changes against training from scratch (training.config's family
# recipes): a lower peak learning rate, fewer epochs and a short warm-up, so the first steps with a fresh head
# do not wreck the features. ResNet and VGG: the classic SGD + Nesterov + cosine recipe of torchvision's
# fine-tuning references. ViT: AdamW at a twentieth of its scratch rate (transformers forget fast at high lr).
# Custom CNNs (only ever started from an earlier Lux run): AdamW at a quarter of the scratch rate.
_SGD = dict(optimizer="sgd", lr=0.01, momentum=0.9, nesterov=True, weight_decay=1e-4, scheduler="cosine")
FAMILY_FINETUNE: dict[str, dict[str, Any]] = {
    "resnet": dict(_SGD, epochs=5, warmup_epochs=0.0),
    "vgg": dict(_SGD, epochs=5, warmup_epochs=0.0),
    "vit": dict(optimizer="adamw", lr=5e-5, momentum=0.9, nesterov=False, weight_decay=0.05, scheduler="cosine",
                epochs=10, warmup_epochs=1.0),
    "custom": dict(optimizer="adamw", lr=5e-4, momentum=0.9, nesterov=False, weight_decay=0.05,
                   scheduler="cosine", epochs=10, warmup_epochs=1.0),
}


def finetune_defaults(family: str) -> dict[str, Any]:
    """Return the settings `family` takes when it starts from weights (on top of its scratch recipe)."""
    return dict(FAMILY_FINETUNE[family])


def describe(finetune: str, backbone_lr_scale: float) -> str:
    """Return the fine-tune mode in words, e.g. "backbone at 0.1× the head's learning rate"."""
    if finetune == "lower_lr":
        return f"backbone at {backbone_lr_scale:g}× the head's learning rate"
    return FINETUNE_MODES.get(finetune, finetune)
