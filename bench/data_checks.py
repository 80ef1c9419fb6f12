"""Data checks find planted near-duplicates, split leakage and flipped labels in real images.

Setting (issue 15): two real sets, no download. scikit-image's photos cut into non-overlapping 96 px tiles (flat
tiles dropped; every tile its own source; label = its photo) and scikit-learn's 1,797 8x8 digits. Each is split
70/15/15 stratified; then 5% of the images get a resized, JPEG re-encoded or 5-10% cropped copy (kinds in turn;
on 8 px digits a crop takes at least one pixel), half of the copies placed in another split than their original;
then 5% of all labels are flipped to another class. Photos: 5 seeds pooled (one seed plants only 14 copies).

Detectors: near-duplicates are pairs of images whose 64-bit DCT pHashes differ by at most T bits; the baseline
compares whole images only (T = 12, as measured before); the crop-aware detector also compares each image's
hash with the hashes of 9 crops of 92.5% of the other (`near_pairs_cropped`, T = 10), then keeps the candidates
whose 16 px grey thumbnails correlate >= 0.93 at their best alignment (`confirm.confirmed`). Images of at most 16 px
a side (the digits) are also compared pixel by pixel, all pairs, at their own sizes (`tiny.tiny_distances`: each
one's variants, shaved by a pixel or JPEG re-encoded, resized to the other's size), and such pairs are confirmed at
an RMSE <= 9 grey levels instead of by thumbnails. Leakage = found pairs whose
images sit in different splits, against the planted cross-split copies. Label suspects: confident learning on
5-fold out-of-sample probabilities of the default small CNN (`training.datacheck.labels`), top 2x as many
suspects as planted flips (digits: photo classes have ~16 tiles each, too few to learn).

Claims: near-duplicates and leakage recall >= 0.95 at precision >= 0.9; label-flip suspects recall >= 0.6 at
precision >= 0.5. Seconds per 1,000 images of each check on this machine.

Measured 2026-12-04, 2-core shared AMD EPYC, no GPU, load average 10-12 (recall / precision):
- photos (1,430 images, 70 copies, 35 across splits): crop-aware pHash <= 10 + aligned thumbnails >= 0.93 finds
  near-dups 1.000 / 1.000 and leakage 1.000 / 1.000 (met); the whole-image pHash <= 12 baseline 0.886 / 0.861 and
  0.886 / 0.838. The 0.93 confirm threshold was picked between copies (>= 0.948) and look-alikes (<= 0.908) over
  seeds 0-9, so seeds 0-4 are not held out for it.
- digits (1,887 images, 90 copies, 45 across): at 8x8 pixels two handwritten samples of a class correlate
  up to 0.98, as closely as a resized or cropped copy, so thumbnails alone reach only 0.756 / 0.932 (near-dups)
  and 0.778 / 0.946 (leakage) at 0.99 (NOT met). Re-measured 2026-12-04 (load average 6-7) with images <= 16 px
  compared pixel by pixel (`training.datacheck.tiny`, RMSE <= 9 grey levels): near-dups 0.967 / 0.978 and
  leakage 0.978 / 0.957 (met); photos unchanged (no photo tile is that small). The 9 was picked on digit seeds
  0-4 (per seed: recall 0.956-0.978, precision 0.946-0.989), not held out.
- label-flip suspects (digits, 94 flipped, 5-fold CV of the default 16 px CNN, top 188): recall 0.777 at
  precision 0.869 (met; confident learning flags only 84, fewer than the 188 allowed).
- seconds per 1,000 images (photos / digits; varied up to 2x between runs with the load): pHash 0.3-0.7,
  9 crop hashes 3-7, pair search 1-5 (quadratic: at 286 and 1,887 images), confirm 2-9, label check 15-18
  (digits, CPU), embed 0.3, 10 nearest 0.05, outlier scores 0.01. With the pixel pairs (load average 6-7):
  crop-aware pair search 0.07 / 0.33 (float32 BLAS now), pixel pairs - / 7.7 (mostly the 14 JPEG re-encodes of
  each tiny image), confirm 3.1 / 3.9.

Run: .venv/bin/python bench/data_checks.py [--seeds 0,1,2,3,4] [--threshold 10] [--json PATH]
(under two minutes on 2 CPU cores)
"""

