"""Transfer: a run started from an earlier run learns a new task from few images better than from scratch.

Setting (issue 13): scikit-learn's digits (no download). An earlier model learns digits 0-4 (all their
training images); then a later task is learned from K training images per class (K = 5, 10, 20), once from
scratch and once starting from the earlier model's weights: digits 5-9 (no class shared: the head starts
fresh, only the features carry over), and digits 0-9 (the head rows of 0-4 are kept, classifier.transfer),
with the same architecture, epochs and settings (the family's defaults, batches of 8): only the starting
weights differ. Validation and test images are the same for both. Prints first-epoch validation and final
test accuracy, and their ratios.

Run: .venv/bin/python bench/transfer_gain.py [--arch custom] [--per-class 5,10,20] [--seeds 0] [--epochs 30]
(about 2 minutes on a quiet 2-core CPU with one seed)
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from engine_harness import Timer, digits_source, print_header, save_json

from classifier.presets import EvalPreset
from classifier.weights import ModelCard, save_model
from training import TrainConfig, build_cache, defaults_for, evaluate, fit
from training.data import DataSource, ImageRecord

IMAGE_SIZE = 16
EARLIER = [str(d) for d in range(5)]
# The tasks learned after it: new classes only (the head starts fresh), or all ten (0-4 keep their head rows).
TASKS = {"5-9 (all new)": [str(d) for d in range(5, 10)], "0-9 (0-4 known)": [str(d) for d in range(10)]}
# Settings on top of the family defaults for both contenders: digits are not mirror-symmetric, and random crops
# of 16 px digits cost more than they give in runs this short.
BATCH = 8
COMMON = dict(image_size=IMAGE_SIZE, augment="none", patience=0, device="cpu", mixed_precision="off")


def subset(source: DataSource, classes: list[str], *, per_class: int | None, seed: int) -> DataSource:
    """Return `source` restricted to `classes` (re-indexed), keeping `per_class` training images of each.

    Of each class's non-training images, half validate and half test: the same ones whatever `per_class`.
    """
    import random

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


def train(arch: str, data, work: Path, *, epochs: int, seed: int, pretrained: str | None = None):
    """Fit once; return (first-epoch val accuracy, final test accuracy, seconds, the FitResult)."""
    train_size = len(data.split("train"))
    # The same recipe for both (the family's, as the bare probe used one-cycle for both): only the
    # starting weights differ. Batches of 8 give a 25-image set 4 steps an epoch rather than 1.
    config = TrainConfig.from_dict({**defaults_for(arch), **COMMON, "epochs": epochs, "seed": seed,
                                    "batch_size": min(BATCH, train_size), "pretrained": pretrained})
    with Timer() as timer:
        result = fit(config, data, out_dir=work / f"{arch}-{seed}-{pretrained is not None}-{train_size}",
                     class_names=data.class_names)
    test = evaluate(result.model, data.split("test"), class_names=data.class_names, preset=result.eval_preset)
    return result.history[0].val_accuracy, test["top1"], timer.seconds, result


def earlier_model(arch: str, source: DataSource, work: Path, *, epochs: int, seed: int) -> tuple[Path, float]:
    """Train the earlier model on digits 0-4 and save it as a Lux file with its classes; return (file, accuracy)."""
    data = build_cache(subset(source, EARLIER, per_class=None, seed=seed), cache_size=IMAGE_SIZE,
                       cache_dir=work / "cache")
    _, accuracy, seconds, result = train(arch, data, work, epochs=epochs, seed=seed)
    print(f"  earlier model ({arch}, digits 0-4, {len(data.split('train'))} images): test {accuracy:.1%} "
          f"in {seconds:.1f} s", flush=True)
    path = work / f"earlier-{arch}-{seed}.safetensors"
    save_model(path, result.model, ModelCard(arch=arch, num_classes=len(EARLIER), class_names=EARLIER,
                                             image_size=IMAGE_SIZE, preset=EvalPreset(size=IMAGE_SIZE).to_dict()))
    return path, accuracy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--arch", default="custom")
    parser.add_argument("--per-class", default="5,10,20")
    parser.add_argument("--seeds", default="0", help="e.g. 0,1,2 for medians (about 3x as long)")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--earlier-epochs", type=int, default=8)
    parser.add_argument("--json", default=None, help="also write the numbers here")
    args = parser.parse_args()
    sizes, seeds = [int(k) for k in args.per_class.split(",")], [int(s) for s in args.seeds.split(",")]
    print_header(__doc__.split("\n\n")[1].replace("\n", " "),
                 {"arch": args.arch, "per_class": sizes, "seeds": seeds, "epochs": args.epochs,
                  "earlier_epochs": args.earlier_epochs, **COMMON})
    source = digits_source(size=8, seed=0, ratios=(0.6, 0.0, 0.4))
    rows = {(task, k): [] for task in TASKS for k in sizes}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for seed in seeds:
            earlier, _ = earlier_model(args.arch, source, work, epochs=args.earlier_epochs, seed=seed)
            for task, classes in TASKS.items():
                for k in sizes:
                    data = build_cache(subset(source, classes, per_class=k, seed=seed), cache_size=IMAGE_SIZE,
                                       cache_dir=work / "cache")
                    scratch = train(args.arch, data, work, epochs=args.epochs, seed=seed)
                    started = train(args.arch, data, work, epochs=args.epochs, seed=seed, pretrained=str(earlier))
                    rows[task, k].append((scratch, started))
                    print(f"  {task} K={k:2d} seed {seed}: first-epoch val {scratch[0]:.1%} -> {started[0]:.1%}, "
                          f"final test {scratch[1]:.1%} -> {started[1]:.1%} "
                          f"({scratch[2]:.1f} s / {started[2]:.1f} s)", flush=True)
    print(f"\nmedian of {len(seeds)} seed(s); ratio = from earlier / from scratch")
    print(f"{'task':>16} {'K':>3} {'first-epoch val: scratch':>25} {'earlier':>8} {'ratio':>6}   "
          f"{'final test: scratch':>20} {'earlier':>8} {'ratio':>6} {'points':>7}")
    report = {}
    for task, k in rows:
        pairs = rows[task, k]
        first_s, first_e, final_s, final_e = (statistics.median(pair[j][i] for pair in pairs)
                                              for i, j in ((0, 0), (0, 1), (1, 0), (1, 1)))
        report[f"{task} K={k}"] = {"first_epoch_val": [first_s, first_e], "final_test": [final_s, final_e]}
        print(f"{task:>16} {k:>3} {first_s:>25.1%} {first_e:>8.1%} {first_e / max(first_s, 1e-9):>6.2f}   "
              f"{final_s:>20.1%} {final_e:>8.1%} {final_e / max(final_s, 1e-9):>6.2f} "
              f"{100 * (final_e - final_s):>+7.1f}")
    save_json(args.json, {"args": vars(args), "results": report})


if __name__ == "__main__":
    main()
