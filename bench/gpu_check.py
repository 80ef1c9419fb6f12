"""GPU check: Lux's engine and classification against bare PyTorch on the same cached tensors, in one process.

Figures (ratio > 1: Lux is ahead; fit() is expected at >= 0.95 of the bare loop, as engine_overhead.py claims on CPU):
fit() vs a bare training loop for resnet18 at 64 px and resnet50 at 224 px (bf16 autocast, channels_last),
eager and under torch.compile, as images/s of the last epoch (compilation and warm-up excluded) and of the whole
call (model building, epoch ends and checkpoints included); with 2 or more GPUs, fit() on 2 DDP ranks (torchrun)
over twice one rank (scaling efficiency); batch classification at 224 px (EvalPreset + predict_topk vs a bare
forward, softmax and top-5). Without a GPU (or with --tiny) the same code runs on the CPU with the small custom
CNN at 32 px, no compile, no DDP: seconds, so CI keeps the script working; its numbers mean nothing.

Run: bench/gpu_check.sh (installs, runs the CUDA tests, then this) or .venv/bin/python bench/gpu_check.py [--tiny]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

import torch
import torch.nn.functional as F
from engine_harness import print_header, save_json  # also puts the repo on sys.path

from training import CachedData, TrainConfig, cache_size_for, defaults_for, fit, presets_for
from training.device import choose_precision


@dataclass(frozen=True)
class Case:
    """One training comparison: an architecture at a size, on `images` random cached images."""

    arch: str
    image_size: int
    images: int
    batch_size: int
    epochs: int
    compile: bool = False

    @property
    def name(self) -> str:
        return f"{self.arch} {self.image_size} px{' compiled' if self.compile else ''}"


def gpu_cases() -> list[Case]:
    """Return the training comparisons run on a GPU: sizes that take seconds per epoch on a current card."""
    cases = []
    for compiled in (False, True):
        cases.append(Case("resnet18", 64, images=16384, batch_size=256, epochs=3, compile=compiled))
        cases.append(Case("resnet50", 224, images=4096, batch_size=128, epochs=3, compile=compiled))
    return cases


def tiny_cases() -> list[Case]:
    """Return the CPU fallback's comparison: the same code with the small custom CNN, which takes a second or two."""
    return [Case("custom", 32, images=64, batch_size=16, epochs=2)]


def config_for(case: Case, device: str) -> TrainConfig:
    """Return the fit() configuration of `case`: the arch's defaults; on a GPU, bf16 and channels_last."""
    values = {**defaults_for(case.arch), "image_size": case.image_size, "epochs": case.epochs,
              "batch_size": case.batch_size, "keep_last": 1, "compile": case.compile, "device": device}
    if device == "cuda":
        values.update(mixed_precision="bf16", channels_last="on")
    return TrainConfig.from_dict(values)


def random_cache(config: TrainConfig, images: int, *, seed: int = 0) -> CachedData:
    """Return `images` random uint8 images at the config's cache size, all in the train split, in memory."""
    size = cache_size_for(config)
    generator = torch.Generator().manual_seed(seed)
    pixels = torch.randint(0, 256, (images, 3, size, size), dtype=torch.uint8, generator=generator)
    labels = torch.randint(0, 10, (images,), generator=generator)
    return CachedData(path=Path(f"/memory/gpu-check-{size}-{images}"), cache_size=size,
                      class_names=[str(i) for i in range(10)], key=f"gpu-check-{size}-{images}-{seed}",
                      images=pixels, labels=labels, splits=["train"] * images, record_indices=list(range(images)))


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def bare_training(config: TrainConfig, data: CachedData, device: torch.device) -> tuple[float, float]:
    """Train as a hand-written loop would; return (images/s of the last epoch, images/s of the whole call)."""
    from classifier.factory import create_model
    from classifier.registry import model_info

    precision, _ = choose_precision(config, device, model_info(config.arch).family)
    torch.backends.cudnn.benchmark = True  # as a tuned loop would, and as fit() does when not deterministic
    train_preset, _ = presets_for(config)
    train = data.split("train")
    steps = len(train) // config.batch_size
    start = time.perf_counter()
    torch.manual_seed(config.seed)
    model = create_model(config.arch, num_classes=10, image_size=config.image_size)
    model.to(device, memory_format=precision.memory_format).train()
    net = torch.compile(model) if precision.compile else model
    # The optimizer and schedule fit() builds for these defaults (fused AdamW, one-cycle), so only the engine differs.
    opt = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay, fused=True)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=config.lr, total_steps=config.epochs * steps + 1)
    order_gen, augment = torch.Generator().manual_seed(0), torch.Generator(device).manual_seed(1)
    last = 0.0
    for _ in range(config.epochs):
        _sync(device)
        epoch_start = time.perf_counter()
        order = torch.randperm(len(train), generator=order_gen)
        for step in range(steps):
            index = order[step * config.batch_size:(step + 1) * config.batch_size]
            images = train.images[index].pin_memory() if device.type == "cuda" else train.images[index]
            images = images.to(device, non_blocking=True)  # (B, 3, S, S) uint8
            labels = train.labels[index].to(device, non_blocking=True)
            x = train_preset(images, generator=augment).contiguous(memory_format=precision.memory_format)
            with precision.autocast():
                logits = net(x)  # (B, 10)
            loss = F.cross_entropy(logits.float(), labels, label_smoothing=config.label_smoothing)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
        _sync(device)
        last = steps * config.batch_size / (time.perf_counter() - epoch_start)
    return last, config.epochs * steps * config.batch_size / (time.perf_counter() - start)


