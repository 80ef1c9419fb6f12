"""From image files: how close training from a folder of JPEGs comes to the model-only speed.

Claim (issue 4, speed 2): once the cache is built, fit() epochs on a folder of 256x256 JPEGs run at
>= 0.95 of the model-only step (the same model, flags and batch size on one ready-made batch, no data
work at all); the first epoch, including decoding every JPEG into the cache, at >= 0.6.

Run: .venv/bin/python bench/from_files.py [--arch resnet18_small] [--image-size 32] [--rounds 8]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import torch
import torch.nn.functional as F
from engine_harness import Timer, interleaved, print_header, ratio_report, save_json
from jpeg_folder import make_jpeg_folder

from training import TrainConfig, build_cache, cache_size_for, defaults_for, fit, scan_image_folder
from training.device import choose_precision

SPLIT = (0.9, 0.0, 0.1)


def model_only(config: TrainConfig, images: int) -> float:
    """Return images per second of forward/backward/step on one fixed, preprocessed batch."""
    from classifier.factory import create_model
    from classifier.registry import model_info

    precision, _ = choose_precision(config, torch.device("cpu"), model_info(config.arch).family)
    torch.manual_seed(0)
    model = create_model(config.arch, num_classes=10, image_size=config.image_size, spec=config.spec)
    model.to(memory_format=precision.memory_format).train()
    # The same optimizer fit() builds (fused), so the comparison isolates the data path.
    opt = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay, fused=True) \
        if config.optimizer == "adamw" else \
        torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum, fused=True)
    x = torch.randn(config.batch_size, 3, config.image_size, config.image_size)
    x = x.contiguous(memory_format=precision.memory_format)  # (B, 3, s, s) float32, made once
    y = torch.randint(0, 10, (config.batch_size,))
    steps = images // config.batch_size
    with Timer() as timer:
        for _ in range(steps):
            with precision.autocast():
                logits = model(x)
            loss = F.cross_entropy(logits.float(), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    return steps * config.batch_size / timer.seconds


def lux(config: TrainConfig, folder: Path, cache_dir: Path, out: Path, *, first: bool) -> float:
    """Return images per second of one fit() epoch; with `first`, the cache build counts too."""
    with Timer() as cache_timer:
        data = build_cache(scan_image_folder(folder, ratios=SPLIT), cache_size=cache_size_for(config),
                           cache_dir=cache_dir)
    epoch = fit(config, data, out_dir=out).history[0]  # its seconds: every step of the epoch, end to end
    images = epoch.images_per_s * epoch.seconds
    return images / (epoch.seconds + (cache_timer.seconds if first else 0.0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--arch", default="resnet18_small")
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--per-class", type=int, default=60, help="JPEGs per class (10 classes)")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    config = TrainConfig.from_dict({**defaults_for(args.arch), "image_size": args.image_size, "epochs": 1,
                                    "batch_size": 64, "keep_last": 1})
    print_header(__doc__.split("\n\n")[1].replace("\n", " "),
                 {"rounds": args.rounds, "train_config": config.to_dict(),
                  "data": f"10 classes x {args.per_class} synthetic 256x256 JPEGs (quality 90), "
                          "split 90/0/10 (no val split: an epoch is training only)"})
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        folder = make_jpeg_folder(work / "images", per_class=args.per_class)
        train_images = sum(r.split == "train" for r in scan_image_folder(folder, ratios=SPLIT).records)
        warm_cache = work / "warm-cache"
        # Warm-up: builds the warm cache, and lets oneDNN create its kernels before anything is timed.
        lux(config, folder, warm_cache, work / "warm-up", first=False)
        model_only(config, train_images)
        rounds = iter(range(10**6))
        results = interleaved({
            "first epoch": lambda: lux(config, folder, work / f"cold-{next(rounds)}", work / "cold", first=True),
            "cached epoch": lambda: lux(config, folder, warm_cache, work / "warm", first=False),
            "model only": lambda: model_only(config, train_images),
        }, rounds=args.rounds)
    cached = ratio_report("cached epochs / model-only (images per second)", results["cached epoch"],
                          results["model only"], higher_is_better=True)
    first = ratio_report("first epoch incl. decoding / model-only", results["first epoch"],
                         results["model only"], higher_is_better=True)
    print(f"claim cached >= 0.95: {'PASS' if cached['median'] >= 0.95 else 'FAIL'} (median); "
          f"first epoch >= 0.6: {'PASS' if first['median'] >= 0.6 else 'FAIL'} (median)")
    save_json(args.json, {"config": config.to_dict(), "cached": cached, "first_epoch": first})


if __name__ == "__main__":
    main()
