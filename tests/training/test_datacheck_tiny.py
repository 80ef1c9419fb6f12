"""Tiny images (8x8 digits) are compared pixel by pixel: copies are found, another sample of the digit is not."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image
from sklearn.datasets import load_digits

from training.datacheck.confirm import confirmed
from training.datacheck.groups import near_pairs_cropped
from training.datacheck.phash import crop_hashes, phash
from training.datacheck.tiny import MAX_RMSE, tiny_distance, tiny_distances


def digit(index: int) -> Image.Image:
    pixels = load_digits().images[index]
    return Image.fromarray(np.round(pixels * (255 / 16)).astype(np.uint8), "L")


def jpeg(image: Image.Image, quality: int) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("L")


def test_resized_cropped_and_reencoded_copies_of_a_digit_are_found_and_another_three_is_not():
    three = digit(3)
    other_three = digit(13)  # load_digits: 13 is another sample of the digit 3
    assert load_digits().target[13] == load_digits().target[3] == 3
    copies = [three.resize((11, 11), Image.Resampling.BILINEAR), three.resize((5, 5), Image.Resampling.BILINEAR),
              three.crop((1, 0, 8, 7)), jpeg(three, 45)]
    images = [three, other_three, *copies]
    found = tiny_distances(images)
    assert {(0, k) for k in range(2, 6)} <= set(found)
    assert (0, 1) not in found and tiny_distance(three, other_three) > MAX_RMSE
    # The hash path's candidates are confirmed by pixels too: the other 3 is dropped however close its hash.
    assert confirmed([(0, 1), (0, 5)], images.__getitem__) == [(0, 5)]


def test_the_hash_search_alone_misses_a_downsized_digit():
    three, small = digit(3), digit(3).resize((4, 4), Image.Resampling.BILINEAR)
    images = [three, small]
    assert near_pairs_cropped([phash(i) for i in images], [crop_hashes(i) for i in images], threshold=10) == []
    assert set(tiny_distances(images)) == {(0, 1)}


def test_new_images_against_all_find_exactly_the_pairs_with_a_new_image():
    three, seven = digit(3), digit(7)
    images = [three, seven, digit(13), three.resize((11, 11), Image.Resampling.BILINEAR), jpeg(seven, 60),
              seven.crop((1, 1, 8, 8)), digit(23)]
    every = tiny_distances(images)
    assert {(0, 3), (1, 4), (1, 5)} <= set(every)
    for among in ({3}, {4}, {0, 5}, {6}, set()):
        # The same pairs at the same distances, to float32 rounding (|a|² + |b|² - 2ab, in other shapes).
        assert tiny_distances(images, among=among) == pytest.approx(
            {pair: rmse for pair, rmse in every.items() if among & set(pair)}, abs=0.01), among
