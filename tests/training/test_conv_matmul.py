"""Small-map convolutions as matmuls: the same function, chosen by timing, kept across a resume, gone after fit()."""

from __future__ import annotations

import contextlib

import pytest
import torch
import torchvision
from torch import nn

from tests.training.test_training_resume import StopAfterEpoch
from tests.training.training_helpers import tiny_config
from training import conv_matmul, fit
from training.checkpoint import load_checkpoint, save_checkpoint
from training.conv_matmul import MatmulConv2d

BF16 = lambda: torch.autocast("cpu", dtype=torch.bfloat16)  # noqa: E731


@pytest.mark.parametrize("kwargs, side", [
    (dict(kernel_size=3, padding=1), 2),
    (dict(kernel_size=3, padding=1, stride=2), 5),
    (dict(kernel_size=1, bias=False), 3),
    (dict(kernel_size=(3, 2), padding=(2, 0), dilation=2), 4),
    (dict(kernel_size=7, stride=2, padding=3), 9),
])
@pytest.mark.parametrize("channels_last", [False, True])
def test_a_matmul_convolution_computes_what_the_kernel_does_forward_and_back(kwargs, side, channels_last):
    torch.manual_seed(0)
    conv = nn.Conv2d(6, 5, **kwargs).double()
    x = torch.randn(3, 6, side, side + 1, dtype=torch.float64)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    twin = MatmulConv2d(6, 5, **kwargs).double()
    twin.load_state_dict(conv.state_dict())
    assert twin.state_dict().keys() == conv.state_dict().keys()

    grads = []
    for module in (conv, twin):
        xi = x.clone().requires_grad_()
        out = module(xi)
        out.backward(torch.arange(out.numel(), dtype=out.dtype).reshape(out.shape).cos())
        grads.append((out, xi.grad, module.weight.grad, module.bias.grad if module.bias is not None else None))
    for a, b in zip(*grads, strict=True):
        assert (a is None) == (b is None)
        if a is not None:
            assert a.shape == b.shape and torch.allclose(a, b, atol=1e-10)


def test_under_bf16_autocast_the_output_has_the_kernels_dtype_and_value():
    torch.manual_seed(0)
    conv = nn.Conv2d(64, 32, 3, padding=1)
    twin = MatmulConv2d(64, 32, 3, padding=1)
    twin.load_state_dict(conv.state_dict())
    x = torch.randn(4, 64, 2, 2)
    with BF16():
        a, b = conv(x), twin(x)
    assert a.dtype == b.dtype
    assert torch.allclose(a.float(), b.float(), atol=0.05, rtol=0.02)


def test_the_probe_finds_the_small_maps_at_the_run_image_size_and_changes_nothing():
    model = torchvision.models.resnet18(num_classes=3)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    example = torch.zeros(1, 3, 64, 64)

    found = conv_matmul.probe(model, example, contextlib.nullcontext)

    # 64 px: layer3 makes 4x4 maps and layer4 2x2; conv1 (32x32), layer1 and layer2 are too large to try.
    expected = [f"{layer}.{block}.{conv}" for layer in ("layer3", "layer4") for block in (0, 1)
                for conv in ("conv1", "conv2")] + ["layer3.0.downsample.0", "layer4.0.downsample.0"]
    assert sorted(found) == sorted(expected)
    assert found["layer4.1.conv2"].shape == (1, 512, 2, 2) and found["layer4.1.conv2"].requires_grad
    assert model.training  # back in train mode, BatchNorm statistics untouched
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert conv_matmul.probe(model, torch.zeros(1, 3, 224, 224), contextlib.nullcontext) == {}


def test_speedup_times_both_forms_alternately_and_leaves_the_parameters_alone(monkeypatch):
    conv = nn.Conv2d(8, 8, 3, padding=1)
    seen = conv_matmul.Probe((4, 8, 2, 2), torch.float32, channels_last=False, requires_grad=True)
    # A clock read twice a call, kernel first then matmul each round: the kernel takes 1 s, the matmul 0.25 s,
    # except the warm-up round, which the median must leave out.
    ticks = iter([0, 100, 0, 0.1] + [0, 1, 0, 0.25] * conv_matmul.REPEATS)
    forms = []
    real_forward = MatmulConv2d._conv_forward

    def noting(self, *args):
        forms.append("matmul")
        return real_forward(self, *args)

    monkeypatch.setattr(MatmulConv2d, "_conv_forward", noting)
    ratio = conv_matmul.speedup(conv, seen, contextlib.nullcontext, clock=lambda: next(ticks))
    assert ratio == 4.0
    assert forms == ["matmul"] * (conv_matmul.REPEATS + 1)
    assert type(conv) is nn.Conv2d and conv.weight.grad is None and conv.bias.grad is None


