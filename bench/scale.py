"""Benchmark: what pages, a version freeze and a training cache build cost as one dataset grows 100×.

Claims: every page at 100,000 images answers within 2× of the same page at 1,000 images (median of
`--requests` requests through Django's test client: routing, middleware, session, queries, template),
and a version freeze and a training cache build cost the same per image within ±25%.

    .venv/bin/python bench/scale.py [--sizes 1000,10000,100000] [--requests 15]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/lux_scale .venv/bin/python bench/scale.py  # an EMPTY database

Rows and files are made directly (bulk inserts and 20×20 PNGs written to media), not through the import task,
so 1,000 + 10,000 images take about a minute and 100,000 more take a few minutes more on a 2-core CPU.
Each size is its own owner and dataset, built in the same database after the smaller ones (the image table
then holds every size's rows, as a real installation's would). Every dataset has 10 classes, images in all
four splits, one in 17 unlabelled, and file names in which each of 10 words appears in one tenth. Each size's
evaluation holds one prediction per image; its off-diagonal cell, the one the gallery opens, holds the same 30
images at every size, so that page is compared with itself (the cell of a random confusion would hold 1 image at
1,000 and thousands at 100,000, and measure the 60 tiles of a full page against one). Every image has a pHash, as
uploads do, and the first 30 pairs of images are near-copies in two splits, which a stored near-duplicate check
has found (as if it had run), so the dataset page's leakage panel has leaks to show. "Dataset page, first view
after a change" moves the dataset's revision (as any relabel, split move or upload does) before each request,
so the health numbers and the leakage report are computed again, not read from the cache; "first view after an
upload" adds one hashed image first, as an upload does: up to 5,000 hashed images the page compares it with every
other while it loads; above that it is left to the automatic check the upload queues (the page says so), whose
time, as a worker runs it after all the uploads, is the last row.
"""

import argparse
import io
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _setup import ROOT, machine, start_django  # noqa: E402

WORDS = ("cat", "dog", "owl", "fox", "elk", "bee", "ant", "yak", "emu", "gnu")
SPLITS = ("train", "val", "test", "unassigned")
CONFUSED = (5, 4)  # (true, predicted) of the off-diagonal gallery cell
CONFUSED_TILES = 30  # images in that cell at every size: a page of the gallery holds up to 60
# Small files, quick to make, yet above the 16 px up to which a check also compares every image's pixels
# (training.datacheck.tiny: each image's re-encodes, about 3 ms an image; at 8×8 the automatic check after an
# upload took 2.5 s at 1,000 images, 34.5 s at 10,000 and 310 s at 100,000).
SIDE = 20
COPIES = 30  # near-duplicate pairs planted in every dataset (consecutive images: in two splits, so they leak)
PAGES = ("dataset list", "browse", "browse, one class", "file-name search", "health (dataset page)",
         "image page", "evaluation results", "gallery, off-diagonal cell", "gallery, diagonal cell",
         "dataset page, first view after a change", "dataset page, first view after an upload")


def start(database_url: str | None) -> Path:
    """Set Django up on SQLite in a fresh folder, or on `database_url` (which must be empty); return media's parent."""
    if not database_url:
        return start_django("lux-bench-scale-")
    data_dir = Path(tempfile.mkdtemp(prefix="lux-bench-scale-"))
    os.environ.pop("REDIS_URL", None)
    os.environ.update(DATABASE_URL=database_url, LUX_DATA_DIR=str(data_dir), DJANGO_SETTINGS_MODULE="webapp.settings",
                      DEBUG="0", ALLOWED_HOSTS="testserver", LOG_LEVEL="WARNING", LUX_HTTPS="false")
    os.environ.setdefault("SECRET_KEY", "benchmark-only")
    sys.path.insert(0, str(ROOT))
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    from webapp.datasets.models import Image
    if Image.objects.exists():
        raise SystemExit("the database already holds images: point DATABASE_URL at an empty database")
    return data_dir


def png(i: int) -> bytes:
    """Return a distinct SIDE×SIDE PNG of random pixels for image `i` (no two alike, as a check compares them)."""
    from PIL import Image as PILImage

    buffer = io.BytesIO()
    PILImage.frombytes("RGB", (SIDE, SIDE), random.Random(i).randbytes(SIDE * SIDE * 3)).save(buffer, "PNG")
    return buffer.getvalue()


