"""Print near-duplicate recall and precision of the dHash detector on planted copies."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from skimage import data

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script from anywhere
from training.datacheck.planted import plant_and_score  # noqa: E402

PHOTOS = ("astronaut", "camera", "coffee", "chelsea", "rocket", "brick", "grass", "gravel",
          "coins", "moon", "page", "text", "horse", "hubble_deep_field", "immunohistochemistry",
          "retina", "clock")  # data.cat is chelsea again


def main() -> None:
    """Measure the detector at several thresholds."""
    photos = [getattr(data, name)() for name in PHOTOS]
    for threshold in (4, 6, 8, 10, 12):
        start = time.perf_counter()
        score = plant_and_score(photos, share=0.25, threshold=threshold)
        took = time.perf_counter() - start
        print(f"threshold {threshold:2d}: planted {score.planted} found {score.found} "
              f"recall {score.recall:.3f} precision {score.precision:.3f} ({took:.1f} s)")


if __name__ == "__main__":
    main()
