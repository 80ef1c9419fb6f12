"""A run that says when it learned nothing: each warning, its cause and the settings it suggests."""

from __future__ import annotations

import pytest

from tests.training.training_helpers import tiny_config
from training import evaluate, fit
from training.health import binomial_tail, check_run, wilson_interval


def epochs(train, val_loss=None, val_acc=None):
    n = len(train)
    val_loss, val_acc = val_loss or [None] * n, val_acc or [None] * n
    return [{"epoch": i + 1, "train_loss": t, "val_loss": vl, "val_accuracy": va}
            for i, (t, vl, va) in enumerate(zip(train, val_loss, val_acc, strict=True))]


def codes(warnings) -> list[str]:
    return [w.code for w in warnings]


def one(warnings, code):
    found = [w for w in warnings if w.code == code]
    assert len(found) == 1, codes(warnings)
    return found[0]


GOOD = epochs([1.0, 0.6, 0.4, 0.3], [0.9, 0.6, 0.45, 0.4], [0.6, 0.8, 0.9, 0.92])


def test_a_healthy_run_gets_no_warnings():
    confusion = [[30, 1, 0], [2, 28, 0], [0, 1, 29]]
    config = tiny_config(arch="resnet18_small", spec=None, epochs=40, optimizer="adamw", lr=2e-3)
    assert check_run(GOOD, num_classes=3, config=config, steps=1200, confusion=confusion) == []


def test_chance_accuracy_is_flagged_with_the_chance_level():
    warning = one(check_run(GOOD, num_classes=3, confusion=[[10, 10, 10], [10, 10, 10], [10, 10, 10]]),
                  "near_chance")
    assert "33% correct on the test images, where guessing scores 33%" in warning.message


def test_a_little_better_than_chance_on_few_images_is_still_chance():
    assert binomial_tail(5, 12, 1 / 3) > 0.05  # 42% of 12 images: guessing does that often
    warnings = check_run(GOOD, num_classes=3, test_size=12, test_accuracy=5 / 12)
    assert "near_chance" in codes(warnings)
    assert "near_chance" not in codes(check_run(GOOD, num_classes=3, test_size=300, test_accuracy=0.6))


def test_always_answering_the_commonest_class_counts_as_chance():
    confusion = [[80, 0], [20, 0]]  # 80% correct, by saying "class 0" every time
    warnings = check_run(GOOD, num_classes=2, confusion=confusion, class_names=["healthy", "sick"])
    assert "guessing scores 80%" in one(warnings, "near_chance").message


def test_one_class_for_everything_suggests_balancing_when_the_classes_are_unbalanced():
    confusion = [[50, 0, 0], [18, 2, 0], [10, 0, 0]]
    warning = one(check_run(GOOD, num_classes=3, confusion=confusion, class_names=["a", "b", "c"]), "one_class")
    assert warning.message.startswith("Class 'a' was predicted for 98% of the images, though it is 62%")
    assert (warning.setting, warning.suggested) == ("class_balance", {"class_balance": "sampler"})


def test_one_class_for_everything_on_balanced_data_blames_the_learning_rate_when_the_loss_exploded():
    confusion = [[0, 20, 0], [0, 20, 0], [0, 19, 1]]
    history = epochs([40.0, 9.0, 3.0])
    warning = one(check_run(history, num_classes=3, confusion=confusion, config=tiny_config(lr=5.0)), "one_class")
    assert warning.setting == "lr" and warning.suggested["lr"] < 5.0


def test_overfitting_names_the_epoch_it_began():
    history = epochs([1.0, 0.7, 0.5, 0.3, 0.2, 0.1], [0.9, 0.7, 0.6, 0.7, 0.8, 0.95], [0.5, 0.7, 0.8, 0.8, 0.8, 0.8])
    warning = one(check_run(history, num_classes=3, config=tiny_config(augment="light", patience=0)), "overfitting")
    assert warning.message.startswith("Over-fitting from epoch 4: the validation loss rose from 0.6 to 0.95")
    assert warning.suggested == {"augment": "standard", "patience": 3}


