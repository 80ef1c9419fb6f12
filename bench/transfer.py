"""Transfer: a run started from an earlier run learns new digits from few images better and sooner than scratch.

Setting (issue 13, "Measured"): scikit-learn's digits (no download). An earlier model learns digits 0-4 (all
their training images); then digits 5-9 are learned from K = 5, 10 and 20 training images per class, once from
scratch and once starting from the earlier model's weights (no class shared: the head starts fresh, only the
features carry over), with the same architecture, epochs and settings (the family's AdamW one-cycle recipe,
batches of 8): only the starting weights differ. Validation and test images are the same for both. Prints
median final test accuracy of each, the gain in points, and the epochs each takes to reach the scratch run's
final validation accuracy (time to reach it).

Claim: from the earlier run is >= 20 points better at K=5 for resnet18_small, never worse at 10 and 20, and
reaches the scratch run's final accuracy in at most half its epochs.

With --started finetune (or same,finetune) the started run also takes the settings Lux's launch form fills in
when a run starts from weights (training.finetune: the family's gentler optimiser, learning rate and warm-up),
still for the same number of epochs; `same` keeps the scratch settings, so only the weights differ.
Run: .venv/bin/python bench/transfer.py [--arch resnet18_small] [--per-class 5,10,20] [--seeds 0,1,2]
     [--started same,finetune] [--device cuda]
(resnet18_small is heavy for a CPU: on the shared 2-core machine at load average ~10 one 15-epoch run took
~7 minutes, so the full 3 seeds x 30 epochs take hours there; a GPU, or --seeds 0 --epochs 15, for less)
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
from pathlib import Path

from engine_harness import Timer, digits_source, print_header, save_json

from classifier.presets import EvalPreset
from classifier.registry import model_info
from classifier.weights import ModelCard, save_model
from training import TrainConfig, build_cache, defaults_for, evaluate, fit
from training.data import DataSource, ImageRecord
from training.finetune import finetune_defaults

IMAGE_SIZE = 16
EARLIER = [str(d) for d in range(5)]
LATER = [str(d) for d in range(5, 10)]
BATCH = 8  # a 25-image set gets 3 steps an epoch rather than 1
EARLIER_BATCH = 32  # the earlier model has hundreds of images: fewer, larger steps
# Digits are not mirror-symmetric, and random crops of 16 px digits cost more than they give in runs this short.
COMMON = dict(image_size=IMAGE_SIZE, augment="none", patience=0, device="cpu", mixed_precision="off")


def subset(source: DataSource, classes: list[str], *, per_class: int | None, seed: int) -> DataSource:
    """Return `source` restricted to `classes` (re-indexed), keeping `per_class` training images of each.

    Of each class's non-training images, half validate and half test: the same ones whatever `per_class`.
    """
    keep = {source.class_names.index(name): i for i, name in enumerate(classes)}
    rng = random.Random(seed)
    records, taken = [], dict.fromkeys(keep.values(), 0)
    rest = [r for r in source.records if r.label in keep and r.split != "train"]
    train = [r for r in source.records if r.label in keep and r.split == "train"]
    rng.shuffle(train)
    for record in train:
        label = keep[record.label]
        if per_class is None or taken[label] < per_class:
            taken[label] += 1
            records.append(ImageRecord(record.source, label, "train"))
    for i, record in enumerate(rest):
        records.append(ImageRecord(record.source, keep[record.label], "val" if i % 2 else "test"))
    return DataSource(records, list(classes), f"{source.key}-{'-'.join(classes)}-{per_class}-{seed}")


def train(arch: str, data, work: Path, *, epochs: int, seed: int, pretrained: str | None = None,
          batch: int = BATCH, recipe: str = "same") -> dict:
    """Fit once; return its final test accuracy, per-epoch validation accuracy, seconds and model."""
    train_size = len(data.split("train"))
    settings = defaults_for(arch)
    if recipe == "finetune":  # what the launch form fills in for a run started from weights, same epochs
        settings.update({k: v for k, v in finetune_defaults(model_info(arch).family).items() if k != "epochs"})
    config = TrainConfig.from_dict({**settings, **COMMON, "epochs": epochs, "seed": seed,
                                    "batch_size": min(batch, train_size), "pretrained": pretrained})
    with Timer() as timer:
        result = fit(config, data, out_dir=work / f"{arch}-{seed}-{pretrained is not None}-{recipe}-{train_size}",
                     class_names=data.class_names)
    test = evaluate(result.model, data.split("test"), class_names=data.class_names, preset=result.eval_preset)
    return {"test": test["top1"], "val": [s.val_accuracy for s in result.history], "seconds": timer.seconds,
            "model": result.model}


def epochs_to_reach(curve: list[float], target: float) -> int | None:
    """Return the first epoch (1-based) whose validation accuracy reaches `target`, or None."""
    return next((epoch for epoch, value in enumerate(curve, 1) if value >= target - 1e-9), None)


def earlier_model(arch: str, source: DataSource, work: Path, *, epochs: int, seed: int) -> Path:
    """Train the earlier model on digits 0-4 and save it as a Lux file with its classes; return the file."""
    data = build_cache(subset(source, EARLIER, per_class=None, seed=seed), cache_size=IMAGE_SIZE,
                       cache_dir=work / "cache")
    out = train(arch, data, work, epochs=epochs, seed=seed, batch=EARLIER_BATCH)
    print(f"  earlier model ({arch}, digits 0-4, {len(data.split('train'))} images): test {out['test']:.1%} "
          f"in {out['seconds']:.1f} s", flush=True)
    path = work / f"earlier-{arch}-{seed}.safetensors"
    save_model(path, out["model"], ModelCard(arch=arch, num_classes=len(EARLIER), class_names=EARLIER,
                                             image_size=IMAGE_SIZE, preset=EvalPreset(size=IMAGE_SIZE).to_dict()))
    return path


def compare(scratch: dict, started: dict) -> dict:
    """Return one seed's figures: test accuracies and the epochs each needs to reach scratch's final val."""
    target = scratch["val"][-1]
    return {"scratch": scratch["test"], "earlier": started["test"],
            "scratch_epochs": epochs_to_reach(scratch["val"], target),
            "earlier_epochs": epochs_to_reach(started["val"], target),
            "seconds": [scratch["seconds"], started["seconds"]]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--arch", default="resnet18_small")
    parser.add_argument("--per-class", default="5,10,20")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--earlier-epochs", type=int, default=8)
    parser.add_argument("--started", default="same", help="same, finetune or both (same,finetune)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--json", default=None, help="also write the numbers here")
    args = parser.parse_args()
    sizes, seeds = [int(k) for k in args.per_class.split(",")], [int(s) for s in args.seeds.split(",")]
    recipes = args.started.split(",")
    if set(recipes) - {"same", "finetune"}:
        parser.error("--started takes same, finetune or same,finetune")
    COMMON["device"] = args.device
    print_header(__doc__.split("\n\n")[1].replace("\n", " "),
                 {"arch": args.arch, "per_class": sizes, "seeds": seeds, "epochs": args.epochs,
                  "earlier_epochs": args.earlier_epochs, "batch": BATCH, "started": recipes, **COMMON})
    source = digits_source(size=8, seed=0, ratios=(0.6, 0.0, 0.4))
    rows: dict[tuple[str, int], list[dict]] = {(r, k): [] for r in recipes for k in sizes}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for seed in seeds:
            earlier = earlier_model(args.arch, source, work, epochs=args.earlier_epochs, seed=seed)
            for k in sizes:
                data = build_cache(subset(source, LATER, per_class=k, seed=seed), cache_size=IMAGE_SIZE,
                                   cache_dir=work / "cache")
                scratch = train(args.arch, data, work, epochs=args.epochs, seed=seed)
                for recipe in recipes:
                    started = train(args.arch, data, work, epochs=args.epochs, seed=seed, pretrained=str(earlier),
                                    recipe=recipe)
                    row = compare(scratch, started)
                    rows[recipe, k].append(row)
                    print(f"  digits 5-9 K={k:2d} seed {seed} ({recipe} settings): test {row['scratch']:.1%} -> "
                          f"{row['earlier']:.1%}; epochs to scratch's final val: {row['scratch_epochs']} -> "
                          f"{row['earlier_epochs']} ({scratch['seconds']:.1f} s / {started['seconds']:.1f} s)",
                          flush=True)
    print(f"\ndigits 5-9, {args.arch}, {args.epochs} epochs, median of {len(seeds)} seed(s)")
    print(f"{'started with':<17} {'K':>3} {'test: scratch':>14} {'earlier':>8} {'points':>7}   "
          f"{'epochs to scratch final: scratch':>33} {'earlier':>8} {'ratio':>6}")
    report = {}
    for (recipe, k), seed_rows in rows.items():
        scratch, started = (statistics.median(r[key] for r in seed_rows) for key in ("scratch", "earlier"))
        reach_s = statistics.median(r["scratch_epochs"] for r in seed_rows)
        # A run that never reached it counts as needing every epoch and one more.
        reach_e = statistics.median(r["earlier_epochs"] or args.epochs + 1 for r in seed_rows)
        report[f"{recipe} K={k}"] = {"test": [scratch, started], "epochs_to_scratch_final": [reach_s, reach_e],
                                     "per_seed": seed_rows}
        print(f"{recipe + ' settings':<17} {k:>3} {scratch:>14.1%} {started:>8.1%} "
              f"{100 * (started - scratch):>+7.1f}   "
              f"{reach_s:>33g} {reach_e:>8g} {reach_e / max(reach_s, 1):>6.2f}")
    save_json(args.json, {"args": vars(args), "results": report})


if __name__ == "__main__":
    main()