from __future__ import annotations

import argparse
import io
import time

import numpy as np
import torch
from engine_harness import print_header, save_json
from PIL import Image
from skimage import data as skdata
from sklearn.datasets import load_digits

from classifier.factory import create_model
from classifier.presets import EvalPreset
from training.data import DataSource, ImageRecord
from training.datacheck.confirm import MIN_SIMILARITY, confirmed
from training.datacheck.embeddings import embed, nearest, outlier_scores
from training.datacheck.groups import leaking_pairs, near_pairs, near_pairs_cropped
from training.datacheck.labels import FAST_SIZE, FAST_SPEC, fast_config, label_suspects, out_of_sample_probabilities
from training.datacheck.phash import crop_hashes, phash
from training.datacheck.planted import Planted, Score, distinct_crops, plant, score
from training.datacheck.tiny import MAX_RMSE, tiny_distances

PHOTOS = ("astronaut", "camera", "coffee", "chelsea", "rocket", "brick", "grass", "gravel",
          "coins", "moon", "page", "text", "horse", "hubble_deep_field", "immunohistochemistry",
          "retina", "clock")  # data.cat is chelsea again
BASELINE_T = 12
STRICT = 0.99  # a confirm threshold for 8 px images, where different handwritten digits correlate up to 0.98
CLAIM = ("near-duplicates and leakage: recall >= 0.95 at precision >= 0.9; label-flip suspects (top 2x planted): "
         "recall >= 0.6 at precision >= 0.5")


def photo_set() -> tuple[list[Image.Image], list[int]]:
    """Return the distinct photo tiles and, as labels, which photo each came from."""
    images, labels = [], []
    for label, name in enumerate(PHOTOS):
        tiles = distinct_crops([getattr(skdata, name)()])
        images += tiles
        labels += [label] * len(tiles)
    return images, labels


def digit_set() -> tuple[list[Image.Image], list[int]]:
    """Return scikit-learn's digits as 8x8 grey images and their labels."""
    digits = load_digits()
    pixels = np.round(digits.images * (255 / 16)).astype(np.uint8)  # (1797, 8, 8)
    return [Image.fromarray(p, "L") for p in pixels], digits.target.tolist()


def near_duplicate_run(planted: Planted, threshold: int) -> dict:
    """Hash every image, search pairs both ways, and return found pair sets and timings."""
    start = time.perf_counter()
    whole = [phash(im) for im in planted.images]
    whole_s = time.perf_counter() - start
    start = time.perf_counter()
    crops = [crop_hashes(im) for im in planted.images]
    crops_s = time.perf_counter() - start
    start = time.perf_counter()
    baseline = near_pairs(whole, BASELINE_T)
    baseline_search_s = time.perf_counter() - start
    start = time.perf_counter()
    cropped = near_pairs_cropped(whole, crops, threshold)
    search_s = time.perf_counter() - start
    start = time.perf_counter()
    tiny = tiny_distances(planted.images)  # images <= 16 px: pixel comparison, the hashes cannot tell them apart
    tiny_s = time.perf_counter() - start
    start = time.perf_counter()
    kept = confirmed(sorted(set(cropped) | set(tiny)), planted.images.__getitem__)
    confirm_s = time.perf_counter() - start
    strict = confirmed(cropped, planted.images.__getitem__, STRICT, pixels=False)  # thumbnails only, as before
    split_of = dict(enumerate(planted.splits))
    return {"baseline": baseline, "cropped": cropped, "confirmed": kept, "strict": strict,
            "strict_leaks": leaking_pairs(strict, split_of),
            "baseline_leaks": leaking_pairs(baseline, split_of), "cropped_leaks": leaking_pairs(cropped, split_of),
            "confirmed_leaks": leaking_pairs(kept, split_of), "n": len(planted.images), "whole_s": whole_s,
            "crops_s": crops_s, "baseline_search_s": baseline_search_s, "search_s": search_s,
            "tiny_s": tiny_s, "confirm_s": confirm_s}


