"""Train from an image folder end to end: scan, cache, fit, evaluate, and write the results."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from classifier.weights import ModelCard, save_model
from training import distributed
from training.callbacks import Callback, CallbackList, Progress
from training.config import TrainConfig
from training.data import scan_image_folder
from training.evaluate import evaluate
from training.health import check_run
from training.loop import FitResult, fit
from training.preprocessing import cache_size_for, presets_for

_SUMMARY_KEYS = ("num_samples", "confusion_matrix", "per_class", "macro", "weighted", "ece", "reliability", "nll")


@dataclass
class FolderRun:
    """What train_folder produced; `metrics` is None when the run was stopped before the end."""

    fit: FitResult
    metrics: dict | None
    out_dir: Path


def train_folder(data_dir: str | os.PathLike, out_dir: str | os.PathLike, config: TrainConfig, *,
                 cache_dir: str | os.PathLike, workers: int = 2, ratios: Sequence[float] = (0.8, 0.1, 0.1),
                 split_seed: int = 0, resume: bool = False, callbacks: Sequence[Callback] = ()) -> FolderRun:
    """Train `config` on the folder, then write model.safetensors, metrics.json and predictions.json."""
    config.validate()
    out_dir, ctx = Path(out_dir), distributed.context()
    timings, start = {}, time.monotonic()
    source = scan_image_folder(data_dir, seed=split_seed, ratios=ratios)
    notify = CallbackList(callbacks if ctx.is_main else [])
    data = distributed.build_cache_shared(
        source, cache_size=cache_size_for(config), cache_dir=Path(cache_dir).expanduser(), workers=workers,
        progress=lambda done, total: notify.on_progress(Progress(phase="cache", done=done, total=total)))
    timings["cache_s"] = round(time.monotonic() - start, 3)
    start = time.monotonic()
    result = fit(config, data, out_dir=out_dir, callbacks=callbacks, resume=resume, class_names=data.class_names)
    timings["train_s"] = round(time.monotonic() - start, 3)
    if result.stopped or not ctx.is_main:
        return FolderRun(fit=result, metrics=None, out_dir=out_dir)

    start = time.monotonic()
    split = "test" if len(data.split("test")) else "val"
    evaluation = evaluate(result.model, data.split(split), class_names=data.class_names,
                          preset=result.eval_preset, device=result.device)
    timings["evaluate_s"] = round(time.monotonic() - start, 3)
    predictions = evaluation.pop("predictions")
    for row in predictions:  # name the file, not just its index, so a person can find it
        row["file"] = os.fspath(source.records[row["record_index"]].source)
    warnings = list(result.warnings)
    if split != "test":
        warnings.append("the folder has no test images; these metrics are on the validation split")
    steps = result.steps_per_epoch * config.epochs
    health = check_run(result.history, num_classes=len(data.class_names), config=config, steps=steps,
                       confusion=evaluation["confusion_matrix"], class_names=data.class_names)
    metrics = {
        "split": split,
        "test_accuracy": evaluation["top1"],
        "top5_accuracy": evaluation["top5"],
        "topk": evaluation["topk"],
        "class_names": data.class_names,
        **{key: evaluation[key] for key in _SUMMARY_KEYS},
        "epochs": [stats.to_dict() for stats in result.history],
        "best_epoch": result.best_epoch,
        "early_stopped": result.early_stopped,
        "device": str(result.device),
        "config": config.to_dict(),
        "split_sizes": {name: len(data.split(name)) for name in ("train", "val", "test")},
        "cache": {"size": data.cache_size, "decoded": data.decoded, "path": str(data.path),
                  "errors": [{"file": os.fspath(source.records[i].source), "message": m} for i, m in data.errors]},
        "timings": timings,
        "warnings": warnings,
        "health": [h.to_dict() for h in health],
    }
    train_preset, _ = presets_for(config)
    card = ModelCard(arch=config.arch, num_classes=len(data.class_names), class_names=data.class_names,
                     image_size=config.image_size, preset=result.eval_preset.to_dict(), spec=config.spec,
                     extra={"config": config.to_dict(), "train_preset": train_preset.to_dict(),
                            "best_epoch": result.best_epoch, "test_accuracy": evaluation["top1"]})
    out_dir.mkdir(parents=True, exist_ok=True)
    save_model(out_dir / "model.safetensors", result.model, card)
    _write_json(out_dir / "metrics.json", metrics)
    _write_json(out_dir / "predictions.json", predictions)
    return FolderRun(fit=result, metrics=metrics, out_dir=out_dir)


def _write_json(path: Path, value) -> None:
    """Write JSON through a temporary file, so a reader never sees half of it."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(value, indent=1))
    os.replace(tmp, path)
