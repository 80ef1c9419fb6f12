"""The data's answers "May these images be mirrored?" and "May they be rotated?", from config to batch."""

from __future__ import annotations

import pytest
import torch

from classifier.presets import TrainPreset
from tests.training.training_helpers import tiny_config
from training import Callback, ConfigError, TrainConfig, fit, presets_for
from training.checkpoint import load_checkpoint


def centre_and_turns(images: torch.Tensor, size: int) -> list[torch.Tensor]:
    top = (images.shape[-1] - size) // 2
    centre = images[..., top:top + size, top:top + size].float()
    return [torch.rot90(centre, k, dims=(2, 3)) for k in range(4)]


def matches(out: torch.Tensor, candidate: torch.Tensor) -> torch.Tensor:
    return torch.isclose(out, candidate, atol=1e-3).flatten(1).all(1)


def test_new_configs_neither_mirror_nor_rotate():
    config = TrainConfig()
    assert config.mirror is False and config.rotate is False
    train, _ = presets_for(config)
    assert train.flip is False and train.rotate is False


def test_the_answers_reach_the_training_preset_unless_augmentation_is_off():
    train, _ = presets_for(TrainConfig(mirror=True, rotate=True))
    assert train.flip and train.rotate and train.to_dict()["rotate"] is True
    off, _ = presets_for(TrainConfig(mirror=True, rotate=True, augment="none"))
    assert not off.flip and not off.rotate


@pytest.mark.parametrize("side", [32, 80])  # pad-and-crop and random-resized-crop modes
def test_rotation_turns_images_by_quarter_turns_and_never_mirrors(side):
    images = torch.randint(0, 256, (200, 3, side, side), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    preset = TrainPreset(size=side, resize_size=side, crop=False, rotate=True, mean=(0, 0, 0), std=(1, 1, 1))
    out = preset(images, generator=torch.Generator().manual_seed(0)) * 255
    turns = torch.stack([matches(out, t) for t in centre_and_turns(images, side)])  # (4, B)
    assert bool(turns.any(0).all())
    assert all(30 < int(n) < 70 for n in turns.sum(1))
    assert not bool(matches(out, centre_and_turns(images, side)[0].flip(3)).any())


def test_mirror_and_rotate_together_give_all_eight_orientations():
    images = torch.randint(0, 256, (400, 3, 16, 16), dtype=torch.uint8, generator=torch.Generator().manual_seed(1))
    out = TrainPreset(size=16, crop=False, flip=True, rotate=True, mean=(0, 0, 0), std=(1, 1, 1))(
        images, generator=torch.Generator().manual_seed(1)) * 255
    turns = centre_and_turns(images, 16)
    found = torch.stack([matches(out, t) for t in turns] + [matches(out, t.flip(3)) for t in turns])  # (8, B)
    assert bool(found.any(0).all()) and bool((found.sum(1) > 20).all())


def test_a_config_saved_before_mirror_existed_keeps_its_flips():
    old = {k: v for k, v in TrainConfig().to_dict().items() if k not in ("mirror", "rotate")}
    assert TrainConfig.from_dict({**old, "flip": True}).mirror is True
    assert TrainConfig.from_dict({**old, "flip": False}).mirror is False
    assert TrainConfig.from_dict(old).mirror is False  # no key at all: a new config, not an old one
    with pytest.raises(ConfigError, match="flip"):
        TrainConfig.from_dict({**old, "flip": True, "mirror": False})


def _as_old_checkpoint(path) -> None:
    """Rewrite a checkpoint's config as the engine saved it before "mirror" and "rotate" existed."""
    checkpoint = load_checkpoint(path)
    config = checkpoint["config"]
    if "mirror" in config:  # best.pt may be the same file as an epoch's, already rewritten
        config["flip"] = config.pop("mirror")
        del config["rotate"]
        torch.save(checkpoint, path)


def test_a_checkpoint_trained_with_flips_before_mirror_existed_resumes_exactly(colour_data, tmp_path):
    config = tiny_config(epochs=4, mirror=True, deterministic=True)  # 6 steps per epoch
    fit(config, colour_data, out_dir=tmp_path / "straight")
    stopped = fit(config, colour_data, out_dir=tmp_path / "resumed", callbacks=[StopAfterSteps(9)])
    assert stopped.stopped  # mid-epoch 2: the order and the flips drawn so far are in the checkpoint
    for path in (tmp_path / "resumed" / "checkpoints").glob("*.pt"):
        _as_old_checkpoint(path)
    old_layout = {k: v for k, v in config.to_dict().items() if k not in ("mirror", "rotate")}
    fit(TrainConfig.from_dict({**old_layout, "flip": True}), colour_data, out_dir=tmp_path / "resumed", resume=True)
    final = [load_checkpoint(d / "checkpoints" / "epoch_0004.pt")["model"] for d in (tmp_path / "straight",
                                                                                       tmp_path / "resumed")]
    assert all(torch.equal(final[0][k], final[1][k]) for k in final[0])
    with pytest.raises(ConfigError, match="mirror"):  # a new config without mirroring is another run
        fit(tiny_config(epochs=4, deterministic=True), colour_data, out_dir=tmp_path / "resumed", resume=True)


class StopAfterSteps(Callback):
    def __init__(self, steps: int):
        self.steps, self.asked = steps, 0

    def should_stop(self) -> bool:
        self.asked += 1
        return self.asked >= self.steps
