"""The engine on a CUDA GPU: every family trains in bf16, a GPU-trained model answers the same on a CPU, resume works.

Skipped without CUDA; bench/gpu_check.sh runs them (`-m cuda`) on a GPU machine. The same checks on CPU live in
the other training tests; these catch what only a GPU shows (device placement, autocast, channels_last, pinned
checkpoint copies).
"""

from __future__ import annotations

import math

import pytest
import torch

from classifier.factory import create_model
from tests.training.test_training_resume import StopAfterEpoch
from tests.training.training_helpers import tiny_config
from training import evaluate, fit
from training.checkpoint import load_checkpoint

pytestmark = [pytest.mark.cuda, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")]

GPU = dict(device="cuda", mixed_precision="bf16", channels_last="on")
# One small architecture per family, at the colour folder's 16 px (the custom CNN uses the tests' tiny spec).
FAMILIES = {"custom": {}, "resnet18_small": {"spec": None}, "vgg11_bn_small": {"spec": None},
            "vit_tiny": {"spec": None}}


@pytest.mark.parametrize("arch", list(FAMILIES))
def test_each_family_trains_on_the_gpu_and_its_checkpoint_answers_the_same_on_a_cpu(arch, colour_data, tmp_path):
    config = tiny_config(arch=arch, epochs=2, optimizer="adamw", lr=1e-3, **FAMILIES[arch], **GPU)
    result = fit(config, colour_data, out_dir=tmp_path)

    assert [s.epoch for s in result.history] == [1, 2]
    assert all(math.isfinite(s.train_loss) and math.isfinite(s.val_loss) for s in result.history)
    assert next(result.model.parameters()).device.type == "cuda"

    # The last checkpoint, read on the CPU into a fresh model, gives the GPU model's fp32 answers.
    state = load_checkpoint(tmp_path / "checkpoints" / "epoch_0002.pt")["model"]
    assert all(t.device.type == "cpu" for t in state.values())
    on_cpu = create_model(arch, num_classes=len(colour_data.class_names), image_size=16, spec=config.spec)
    on_cpu.load_state_dict(state)
    val = colour_data.split("val")
    gpu = evaluate(result.model, val, class_names=colour_data.class_names, preset=result.eval_preset)
    cpu = evaluate(on_cpu, val, class_names=colour_data.class_names, preset=result.eval_preset, device="cpu")
    assert [p["predicted"] for p in gpu["predictions"]] == [p["predicted"] for p in cpu["predictions"]]
    assert gpu["top1"] == pytest.approx(cpu["top1"])


def test_a_run_stopped_on_the_gpu_resumes_there_and_matches_one_never_stopped(colour_data, tmp_path):
    config = tiny_config(epochs=4, deterministic=True, device="cuda")
    straight = fit(config, colour_data, out_dir=tmp_path / "straight")

    first = fit(config, colour_data, out_dir=tmp_path / "split", callbacks=[StopAfterEpoch(2)])
    assert first.stopped and len(first.history) == 2
    second = fit(config, colour_data, out_dir=tmp_path / "split", resume=True)

    assert [s.epoch for s in second.history] == [1, 2, 3, 4]
    # Deterministic kernels on one GPU: the resumed run retraces the straight one.
    for name, value in straight.model.state_dict().items():
        assert torch.allclose(value.float(), second.model.state_dict()[name].float(), atol=1e-5), name
    assert [s.train_loss for s in straight.history] == pytest.approx([s.train_loss for s in second.history])


def test_compiled_training_on_the_gpu_learns_like_eager(colour_data, tmp_path):
    eager = fit(tiny_config(epochs=3, **GPU), colour_data, out_dir=tmp_path / "eager")
    compiled = fit(tiny_config(epochs=3, compile=True, **GPU), colour_data, out_dir=tmp_path / "compiled")
    assert len(compiled.history) == 3 and math.isfinite(compiled.history[-1].train_loss)
    # Same seed and data: compiled kernels round differently, but the run must learn as much.
    assert compiled.history[-1].val_accuracy >= eager.history[-1].val_accuracy - 0.2