def image_row(dataset, i: int, *, salt: bytes = b"", phash: int, **fields):
    """Write image `i`'s PNG into media and return its unsaved Image row (named by hash, as uploads are).

    `phash` stands in for the image's hashes (the crop hashes too: uploads store both), so that planted pairs
    are near-copies by hash however the pixels differ.
    """
    import hashlib

    from django.conf import settings

    from training.datacheck.phash import CROP_STEPS, as_unsigned
    from webapp.datachecks.hashing import pack_crops
    from webapp.datasets.models import Image

    data = png(i)
    sha = hashlib.sha256(data + salt + str(dataset.pk).encode()).hexdigest()
    name = f"datasets/{dataset.pk}/images/{sha[:2]}/{sha}.png"
    path = Path(settings.MEDIA_ROOT) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return Image(dataset=dataset, sha256=sha, width=SIDE, height=SIDE, format="PNG", size_bytes=len(data), file=name,
                 thumbnail=name, phash=phash, phash_crops=pack_crops([as_unsigned(phash)] * CROP_STEPS ** 2),
                 **fields)


def fill(n: int):
    """Return (user, dataset, classes) with `n` images and their files, made directly."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from training.datacheck.phash import as_signed
    from webapp.datasets.models import Dataset, Image
    from webapp.datasets.services.classes import create_class

    user = get_user_model().objects.create_user(f"bench{n}", password="not-used-for-login-42")
    dataset = Dataset.objects.create(owner=user, name=f"Scale {n}")
    classes = [create_class(dataset, f"class {i}") for i in range(10)]
    now = timezone.now()
    rows, hashes, rng = [], [], random.Random(n)
    for i in range(n):
        # Uploads are hashed as they are stored: a random pHash each, but the first COPIES images come twice.
        phash = hashes[i - 1] if i % 2 and i < 2 * COPIES else as_signed(rng.getrandbits(64))
        hashes.append(phash)
        rows.append(image_row(dataset, i, label=classes[i % 10] if i % 17 else None, split=SPLITS[i % 4],
                              original_name=f"img_{i:06d}_{WORDS[(i // 10) % 10]}.png", phash=phash,
                              created_at=now - timezone.timedelta(seconds=n - i)))
    Image.objects.bulk_create(rows, batch_size=2000)
    dataset.touch()  # what every service that adds images does
    checked(dataset, user)
    return user, dataset, classes


def uploaded(dataset, i: int) -> None:
    """Add hashed image `i` as an upload does (the row, its file, the revision moved, the new image's comparison
    with the others started: in a large dataset a queued check, which no worker runs here)."""
    from training.datacheck.phash import as_signed
    from webapp.datachecks.services.checks import compare_added_on_commit

    image_row(dataset, i, salt=b"uploaded", split="train", original_name=f"uploaded_{i}.png",
              phash=as_signed(random.Random(i).getrandbits(64))).save()
    dataset.touch()
    compare_added_on_commit(dataset)


def checked(dataset, user) -> None:
    """Store what a near-duplicate check job leaves behind: its pairs (the planted copies), as if it had run."""
    from django.utils import timezone

    from webapp.datachecks.models import CheckStatus, DataCheck
    from webapp.datasets.services.tally import read_tally

    ids = list(dataset.images.order_by("pk").values_list("pk", flat=True))
    pairs = [[ids[i], ids[i + 1], 0] for i in range(0, 2 * COPIES, 2)]
    DataCheck.objects.create(dataset=dataset, created_by=user, status=CheckStatus.SUCCEEDED, threshold=10,
                             finished_at=timezone.now(), results={"pairs": pairs, "pairs_upto": 10,
                                                                  "last_image": ids[-1],
                                                                  "generation": read_tally(dataset.pk).generation})


def evaluation_of(version, user):
    """Return a finished evaluation of `version` with one prediction per image (80% right; CONFUSED_TILES images of
    class 5 predicted as 4, and no other)."""
    import torch

    from classifier.metrics import classification_metrics
    from webapp.runs.models import EvalPrediction, Evaluation

    entries = list(version.entries.order_by("pk").values_list("image_id", "class_index"))
    classes = len(version.class_names)
    targets = torch.tensor([c for _, c in entries])
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(len(entries), classes, generator=generator)  # (N, C)
    logits[torch.arange(len(entries)), targets] += 2.5
    # The off-diagonal cell the bench opens holds the same CONFUSED images at every size (class 5 taken for 4),
    # so its gallery page shows the same tiles at 1,000 as at 100,000 images: the page's cost, not its tile count.
    fives = (targets == CONFUSED[0]).nonzero().flatten()  # (F,)
    logits[fives, CONFUSED[1]] = -10.0
    planted = fives[:CONFUSED_TILES]
    logits[planted, CONFUSED[1]] = logits[planted].max(1).values + 1.0
    metrics = classification_metrics(logits, targets, list(version.class_names))
    evaluation = Evaluation.objects.create(version=version, split="test", class_names=version.class_names,
                                           num_samples=len(entries), top1=metrics["top1"], top5=metrics["top5"],
                                           macro_f1=metrics["macro"]["f1"], ece=metrics["ece"], metrics=metrics,
                                           created_by=user)
    probs = logits.softmax(1)  # (N, C)
    top = probs.topk(5, dim=1)
    EvalPrediction.objects.bulk_create(
        [EvalPrediction(evaluation=evaluation, image_id=image_id, true_index=int(targets[k]),
                        predicted_index=int(top.indices[k, 0]), confidence=float(top.values[k, 0]),
                        top5=[[int(c), round(float(p), 4)] for c, p in zip(top.indices[k], top.values[k], strict=True)])
         for k, (image_id, _) in enumerate(entries)], batch_size=2000)
    return evaluation


def timed(fn, repeats: int) -> float:
    """Return the median seconds of `repeats` calls of fn()."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