def lux_training(config: TrainConfig, data: CachedData, work: Path) -> tuple[float, float]:
    """Train with fit(); return (images/s of the last epoch as fit() reports it, images/s of the whole call)."""
    steps = len(data.split("train")) // config.batch_size
    start = time.perf_counter()
    result = fit(config, data, out_dir=work)
    return result.history[-1].images_per_s, config.epochs * steps * config.batch_size / (time.perf_counter() - start)


def warm_up(case: Case, device: torch.device, work: Path) -> None:
    """Run both sides once on four batches, untimed, so neither pays alone for what the process then caches.

    Without it the whole-call ratio measured the order, not the engine: on an H200 the side that ran first paid
    cuDNN's autotuning (resnet50 eager: 0.29) or torch.compile's tracing (resnet50 compiled: 0.03, resnet18
    compiled the other way round: 10.5), while the last-epoch ratios stayed within 0.91-1.09.
    """
    small = replace(case, images=case.batch_size * 4, epochs=1)
    config = config_for(small, device.type)
    data = random_cache(config, small.images, seed=1)
    bare_training(config, data, device)
    lux_training(config, data, work / "warm-up")


def compare_training(case: Case, device: torch.device, work: Path, *, bare_first: bool) -> dict:
    """Train `case` with fit() and with the bare loop on the same cached tensors; return both speeds and ratios."""
    warm_up(case, device, work)
    config = config_for(case, device.type)
    data = random_cache(config, case.images)
    runs = {"bare": lambda: bare_training(config, data, device), "lux": lambda: lux_training(config, data, work)}
    # Alternate which goes first from case to case, so neither always meets a cold cache or a warm GPU.
    measured = {name: runs[name]() for name in (("bare", "lux") if bare_first else ("lux", "bare"))}
    return {"case": case.name, "lux_epoch": measured["lux"][0], "bare_epoch": measured["bare"][0],
            "epoch_ratio": measured["lux"][0] / measured["bare"][0],
            "call_ratio": measured["lux"][1] / measured["bare"][1]}


def classification(device: torch.device, *, arch: str, image_size: int, images: int, batch_size: int) -> dict:
    """Classify random cached images with Lux's preset and predict_topk and with a bare loop; return images/s."""
    from classifier.factory import create_model
    from classifier.predict import predict_topk
    from classifier.presets import EvalPreset

    preset = EvalPreset(size=image_size)
    pixels = torch.randint(0, 256, (images, 3, preset.resize_size, preset.resize_size), dtype=torch.uint8,
                           generator=torch.Generator().manual_seed(2))
    model = create_model(arch, num_classes=10, image_size=image_size).to(device).eval()
    if device.type == "cuda":
        model.to(memory_format=torch.channels_last)
    bf16 = torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda")

    def lux() -> float:
        _sync(device)
        start = time.perf_counter()
        for i in range(0, images, batch_size):
            x = preset.batch(pixels[i:i + batch_size].to(device, non_blocking=True))  # (B, 3, s, s) float32
            with bf16:
                predict_topk(model, x.contiguous(memory_format=torch.channels_last), k=5)
        _sync(device)
        return images / (time.perf_counter() - start)

    def bare() -> float:
        _sync(device)
        start = time.perf_counter()
        with torch.inference_mode(), bf16:
            for i in range(0, images, batch_size):
                x = preset.batch(pixels[i:i + batch_size].to(device, non_blocking=True))
                model(x.contiguous(memory_format=torch.channels_last)).float().softmax(dim=1).topk(5, dim=1)
        _sync(device)
        return images / (time.perf_counter() - start)

    lux(), bare()  # warm-up: cuDNN picks its kernels once
    lux_speed, bare_speed = lux(), bare()
    return {"lux": lux_speed, "bare": bare_speed, "ratio": lux_speed / bare_speed}


