"""Choosing what to label next: margin, entropy and confidence orders of a model's probabilities."""

import math

import pytest
import torch

from training.active import order, select, uncertainty

PROBS = torch.tensor([
    [0.98, 0.01, 0.01],  # sure
    [0.50, 0.49, 0.01],  # a coin toss between two classes: smallest margin
    [0.34, 0.33, 0.33],  # nearly uniform: highest entropy
    [0.70, 0.20, 0.10],
])


def test_summaries_match_hand_computed_values():
    u = uncertainty(PROBS)
    assert u.confidence.tolist() == pytest.approx([0.98, 0.50, 0.34, 0.70])
    assert u.margin.tolist() == pytest.approx([0.97, 0.01, 0.01, 0.50])
    assert u.entropy[2].item() == pytest.approx(-sum(p * math.log(p) for p in (0.34, 0.33, 0.33)), rel=1e-5)
    assert u.entropy[0] < u.entropy[3] < u.entropy[2]


def test_margin_puts_the_coin_toss_first_and_entropy_the_uniform_one():
    assert order(PROBS, "margin").tolist()[:2] == [1, 2]  # tie at 0.01 keeps the original order
    assert order(PROBS, "entropy").tolist()[0] == 2
    assert order(PROBS, "confidence").tolist() == [0, 3, 1, 2]


def test_select_takes_the_budget_and_random_is_a_seeded_permutation():
    assert select(PROBS, 2).tolist() == [1, 2]
    assert select(PROBS, 0).tolist() == []
    a = select(PROBS, 4, "random", generator=torch.Generator().manual_seed(1))
    b = select(PROBS, 4, "random", generator=torch.Generator().manual_seed(1))
    assert a.tolist() == b.tolist() and sorted(a.tolist()) == [0, 1, 2, 3]


def test_one_class_models_and_bad_input():
    assert uncertainty(torch.ones(3, 1)).margin.tolist() == [1.0, 1.0, 1.0]
    with pytest.raises(ValueError):
        order(PROBS, "loudest")
    with pytest.raises(ValueError):
        uncertainty(torch.ones(3))
    with pytest.raises(ValueError):
        select(PROBS, -1)
