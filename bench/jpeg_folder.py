"""A synthetic image folder of 256x256 JPEGs whose classes a small network can learn in a few epochs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw


def make_jpeg_folder(root: Path, *, classes: int = 10, per_class: int = 100, size: int = 256,
                     seed: int = 0) -> Path:
    """Write root/class_k/i.jpg: a class-coloured shape on textured noise, placed and sized at random."""
    rng = np.random.default_rng(seed)
    hues = [tuple(int(v) for v in rng.integers(40, 216, 3)) for _ in range(classes)]
    shapes = ["ellipse", "rectangle", "triangle"]
    for k in range(classes):
        folder = root / f"class_{k:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            background = rng.normal(128, 40, (size // 8, size // 8, 3)).clip(0, 255).astype(np.uint8)
            image = Image.fromarray(background).resize((size, size), Image.Resampling.BILINEAR)
            draw = ImageDraw.Draw(image)
            extent = int(rng.integers(size // 3, size * 3 // 4))
            x, y = (int(v) for v in rng.integers(0, size - extent, 2))
            colour = tuple(int(np.clip(c + rng.normal(0, 20), 0, 255)) for c in hues[k])
            shape = shapes[k % len(shapes)]
            if shape == "ellipse":
                draw.ellipse((x, y, x + extent, y + extent), fill=colour)
            elif shape == "rectangle":
                draw.rectangle((x, y, x + extent, y + extent), fill=colour)
            else:
                draw.polygon([(x, y + extent), (x + extent, y + extent), (x + extent // 2, y)], fill=colour)
            image.save(folder / f"{i:04d}.jpg", quality=90)
    return root