def ddp_scaling(case: Case, single_rank: float, work: Path) -> dict:
    """Run fit() on 2 ranks under torchrun; return its last-epoch images/s and the efficiency over 2x one rank."""
    out = work / "ddp.json"
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
               str(Path(__file__).resolve()), "--ddp-rank", "--arch", case.arch, "--image-size",
               str(case.image_size), "--images", str(case.images), "--batch-size", str(case.batch_size),
               "--epochs", str(case.epochs), "--out", str(out)]
    subprocess.run(command, check=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    two = json.loads(out.read_text())["images_per_s"]
    return {"case": case.name, "one_rank": single_rank, "two_ranks": two, "efficiency": two / (2 * single_rank)}


def ddp_rank(args) -> None:
    """One torchrun rank: train the case with fit() and let rank 0 write its last-epoch images/s."""
    from training import distributed

    ctx = distributed.init_from_env()
    try:
        case = Case(args.arch, args.image_size, args.images, args.batch_size, args.epochs)
        config = config_for(case, "cuda")
        with tempfile.TemporaryDirectory() as tmp:
            result = fit(config, random_cache(config, case.images), out_dir=Path(tmp))
        if ctx.is_main:
            Path(args.out).write_text(json.dumps({"images_per_s": result.history[-1].images_per_s}))
    finally:
        distributed.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tiny", action="store_true", help="the CPU fallback's sizes, even on a GPU")
    parser.add_argument("--json", default=None)
    parser.add_argument("--ddp-rank", action="store_true", help=argparse.SUPPRESS)  # a torchrun child
    for name, kind in (("--arch", str), ("--image-size", int), ("--images", int), ("--batch-size", int),
                       ("--epochs", int), ("--out", str)):
        parser.add_argument(name, type=kind, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.ddp_rank:
        return ddp_rank(args)

    on_gpu = torch.cuda.is_available() and not args.tiny
    device = torch.device("cuda" if on_gpu else "cpu")
    cases = gpu_cases() if on_gpu else tiny_cases()
    print_header(__doc__.split("\n\n")[1].replace("\n", " "),
                 {"device": device.type, "gpus": torch.cuda.device_count(), "cases": [c.__dict__ for c in cases]})
    if not on_gpu:
        print("no GPU used: CPU fallback at tiny sizes (checks the script runs; the ratios mean nothing)")
    report: dict = {"device": torch.cuda.get_device_name(0) if on_gpu else "cpu", "training": [], "ddp": None}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for i, case in enumerate(cases):
            row = compare_training(case, device, work / f"fit-{i}", bare_first=i % 2 == 0)
            report["training"].append(row)
            print(f"{case.name}: fit {row['lux_epoch']:.0f} img/s, bare {row['bare_epoch']:.0f} img/s (last epoch): "
                  f"ratio {row['epoch_ratio']:.3f}; whole call {row['call_ratio']:.3f}", flush=True)
        if on_gpu and torch.cuda.device_count() >= 2:
            first = report["training"][0]
            report["ddp"] = ddp_scaling(cases[0], first["lux_epoch"], work)
            print(f"DDP {cases[0].name}, 2 ranks: {report['ddp']['two_ranks']:.0f} img/s, "
                  f"scaling efficiency {report['ddp']['efficiency']:.3f}", flush=True)
        else:
            print("DDP: skipped (needs 2 GPUs)")
    sizes = dict(arch="resnet50", image_size=224, images=2048, batch_size=256) if on_gpu \
        else dict(arch="custom", image_size=32, images=32, batch_size=16)
    report["classification"] = classification(device, **sizes)
    c = report["classification"]
    print(f"batch classification {sizes['arch']} {sizes['image_size']} px: predict_topk {c['lux']:.0f} img/s, "
          f"bare {c['bare']:.0f} img/s, ratio {c['ratio']:.3f}")
    save_json(args.json, report)


if __name__ == "__main__":
    main()
