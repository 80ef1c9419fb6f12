"""Benchmark: median latency of the dataset browse page (and the API's image list) with 10,000 images.

Claim: the browse page answers in under 150 ms (median) with 10,000 images in the dataset.

    .venv/bin/python bench/browse_latency.py [--images 10000] [--requests 30]

Rows are inserted directly (the page never reads image files; thumbnails are separate requests).
Requests go through Django's test client: URL routing, middleware, session auth, queries, template.
"""

import argparse
import hashlib
import json
import shutil
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _setup import machine, start_django  # noqa: E402


def fill(n: int):
    """Return (user, dataset, a class) with `n` images over 10 classes and 4 splits."""
    from django.contrib.auth import get_user_model

    from webapp.datasets.models import Dataset, Image
    from webapp.datasets.services.classes import create_class

    user = get_user_model().objects.create_user("bench", password="not-used-for-login-42")
    dataset = Dataset.objects.create(owner=user, name="Browse bench")
    classes = [create_class(dataset, f"class {i}") for i in range(10)]
    splits = ["train", "val", "test", "unassigned"]
    rows = []
    for i in range(n):
        sha = hashlib.sha256(str(i).encode()).hexdigest()
        rows.append(Image(dataset=dataset, sha256=sha, width=64, height=48, format="JPEG", size_bytes=3000,
                          label=classes[i % 10] if i % 17 else None, split=splits[i % 4],
                          original_name=f"photo_{i:05d}.jpg", file=f"datasets/{dataset.pk}/images/{sha}.jpg",
                          thumbnail=f"datasets/{dataset.pk}/images/{sha}.jpg"))
    Image.objects.bulk_create(rows, batch_size=2000)
    return user, dataset, classes[4]


def median_ms(client, url: str, requests: int) -> dict:
    for _ in range(3):  # warm up: URL resolver, templates, query plans
        assert client.get(url).status_code == 200, url
    times = []
    for _ in range(requests):
        start = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200
    return {"url": url, "median_ms": round(statistics.median(times), 1), "min_ms": round(min(times), 1),
            "max_ms": round(max(times), 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--keep", action="store_true", help="keep the temporary database and media folder")
    args = parser.parse_args()
    data_dir = start_django("lux-bench-browse-")
    from django.test import Client
    from django.urls import NoReverseMatch, reverse

    user, dataset, one_class = fill(args.images)
    client = Client()
    client.force_login(user)
    results = []
    try:
        page = reverse("dataset_browse", args=[dataset.pk])
        results += [median_ms(client, page, args.requests),
                    median_ms(client, f"{page}?label={one_class.pk}&split=train&page=3", args.requests),
                    median_ms(client, f"{page}?q=photo_09", args.requests)]
    except NoReverseMatch:
        print("the browse page does not exist yet: measuring the API list only", file=sys.stderr)
    try:
        detail = reverse("dataset_detail", args=[dataset.pk])
        results.append(median_ms(client, detail, args.requests))  # health numbers cached per revision
        results.append(median_ms(client, reverse("dataset_list"), args.requests))
    except NoReverseMatch:
        pass
    from webapp.datasets.services.health import _image_health

    start = time.perf_counter()
    _image_health(dataset)
    results.append({"what": "health numbers computed uncached", "ms": round((time.perf_counter() - start) * 1000, 1)})
    api = f"/api/images/?dataset={dataset.pk}"
    results += [median_ms(client, api, args.requests), median_ms(client, f"{api}&page_size=200", args.requests)]
    print(json.dumps({
        "benchmark": "browse_latency",
        "config": {"images": args.images, "requests": args.requests, "database": "sqlite (WAL)",
                   "data_dir": str(data_dir)},
        "machine": machine(),
        "target_median_ms": 150,
        "results": results,
    }, indent=2))
    if not args.keep:
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