def pooled(runs: list[dict], planted: list[Planted], found_key: str, planted_key: str):
    """Return one Score over all seeds, offsetting indices so pairs from different seeds never collide."""
    found, truth = set(), set()
    for seed, (run, p) in enumerate(zip(runs, planted, strict=True)):
        found |= {(seed, a, b) for a, b in run[found_key]}
        truth |= {(seed, a, b) for a, b in getattr(p, planted_key)}
    return score(found, truth)


def label_run(planted: Planted, class_names: list[str], seed: int) -> tuple[Score, float, int]:
    """Return (Score of the top 2x suspects, seconds of cross-validation, images)."""
    blobs = [png(image) for image in planted.images]
    records = [ImageRecord(source=lambda b=b: io.BytesIO(b), label=y, split=s)
               for b, y, s in zip(blobs, planted.labels, planted.splits, strict=True)]
    source = DataSource(records=records, class_names=class_names, key=f"bench-data-checks-{seed}-{len(records)}")
    start = time.perf_counter()
    probs = out_of_sample_probabilities(source, folds=5, seed=seed)
    took = time.perf_counter() - start
    suspects = label_suspects(probs, planted.labels, limit=2 * len(planted.flipped))
    return score({s.index for s in suspects}, planted.flipped), took, len(records)


def embedding_run(planted: Planted) -> dict[str, float]:
    """Return seconds to embed every image with the small CNN (untrained: only the time is measured), find
    10 nearest neighbours of each, and score in-class outliers."""
    torch.manual_seed(0)
    model = create_model("custom", num_classes=10, image_size=FAST_SIZE, spec=FAST_SPEC)
    images = [im.convert("RGB") for im in planted.images]
    start = time.perf_counter()
    vectors = embed(images, model, preset=EvalPreset(size=FAST_SIZE), batch_size=256)
    embed_s = time.perf_counter() - start
    start = time.perf_counter()
    nearest(vectors, 10)
    nearest_s = time.perf_counter() - start
    start = time.perf_counter()
    outlier_scores(vectors, planted.labels, 10)
    return {"embed (small CNN, CPU)": embed_s, "10 nearest (exact cosine)": nearest_s,
            "in-class outlier scores": time.perf_counter() - start}


