"""Default recipe vs a tuned bare PyTorch loop: each family's empty-settings run against hand-tuned training.

Claim (issue 12, "Measured"): on scikit-learn's digits and on scikit-image texture patches (brick, grass, gravel
cut into patches with illumination changes), with every setting left empty, the default recipe of each family
(training.recipes.recipe_for_source, what the launch form fills in) reaches at least 90% of the test accuracy a
tuned bare PyTorch loop reaches on the same split. The bare loop trains the same architecture for the same
number of optimisation steps on the same cached images, with nothing of training/ but the decoded tensors: a
per-channel standardisation, random-crop (and, for textures, flip) augmentation on the tensor, and each
optimiser of a small grid (SGD+Nesterov with cosine, AdamW with one-cycle) picked by validation accuracy.

Small settings for a shared CPU: --per-class images per class and --max-steps caps the recipe's steps (the
same cap for both sides, said in the output). Run:
  .venv/bin/python bench/default_vs_tuned.py [--archs custom,resnet18_small] [--per-class 60] [--max-steps 300]
"""

from __future__ import annotations

import argparse
import io
import math
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script from anywhere
from engine_harness import Timer, print_header, save_json  # noqa: E402

from classifier.factory import create_model  # noqa: E402
from training import (  # noqa: E402
    DataSource,
    ImageRecord,
    TrainConfig,
    build_cache,
    cache_size_for,
    evaluate,
    fit,
    recipe_for_source,
    stratified_split,
)

RATIOS = (0.6, 0.2, 0.2)
CLAIM = 0.9
# The tuned loop's grid: (optimizer, peak lr, weight decay, schedule), each chosen on validation accuracy.
GRID = (("sgd", 0.05, 5e-4, "cosine"), ("adamw", 3e-3, 5e-4, "onecycle"))


