"""Benchmark: what the image tally's triggers cost the writers, against the same writes without them.

The health numbers read a tally the database keeps with triggers (webapp/datasets/migrations/0008); every
insert, relabel and delete of image rows pays for it. In one run, rounds alternate: the triggers in place,
then dropped (the same writes), then back. Each round inserts `--images` rows in batches of 500 (as an
import's rows arrive), relabels them in pages of 1,000 ids (as a bulk relabel does), moves half to another
split in one statement, and deletes them. Prints each step's median time with and without, and the ratio.

    .venv/bin/python bench/tally_cost.py [--images 20000] [--rounds 4]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/lux_tally .venv/bin/python bench/tally_cost.py  # EMPTY db
"""

import argparse
import importlib
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _setup import machine  # noqa: E402
from scale import start  # noqa: E402  (the same throwaway setup, SQLite or an empty PostgreSQL database)

STEPS = ("insert", "relabel", "split", "delete")


def writes(dataset, classes, n: int) -> dict[str, float]:
    """Insert, relabel, re-split and delete `n` image rows; return each step's seconds."""
    from django.db import transaction

    from webapp.datasets.models import Image

    took = {}
    started = time.perf_counter()
    for first in range(0, n, 500):
        with transaction.atomic():
            Image.objects.bulk_create([
                Image(dataset=dataset, sha256=f"{i:064x}", width=8 + i % 5, height=8, format="PNG", size_bytes=1,
                      label=classes[i % 3], split="train", file=f"f{i}", original_name=f"{i}.png")
                for i in range(first, min(n, first + 500))])
    took["insert"] = time.perf_counter() - started
    ids = list(Image.objects.filter(dataset=dataset).values_list("pk", flat=True))
    started = time.perf_counter()
    for first in range(0, len(ids), 1000):
        Image.objects.filter(pk__in=ids[first:first + 1000]).update(label=classes[(first // 1000) % 3])
    took["relabel"] = time.perf_counter() - started
    started = time.perf_counter()
    Image.objects.filter(dataset=dataset, pk__in=ids[::2]).update(split="val")
    took["split"] = time.perf_counter() - started
    started = time.perf_counter()
    Image.objects.filter(dataset=dataset).delete()
    took["delete"] = time.perf_counter() - started
    return took


def set_triggers(on: bool) -> None:
    """Drop the tally's triggers and, when `on`, create them again, with the migration's own SQL."""
    from django.db import connection

    migration = importlib.import_module("webapp.datasets.migrations.0008_image_tally")
    with connection.schema_editor() as editor:
        create, drop = migration._vendor_sql(editor)
        for statement in drop:
            editor.execute(statement)
        for statement in create if on else []:
            if not statement.startswith("CREATE UNIQUE INDEX"):  # the index stays either way
                editor.execute(statement)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    database_url = os.environ.get("DATABASE_URL")
    start(database_url)
    from django.contrib.auth import get_user_model
    from django.db import connection

    from webapp.datasets.models import Dataset
    from webapp.datasets.services.classes import create_class

    user = get_user_model().objects.create_user("tally", password="not-used-for-login-42")
    dataset = Dataset.objects.create(owner=user, name="Tally cost")
    classes = [create_class(dataset, name) for name in ("a", "b", "c")]
    times = {state: {step: [] for step in STEPS} for state in ("with", "without")}
    for round_ in range(args.rounds):
        for state in (("with", "without") if round_ % 2 == 0 else ("without", "with")):
            set_triggers(state == "with")
            for step, seconds in writes(dataset, classes, args.images).items():
                times[state][step].append(seconds)
    set_triggers(True)
    print(json.dumps({"config": {**vars(args), "database": connection.vendor}, "machine": machine()}, indent=1))
    print(f"| step ({args.images:,} rows) | with the tally | without | ratio |\n|---|---|---|---|")
    for step in STEPS:
        with_, without = (statistics.median(times[s][step]) for s in ("with", "without"))
        print(f"| {step} | {with_ * 1000:.0f} ms | {without * 1000:.0f} ms | {with_ / without:.2f}× |")


if __name__ == "__main__":
    main()