def png(image: Image.Image) -> bytes:
    """Return an image as PNG bytes."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def line(name: str, s: Score, claim: tuple[float, float] | None = None) -> str:
    """Return one printed row of a detector's score, with the claim's verdict when it has one."""
    met = ""
    if claim:
        met = "  claim " + ("met" if s.recall >= claim[0] and s.precision >= claim[1] else "NOT met")
    return (f"{name:<62} planted {s.planted:>4}  found {s.found:>4}  recall {s.recall:.3f}  "
            f"precision {s.precision:.3f}{met}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1,2,3,4", help="photo seeds (pooled); digits use the first")
    parser.add_argument("--threshold", type=int, default=10, help="crop-aware detector's bits")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (more only contend on 2 cores)")
    parser.add_argument("--json")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    seeds = [int(s) for s in args.seeds.split(",")]
    config = {"seeds": seeds, "threshold": args.threshold, "baseline_threshold": BASELINE_T,
              "threads": args.threads, "copy_share": 0.05, "cross_share": 0.5, "flip_share": 0.05,
              "cv": fast_config().to_dict() | {"folds": 5}}
    print_header(CLAIM, config)
    began = time.perf_counter()
    results = {}
    photos, photo_labels = photo_set()
    digits, digit_labels = digit_set()
    sets = {"photos": [plant(photos, photo_labels, seed=s) for s in seeds],
            "digits": [plant(digits, digit_labels, seed=seeds[0])]}
    timings = {}
    for name, planted in sets.items():
        runs = [near_duplicate_run(p, args.threshold) for p in planted]
        timings[name] = {key: sum(run[key] for run in runs) for key in (
            "whole_s", "crops_s", "baseline_search_s", "search_s", "tiny_s", "confirm_s", "n")}
        crop_t, both = f"crop-aware pHash <= {args.threshold}", f"+ confirm >= {MIN_SIMILARITY} / RMSE <= {MAX_RMSE:g}"
        rows = {
            f"near-dups, whole pHash <= {BASELINE_T} (baseline)": pooled(runs, planted, "baseline", "copies"),
            f"near-dups, {crop_t}": pooled(runs, planted, "cropped", "copies"),
            f"near-dups, {crop_t} {both}": pooled(runs, planted, "confirmed", "copies"),
            f"near-dups, {crop_t} + thumbnails >= {STRICT}": pooled(runs, planted, "strict", "copies"),
            f"leakage, whole pHash <= {BASELINE_T} (baseline)": pooled(runs, planted, "baseline_leaks", "leaks"),
            f"leakage, {crop_t}": pooled(runs, planted, "cropped_leaks", "leaks"),
            f"leakage, {crop_t} {both}": pooled(runs, planted, "confirmed_leaks", "leaks"),
            f"leakage, {crop_t} + thumbnails >= {STRICT}": pooled(runs, planted, "strict_leaks", "leaks"),
        }
        images = sum(len(p.images) for p in planted)
        print(f"\n{name}: {images} images over {len(planted)} seed(s)")
        for label, s in rows.items():
            print(line(label, s, (0.95, 0.9) if both in label else None))
        results[name] = {label: s.__dict__ for label, s in rows.items()}
    flips, cv_s, cv_n = label_run(sets["digits"][0], [str(d) for d in range(10)], seeds[0])
    print(f"\ndigits: {cv_n} images, {len(sets['digits'][0].flipped)} labels flipped")
    print(line("label-flip suspects, top 2x (confident learning)", flips, (0.6, 0.5)))
    results["digits"]["label flips"] = flips.__dict__
    names = {"whole_s": "pHash (whole)", "crops_s": "pHash of 9 crops", "baseline_search_s": "pair search, whole",
             "search_s": "pair search, crop-aware", "tiny_s": "pixel pairs, images <= 16 px",
             "confirm_s": "aligned-thumbnail confirm"}
    print("\nseconds per 1,000 images on this machine (hashing is linear in images; the pair search is quadratic, "
          "here at 286 photos or 1,887 digits per set; the confirm is linear in candidate pairs):")
    print(f"  {'':<30} {'photos':>8} {'digits':>8}")
    per_1000 = {name: {label: 1000 * timings[name][key] / timings[name]["n"] for key, label in names.items()}
                for name in timings}
    for label in names.values():
        print(f"  {label:<30} {per_1000['photos'][label]:8.2f} {per_1000['digits'][label]:8.2f}")
    print(f"  {'label check (5-fold CV, CPU)':<30} {'':>8} {1000 * cv_s / cv_n:8.2f}")
    results["seconds_per_1000"] = per_1000 | {"label check, digits": 1000 * cv_s / cv_n}
    for label, seconds in embedding_run(sets["digits"][0]).items():
        print(f"  {label:<30} {'':>8} {1000 * seconds / cv_n:8.2f}")
        results["seconds_per_1000"][f"{label}, digits"] = 1000 * seconds / cv_n
    print(f"took {time.perf_counter() - began:.1f} s")
    save_json(args.json, {"config": config, "results": results})


if __name__ == "__main__":
    main()
