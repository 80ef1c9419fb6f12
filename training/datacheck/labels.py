"""Label-error suspects by confident learning on out-of-sample probabilities.

Confident learning (Northcutt, Jiang & Chuang, "Confident Learning: Estimating Uncertainty in Dataset Labels",
JAIR 2021), implemented from the paper's definitions:

- per-class threshold t_j = the mean self-confidence p̂(ỹ=j; x) over the images labelled j;
- confident joint C[i, j] = how many images labelled i have p̂_j(x) >= t_j (the largest such p̂_j when several
  pass), i.e. are confidently of class j;
- calibrate C to the joint Q (rows scaled to the given-label counts, then normalised) and, for every off-diagonal
  cell (i, j), prune the n * Q[i, j] images labelled i with the largest margin p̂_j(x) - p̂_i(x)
  ("prune by noise rate", the paper's Cl:PBNR);
- suggest the likeliest other class, and rank what was pruned by normalised margin
  p̂_given(x) - max_{k != given} p̂_k(x), lowest (most suspect) first.

The probabilities must be out-of-sample: `out_of_sample_probabilities` trains one small model per fold of a
stratified k-fold split with the ordinary engine (`build_cache`, `fit`) and scores each image only with the model
of the fold that held it out.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from training.cache import CachedData, build_cache
from training.config import TrainConfig, defaults_for
from training.data import DataSource
from training.evaluate import predict_logits
from training.loop import fit
from training.preprocessing import cache_size_for

# The default cross-validation model: a three-conv CNN at 16 px. It only has to rank images by how surely they
# belong to their class, not to win on accuracy, and it runs once per fold.
FAST_SPEC = [
    {"type": "conv", "channels": 16, "kernel": 3, "padding": 1}, {"type": "batchnorm"}, {"type": "relu"},
    {"type": "maxpool", "kernel": 2, "stride": 2},
    {"type": "conv", "channels": 32, "kernel": 3, "padding": 1}, {"type": "batchnorm"}, {"type": "relu"},
    {"type": "maxpool", "kernel": 2, "stride": 2},
    {"type": "conv", "channels": 64, "kernel": 3, "padding": 1}, {"type": "batchnorm"}, {"type": "relu"},
    {"type": "globalavgpool"},
]
FAST_SIZE = 16
FAST_EPOCHS = 8


@dataclass(frozen=True)
class Suspect:
    """An image whose given label the model confidently disagrees with."""

    index: int  # row of `probs` (a record index of the source)
    given: int  # the label it has
    suggested: int  # the class confident learning thinks it is
    confidence: float  # p̂(suggested | image), out of sample


def fast_config(*, seed: int = 0) -> TrainConfig:
    """Return the default cross-validation model: a small CNN that trains in seconds per 1,000 images on a CPU."""
    values = defaults_for("custom") | {"spec": FAST_SPEC, "image_size": FAST_SIZE, "epochs": FAST_EPOCHS,
                                       "seed": seed, "keep_last": 1}
    return TrainConfig(**values)


def fold_of(labels, folds: int, *, seed: int = 0) -> np.ndarray:
    """Return each image's fold (N,) int64 in 0..folds-1, stratified: every class is dealt round the folds."""
    if isinstance(folds, bool) or not isinstance(folds, int) or folds < 2:
        raise ValueError(f"folds must be a whole number of at least 2, got {folds!r}")
    labels = np.asarray(labels, dtype=np.int64)
    out = np.empty(len(labels), dtype=np.int64)
    rng = np.random.default_rng(seed)
    start = 0  # carry the dealing position across classes, so small classes do not all land in fold 0
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        members = members[rng.permutation(len(members))]
        out[members] = (start + np.arange(len(members))) % folds
        start = (start + len(members)) % folds
    return out


def out_of_sample_probabilities(
    source: DataSource, *, folds: int = 5, config: TrainConfig | None = None,
    progress: Callable[[int, int], None] | None = None, seed: int = 0,
    cache_dir: str | Path | None = None, work_dir: str | Path | None = None,
) -> np.ndarray:
    """Return (N, K) float32 probabilities, row i from the fold model that never trained on record i.

    Every record takes part whatever its split; folds are stratified by label (`fold_of(labels, folds, seed)`).
    `config` defaults to `fast_config(seed=seed)`. `progress(done_folds, folds)` is called with 0 first and after
    each fold; raise from it to stop. Records that cannot be decoded get a row of NaN (`label_suspects` skips
    them). `cache_dir` keeps the decoded-image cache for reuse (a temporary folder when None); `work_dir` takes
    the per-fold checkpoints (a temporary folder when None).
    """
    config = fast_config(seed=seed) if config is None else config
    config.validate()
    num_classes = len(source.class_names)
    labels = np.array([r.label for r in source.records], dtype=np.int64)
    assignment = fold_of(labels, folds, seed=seed)
    probs = np.full((len(source.records), num_classes), np.nan, dtype=np.float32)
    with tempfile.TemporaryDirectory(prefix="lux-cv-") as scratch:
        cache_dir = Path(cache_dir) if cache_dir is not None else Path(scratch) / "cache"
        work_dir = Path(work_dir) if work_dir is not None else Path(scratch) / "folds"
        data = build_cache(source, cache_size=cache_size_for(config), cache_dir=cache_dir)
        rows = np.asarray(data.record_indices, dtype=np.int64)  # cache row -> record index
        row_fold = assignment[rows]
        if progress is not None:
            progress(0, folds)
        for fold in range(folds):
            held_out = np.flatnonzero(row_fold == fold)
            if len(held_out):
                train = np.flatnonzero(row_fold != fold)
                result = fit(config, _fold_data(data, train), out_dir=work_dir / f"fold-{fold}",
                             class_names=source.class_names)
                logits = predict_logits(result.model, data.images[torch.from_numpy(held_out)],
                                        preset=result.eval_preset, device=result.device)  # (M, K)
                probs[rows[held_out]] = logits.softmax(dim=1).numpy()
            if progress is not None:
                progress(fold + 1, folds)
    return probs