class Rollback(Exception):
    pass


def build(n: int, repeats: int, cache_dir: Path) -> dict:
    """Return one size's dataset with its URLs, after timing its version freeze and training cache build."""
    from django.db import transaction
    from django.urls import reverse

    from training.cache import build_cache
    from webapp.datasets.services.versions import freeze_version
    from webapp.runs.services.datasets import version_source
    from webapp.runs.views.gallery import PER_PAGE

    started = time.perf_counter()
    user, dataset, classes = fill(n)
    built = time.perf_counter() - started

    def freeze_and_undo():
        try:
            with transaction.atomic():
                freeze_version(dataset, user=user)
                raise Rollback
        except Rollback:
            pass

    freeze = timed(freeze_and_undo, repeats)
    version = freeze_version(dataset, user=user)
    entries = version.entries.count()
    attempt = iter(range(repeats))

    def cache_build():  # what a run does before its first step: read the version's records, decode every image
        source, _ = version_source(version)
        build_cache(source, cache_size=8, cache_dir=cache_dir / f"{n}-{next(attempt)}", workers=2)

    cache_build_s = timed(cache_build, repeats)
    evaluation = evaluation_of(version, user)
    browse = reverse("dataset_browse", args=[dataset.pk])
    middle = dataset.images.order_by("pk").values_list("pk", flat=True)[n // 2]
    urls = {
        "dataset list": reverse("dataset_list"),
        "browse": browse,
        "browse, one class": f"{browse}?label={classes[3].pk}",
        "file-name search": f"{browse}?q=owl",
        "health (dataset page)": reverse("dataset_detail", args=[dataset.pk]),
        "image page": reverse("image_detail", args=[dataset.pk, middle]),
        "evaluation results": reverse("evaluation_detail", args=[evaluation.pk]),
        "gallery, off-diagonal cell": reverse("evaluation_cell", args=[evaluation.pk, *CONFUSED]),
        "gallery, diagonal cell": reverse("evaluation_cell", args=[evaluation.pk, 3, 3]),
    }
    cells = {"off-diagonal": CONFUSED, "diagonal": (3, 3)}
    tiles = {name: min(PER_PAGE, evaluation.predictions.filter(true_index=t, predicted_index=p).count())
             for name, (t, p) in cells.items()}  # what a gallery page shows
    return {"user": user, "dataset": dataset, "urls": urls, "tiles": tiles, "figures": {
        "version freeze, µs/image": freeze / entries * 1e6,
        "training cache build, µs/image": cache_build_s / entries * 1e6,
        "(setup: rows + files, s)": built,
    }}


def measure_pages(built: dict[int, dict], requests: int) -> dict[int, dict]:
    """Return {size: {page: median ms}}, requests taken in rounds over every size (load hits all sizes alike)."""
    from django.test import Client

    from webapp.datasets.services.health import _image_health

    clients = {}
    for n, one in built.items():
        clients[n] = Client()
        clients[n].force_login(one["user"])
        for url in one["urls"].values():  # warm: URL resolver, templates, query plans, the health cache
            for _ in range(2):
                response = clients[n].get(url)
                assert response.status_code == 200, (url, response.status_code)
        page = clients[n].get(one["urls"]["health (dataset page)"]).content.decode()
        assert "near-copy in" in page, "the dataset page should warn of the planted copies"
    first_view, after_upload = PAGES[-2:]
    times = {n: {page: [] for page in [*one["urls"], first_view, after_upload, "health numbers, uncached"]}
             for n, one in built.items()}
    for round_ in range(requests):
        for n, one in built.items():
            for page, url in one["urls"].items():
                started = time.perf_counter()
                clients[n].get(url)
                times[n][page].append((time.perf_counter() - started) * 1000)
            # A change (any upload, relabel, split move or delete moves the revision) makes the dataset page's
            # cached panels stale: the next view computes the health numbers and the leakage report again.
            one["dataset"].touch()
            started = time.perf_counter()
            clients[n].get(one["urls"]["health (dataset page)"])
            times[n][first_view].append((time.perf_counter() - started) * 1000)
            # An upload adds an image the leakage report has not compared yet: it must read every hash once.
            uploaded(one["dataset"], n + round_)
            started = time.perf_counter()
            clients[n].get(one["urls"]["health (dataset page)"])
            times[n][after_upload].append((time.perf_counter() - started) * 1000)
            # The health numbers alone, as that first view computes them.
            started = time.perf_counter()
            _image_health(one["dataset"])
            times[n]["health numbers, uncached"].append((time.perf_counter() - started) * 1000)
    return {n: {page: statistics.median(t) for page, t in pages.items()} for n, pages in times.items()}


def automatic_check_ms(dataset) -> float:
    """Return the milliseconds the check that compares the uploaded images with the others takes (a worker's job)."""
    from webapp.datachecks.models import CheckStatus
    from webapp.datachecks.services.checks import start_check
    from webapp.datachecks.worker import run_check

    check = start_check(dataset, None, threshold=10, automatic=True)  # the one an upload queued, at 10,000+
    started = time.perf_counter()
    assert run_check(check.pk, worker="bench", token=check.task_id) == CheckStatus.SUCCEEDED
    elapsed = (time.perf_counter() - started) * 1000
    check.refresh_from_db()
    assert check.counts["groups"] >= COPIES, check.counts  # the planted copies are kept
    return elapsed


def table(sizes: list[int], results: dict[int, dict]) -> str:
    """Return a Markdown table: each row's figure per size, then its ratio to the smallest size."""
    base = sizes[0]
    head = ["", *[f"{n:,}" for n in sizes], *[f"{n:,} / {base:,}" for n in sizes[1:]]]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in results[base]:
        unit = "" if "µs" in row or ", s)" in row else " ms"
        cells = [f"{results[n][row]:.1f}{unit}" for n in sizes]
        ratios = [f"{results[n][row] / results[base][row]:.2f}×" for n in sizes[1:]]
        lines.append("| " + " | ".join([row, *cells, *ratios]) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000", help="images per dataset, smallest first")
    parser.add_argument("--requests", type=int, default=15, help="requests per page and size (median)")
    parser.add_argument("--repeats", type=int, default=3, help="freezes and cache builds per size (median)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary media folder (and SQLite database)")
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    database_url = os.environ.get("DATABASE_URL")
    data_dir = start(database_url)
    from django.db import connection

    cache_dir = data_dir / "cache"
    built = {}
    try:
        for n in sizes:
            started = time.perf_counter()
            built[n] = build(n, args.repeats, cache_dir)
            print(f"{n:,} images built, frozen and cached in {time.perf_counter() - started:.0f} s; gallery tiles "
                  f"shown: {built[n]['tiles']}", file=sys.stderr)
        if connection.vendor == "postgresql":  # what autovacuum does soon after a bulk load: statistics, visibility
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE")
        pages = measure_pages(built, args.requests)
        for n in sizes:
            built[n]["figures"]["(automatic check after the uploads)"] = automatic_check_ms(built[n]["dataset"])
    finally:
        if not args.keep:
            shutil.rmtree(data_dir, ignore_errors=True)
    results = {n: {**pages[n], **built[n]["figures"]} for n in sizes}
    base, top = sizes[0], sizes[-1]
    pages_ok = all(results[top][p] <= 2 * results[base][p] for p in PAGES)
    flat = [r for r in results[base] if "µs/image" in r]
    flat_ok = all(0.75 <= results[top][r] / results[base][r] <= 1.25 for r in flat)
    print(json.dumps({"benchmark": "scale", "database": connection.vendor, "sizes": sizes,
                      "requests": args.requests, "machine": machine(),
                      "claims": {f"pages at {top:,} within 2x of {base:,}": pages_ok,
                                 "freeze and cache build per image within ±25%": flat_ok}}, indent=2))
    print(table(sizes, results))


if __name__ == "__main__":
    main()