def test_tune_switches_only_what_the_matmul_runs_clearly_faster(monkeypatch):
    model = torchvision.models.resnet18(num_classes=3)
    rates = {"layer4.0.conv1": 3.0, "layer4.1.conv2": conv_matmul.MIN_SPEEDUP, "layer3.0.conv1": 1.1}
    asked = []

    def fake(conv, seen, autocast):
        name = next(n for n, m in model.named_modules() if m is conv)
        asked.append((name, seen.shape[0]))
        return rates.get(name, 0.5)

    monkeypatch.setattr(conv_matmul, "speedup", fake)
    candidates, faster = conv_matmul.tune(model, 48, torch.zeros(1, 3, 64, 64), contextlib.nullcontext)
    assert len(candidates) == 10 and {batch for _, batch in asked} == {48}  # timed at the run's batch size
    assert faster == ["layer4.0.conv1", "layer4.1.conv2"]

    conv_matmul.use(model, faster + ["no.such.layer"])
    assert type(model.layer4[0].conv1) is MatmulConv2d and type(model.layer3[0].conv1) is nn.Conv2d
    conv_matmul.plain(model)
    assert not any(type(m) is MatmulConv2d for m in model.modules())


# ---- in fit() -----------------------------------------------------------------------------------------

SMALL = dict(image_size=8, epochs=3)  # the tiny CNN's second convolution then works on a 4x4 map


@pytest.fixture
def always_faster(monkeypatch):
    """Make every candidate measure faster as a matmul, and count the matmul forwards."""
    calls = {"timed": 0, "forward": 0}
    real_forward = MatmulConv2d._conv_forward

    def fake_speedup(conv, seen, autocast):
        calls["timed"] += 1
        return 10.0

    def counting(self, *args):
        calls["forward"] += 1
        return real_forward(self, *args)

    monkeypatch.setattr(conv_matmul, "speedup", fake_speedup)
    monkeypatch.setattr(MatmulConv2d, "_conv_forward", counting)
    return calls


def test_a_cpu_run_trains_through_the_chosen_matmuls_and_returns_plain_modules(colour_data, tmp_path, always_faster):
    result = fit(tiny_config(**SMALL), colour_data, out_dir=tmp_path)

    assert always_faster["timed"] == 1 and always_faster["forward"] > 0
    assert load_checkpoint(result.checkpoint_path)["matmul_convs"] == ["5"]  # the second conv of TINY_BN_SPEC
    assert not any(type(m) is MatmulConv2d for m in result.model.modules())
    assert result.history[-1].val_accuracy == 1.0  # three colours: learned as well as with the kernels


def test_a_resumed_run_keeps_its_choice_and_ends_as_one_never_stopped(colour_data, tmp_path, always_faster,
                                                                      monkeypatch):
    config = tiny_config(**SMALL)
    straight = fit(config, colour_data, out_dir=tmp_path / "straight")
    fit(config, colour_data, out_dir=tmp_path / "split", callbacks=[StopAfterEpoch(1)])

    def must_not_time(*args):
        raise AssertionError("a resumed run re-timed its convolutions")

    monkeypatch.setattr(conv_matmul, "speedup", must_not_time)
    second = fit(config, colour_data, out_dir=tmp_path / "split", resume=True)
    assert [s.epoch for s in second.history] == [1, 2, 3]
    a, b = straight.model.state_dict(), second.model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_deterministic_runs_and_checkpoints_from_before_keep_the_kernels(colour_data, tmp_path, always_faster):
    result = fit(tiny_config(**SMALL, deterministic=True), colour_data, out_dir=tmp_path / "det")
    assert always_faster["timed"] == 0 and always_faster["forward"] == 0
    assert load_checkpoint(result.checkpoint_path)["matmul_convs"] == []

    config = tiny_config(**SMALL)
    fit(config, colour_data, out_dir=tmp_path / "old", callbacks=[StopAfterEpoch(1)])
    path = tmp_path / "old" / "checkpoints" / "epoch_0001.pt"
    checkpoint = load_checkpoint(path)
    del checkpoint["matmul_convs"]  # as written before this choice existed
    save_checkpoint(path, checkpoint)
    always_faster["forward"] = 0
    fit(config, colour_data, out_dir=tmp_path / "old", resume=True)
    assert always_faster["forward"] == 0  # it resumes computing what it computed
