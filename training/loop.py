"""fit(): train a model on cached data, with checkpoints, callbacks, early stopping and exact resume."""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from classifier.factory import create_model
from classifier.registry import model_info
from training import conv_matmul, distributed
from training.batches import BatchFeeder, class_weights, epoch_order, sample_weights, steps_per_epoch
from training.cache import CachedData
from training.callbacks import Callback, CallbackList, EpochStats, Progress
from training.checkpoint import CheckpointManager, load_checkpoint
from training.checkpoint_writer import CheckpointWriteError, CheckpointWriter
from training.config import ConfigError, TrainConfig, upgrade_dict
from training.device import choose_precision, resolve_device, set_determinism
from training.evaluate import loss_and_accuracy
from training.optim import OPTIMIZERS, SCHEDULERS, param_groups
from training.preprocessing import presets_for
from training.state import RunState, capture, restore

PROGRESS_INTERVAL_S = 0.25  # callbacks hear from the loop at most this often
# Settings that may change between a run and its resumption without changing what it computes.
RESUMABLE_CHANGES = frozenset({"patience", "keep_last", "device", "compile"})


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; `.epoch` and `.step` (from 1) say where."""

    def __init__(self, *, epoch: int, step: int, steps: int, value: float, lr: float, where: str = "the loss"):
        self.epoch, self.step, self.value = epoch, step, value
        super().__init__(f"training diverged: {where} became {value} at epoch {epoch}, step {step} of {steps} "
                         f"(lr {lr:.3g}); lower the learning rate or set grad_clip")


@dataclass
class FitResult:
    """What fit() returns; `model` holds the best epoch's weights, in eval mode."""

    model: nn.Module
    best_epoch: int | None
    history: list[EpochStats]
    stopped: bool  # a callback asked to stop; resume=True continues from checkpoint_path
    checkpoint_path: Path | None
    device: torch.device
    warnings: list[str] = field(default_factory=list)
    early_stopped: bool = False
    eval_preset: object = None  # classifier.presets.EvalPreset matching the training preset
    steps_per_epoch: int = 0  # optimisation steps in one epoch (config.epochs of them make the run)


def fit(config: TrainConfig, data: CachedData, *, out_dir, callbacks: Iterable[Callback] = (),
        resume: bool = False, class_names: list[str] | None = None) -> FitResult:
    """Train `config.arch` on `data`'s train split, validating on its val split after every epoch."""
    config.validate()
    return _Trainer(config, data, Path(out_dir), list(callbacks), class_names or data.class_names).run(resume)


