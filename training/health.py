"""A run that says when it learned nothing: warnings in plain words, each with the setting to change.

`check_run(history, num_classes=..., ...)` looks at the epoch curves (and, once there are some, the
evaluation's confusion matrix and the test split's size) and returns HealthWarning objects. It works on a
partial history too, so a run page can warn while the run is still going. Pure functions: no torch, no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

CHANCE_MARGIN = 0.1  # "near chance": within this share of the way from chance to perfect
CHANCE_P_VALUE = 0.05  # or no better than chance by an exact binomial test at this level
ONE_CLASS_SHARE = 0.9  # one class gets at least this share of the predictions
OVERFIT_RISE = 0.1  # validation loss this far (relative) above its lowest, and still rising
OVERFIT_EPOCHS = 2  # epochs after the lowest validation loss before calling it over-fitting
NOT_FALLING = 0.95  # the training loss never got below this share of its first value
HIGH_FIRST_LOSS = 3.0  # a first-epoch loss above this many times the loss of guessing: steps too large
WIDE_INTERVAL = 0.2  # a 95% interval of the accuracy wider than this is too wide to trust
FEW_TEST_IMAGES = 30
# SGD's usual peak learning rate from scratch; AdamW's comes from the family recipe.
SGD_LR = {"scratch": 0.1, "pretrained": 0.01}
FAMILY_NAMES = {"resnet": "ResNet", "vgg": "VGG", "vit": "ViT", "custom": "custom"}
AUGMENT_STRONGER = {"none": "light", "light": "standard", "standard": "strong", "strong": "strong"}


@dataclass(frozen=True)
class HealthWarning:
    """One thing wrong with a run: what, why it likely happened, and what to change it to."""

    code: str  # near_chance, one_class, overfitting, loss_not_falling, too_few_steps, small_test
    message: str  # what is wrong, in plain words
    cause: str  # the likely reason
    setting: str  # the TrainConfig field to change ("" when the fix lies in the data)
    suggested: dict[str, Any] = field(default_factory=dict)  # TrainConfig overrides for a re-run

    def to_dict(self) -> dict[str, Any]:
        """Return the warning as JSON-ready values."""
        return asdict(self)


def check_run(history: Sequence[Any], *, num_classes: int, config: Any = None, steps: int | None = None,
              family: str | None = None, confusion: Sequence[Sequence[int]] | None = None,
              test_size: int | None = None, test_accuracy: float | None = None, val_size: int | None = None,
              class_names: Sequence[str] | None = None, finished: bool = True) -> list[HealthWarning]:
    """Return the warnings a run's numbers call for, most important first.

    `history` holds EpochStats or their dicts (train_loss, val_loss, val_accuracy per epoch; val may be
    None). `config` is the run's TrainConfig or its dict, used to suggest new values. `steps` is the
    total number of optimisation steps planned, `family` the architecture family (from config.arch when
    not given). The final measurement is `confusion` (rows true, columns predicted) or `test_accuracy`
    on `test_size` images; without either, the validation accuracy (on `val_size` images) stands in.
    `class_names` name the classes in messages. `finished=False` marks a run still going: chance-level
    accuracy early on is no news, so it is judged only from halfway.
    """
    history = [_epoch(h) for h in history]
    config = _config_dict(config)
    family = family or _family(config.get("arch"))
    diagnosis = _Diagnosis(history, num_classes, config, steps, family)
    tested = _tested(confusion, test_size, test_accuracy)
    warnings = [
        _near_chance(history, num_classes, config, confusion, tested, val_size, finished, diagnosis),
        _one_class(confusion, class_names, diagnosis),
        _loss_not_falling(history, num_classes, diagnosis),
        _too_few_steps(diagnosis),
        _overfitting(history, config),
        _small_test(tested),
    ]
    return [w for w in warnings if w is not None]


def _tested(confusion, test_size, test_accuracy) -> tuple[int, int] | None:
    """Return (correct, images) of the final measurement, or None when there is none yet."""
    if confusion is not None:
        return sum(confusion[i][i] for i in range(len(confusion))), sum(map(sum, confusion))
    if test_size and test_accuracy is not None and math.isfinite(test_accuracy):
        return round(test_accuracy * test_size), test_size
    return None


# ---- statistics ------------------------------------------------------------------------------------------

def binomial_tail(successes: int, trials: int, p: float) -> float:
    """Return P(X >= successes) for X ~ Binomial(trials, p): the chance of doing this well by guessing."""
    if successes <= 0:
        return 1.0
    if successes > trials:
        return 0.0
    if p <= 0:
        return 0.0
    if p >= 1:
        return 1.0
    log_p, log_q = math.log(p), math.log1p(-p)
    terms = [math.lgamma(trials + 1) - math.lgamma(k + 1) - math.lgamma(trials - k + 1) + k * log_p
             + (trials - k) * log_q for k in range(successes, trials + 1)]
    top = max(terms)
    return min(1.0, math.exp(top) * sum(math.exp(t - top) for t in terms))


def wilson_interval(successes: int, trials: int, z: float = 1.959964) -> tuple[float, float]:
    """Return the Wilson score interval (95% by default) of a proportion successes / trials."""
    if trials <= 0:
        return 0.0, 1.0
    share = successes / trials
    centre = (share + z * z / (2 * trials)) / (1 + z * z / trials)
    half = z / (1 + z * z / trials) * math.sqrt(share * (1 - share) / trials + z * z / (4 * trials * trials))
    return max(0.0, centre - half), min(1.0, centre + half)


# ---- the checks --------------------------------------------------------------------------------------------

def _near_chance(history, num_classes, config, confusion, tested, val_size, finished,
                 diagnosis) -> HealthWarning | None:
    """Warn when the accuracy is no better, or hardly better, than guessing."""
    if tested is not None:
        correct, trials = tested
        if trials == 0:
            return None
        accuracy, where = correct / trials, "on the test images"
        majority = max(map(sum, confusion)) / trials if confusion is not None else 0.0
    else:
        val = [h["val_accuracy"] for h in history if h["val_accuracy"] is not None]
        planned = config.get("epochs")
        halfway = planned is None or len(history) >= max(2, planned / 2)
        if not val or not (finished or halfway):
            return None
        accuracy, trials, where, majority = max(val), val_size, "on the validation images", 0.0
    chance = max(1 / num_classes, majority)  # always answering the commonest class scores this much
    near = accuracy < chance + CHANCE_MARGIN * (1 - chance)
    if trials:
        near = near or binomial_tail(round(accuracy * trials), trials, chance) > CHANCE_P_VALUE
    if not near:
        return None
    cause, setting, suggested = diagnosis.remedy()
    return HealthWarning(
        code="near_chance",
        message=f"The model learned next to nothing: {accuracy:.0%} correct {where}, where guessing "
                f"scores {chance:.0%}.",
        cause=cause, setting=setting, suggested=suggested)


def _one_class(confusion, class_names, diagnosis) -> HealthWarning | None:
    """Warn when one class is predicted for almost every image."""
    if confusion is None or len(confusion) < 2:
        return None
    total = sum(map(sum, confusion))
    predicted = [sum(row[j] for row in confusion) for j in range(len(confusion))]
    truth = [sum(row) for row in confusion]
    top = max(range(len(predicted)), key=predicted.__getitem__)
    if total == 0 or predicted[top] < ONE_CLASS_SHARE * total or truth[top] >= ONE_CLASS_SHARE * total:
        return None
    name = repr(class_names[top]) if class_names is not None else str(top)
    message = (f"Class {name} was predicted for {predicted[top] / total:.0%} of the images, though it is "
               f"{truth[top] / total:.0%} of them.")
    if truth[top] == max(truth) and truth[top] >= 2 * min(truth):
        return HealthWarning(
            code="one_class", message=message,
            cause="The classes are unbalanced and the model settled for the commonest one.",
            setting="class_balance", suggested={"class_balance": "sampler"})
    cause, setting, suggested = diagnosis.remedy()
    return HealthWarning(code="one_class", message=message, cause=cause, setting=setting, suggested=suggested)


def _loss_not_falling(history, num_classes, diagnosis) -> HealthWarning | None:
    """Warn when the training loss never fell, or never below the loss of guessing."""
    losses = [h["train_loss"] for h in history if h["train_loss"] is not None]
    if len(losses) < 2:
        return None
    guessing = math.log(num_classes)
    flat = min(losses[1:]) > NOT_FALLING * losses[0]
    above_guessing = losses[-1] > NOT_FALLING * guessing
    if not (flat or above_guessing):
        return None
    what = ("never fell" if flat else "never got below the loss of guessing")
    cause, setting, suggested = diagnosis.remedy(prefer_lr=True)
    return HealthWarning(
        code="loss_not_falling",
        message=f"The training loss {what}: {losses[0]:.3g} in the first epoch, {losses[-1]:.3g} in the last "
                f"(guessing among {num_classes} classes scores {guessing:.3g}).",
        cause=cause, setting=setting, suggested=suggested)


def _too_few_steps(diagnosis) -> HealthWarning | None:
    """Warn when the run takes fewer optimisation steps than its architecture needs."""
    fewest = diagnosis.fewest_steps()
    if diagnosis.steps is None or fewest is None or diagnosis.steps >= fewest / 2:
        return None
    return HealthWarning(
        code="too_few_steps",
        message=f"The run takes only {diagnosis.steps} optimisation steps; a "
                f"{FAMILY_NAMES.get(diagnosis.family, diagnosis.family)} network "
                f"{'being fine-tuned' if diagnosis.pretrained else 'learning from scratch'} needs about {fewest}.",
        cause="Too few epochs for this many images: each epoch of a small set is only a few steps.",
        setting="epochs", suggested=diagnosis.more_epochs())


def _overfitting(history, config) -> HealthWarning | None:
    """Warn when the validation loss rises while the training loss falls, naming the epoch it began."""
    pairs = [(h["epoch"], h["train_loss"], h["val_loss"]) for h in history if h["val_loss"] is not None]
    if len(pairs) < OVERFIT_EPOCHS + 2:
        return None
    lowest = min(range(len(pairs)), key=lambda i: pairs[i][2])
    epoch, train_then, val_then = pairs[lowest]
    _, train_now, val_now = pairs[-1]
    rising = val_now > val_then * (1 + OVERFIT_RISE) and val_now >= pairs[-2][2] * 0.98
    if len(pairs) - 1 - lowest < OVERFIT_EPOCHS or not rising or not train_now < train_then:
        return None
    augment = config.get("augment", "light")
    suggested = {"augment": AUGMENT_STRONGER.get(augment, "standard")}
    if not config.get("patience"):
        suggested["patience"] = max(3, math.ceil(len(history) / 4))
    return HealthWarning(
        code="overfitting",
        message=f"Over-fitting from epoch {epoch + 1}: the validation loss rose from {val_then:.3g} to "
                f"{val_now:.3g} while the training loss fell from {train_then:.3g} to {train_now:.3g}.",
        cause="The model memorises the training images instead of learning what tells the classes apart; "
              "more varied training images (augmentation) or stopping earlier helps.",
        setting="augment", suggested=suggested)


def _small_test(tested) -> HealthWarning | None:
    """Warn when the test split is too small for its accuracy to mean much, giving the 95% interval."""
    if tested is None or tested[1] == 0:
        return None
    correct, trials = tested
    low, high = wilson_interval(correct, trials)
    if trials >= FEW_TEST_IMAGES and high - low <= WIDE_INTERVAL:
        return None
    return HealthWarning(
        code="small_test",
        message=f"Only {trials} test images: the measured {correct / trials:.0%} could as well be anywhere from "
                f"{low:.0%} to {high:.0%} (95% interval).",
        cause="Too few held-back images to measure the model; with four times as many the interval halves.",
        setting="", suggested={})


# ---- what to change ------------------------------------------------------------------------------------

class _Diagnosis:
    """The likely reason a run did not learn, and the settings that would fix it."""

    def __init__(self, history, num_classes, config, steps, family):
        self.history, self.num_classes, self.config = history, num_classes, config
        self.steps, self.family = steps, family
        self.pretrained = config.get("pretrained") is not None

    def typical_lr(self) -> float | None:
        """Return the usual peak learning rate for this run's optimizer and family."""
        optimizer = self.config.get("optimizer", "adamw")
        if optimizer == "sgd":
            return SGD_LR["pretrained" if self.pretrained else "scratch"]
        arch = self.config.get("arch")
        if arch is None:
            return None
        from training.config import defaults_for

        try:
            return defaults_for(arch)["lr"]
        except KeyError:
            return None

    def lr_too_high(self) -> bool:
        """Return True when the numbers point at steps too large: an exploding or rising loss, or a high lr."""
        losses = [h["train_loss"] for h in self.history if h["train_loss"] is not None]
        lr, typical = self.config.get("lr"), self.typical_lr()
        exploded = bool(losses) and losses[0] > HIGH_FIRST_LOSS * math.log(self.num_classes)
        rose = len(losses) >= 2 and losses[-1] > losses[0]
        return exploded or rose or (lr is not None and typical is not None and lr > 5 * typical)

    def lr_too_low(self) -> bool:
        """Return True when the learning rate is far below the usual one."""
        lr, typical = self.config.get("lr"), self.typical_lr()
        return lr is not None and typical is not None and lr < typical / 5

    def fewest_steps(self) -> int | None:
        """Return the step budget's lower end for this family (from the recipes)."""
        from training.recipes import PRETRAINED_STEP_BUDGET, STEP_BUDGET

        if self.pretrained:
            return PRETRAINED_STEP_BUDGET[0]
        return STEP_BUDGET[self.family][0] if self.family in STEP_BUDGET else None

    def more_epochs(self) -> dict[str, Any]:
        """Return overrides that give the run its family's fewest steps (or twice the epochs)."""
        epochs, fewest = self.config.get("epochs"), self.fewest_steps()
        if not epochs:
            return {}
        if self.steps and fewest:
            per_epoch = max(1, self.steps // epochs)
            return {"epochs": max(epochs * 2, math.ceil(fewest / per_epoch))}
        return {"epochs": epochs * 2}

    def remedy(self, *, prefer_lr: bool = False) -> tuple[str, str, dict[str, Any]]:
        """Return (likely cause, setting to change, suggested overrides)."""
        lr = self.config.get("lr")
        if self.lr_too_high() and lr is not None:
            typical = self.typical_lr()
            new = min(lr / 10, typical) if typical else lr / 10
            return ("The learning rate is too high: each step overshoots, so the loss jumps about instead of "
                    "falling.", "lr", {"lr": float(f"{new:.2g}")})
        fewest = self.fewest_steps()
        if not prefer_lr and self.steps is not None and fewest is not None and self.steps < fewest / 2:
            return (f"Too few optimisation steps ({self.steps}): the model stopped before it could learn.",
                    "epochs", self.more_epochs())
        if self.lr_too_low() and lr is not None:
            return ("The learning rate is too low: each step changes the model too little.",
                    "lr", {"lr": float(f"{min(lr * 10, self.typical_lr()):.2g}")})
        if self.steps is not None and fewest is not None and self.steps < fewest:
            return (f"Too few optimisation steps ({self.steps}) for this architecture.", "epochs",
                    self.more_epochs())
        return ("The model may need longer, or the images may not show what tells the classes apart.",
                "epochs", self.more_epochs())


# ---- inputs ------------------------------------------------------------------------------------------------

def _epoch(h: Any) -> dict[str, Any]:
    """Return one epoch's numbers as a dict, from EpochStats or a dict; NaN counts as missing."""
    d = h if isinstance(h, Mapping) else asdict(h)
    out = {}
    for key in ("epoch", "train_loss", "val_loss", "val_accuracy"):
        value = d.get(key)
        out[key] = value if value is None or (isinstance(value, int | float) and math.isfinite(value)) else None
    return out


def _config_dict(config: Any) -> dict[str, Any]:
    if config is None:
        return {}
    if isinstance(config, Mapping):
        return dict(config)
    return config.to_dict()


def _family(arch: str | None) -> str | None:
    if arch is None:
        return None
    from classifier.registry import model_info

    try:
        return model_info(arch).family
    except KeyError:
        return None
