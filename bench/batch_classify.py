"""Batch classification of JPEG files at 224 px: Lux's job pipeline vs a bare single-threaded loop.

Claim (issue 6): on 2 cores, the pipeline a ClassificationJob runs (threads decode and preprocess while
the model answers batches under inference_mode; webapp/classify/services/pipeline.py) classifies a
folder of JPEGs at >= 1.3x the speed of a bare loop in the same process that decodes each file with PIL,
applies the same EvalPreset, and runs the same model in batches of the same size, one thing after another.

Both read the same files from disk and answer top-5; the pipeline also runs the datasets app's safety
checks on every file (allowed formats, pixel limits, truncation) and the bare loop does not. Also timed:
the pipeline without channels_last, so its two gains (overlap, memory format) can be told apart.

    .venv/bin/python bench/batch_classify.py [--images 128] [--photo 1024x768] [--rounds 8] [--json out.json]
"""

from __future__ import annotations

import argparse
import io
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from engine_harness import interleaved, print_header, ratio_report, save_json  # also puts the repo on sys.path
from PIL import Image, ImageDraw

CLAIM = "batch classification pipeline >= 1.3x a bare single-threaded loop (JPEG files, resnet18 at 224 px, 2 cores)"


def make_photos(folder: Path, count: int, width: int, height: int, seed: int = 0) -> list[Path]:
    """Write `count` photo-like JPEGs (smooth colour fields with shapes and grain) and return their paths."""
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(count):
        base = rng.normal(128, 50, (height // 16, width // 16, 3)).clip(0, 255).astype(np.uint8)
        image = Image.fromarray(base).resize((width, height), Image.Resampling.BICUBIC)
        draw = ImageDraw.Draw(image)
        for _ in range(6):
            x, y = int(rng.integers(0, width - 40)), int(rng.integers(0, height - 40))
            size = int(rng.integers(30, min(width, height) // 2))
            draw.ellipse((x, y, x + size, y + size), fill=tuple(int(v) for v in rng.integers(0, 255, 3)))
        grain = rng.normal(0, 6, (height, width, 3))
        pixels = (np.asarray(image, dtype=np.float32) + grain).clip(0, 255).astype(np.uint8)
        path = folder / f"{i:05d}.jpg"
        Image.fromarray(pixels).save(path, quality=88)
        paths.append(path)
    return paths


def bare_loop(model, preset, paths, batch_size: int) -> float:
    """Decode with PIL, preprocess, and run batches, one after another; return seconds."""
    start = time.perf_counter()
    batch = []
    with torch.inference_mode():
        for path in paths:
            with Image.open(path) as image:
                batch.append(preset(image))  # (3, 224, 224) float
            if len(batch) == batch_size:
                model(torch.stack(batch)).softmax(1).topk(5, dim=1)
                batch = []
        if batch:
            model(torch.stack(batch)).softmax(1).topk(5, dim=1)
    return time.perf_counter() - start


def pipeline(model, preset, paths, batch_size: int, *, channels_last: bool) -> float:
    """Run the job's pipeline over the files; return seconds."""
    from webapp.classify.services.decode import decode
    from webapp.classify.services.pipeline import classify_stream

    def read_and_decode(path):
        return decode(Path(path).read_bytes(), preset.resize_size)

    start = time.perf_counter()
    count = 0
    for outcomes in classify_stream(model, preset, paths, read_and_decode, k=5, batch_size=batch_size,
                                    channels_last=channels_last):
        count += len(outcomes)
        assert not any(o.error for o in outcomes)
    assert count == len(paths)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=128)
    parser.add_argument("--photo", default="1024x768", help="width x height of the JPEG files")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--json")
    args = parser.parse_args()
    width, height = (int(v) for v in args.photo.lower().split("x"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings")  # decode imports the datasets app's checks
    from classifier.factory import create_model
    from classifier.presets import EvalPreset
    from webapp.classify.services.pipeline import default_workers

    config = {"arch": "resnet18", "image_size": 224, "classes": 10, "images": args.images, "photo": args.photo,
              "jpeg_quality": 88, "batch_size": args.batch_size, "rounds": args.rounds,
              "decode_threads": default_workers(), "torch_threads": torch.get_num_threads()}
    print_header(CLAIM, config)
    torch.manual_seed(0)
    model = create_model("resnet18", num_classes=10, image_size=224).eval()
    model_cl = create_model("resnet18", num_classes=10, image_size=224).eval()
    model_cl.load_state_dict(model.state_dict())
    model_cl.to(memory_format=torch.channels_last)
    preset = EvalPreset(size=224)
    with tempfile.TemporaryDirectory(prefix="lux-bench-batch-") as folder:
        paths = make_photos(Path(folder), args.images, width, height)
        _check_same_answers(model, model_cl, preset, paths[:4])
        bare_loop(model, preset, paths[:args.batch_size], args.batch_size)  # warm-up: allocator, oneDNN kernels
        pipeline(model_cl, preset, paths[:args.batch_size], args.batch_size, channels_last=True)
        results = interleaved({
            "bare": lambda: bare_loop(model, preset, paths, args.batch_size),
            "pipeline": lambda: pipeline(model_cl, preset, paths, args.batch_size, channels_last=True),
            "pipeline_contiguous": lambda: pipeline(model, preset, paths, args.batch_size, channels_last=False),
        }, rounds=args.rounds)
    n = args.images
    for name, seconds in results.items():
        print(f"{name}: median {n / sorted(seconds)[len(seconds) // 2]:.1f} images/s, best {n / min(seconds):.1f}")
    report = ratio_report("pipeline vs bare loop (speed-up)", results["pipeline"], results["bare"],
                          higher_is_better=False)
    overlap = ratio_report("pipeline, contiguous memory, vs bare loop", results["pipeline_contiguous"],
                           results["bare"], higher_is_better=False)
    print(f"claim {'met' if report['paired_median'] >= 1.3 else 'NOT met'}: median of per-round ratios "
          f"{report['paired_median']:.2f}x (target >= 1.3x)")
    save_json(args.json, {"claim": CLAIM, "config": config, "seconds": results, "speedup": report,
                          "speedup_contiguous": overlap})


def _check_same_answers(model, model_cl, preset, paths) -> None:
    """Stop if the two paths disagree on what the files are: a faster wrong answer is no answer."""
    from webapp.classify.services.decode import decode
    from webapp.classify.services.pipeline import run_batch

    with torch.inference_mode():
        reference = model(torch.stack([preset(Image.open(io.BytesIO(p.read_bytes()))) for p in paths]))
    _, indices, logits = run_batch(model_cl, preset, [decode(p.read_bytes(), preset.resize_size).pixels
                                                      for p in paths], k=5, device="cpu", channels_last=True,
                                   keep_logits=True)
    assert torch.equal(indices, reference.softmax(1).topk(5, dim=1).indices), "the pipeline answers differently"
    assert torch.allclose(logits, reference, atol=1e-3), float((logits - reference).abs().max())


if __name__ == "__main__":
    main()