class _Trainer:
    """One training run; its fields are the loop's state, its methods read top to bottom."""

    def __init__(self, config: TrainConfig, data: CachedData, out_dir: Path, callbacks: list[Callback],
                 class_names: list[str]):
        self.config, self.class_names, self.ctx = config, list(class_names), distributed.context()
        self.callbacks = CallbackList(callbacks if self.ctx.is_main else [])
        self.train, self.val = data.split("train"), data.split("val")
        if len(self.train) == 0:
            raise ValueError("the training split is empty: there is nothing to learn from")
        num_classes = len(self.class_names)
        if int(data.labels.max()) >= num_classes:
            raise ValueError(f"labels go up to {int(data.labels.max())} but there are {num_classes} class names")
        self.device = resolve_device(config.device, local_rank=self.ctx.local_rank if self.ctx.active else None)
        set_determinism(config.deterministic, self.device)
        self.warnings: list[str] = []
        family = model_info(config.arch).family
        self.precision, warnings = choose_precision(config, self.device, family)
        self.warnings += warnings
        self.train_preset, self.eval_preset = presets_for(config)
        if data.cache_size != self.train_preset.cache_size:
            self.warnings.append(f"the cache is {data.cache_size} px but this config reads "
                                 f"{self.train_preset.cache_size} px; every batch will be resampled")

        torch.manual_seed(config.seed)  # the same initial weights on every rank
        self.model = create_model(config.arch, num_classes=num_classes, image_size=config.image_size,
                                  pretrained=config.pretrained, spec=config.spec, class_names=self.class_names)
        plan = param_groups(self.model, head_prefix=model_info(config.arch).head, finetune=config.finetune,
                            weight_decay=config.weight_decay, backbone_lr_scale=config.backbone_lr_scale)
        self.trainable = [p for group in plan for p in group["params"]]
        self.model.to(self.device, memory_format=self.precision.memory_format)
        self.optimizer = OPTIMIZERS[config.optimizer](plan, config)
        self.feeder = BatchFeeder(self.train, self.device, self.ctx)
        self.shard_size = len(distributed.shard(torch.arange(len(self.train)), self.ctx))
        self.steps = steps_per_epoch(self.shard_size, config.batch_size)
        self.scheduler = SCHEDULERS[config.scheduler](self.optimizer, config, self.steps)

        weights = class_weights(self.train.labels, num_classes).to(self.device) \
            if config.class_balance == "weights" else None
        self.criterion = nn.CrossEntropyLoss(weight=weights, label_smoothing=config.label_smoothing)
        self.draw_weights = sample_weights(self.train.labels, num_classes) \
            if config.class_balance == "sampler" else None
        # The epoch order comes from its own generator (same on every rank); augmentation from another.
        self.generators = {
            "data": torch.Generator().manual_seed(config.seed),
            "augment": torch.Generator(self.device).manual_seed(config.seed * 1000 + 17 + self.ctx.rank),
        }
        torch.manual_seed(config.seed + 7919 * (self.ctx.rank + 1))  # dropout differs between ranks
        self.checkpoints = CheckpointManager(out_dir / "checkpoints", keep_last=config.keep_last)
        self.writer = CheckpointWriter(self.checkpoints)  # rank 0's checkpoints, written off the training thread
        self.state = RunState()
        self.last_checkpoint: Path | None = None
        self.matmul_convs: list[str] | None = None  # chosen before the first step, or kept from the checkpoint
        self.net = distributed.wrap(self.model, self.device)
        if self.precision.compile:
            self.net = torch.compile(self.net)
        if config.patience and len(self.val) == 0:
            self.warnings.append("patience needs a validation split and there is none; early stopping is off")

    # ---- the run ----------------------------------------------------------------------------------

    def run(self, resume: bool) -> FitResult:
        """Train, then return the best weights; whatever happens, the checkpoint in flight lands first."""
        try:
            return self._run(resume)
        except BaseException as exc:
            if self.ctx.is_main:
                try:
                    self.writer.wait()
                except CheckpointWriteError as write_error:
                    exc.add_note(f"and then: {write_error}")
            raise

    def _run(self, resume: bool) -> FitResult:
        """Train epoch by epoch until done, stopped or out of patience; return the best weights."""
        if resume:
            self._resume()
        self._choose_convs()
        self.model.train()
        self._run_start, self._run_start_step = time.monotonic(), self._global_step()
        self._last_report = 0.0
        stopped = early = False
        while self.state.epoch < self.config.epochs and not (stopped or early):
            stopped = self._train_epoch()
            if stopped:
                self._save(best=False)
                break
            stats = self._end_epoch()
            self.callbacks.on_epoch_end(stats)
            early = self._patience_exhausted()
            stopped = self._stop_requested()
        return self._finish(stopped=stopped, early=early)

    def _train_epoch(self) -> bool:
        """Run the remaining steps of the current epoch; return True if a stop was requested."""
        s = self.state
        if s.step == 0:
            s.order = epoch_order(len(self.train), generator=self.generators["data"], weights=self.draw_weights)
            s.sums = torch.zeros(3, dtype=torch.float64)
            s.seconds = 0.0
        order = self.feeder.shard(s.order)
        sums = s.sums.to(self.device)  # [loss * images, correct, images] of this epoch, on the device
        losses = torch.full((self.steps,), float("nan"), device=self.device)  # per-step loss, checked lazily
        checked, start = s.step, time.monotonic() - s.seconds
        b = self.config.batch_size
        for step in range(s.step, self.steps):
            images, labels = self.feeder.get(order[step * b:(step + 1) * b])  # (B, 3, S, S) uint8, (B,)
            loss, correct = self._step(images, labels)
            losses[step] = loss
            # In-place adds with Python numbers: no host-to-device copy, so no sync with the GPU per step.
            sums[0] += loss.double() * len(labels)
            sums[1] += correct
            sums[2] += len(labels)
            s.step = step + 1
            stop, diverged = self._flags(loss)
            now = time.monotonic()
            if diverged or stop or now - self._last_report >= PROGRESS_INTERVAL_S:
                self._check_finite(losses, checked, s.step)
                if diverged:  # another rank's loss was not finite: every rank stops on the same step
                    raise TrainingDiverged(epoch=s.epoch + 1, step=s.step, steps=self.steps, value=float("nan"),
                                           lr=self._lr())
                checked = s.step
                self._report_train(sums, now - start)
            if stop:
                s.sums, s.seconds = sums.cpu(), now - start
                return True
        self._check_finite(losses, checked, self.steps)
        s.sums, s.seconds = sums.cpu(), time.monotonic() - start
        return False

    def _step(self, images: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Take one optimizer step; return the (detached) loss and the number of correct predictions."""
        x = self.train_preset(images, generator=self.generators["augment"])  # (B, 3, s, s) float32
        x = x.contiguous(memory_format=self.precision.memory_format)
        with self.precision.autocast():
            logits = self.net(x)  # (B, C)
        loss = self.criterion(logits.float(), labels)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.config.grad_clip > 0:
            nn.utils.clip_grad_norm_(self.trainable, self.config.grad_clip)
        self.optimizer.step()
        self.scheduler.step()
        return loss.detach(), (logits.detach().argmax(dim=1) == labels).sum()

    def _flags(self, loss: torch.Tensor) -> tuple[bool, bool]:
        """Return (stop requested, loss not finite), agreed by all ranks when distributed."""
        stop = self.callbacks.should_stop()
        if not self.ctx.active:
            return stop, False  # single process: the loss is checked lazily, without a sync per step
        flags = torch.stack([torch.tensor(float(stop), device=self.device), (~loss.isfinite()).float()])
        distributed.all_reduce(flags, op="max")
        stop, diverged = (bool(v) for v in flags.tolist())
        return stop, diverged

    def _check_finite(self, losses: torch.Tensor, start: int, stop: int) -> None:
        """Raise TrainingDiverged naming the first step in [start, stop) whose loss is NaN or infinite."""
        if stop <= start:
            return
        window = losses[start:stop]
        if bool(window.isfinite().all()):
            return
        first = start + int((~window.isfinite()).nonzero()[0, 0])
        raise TrainingDiverged(epoch=self.state.epoch + 1, step=first + 1, steps=self.steps,
                               value=float(losses[first]), lr=self._lr())

    def _end_epoch(self) -> EpochStats:
        """Validate, record the epoch, keep the best weights, save a checkpoint; return the epoch's stats."""
        s = self.state
        distributed.broadcast_buffers(self.model)  # one model on every rank, BatchNorm statistics included
        train = distributed.all_reduce(s.sums.to(self.device)).cpu()
        self._report(Progress(phase="val", epoch=s.epoch + 1, epochs=self.config.epochs, step=self.steps,
                              steps=self.steps, lr=self._lr()))
        val_start = time.monotonic()
        val_loss, val_accuracy = self._validate()
        # The last step's update is checked by no training loss: NaN weights show up here first, and must
        # stop the run before any callback hears of the epoch (NaN is no JSON value, so no database's).
        if val_loss is not None and not math.isfinite(val_loss):
            raise TrainingDiverged(epoch=s.epoch + 1, step=self.steps, steps=self.steps, value=val_loss,
                                   lr=self._lr(), where="the validation loss")
        if val_loss is None and not all(bool(p.isfinite().all()) for p in self.model.parameters()):
            raise TrainingDiverged(epoch=s.epoch + 1, step=self.steps, steps=self.steps, value=float("nan"),
                                   lr=self._lr(), where="a weight")
        seen = max(float(train[2]), 1.0)
        stats = EpochStats(epoch=s.epoch + 1, train_loss=float(train[0]) / seen, train_accuracy=float(train[1]) / seen,
                           val_loss=val_loss, val_accuracy=val_accuracy, lr=self._lr(),
                           images_per_s=float(train[2]) / max(s.seconds, 1e-9),
                           seconds=s.seconds + time.monotonic() - val_start)
        s.history.append(stats.to_dict())
        s.epoch, s.step, s.order = s.epoch + 1, 0, None
        best = s.consider(stats, self.config.monitor)
        self._save(best=best)
        return stats

    def _validate(self) -> tuple[float | None, float | None]:
        """Return (mean loss, accuracy) on the val split, pooled over ranks; (None, None) without one."""
        if len(self.val) == 0:
            return None, None
        rows = slice(self.ctx.rank, None, self.ctx.world_size)
        sums = loss_and_accuracy(self.model, self.val, preset=self.eval_preset, device=self.device,
                                 bf16=self.precision.bf16, memory_format=self.precision.memory_format,
                                 batch_size=max(self.config.batch_size, 256), rows=rows)
        sums = distributed.all_reduce(sums.to(self.device)).cpu()
        self.model.train()
        return float(sums[0] / sums[2]), float(sums[1] / sums[2])

    def _choose_convs(self) -> None:
        """Compute the small-map convolutions a matmul runs clearly faster on this CPU as matmuls.

        A resumed run keeps its checkpoint's choice, so it computes what the run would have. Deterministic and
        compiled runs, and GPUs (cuDNN picks its own algorithms), keep the kernels.
        """
        if self.device.type != "cpu":
            self.matmul_convs = []
        elif self.matmul_convs is None:
            tuned = not (self.config.deterministic or self.precision.compile)
            self.matmul_convs = self._tune_convs() if tuned else []
        conv_matmul.use(self.model, self.matmul_convs)

    def _tune_convs(self) -> list[str]:
        """Time each small-map convolution both ways at this run's shapes; return those a matmul wins."""
        size = self.config.image_size
        example = torch.zeros(1, 3, size, size, device=self.device)
        example = example.contiguous(memory_format=self.precision.memory_format)  # (1, 3, S, S), as _step feeds
        batch = min(self.config.batch_size, self.shard_size)
        candidates, faster = conv_matmul.tune(self.model, batch, example, self.precision.autocast)
        if self.ctx.active:  # one model on every rank: a matmul only where every rank measured it faster
            against = torch.tensor([float(name not in faster) for name in candidates], device=self.device)
            distributed.all_reduce(against, op="max")
            faster = [name for name, no in zip(candidates, against.tolist(), strict=True) if not no]
        return faster

    def _patience_exhausted(self) -> bool:
        """Return True when `patience` epochs have passed without a better validation result."""
        return self.config.patience > 0 and len(self.val) > 0 and self.state.bad_epochs >= self.config.patience

    def _stop_requested(self) -> bool:
        """Return whether a callback asked to stop, agreed by all ranks."""
        stop = torch.tensor(float(self.callbacks.should_stop()), device=self.device)
        return bool(distributed.all_reduce(stop, op="max"))

    # ---- checkpoints ------------------------------------------------------------------------------

    def _save(self, *, best: bool) -> None:
        """Checkpoint the current position: rank 0 snapshots it here and writes it in the background.

        Every rank's random state goes in. The previous write must have landed first (at most one in flight),
        and its failure fails every rank here.
        """
        self._settle_writes()
        state = capture(self)
        if self.ctx.is_main:
            self.last_checkpoint = self.writer.submit(state, epoch=self.state.epoch, step=self.state.step,
                                                      best=best)

    def _settle_writes(self) -> None:
        """Wait for rank 0's write in flight; if it failed, raise its error there and stop the other ranks too."""
        error = None
        if self.ctx.is_main:
            try:
                self.writer.wait()
            except CheckpointWriteError as exc:
                error = exc
        if self.ctx.active:  # also keeps the ranks in step, as the barrier after a synchronous write did
            failed = distributed.all_reduce(torch.tensor(float(error is not None), device=self.device), op="max")
            if error is None and bool(failed):
                raise CheckpointWriteError("rank 0 could not write a checkpoint; its error ends the run")
        if error is not None:
            raise error

    def _resume(self) -> None:
        """Continue from the latest checkpoint in out_dir, if there is one."""
        path = self.checkpoints.latest()
        if path is None:
            self.warnings.append("no checkpoint to resume from; started from the beginning")
            return
        checkpoint = load_checkpoint(path)
        saved = upgrade_dict(checkpoint["config"])  # a checkpoint from before "mirror" still resumes exactly
        changed = {k: f"differs from the checkpoint being resumed ({v!r}); start a new run to change it"
                   for k, v in saved.items()
                   if k not in RESUMABLE_CHANGES and getattr(self.config, k, v) != v}
        if changed:
            raise ConfigError(changed)
        restore(self, checkpoint)
        self.last_checkpoint = path

    # ---- reporting ---------------------------------------------------------------------------------

    def _lr(self) -> float:
        return max(group["lr"] for group in self.optimizer.param_groups)

    def _global_step(self) -> int:
        return self.state.epoch * self.steps + self.state.step

    def _report(self, progress: Progress, *, force: bool = False) -> None:
        """Send `progress` to the callbacks unless one went out less than PROGRESS_INTERVAL_S ago."""
        now = time.monotonic()
        if force or now - self._last_report >= PROGRESS_INTERVAL_S:
            self._last_report = now
            self.callbacks.on_progress(progress)

    def _report_train(self, sums: torch.Tensor, epoch_seconds: float) -> None:
        """Send a training progress snapshot (this syncs with the device, so it is throttled)."""
        if not self.ctx.is_main:
            return
        loss_sum, correct, seen = sums.tolist()
        done = self._global_step() - self._run_start_step
        remaining = self.config.epochs * self.steps - self._global_step()
        elapsed = time.monotonic() - self._run_start
        self._report(Progress(
            phase="train", epoch=self.state.epoch + 1, epochs=self.config.epochs, step=self.state.step,
            steps=self.steps, loss=loss_sum / max(seen, 1), accuracy=correct / max(seen, 1), lr=self._lr(),
            images_per_s=seen * self.ctx.world_size / max(epoch_seconds, 1e-9),
            eta_s=elapsed / done * remaining if done else None))

    def _finish(self, *, stopped: bool, early: bool) -> FitResult:
        """Load the best epoch's weights and package the result."""
        self._settle_writes()  # every checkpoint, best.pt included, is on disk before fit() returns
        s = self.state
        moved_on = s.best_epoch != s.epoch or s.step > 0  # the weights in memory are not the best epoch's
        if s.best_epoch is not None and moved_on and self.checkpoints.best is not None:
            self.model.load_state_dict(load_checkpoint(self.checkpoints.best)["model"])
        conv_matmul.plain(self.model)  # the model leaves fit() with torch's own modules
        self.model.to(memory_format=torch.contiguous_format).eval()
        history = [EpochStats(**h) for h in s.history]
        last = history[-1] if history else None
        self._report(Progress(phase="done", epoch=s.epoch, epochs=self.config.epochs, step=s.step,
                              steps=self.steps, loss=last.train_loss if last else None,
                              accuracy=last.train_accuracy if last else None, lr=self._lr(), eta_s=0.0),
                     force=True)
        return FitResult(model=self.model, best_epoch=s.best_epoch, history=history, stopped=stopped,
                         checkpoint_path=self.last_checkpoint, device=self.device, warnings=self.warnings,
                         early_stopped=early, eval_preset=self.eval_preset, steps_per_epoch=self.steps)