def _png(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def _source(name: str, blobs: list[bytes], labels: list[int], classes: list[str]) -> DataSource:
    splits = stratified_split(labels, ratios=RATIOS, seed=0)
    records = [ImageRecord(source=lambda b=b: io.BytesIO(b), label=t, split=s)
               for b, t, s in zip(blobs, labels, splits, strict=True)]
    return DataSource(records=records, class_names=classes, key=f"bench-default-vs-tuned-{name}-{len(blobs)}")


def digits(per_class: int) -> DataSource:
    """Return scikit-learn's digits (8x8 grey), `per_class` of each, as PNGs."""
    from sklearn.datasets import load_digits

    d = load_digits()
    rng = np.random.default_rng(0)
    keep = np.concatenate([rng.permutation(np.flatnonzero(d.target == c))[:per_class] for c in range(10)])
    pixels = np.round(d.images[keep] * (255 / 16)).astype(np.uint8)  # (N, 8, 8)
    return _source("digits", [_png(p) for p in pixels], d.target[keep].tolist(), [str(c) for c in range(10)])


def textures(per_class: int, *, patch: int = 32) -> DataSource:
    """Return brick, grass and gravel photos cut into `patch` px patches, each under its own lighting."""
    from skimage import data

    rng = np.random.default_rng(0)
    blobs, labels = [], []
    for label, name in enumerate(("brick", "grass", "gravel")):
        photo = getattr(data, name)().astype(np.float32)  # (512, 512) grey
        for _ in range(per_class):
            y, x = rng.integers(0, photo.shape[0] - patch, size=2)
            gain, offset = rng.uniform(0.5, 1.5), rng.uniform(-40, 40)  # illumination changes
            cut = np.clip(photo[y:y + patch, x:x + patch] * gain + offset, 0, 255).astype(np.uint8)
            blobs.append(_png(cut))
            labels.append(label)
    return _source("textures", blobs, labels, ["brick", "grass", "gravel"])


def faces(per_class: int) -> DataSource:
    """Return scikit-image's face / not-face crops (25x25 grey, 100 of each), up to `per_class` of each, as PNGs."""
    from skimage import data

    crops = data.lfw_subset()  # (200, 25, 25) floats in [0, 1]: 100 faces, then 100 other patches
    rng = np.random.default_rng(0)
    keep = np.concatenate([rng.permutation(np.arange(100) + 100 * c)[:per_class] for c in range(2)])
    pixels = np.round(crops[keep] * 255).astype(np.uint8)  # (N, 25, 25)
    labels = [int(i >= 100) for i in keep]
    return _source("faces", [_png(p) for p in pixels], labels, ["face", "not-face"])


DATASETS = {"digits": digits, "textures": textures, "faces": faces}
# May these images be mirrored? Textures and faces, yes; digits, no (a mirrored 2 is no digit).
MIRROR = {"digits": False, "textures": True, "faces": True}


def default_run(arch: str, source: DataSource, data, max_steps: int, work: Path, *,
                mirror: bool, device: str = "cpu") -> tuple[float, int, float]:
    """Train with the recipe (every setting empty but the dataset's mirror answer); return (test acc, steps, s)."""
    recipe = recipe_for_source(source, arch)
    settings = dict(recipe.settings)
    epochs = min(settings["epochs"], max(1, math.ceil(max_steps / recipe.steps_per_epoch)))
    settings.update(epochs=epochs, warmup_epochs=min(settings["warmup_epochs"], epochs * 0.25),
                    patience=min(settings.get("patience", 0), epochs), device=device, mirror=mirror, rotate=mirror)
    config = TrainConfig.from_dict(settings)
    with Timer() as timer:
        result = fit(config, data, out_dir=work / f"default-{arch}")
    report = evaluate(result.model, data.split("test"), class_names=data.class_names, preset=result.eval_preset)
    return report["top1"], epochs * recipe.steps_per_epoch, timer.seconds


def _standardise(images: torch.Tensor, size: int, mean, std) -> torch.Tensor:
    x = images.float() / 255  # (N, 3, S, S)
    if x.shape[-1] != size:
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
    return (x - mean) / std


def _augment(x: torch.Tensor, *, flip: bool, pad: int) -> torch.Tensor:
    """Random crop after reflection padding, and a random mirror when the data allows it (on the batch tensor)."""
    n, _, h, w = x.shape  # (B, 3, H, W)
    padded = F.pad(x, (pad, pad, pad, pad), mode="reflect")
    dy, dx = np.random.randint(0, 2 * pad + 1, size=2)
    x = padded[:, :, dy:dy + h, dx:dx + w]
    if flip:
        mask = torch.rand(n, device=x.device) < 0.5
        x[mask] = x[mask].flip(-1)
    return x


def bare_loop(arch: str, data, *, size: int, steps: int, batch: int, optimizer: str, lr: float, wd: float,
              schedule: str, flip: bool, seed: int = 0, device: str = "cpu") -> tuple[float, float]:
    """Train with a plain loop; return (val accuracy, test accuracy) of the final weights."""
    torch.manual_seed(seed)
    np.random.seed(seed)
    train, val, test = (data.split(s) for s in ("train", "val", "test"))
    sample = train.images.float() / 255
    mean = sample.mean(dim=(0, 2, 3), keepdim=True)  # (1, 3, 1, 1)
    std = sample.std(dim=(0, 2, 3), keepdim=True).clamp_min(1e-3)
    xs = {name: _standardise(split.images, size, mean, std).to(device) for name, split in
          (("train", train), ("val", val), ("test", test))}
    ys = {name: split.labels.to(device) for name, split in (("train", train), ("val", val), ("test", test))}
    model = create_model(arch, num_classes=len(data.class_names), image_size=size).to(device)
    if optimizer == "sgd":
        opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, nesterov=True, weight_decay=wd)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.1,
                                                    anneal_strategy="cos") if schedule == "onecycle" else \
            torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / max(1, steps // 10))
                                              * 0.5 * (1 + math.cos(math.pi * s / steps)))
    else:
        opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=wd)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.25)
    n = len(train.labels)
    batch = min(batch, n)
    order, at = torch.randperm(n), 0
    model.train()
    for _ in range(steps):
        if at + batch > n:
            order, at = torch.randperm(n), 0
        idx = order[at:at + batch]
        at += batch
        x = _augment(xs["train"][idx.to(device)], flip=flip, pad=max(1, size // 8))  # (B, 3, size, size)
        loss = F.cross_entropy(model(x), ys["train"][idx.to(device)], label_smoothing=0.1)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
    model.eval()
    with torch.no_grad():
        acc = {name: (model(xs[name]).argmax(1) == ys[name]).float().mean().item() for name in ("val", "test")}
    return acc["val"], acc["test"]


def tuned(arch: str, source: DataSource, data, *, steps: int, flip: bool,
          device: str = "cpu") -> tuple[float, str, float]:
    """Return (test accuracy, chosen settings, seconds) of the grid's best on validation."""
    recipe = recipe_for_source(source, arch)
    size, batch = recipe.settings["image_size"], recipe.settings["batch_size"]
    best = None
    with Timer() as timer:
        for optimizer, lr, wd, schedule in GRID:
            val, test = bare_loop(arch, data, size=size, steps=steps, batch=batch, optimizer=optimizer, lr=lr,
                                  wd=wd, schedule=schedule, flip=flip, device=device)
            label = f"{optimizer} lr {lr:g}"
            print(f"    tuned loop {label}: val {val:.1%} test {test:.1%}", flush=True)
            if best is None or val > best[0]:
                best = (val, test, label)
    return best[1], best[2], timer.seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--archs", default="custom,resnet18_small")
    parser.add_argument("--datasets", default="digits,textures", help="of digits, textures, faces")
    parser.add_argument("--per-class", type=int, default=60)
    parser.add_argument("--max-steps", type=int, default=300, help="cap on the recipe's steps, for both sides")
    parser.add_argument("--device", default="cpu", help="cpu or cuda, for both sides")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    archs, names = args.archs.split(","), args.datasets.split(",")
    if set(names) - set(DATASETS):
        parser.error(f"--datasets takes some of {', '.join(DATASETS)}")
    print_header(f"default recipe >= {CLAIM:.0%} of a tuned bare PyTorch loop, same split and steps",
                 {"archs": archs, "datasets": names, "per_class": args.per_class, "max_steps": args.max_steps,
                  "split": RATIOS, "grid": GRID})
    rows, ok = [], True
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for name in names:
            source = DATASETS[name](args.per_class)
            for arch in archs:
                recipe = recipe_for_source(source, arch)
                config = TrainConfig.from_dict({**recipe.settings, "device": args.device})
                data = build_cache(source, cache_size=cache_size_for(config), cache_dir=work / "cache")
                print(f"{name} · {arch}: recipe {recipe.explanation}", flush=True)
                default_acc, steps, default_s = default_run(arch, source, data, args.max_steps, work,
                                                          mirror=MIRROR[name], device=args.device)
                print(f"    default recipe: test {default_acc:.1%} ({steps} steps, {default_s:.0f} s)", flush=True)
                tuned_acc, chosen, tuned_s = tuned(arch, source, data, steps=steps, flip=MIRROR[name],
                                                   device=args.device)
                ratio = default_acc / tuned_acc if tuned_acc else float("inf")
                ok &= ratio >= CLAIM
                rows.append({"dataset": name, "arch": arch, "steps": steps, "default": default_acc,
                             "tuned": tuned_acc, "tuned_settings": chosen, "ratio": ratio,
                             "default_s": default_s, "tuned_s": tuned_s})
    print(f"\n{'dataset':<10} {'arch':<16} {'steps':>5} {'default':>8} {'tuned':>8} {'ratio':>6}  tuned with")
    for r in rows:
        print(f"{r['dataset']:<10} {r['arch']:<16} {r['steps']:>5} {r['default']:>8.1%} {r['tuned']:>8.1%} "
              f"{r['ratio']:>6.2f}  {r['tuned_settings']}")
    print(f"\nclaim (every ratio >= {CLAIM}): {'PASS' if ok else 'FAIL'}")
    save_json(args.json, {"rows": rows, "claim": CLAIM, "passed": ok, "args": vars(args)})


if __name__ == "__main__":
    main()
