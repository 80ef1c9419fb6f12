"""Against what a user would write instead: the torchvision reference recipe on the same JPEGs.

Claim (issue 4, speed 3): on the same folder of 256x256 JPEGs, the same model (torchvision's resnet18)
trained at 64 px, Lux's default configuration runs each epoch after the first at least 2x faster than
ImageFolder + DataLoader(num_workers=2) + RandomResizedCrop/flip/ToTensor/Normalize in fp32, with a
final test accuracy no worse. Both trainings advance one epoch per round, alternating which goes first:
the torchvision epochs run inside a callback of Lux's fit(), between its epochs.

Run: .venv/bin/python bench/vs_torchvision_recipe.py [--epochs 8] [--per-class 100]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import torch
import torch.nn.functional as F
from engine_harness import Timer, print_header, ratio_report, save_json
from jpeg_folder import make_jpeg_folder

from training import (
    Callback,
    TrainConfig,
    build_cache,
    cache_size_for,
    defaults_for,
    evaluate,
    fit,
    scan_image_folder,
)

IMAGE_SIZE, BATCH = 64, 64


def split_folders(folder: Path, root: Path) -> Path:
    """Link the JPEGs into root/train|test/class/ (90/10, seeded) so both recipes read the same split."""
    source = scan_image_folder(folder, ratios=(0.9, 0.0, 0.1))
    for record in source.records:
        target = root / record.split / source.class_names[record.label] / Path(record.source).name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to(record.source)
    return root


def torchvision_recipe(root: Path, epochs: int) -> Iterator[float]:
    """Train as the torchvision reference scripts do; yield images/s per epoch, then the test accuracy."""
    import torchvision
    from torchvision import transforms

    normalize = transforms.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])
    train_set = torchvision.datasets.ImageFolder(root / "train", transforms.Compose([
        transforms.RandomResizedCrop(IMAGE_SIZE), transforms.RandomHorizontalFlip(), transforms.ToTensor(),
        normalize]))
    test_set = torchvision.datasets.ImageFolder(root / "test", transforms.Compose([
        transforms.Resize(IMAGE_SIZE * 8 // 7), transforms.CenterCrop(IMAGE_SIZE), transforms.ToTensor(),
        normalize]))
    loader = torch.utils.data.DataLoader(train_set, batch_size=BATCH, shuffle=True, num_workers=2,
                                         drop_last=True, persistent_workers=True)
    torch.manual_seed(0)
    model = torchvision.models.resnet18(num_classes=len(train_set.classes))
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs * len(loader))
    for _ in range(epochs):
        model.train()
        with Timer() as timer:
            for x, y in loader:
                loss = F.cross_entropy(model(x), y, label_smoothing=0.1)
                opt.zero_grad()
                loss.backward()
                opt.step()
                sched.step()
        yield len(loader) * BATCH / timer.seconds
    model.eval()
    correct = 0
    with torch.inference_mode():
        for x, y in torch.utils.data.DataLoader(test_set, batch_size=256, num_workers=2):
            correct += int((model(x).argmax(1) == y).sum())
    yield correct / len(test_set)


class Interleave(Callback):
    """Time Lux's epochs from inside fit() and run the torchvision epochs between them.

    The order alternates by round: lux 1, tv 1 | tv 2, lux 2 | lux 3, tv 3 | tv 4, lux 4 | ...
    A Lux epoch is the wall time from the end of the previous one (or from the start, cache build
    included, for the first) to its own end, checkpoint written: everything a user waits for.
    """

    def __init__(self, torchvision_epochs: Iterator[float], images: int):
        self.tv, self.images = torchvision_epochs, images
        self.lux: list[float] = []
        self.torchvision: list[float] = []
        self.mark = time.perf_counter()

    def on_epoch_end(self, s):
        self.lux.append(self.images / (time.perf_counter() - self.mark))
        print(f"  round {s.epoch}: lux {self.lux[-1]:.1f} img/s", flush=True)
        if s.epoch % 2 == 1:  # this round lux went first; the next round torchvision goes first
            self.torchvision.append(next(self.tv))
            self.torchvision.append(next(self.tv))
            print(f"  rounds {s.epoch}-{s.epoch + 1}: torchvision {self.torchvision[-2]:.1f}, "
                  f"{self.torchvision[-1]:.1f} img/s", flush=True)
        self.mark = time.perf_counter()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=8, help="epochs = rounds (an even number, >= 8 for the claim)")
    parser.add_argument("--per-class", type=int, default=100, help="JPEGs per class (10 classes)")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    epochs = args.epochs + args.epochs % 2
    config = TrainConfig.from_dict({**defaults_for("resnet18"), "image_size": IMAGE_SIZE, "epochs": epochs,
                                    "batch_size": BATCH, "mirror": True})  # torchvision's side flips too
    print_header(__doc__.split("\n\n")[1].replace("\n", " "),
                 {"lux_config": config.to_dict(), "torchvision": "SGD lr 0.1 momentum 0.9 wd 1e-4, cosine, label "
                  "smoothing 0.1, fp32, DataLoader(num_workers=2, batch 64), RandomResizedCrop(64) + flip",
                  "data": f"10 classes x {args.per_class} synthetic 256x256 JPEGs, split 90/10 train/test"})
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        root = split_folders(make_jpeg_folder(work / "images", per_class=args.per_class), work / "split")
        tv = torchvision_recipe(root, epochs)
        source = scan_image_folder(root, ratios=(1.0, 0.0, 0.0))  # every train image, as torchvision uses
        train_images = sum(r.split == "train" for r in source.records) // BATCH * BATCH
        clock = Interleave(tv, train_images)
        data = build_cache(source, cache_size=cache_size_for(config), cache_dir=work / "cache")
        result = fit(config, data, out_dir=work / "lux", callbacks=[clock])
        report = evaluate(result.model, data.split("test"), class_names=data.class_names, preset=result.eval_preset)
        accuracy = {"lux": report["top1"], "torchvision": next(tv)}
    speeds = {"lux": clock.lux, "torchvision": clock.torchvision}
    print(f"first epoch (Lux: cache build, setup and epoch): lux {speeds['lux'][0]:.1f} img/s, "
          f"torchvision {speeds['torchvision'][0]:.1f} img/s")
    later = ratio_report("epochs after the first, lux / torchvision (images per second)", speeds["lux"][1:],
                         speeds["torchvision"][1:], higher_is_better=True)
    print(f"final test accuracy: lux {accuracy['lux']:.2%}, torchvision {accuracy['torchvision']:.2%}")
    ok = later["paired_median"] >= 2 and accuracy["lux"] >= accuracy["torchvision"]
    print(f"claim >= 2x after the first epoch (median of per-round ratios), accuracy no worse: "
          f"{'PASS' if ok else 'FAIL'}")
    save_json(args.json, {"config": config.to_dict(), "speeds": speeds, "accuracy": accuracy, "later_epochs": later})


if __name__ == "__main__":
    main()
