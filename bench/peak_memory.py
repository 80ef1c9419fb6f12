"""Peak memory: the resident set of a whole resnet18 run at 32 px, measured in a fresh process.

Claim (issue 4, speed 4): print the peak resident memory of training resnet18_small at 32 px on
scikit-learn's digits (cache build, fit, evaluate), next to that of a process that only imports torch
and Lux, so the engine's own share is visible.

Run: .venv/bin/python bench/peak_memory.py [--epochs 1] [--arch resnet18_small]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

from engine_harness import REPO, print_header, save_json

_CHILD = """
import json, resource, sys, tempfile
sys.path.insert(0, {bench!r})
from pathlib import Path
from engine_harness import digits_source
from training import TrainConfig, build_cache, cache_size_for, defaults_for, evaluate, fit
if {train}:
    config = TrainConfig.from_dict({{**defaults_for({arch!r}), "image_size": 32, "epochs": {epochs},
                                     "batch_size": 128}})
    with tempfile.TemporaryDirectory() as tmp:
        data = build_cache(digits_source(), cache_size=cache_size_for(config), cache_dir=Path(tmp) / "cache")
        result = fit(config, data, out_dir=Path(tmp) / "out")
        top1 = evaluate(result.model, data.split("test"), class_names=data.class_names,
                        preset=result.eval_preset)["top1"]
else:
    top1 = None
print(json.dumps({{"peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "top1": top1}}))
"""


def peak(train: bool, arch: str, epochs: int) -> dict:
    """Run the child script in a fresh interpreter and return its peak RSS (MiB) and accuracy."""
    code = _CHILD.format(bench=str(REPO / "bench"), train=train, arch=arch, epochs=epochs)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--arch", default="resnet18_small")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    print_header(__doc__.split("\n\n")[1].replace("\n", " "),
                 {"arch": args.arch, "image_size": 32, "epochs": args.epochs, "batch_size": 128,
                  "data": "sklearn digits, 1438 train images"})
    baseline = peak(False, args.arch, args.epochs)
    run = peak(True, args.arch, args.epochs)
    print(f"peak resident memory: imports only {baseline['peak_rss_mib']:.0f} MiB; "
          f"{args.arch} run {run['peak_rss_mib']:.0f} MiB (+{run['peak_rss_mib'] - baseline['peak_rss_mib']:.0f} "
          f"MiB for data, model, optimizer, activations)")
    save_json(args.json, {"baseline": baseline, "run": run})


if __name__ == "__main__":
    main()
