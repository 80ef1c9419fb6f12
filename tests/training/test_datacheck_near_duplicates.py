"""Perceptual hashes find resized, re-encoded and cropped copies, and groups flag split leakage."""

from __future__ import annotations

import pytest
from PIL import Image
from skimage import data

from training.datacheck.confirm import aligned_similarity, confirmed
from training.datacheck.groups import group_pairs, leaking_pairs, near_pairs, near_pairs_cropped
from training.datacheck.phash import as_signed, as_unsigned, crop_hashes, hamming, phash
from training.datacheck.planted import plant_and_score


def test_a_hash_survives_a_round_trip_through_a_signed_database_column():
    value = (1 << 64) - 3
    assert -(1 << 63) <= as_signed(value) < (1 << 63)
    assert as_unsigned(as_signed(value)) == value


def test_near_pairs_use_the_threshold_and_groups_join_chains():
    hashes = [0b0000, 0b0001, 0b0011, 0xFFFF_FFFF_FFFF_FFFF]
    assert near_pairs(hashes, threshold=1) == [(0, 1), (1, 2)]
    assert group_pairs(4, near_pairs(hashes, threshold=1)) == [[0, 1, 2]]
    assert near_pairs(hashes, threshold=0) == []
    with pytest.raises(ValueError):
        near_pairs(hashes, threshold=-1)


def test_only_pairs_across_splits_count_as_leakage():
    pairs = [(0, 1), (1, 2)]
    assert leaking_pairs(pairs, {0: "train", 1: "train", 2: "test"}) == [(1, 2)]


def test_different_photos_hash_far_apart():
    assert hamming(phash_of("astronaut"), phash_of("camera")) > 12


def test_planted_copies_are_found_with_few_false_pairs():
    photos = [getattr(data, name)() for name in ("astronaut", "camera", "coffee", "chelsea",
                                                 "rocket", "brick", "coins", "horse", "clock")]
    score = plant_and_score(photos, share=0.25, threshold=12)
    assert score.planted >= 15
    assert score.recall >= 0.8
    assert score.precision >= 0.9


def phash_of(name: str) -> int:
    return phash(Image.fromarray(getattr(data, name)()))


def test_a_cropped_copy_is_found_by_its_crops_and_confirmed_while_a_look_alike_is_not():
    photo = Image.fromarray(data.astronaut()).convert("RGB")
    original = photo.crop((150, 30, 246, 126))  # the face
    copy = original.crop((6, 1, 93, 88))  # 9% cropped, off-centre
    neighbour = photo.crop((150, 126, 246, 222))  # the tile just below: same photo, other content
    images = [original, copy, neighbour]
    hashes = [phash(im) for im in images]
    pairs = near_pairs_cropped(hashes, [crop_hashes(im) for im in images], threshold=10)
    assert (0, 1) in pairs
    assert hamming(hashes[0], hashes[1]) > min(hamming(c, hashes[1]) for c in crop_hashes(original))
    assert aligned_similarity(original, copy) >= 0.93
    assert aligned_similarity(original, neighbour) < 0.93
    assert confirmed([(0, 1), (0, 2)], images.__getitem__) == [(0, 1)]


def test_crop_aware_pairs_agree_with_whole_hash_pairs_when_crops_are_the_whole_hash():
    hashes = [0b0000, 0b0001, 0b0011, 0xFFFF_FFFF_FFFF_FFFF]
    assert near_pairs_cropped(hashes, [[h] for h in hashes], threshold=1) == near_pairs(hashes, threshold=1)
    assert near_pairs_cropped(hashes, [[h] for h in hashes], threshold=1, chunk=1) == [(0, 1), (1, 2)]
    with pytest.raises(ValueError):
        near_pairs_cropped(hashes, [[h] for h in hashes[:3]], threshold=1)


def test_a_few_images_against_all_find_the_same_pairs_as_the_full_search():
    import random

    from training.datacheck import groups
    from training.datacheck.phash import as_signed

    rng = random.Random(3)
    hashes = [as_signed(rng.getrandbits(64)) for _ in range(300)]
    crops = [[rng.getrandbits(64) for _ in range(9)] for _ in range(300)]
    for i in range(0, 60, 2):  # near-copies: a few bits off the whole hash, or one crop equal to another's hash
        hashes[i + 1] = hashes[i] ^ (1 << rng.randrange(63))
        crops[i + 3][4] = hashes[i] & 0xFFFFFFFFFFFFFFFF ^ 0b111
    added = [1, 5, 7, 40, 299]
    full = groups.cropped_distances(hashes, crops, 10)
    expected = {pair: bits for pair, bits in full.items() if set(pair) & set(added)}
    assert len(expected) >= 6
    assert groups.cropped_distances(hashes, crops, 10, among=added) == expected  # the XOR path (few)
    groups_few, groups.FEW = groups.FEW, 0
    try:
        assert groups.cropped_distances(hashes, crops, 10, among=added) == expected  # the matrix path
    finally:
        groups.FEW = groups_few