def _fold_data(data: CachedData, train_rows: np.ndarray) -> CachedData:
    """Return an in-memory CachedData whose train split is `train_rows` of `data` and that has no val split."""
    index = torch.from_numpy(train_rows)
    return replace(data, images=data.images[index], labels=data.labels[index], splits=["train"] * len(train_rows),
                   record_indices=[data.record_indices[i] for i in train_rows.tolist()], errors=[], decoded=0)


def per_class_thresholds(probs: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Return t (K,): the mean self-confidence of each class's images (inf for a class with no images)."""
    num_classes = probs.shape[1]
    t = np.full(num_classes, np.inf)
    for j in range(num_classes):
        members = labels == j
        if members.any():
            t[j] = probs[members, j].mean()
    return t


def confident_joint(probs: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the confident joint C (K, K) int64 and each image's confident class (N,), -1 where none passes."""
    num_classes = probs.shape[1]
    passes = probs >= per_class_thresholds(probs, labels)[None, :]  # (N, K)
    masked = np.where(passes, probs, -np.inf)
    confident = np.where(passes.any(axis=1), masked.argmax(axis=1), -1)  # (N,)
    joint = np.zeros((num_classes, num_classes), dtype=np.int64)
    counted = confident >= 0
    np.add.at(joint, (labels[counted], confident[counted]), 1)
    return joint, confident


def noise_joint(joint: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Return Q (K, K): the confident joint calibrated to the given-label counts and normalised to sum 1."""
    counts = np.bincount(labels, minlength=joint.shape[0]).astype(np.float64)  # (K,)
    rows = joint.sum(axis=1, keepdims=True).astype(np.float64)
    calibrated = np.divide(joint, rows, out=np.zeros(joint.shape), where=rows > 0) * counts[:, None]
    total = calibrated.sum()
    return calibrated / total if total > 0 else calibrated


def normalized_margin(probs: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Return p̂_given - max other p̂ per image (N,): -1 is surely wrong, +1 surely right."""
    given = probs[np.arange(len(labels)), labels]
    others = probs.copy()
    others[np.arange(len(labels)), labels] = -np.inf
    return given - others.max(axis=1)


def label_suspects(probs, labels, *, limit: int | None = None) -> list[Suspect]:
    """Return the images confident learning finds mislabelled, most suspect first (at most `limit`).

    `probs` (N, K) are out-of-sample predicted probabilities (rows with NaN are skipped), `labels` (N,) the given
    class indices. The suggested class is the likeliest one other than the given label.
    """
    probs = np.asarray(probs, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    if probs.ndim != 2 or len(probs) != len(labels):
        raise ValueError(f"probabilities must be (N, K) with one row per label, got {probs.shape} for "
                         f"{len(labels)} labels")
    if len(labels) and (labels.min() < 0 or labels.max() >= probs.shape[1]):
        raise ValueError(f"labels must be class indices from 0 to {probs.shape[1] - 1}")
    if limit is not None and limit < 0:
        raise ValueError("limit must be >= 0")
    scored = np.flatnonzero(np.isfinite(probs).all(axis=1))
    p, y = probs[scored], labels[scored]
    if len(y) == 0:
        return []
    joint, _ = confident_joint(p, y)
    q = noise_joint(joint, y)
    pruned: set[int] = set()
    num_classes = p.shape[1]
    for i in range(num_classes):
        members = np.flatnonzero(y == i)
        for j in range(num_classes):
            prune = int(round(len(y) * q[i, j])) if i != j else 0
            if prune and len(members):
                # The images labelled i that look most like j: largest margin p̂_j - p̂_i.
                margin = p[members, j] - p[members, i]
                pruned.update(members[np.argsort(-margin, kind="stable")[:prune]].tolist())
    if not pruned:
        return []
    picked = np.array(sorted(pruned))
    order = picked[np.argsort(normalized_margin(p[picked], y[picked]), kind="stable")]
    if limit is not None:
        order = order[:limit]
    others = p.copy()
    others[np.arange(len(y)), y] = -np.inf
    suggested = others.argmax(axis=1)  # the likeliest class other than the given one
    return [Suspect(index=int(scored[m]), given=int(y[m]), suggested=int(suggested[m]),
                    confidence=float(p[m, suggested[m]])) for m in order.tolist()]
