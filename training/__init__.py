"""Lux's training engine: how a model learns (pure PyTorch, no Django)."""

from training.cache import CachedData, CachedSplit, build_cache
from training.callbacks import Callback, EpochStats, Progress
from training.config import ConfigError, TrainConfig, defaults_for
from training.data import DataSource, ImageRecord, scan_image_folder, stratified_split
from training.evaluate import evaluate
from training.health import HealthWarning, check_run
from training.loop import FitResult, TrainingDiverged, fit
from training.preprocessing import cache_size_for, presets_for
from training.recipes import Recipe, recipe_for, recipe_for_source

__all__ = [
    "CachedData", "CachedSplit", "Callback", "ConfigError", "DataSource", "EpochStats", "FitResult",
    "HealthWarning", "ImageRecord", "Progress", "Recipe", "TrainConfig", "TrainingDiverged", "build_cache",
    "cache_size_for", "check_run", "defaults_for", "evaluate", "fit", "presets_for", "recipe_for",
    "recipe_for_source", "scan_image_folder", "stratified_split",
]
