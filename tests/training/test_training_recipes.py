"""Recipes that fit the data: steps from the training-set size, batch, lr, image size, early stopping."""

from __future__ import annotations

import math

import pytest

from classifier.registry import list_models
from training import TrainConfig, scan_image_folder
from training.recipes import STEP_BUDGET, image_size_for, median_image_size, recipe_for, recipe_for_source


def test_a_small_set_gets_many_epochs_of_several_steps():
    recipe = recipe_for("resnet18_small", train_images=240, num_classes=3, median_size=(64, 64))
    s = recipe.settings
    assert s["batch_size"] <= 240 / 4 and recipe.steps_per_epoch >= 4
    assert recipe.steps >= STEP_BUDGET["resnet"][0]
    assert s["epochs"] == math.ceil(STEP_BUDGET["resnet"][0] / recipe.steps_per_epoch)
    assert recipe.explanation == (f"240 training images → {s['epochs']} epochs of {recipe.steps_per_epoch} steps, "
                                  f"batch {s['batch_size']}, lr {s['lr']:.2g}, 64 px")


def test_a_large_set_is_capped_and_a_huge_one_gets_at_least_an_epoch():
    fewest, most = STEP_BUDGET["resnet"]
    large = recipe_for("resnet18_small", train_images=100_000, num_classes=10)
    assert large.steps <= most + large.steps_per_epoch and large.settings["epochs"] < 10
    huge = recipe_for("resnet18_small", train_images=10_000_000, num_classes=10)
    assert huge.settings["epochs"] == 1


def test_more_images_mean_fewer_epochs_but_never_fewer_steps():
    recipes = [recipe_for("resnet18_small", train_images=n, num_classes=10) for n in (100, 1000, 10_000)]
    epochs = [r.settings["epochs"] for r in recipes]
    assert epochs == sorted(epochs, reverse=True) and epochs[0] > epochs[-1]
    assert [r.steps for r in recipes] == sorted(r.steps for r in recipes)


def test_the_learning_rate_follows_the_batch_size():
    small = recipe_for("resnet18_small", train_images=64, num_classes=3).settings
    full = recipe_for("resnet18_small", train_images=5000, num_classes=3).settings
    assert small["batch_size"] == 16 and full["batch_size"] == 64
    assert small["lr"] == pytest.approx(full["lr"] * math.sqrt(16 / 64), rel=0.05)  # AdamW: square root
    tuned = recipe_for("resnet50", train_images=64, num_classes=3, pretrained="imagenet").settings
    assert tuned["optimizer"] == "sgd" and tuned["lr"] == pytest.approx(0.01 * 16 / 64)  # SGD: linear


def test_a_tiny_set_still_trains_in_batches_of_a_few_images():
    recipe = recipe_for("custom", train_images=10, num_classes=2)
    assert recipe.settings["batch_size"] == 8 and recipe.steps_per_epoch == 1


@pytest.mark.parametrize(("arch", "median", "size"), [
    ("resnet18_small", (8, 8), 32),  # digits: upscaled to the smallest sensible size
    ("resnet18_small", (64, 64), 64),
    ("resnet18_small", (500, 375), 64),  # a stride-1 stem is for small images: no larger
    ("resnet50", (500, 375), 224),
    ("resnet50", (100, 90), 88),  # the shorter side, rounded to a multiple of 8
    ("vit_b_16", (100, 90), 96),  # a multiple of the patch
    ("vit_tiny", (50, 50), 48),
    ("vgg11_bn_small", (20, 20), 32),
])
def test_the_image_size_comes_from_the_median_size_within_the_architectures_range(arch, median, size):
    assert image_size_for(arch, median) == size


def test_without_sizes_the_architectures_default_stays():
    assert image_size_for("resnet50", None) == 224 and median_image_size([]) is None
    assert median_image_size([(10, 20), (30, 40), (50, 60)]) == (30, 40)


def test_early_stopping_on_validation_accuracy_only_with_a_validation_split():
    with_val = recipe_for("vit_tiny", train_images=500, num_classes=4).settings
    assert with_val["monitor"] == "val_accuracy" and with_val["patience"] >= 5
    assert recipe_for("vit_tiny", train_images=500, num_classes=4, has_val=False).settings["patience"] == 0


def test_given_settings_stay_and_the_rest_is_worked_out_around_them():
    recipe = recipe_for("resnet18_small", train_images=1000, num_classes=3, given={"batch_size": 16, "lr": 0.01})
    assert recipe.settings["batch_size"] == 16 and recipe.settings["lr"] == 0.01
    assert recipe.steps_per_epoch == 62 and recipe.steps >= STEP_BUDGET["resnet"][0]


@pytest.mark.parametrize("arch", list_models())
def test_every_architectures_recipe_is_a_valid_config(arch):
    for n in (12, 240, 50_000):
        TrainConfig.from_dict(recipe_for(arch, train_images=n, num_classes=5, median_size=(120, 90)).settings)


def test_a_folder_recipe_reads_counts_and_image_sizes(colour_folder):
    recipe = recipe_for_source(scan_image_folder(colour_folder, seed=0), "custom")
    assert recipe.settings["image_size"] == 32  # 16 px images, brought up to the architecture's smallest
    assert recipe.explanation.startswith("48 training images → ")
    assert any("median image of 16×16 px" in note for note in recipe.notes)


def test_impossible_data_is_refused_in_words():
    with pytest.raises(ValueError, match="no training images"):
        recipe_for("custom", train_images=0, num_classes=3)
    with pytest.raises(ValueError, match="two classes"):
        recipe_for("custom", train_images=10, num_classes=1)


def test_the_issues_texture_photos_get_enough_steps_at_their_own_size():
    pytest.importorskip("skimage")
    from tests.training.training_helpers import texture_data

    data = texture_data()  # 240 training patches of 64 px: brick, grass, gravel under changing light
    train = len(data.split("train"))
    recipe = recipe_for("resnet18_small", train_images=train, num_classes=len(data.class_names),
                        median_size=(data.cache_size, data.cache_size))
    # The failure the recipe answers: 4 epochs of batch 64 were 12 steps, and the model stayed at chance.
    assert train == 240 and recipe.steps >= 40 * 12 and recipe.settings["image_size"] == 64