def test_validation_noise_is_not_overfitting():
    history = epochs([1.0, 0.7, 0.5, 0.3, 0.2], [0.9, 0.7, 0.6, 0.62, 0.61], [0.5, 0.7, 0.8, 0.8, 0.8])
    assert "overfitting" not in codes(check_run(history, num_classes=3))


def test_a_loss_that_never_fell_at_a_high_learning_rate_suggests_a_lower_one():
    warning = one(check_run(epochs([2.5, 2.6, 2.55]), num_classes=10, config=tiny_config(optimizer="adamw", lr=0.5)),
                  "loss_not_falling")
    assert "never fell" in warning.message and "too high" in warning.cause
    assert warning.setting == "lr" and warning.suggested == {"lr": 0.002}  # the family's recipe, not 0.05


def test_a_loss_that_never_fell_at_a_tiny_learning_rate_suggests_a_higher_one():
    warning = one(check_run(epochs([2.30, 2.29, 2.28]), num_classes=10,
                            config=tiny_config(optimizer="adamw", lr=1e-6)), "loss_not_falling")
    assert "too low" in warning.cause and warning.suggested == {"lr": 1e-5}


def test_too_few_steps_suggests_enough_epochs_for_the_family():
    config = tiny_config(arch="resnet18_small", spec=None, epochs=4, optimizer="adamw", lr=2e-3)
    warning = one(check_run(GOOD, num_classes=3, config=config, steps=12), "too_few_steps")
    assert "only 12 optimisation steps; a ResNet network learning from scratch needs about 500" in warning.message
    assert warning.setting == "epochs" and warning.suggested == {"epochs": 167}  # 3 steps an epoch


def test_a_small_test_split_gives_the_95_percent_interval():
    low, high = wilson_interval(5, 10)
    assert (round(low, 3), round(high, 3)) == (0.237, 0.763)  # the textbook Wilson interval
    warning = one(check_run(GOOD, num_classes=3, test_size=20, test_accuracy=0.9), "small_test")
    assert warning.message == ("Only 20 test images: the measured 90% could as well be anywhere from 70% to 97% "
                               "(95% interval).")
    assert "small_test" not in codes(check_run(GOOD, num_classes=3, test_size=2000, test_accuracy=0.9))


def test_a_partial_history_is_judged_live_without_crying_chance_too_early():
    config = tiny_config(epochs=10)
    early = epochs([1.2, 1.1], [1.1, 1.1], [0.33, 0.34])
    assert "near_chance" not in codes(check_run(early, num_classes=3, config=config, val_size=60, finished=False))
    halfway = epochs([1.2, 1.1, 1.1, 1.1, 1.1], [1.1] * 5, [0.33] * 5)
    assert "near_chance" in codes(check_run(halfway, num_classes=3, config=config, val_size=60, finished=False))


def test_warnings_are_plain_json():
    import json

    warnings = check_run(epochs([2.5, 2.6]), num_classes=10, config=tiny_config(lr=5.0), test_size=5,
                         test_accuracy=0.2)
    assert warnings and json.loads(json.dumps([w.to_dict() for w in warnings]))[0].keys() == {
        "code", "message", "cause", "setting", "suggested"}


@pytest.mark.parametrize("lr", [10.0])
def test_a_real_run_forced_to_chance_is_flagged_with_a_lower_learning_rate(colour_data, tmp_path, lr):
    config = tiny_config(lr=lr, epochs=3)
    result = fit(config, colour_data, out_dir=tmp_path)
    metrics = evaluate(result.model, colour_data.split("test"), class_names=colour_data.class_names,
                       preset=result.eval_preset)
    warnings = check_run(result.history, num_classes=3, config=config, steps=result.steps_per_epoch * config.epochs,
                         confusion=metrics["confusion_matrix"], class_names=colour_data.class_names)
    chance = one(warnings, "near_chance")
    assert chance.setting == "lr" and chance.suggested["lr"] < lr / 10
    assert "learning rate is too high" in chance.cause
    rerun = fit(tiny_config(epochs=3, **chance.suggested), colour_data, out_dir=tmp_path / "rerun")
    assert rerun.history[-1].val_accuracy > 0.9  # the suggested setting does fix it
