"""Engine overhead: fit() against a bare PyTorch loop doing the same work, in one process.

Claim (issue 4, speed 1): fit() epochs run at >= 0.95 of the speed of a bare PyTorch loop on the same
model, batch, flags (bf16 autocast, channels_last), augmentation and cached uint8 tensors (best-of-N).
fit() pays for what the bare loop lacks: callbacks, throttled progress, NaN checks, scheduler bookkeeping,
a validation-free epoch end and a checkpoint per epoch.

Run: .venv/bin/python bench/engine_overhead.py [--arch custom] [--rounds 8] [--epochs 2]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import torch
import torch.nn.functional as F
from engine_harness import Timer, digits_source, interleaved, print_header, ratio_report, save_json

from training import Callback, TrainConfig, build_cache, cache_size_for, conv_matmul, defaults_for, fit, presets_for
from training.checkpoint import CheckpointManager, load_checkpoint
from training.device import choose_precision


class Listener(Callback):
    """A callback like the web app's: it looks at every progress report and is asked every step."""

    def __init__(self):
        self.reports = 0

    def on_progress(self, p):
        self.reports += 1

    def should_stop(self) -> bool:
        return False


def bare_loop(config: TrainConfig, train, matmul_convs: list[str]) -> float:
    """Train like a hand-written loop over the cached tensors; return the images per second.

    `matmul_convs`: the convolutions fit() chose to compute as matmuls, computed so here too (the same work).
    """
    from classifier.factory import create_model
    from classifier.registry import model_info

    precision, _ = choose_precision(config, torch.device("cpu"), model_info(config.arch).family)
    train_preset, _ = presets_for(config)
    with Timer() as timer:
        torch.manual_seed(config.seed)
        model = create_model(config.arch, num_classes=10, image_size=config.image_size, spec=config.spec)
        model.to(memory_format=precision.memory_format).train()
        conv_matmul.use(model, matmul_convs)
        steps = len(train) // config.batch_size
        # The same optimizer fit() builds (fused), so only the engine's own work differs.
        opt = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay, fused=True) \
            if config.optimizer == "adamw" else \
            torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum, nesterov=config.nesterov,
                            weight_decay=config.weight_decay, fused=True)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=config.lr, total_steps=config.epochs * steps + 1)
        generator, augment = torch.Generator().manual_seed(0), torch.Generator().manual_seed(1)
        for _ in range(config.epochs):
            order = torch.randperm(len(train), generator=generator)
            for step in range(steps):
                index = order[step * config.batch_size:(step + 1) * config.batch_size]
                x = train_preset(train.images[index], generator=augment)  # (B, 3, s, s) float32
                x = x.contiguous(memory_format=precision.memory_format)
                with precision.autocast():
                    logits = model(x)
                loss = F.cross_entropy(logits.float(), train.labels[index], label_smoothing=config.label_smoothing)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
    return config.epochs * steps * config.batch_size / timer.seconds


def engine(config: TrainConfig, data, work: Path) -> float:
    """Train with fit(); return the images per second over the whole call."""
    steps = len(data.split("train")) // config.batch_size
    with Timer() as timer:
        fit(config, data, out_dir=work / "fit", callbacks=[Listener()])
    return config.epochs * steps * config.batch_size / timer.seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--arch", default="custom")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    config = TrainConfig.from_dict({**defaults_for(args.arch), "image_size": 32, "epochs": args.epochs,
                                    "batch_size": args.batch_size, "augment": "light", "keep_last": 1})
    print_header(__doc__.split("\n\n")[1].replace("\n", " "),
                 {"rounds": args.rounds, "train_config": config.to_dict(),
                  "data": "sklearn digits, 1438 train images at 32 px, no val split"})
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        data = build_cache(digits_source(), cache_size=cache_size_for(config), cache_dir=work / "cache")
        train = data.split("train")
        engine(config, data, work)  # warm-up: oneDNN builds its kernels once
        convs = load_checkpoint(CheckpointManager(work / "fit" / "checkpoints", keep_last=1).latest())["matmul_convs"]
        print(f"convolutions fit() computes as matmuls: {convs or 'none'}")
        bare_loop(config, train, convs)
        results = interleaved({"fit": lambda: engine(config, data, work),
                               "bare": lambda: bare_loop(config, train, convs)}, rounds=args.rounds)
    report = ratio_report("fit / bare loop (images per second)", results["fit"], results["bare"],
                          higher_is_better=True)
    print(f"claim >= 0.95 best-of-N: {'PASS' if report['best_of_n'] >= 0.95 else 'FAIL'}")
    save_json(args.json, {"config": config.to_dict(), "result": report})


if __name__ == "__main__":
    main()
