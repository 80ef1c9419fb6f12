"""The worker's side of runs, what the Celery tasks call: a TrainingRun row to training.fit (data in, progress
and results out), and an Evaluation row to training.evaluate.

Statuses change only through webapp.runs.services.lifecycle; this module turns rows into engine
calls and engine results into rows.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import shutil
import signal
import threading
import time
from pathlib import Path

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.db.models import F
from django.utils import timezone

from webapp.core import reaping
from webapp.core.files import file_sha256
from webapp.runs.models import Evaluation, ModelArtifact, TrainingRun
from webapp.runs.services import conf, datasets, health, lifecycle, recipes, status
from webapp.runs.services.control import enqueue_run
from webapp.runs.services.evaluations import label_map, store_evaluation, weights_artifact

log = logging.getLogger(__name__)
PROGRESS_WRITE_S = 1.0  # progress reaches the database at most this often
CANCEL_CHECK_S = 1.0  # the cancel flag is re-read from the database this often
CACHE_WORKERS = 2
# Set for good when this process is told to stop during a run: it takes no further run.
_stopping = threading.Event()


def worker_is_stopping() -> bool:
    """Return True once this worker process was asked to stop (SIGTERM) while training."""
    return _stopping.is_set()


# ---- data ------------------------------------------------------------------------------------------

def describe_device(choice: str) -> str:
    """Return the device a run will use, in words ("cuda:0 (NVIDIA H200)" or "cpu")."""
    import torch

    from training.device import resolve_device

    device = resolve_device(choice)
    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    return f"cpu ({torch.get_num_threads()} threads)"


def missing_gpus(run_id: int) -> str | None:
    """Return why this worker cannot take the run (it asks for more GPUs than this machine shows), or None."""
    import torch

    config = TrainingRun.objects.filter(pk=run_id).values_list("config", flat=True).first() or {}
    gpus = int(config.get(recipes.GPUS_KEY, 1))
    if gpus <= 1 or conf.device_choice(config.get("device", "auto")) == "cpu":
        return None
    have = torch.cuda.device_count() if torch.cuda.is_available() else 0
    return None if have >= gpus else f"run {run_id} asks for {gpus} GPUs and this worker has {have}"


# ---- the callback that links the engine to the row --------------------------------------------------

class RunMonitor:
    """Write progress and epochs to the run row, keep its heartbeat, and pass on cancel requests."""

    def __init__(self, lease: lifecycle.Lease):
        from training.callbacks import Callback

        self.lease = lease
        self.cancel, self.lost, self._closing = threading.Event(), threading.Event(), threading.Event()
        self.shutdown = threading.Event()  # the worker is being stopped: checkpoint, then requeue
        self._last_write, self._last_epochs, self._epochs = 0.0, 0.0, []
        self.health_inputs: dict | None = None  # run_warnings()'s data sizes, once the images are prepared
        self._thread = threading.Thread(target=self._watch, name=f"run-{lease.run_id}-heartbeat", daemon=True)
        monitor = self

        class _Callback(Callback):  # the engine's side: cheap calls, throttled writes
            def on_progress(self, p):
                monitor.progress(p.to_dict())

            def on_epoch_end(self, s):
                monitor.epoch(s.to_dict())

            def should_stop(self) -> bool:
                return monitor.should_stop()

        self.callback = _Callback()

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._closing.set()
        self._thread.join(timeout=10)

    def should_stop(self) -> bool:
        return self.cancel.is_set() or self.lost.is_set() or self.shutdown.is_set()

    def progress(self, values: dict, *, force: bool = False) -> None:
        """Store a progress snapshot unless one went out less than PROGRESS_WRITE_S ago."""
        now = time.monotonic()
        if not force and now - self._last_write < PROGRESS_WRITE_S:
            return
        self._last_write = now
        try:
            if not lifecycle.write_progress(self.lease, {**values, "updated_at": timezone.now().isoformat()}):
                self.lost.set()
        except Exception:  # a busy database costs one snapshot, never the run
            log.warning("run %s: progress write failed", self.lease.run_id, exc_info=True)

    def epoch(self, stats: dict) -> None:
        """Store finished epochs, batched to one write a second (the end of the run writes any still pending)."""
        self._epochs.append(stats)
        now = time.monotonic()
        if now - self._last_epochs < PROGRESS_WRITE_S:
            return
        self._last_epochs = now
        try:
            lifecycle.record_epochs(self.lease.run_id, self._epochs)
            self._epochs = []
        except Exception:
            log.warning("run %s: epoch write failed", self.lease.run_id, exc_info=True)
            return
        self.check_health()

    def check_health(self) -> None:
        """Write the live health check of the epochs stored so far (a failure costs one check, never the run)."""
        if self.health_inputs is None:
            return
        try:
            run = TrainingRun.objects.get(pk=self.lease.run_id)
            warnings = health.run_warnings(run, finished=False, **self.health_inputs)
            self.lease.rows().update(health=warnings)
        except Exception:
            log.warning("run %s: health check failed", self.lease.run_id, exc_info=True)

    def _watch(self) -> None:
        """Beat and read the cancel flag from a thread, so both go on while the engine decodes or computes."""
        last_beat = time.monotonic()
        interval = conf.heartbeat_interval_s()
        try:
            while not self._closing.wait(min(CANCEL_CHECK_S, interval)):
                try:
                    wanted = lifecycle.cancel_wanted(self.lease)
                    if wanted is None:
                        self.lost.set()
                    elif wanted:
                        self.cancel.set()
                    if time.monotonic() - last_beat >= interval and lifecycle.beat(self.lease):
                        last_beat = time.monotonic()
                except Exception:
                    log.warning("run %s: heartbeat failed", self.lease.run_id, exc_info=True)
                    close_old_connections()
        finally:
            connection.close()  # this thread's own connection


# ---- the run ----------------------------------------------------------------------------------------

def execute_run(run_id: int, *, worker: str, token: str | None = None) -> str:
    """Claim the run, train it, store the results; return what happened (for the task's result).

    `token` is the task id of the message: one the run no longer names (a redelivery of an old message)
    claims nothing.
    """
    run = TrainingRun.objects.filter(pk=run_id).select_related("version").first()
    if run is None:
        return "missing"
    lease = lifecycle.claim(run_id, worker=worker, device="", token=token)
    if lease is None:
        log.info("run %s is not claimable (another worker has it, or it was cancelled)", run_id)
        return "not claimed"
    with RunMonitor(lease) as monitor, _stop_on_sigterm(monitor):
        try:
            return _train(run, lease, monitor)
        except Exception as exc:
            log.exception("run %s failed", run_id)
            if not monitor.lost.is_set():
                lifecycle.fail(lease, exc)
                _diverged_health(run, monitor, exc)
            return "failed"


@contextlib.contextmanager
def _stop_on_sigterm(monitor: RunMonitor):
    """While training, turn SIGTERM (a worker being stopped) into a clean stop and a requeue; a second one kills."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handle(signum, frame):
        if monitor.shutdown.is_set():
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGTERM)
        _stopping.set()
        monitor.shutdown.set()

    previous = signal.signal(signal.SIGTERM, handle)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _train(run: TrainingRun, lease: lifecycle.Lease, monitor: RunMonitor) -> str:
    from training import Progress, TrainConfig, build_cache, cache_size_for

    timings, started = {}, time.monotonic()
    if lease.attempt > 1:  # keep the earlier attempts' phases apart from this one's, from its first moment
        timings = status.carried_timings(run.timings, lease.attempt)
        lease.rows().update(timings=timings)
    if lease.attempt == 1:
        # A first start owns an empty folder: SQLite may reuse the id of a deleted run, and its files with it.
        shutil.rmtree(conf.run_dir(run), ignore_errors=True)
    config = TrainConfig.from_dict({**recipes.train_settings(run.config),
                                    "device": conf.device_choice(run.config.get("device", "auto"))})
    gpus = int(run.config.get(recipes.GPUS_KEY, 1))
    lease.rows().update(device=_devices_in_words(config.device, gpus)[:100])
    source, image_ids = datasets.version_source(run.version)
    data = build_cache(source, cache_size=cache_size_for(config), cache_dir=conf.cache_dir(),
                       workers=CACHE_WORKERS,
                       progress=lambda done, total: monitor.progress(
                           Progress(phase="cache", done=done, total=total).to_dict()))
    timings["cache_s"] = round(time.monotonic() - started, 3)
    warnings = _cache_warnings(data, source)
    monitor.health_inputs = {"num_classes": len(data.class_names), "train_images": len(data.split("train")),
                             "val_images": len(data.split("val"))}
    if monitor.should_stop():
        return _stopped(run, lease, monitor, warnings=warnings, timings=timings)

    start = time.monotonic()
    resume = conf.has_checkpoint(run)
    if resume:
        timings["resumed_from"] = _checkpoint_position(run)
    lease.rows().update(timings=timings)
    result = _fitter(gpus)(config, data, out_dir=conf.run_dir(run), callbacks=[monitor.callback], resume=resume,
                           class_names=data.class_names)
    timings["fit_s"] = round(time.monotonic() - start, 3)
    history = [h.to_dict() for h in result.history]
    lifecycle.record_epochs(run.pk, history)  # any epoch whose write was missed (a crash between the two)
    monitor.check_health()  # the epochs of the last second too, for a run that stops here
    summary = {"warnings": warnings + list(result.warnings), "best_epoch": result.best_epoch,
               "train_seconds": round(sum(h["seconds"] for h in history), 3)}
    if result.stopped:
        return _stopped(run, lease, monitor, timings=timings, **summary)

    start = time.monotonic()
    monitor.progress({"phase": "evaluate", "epoch": len(history), "epochs": config.epochs}, force=True)
    evaluations = {split: _evaluate(result, data, split) for split in ("val", "test") if len(data.split(split))}
    weights = _save_weights(run, config, result, data.class_names, evaluations)
    timings["evaluate_s"] = round(time.monotonic() - start, 3)
    timings["total_s"] = round(time.monotonic() - started, 3)
    with transaction.atomic():
        if monitor.lost.is_set():
            return "lost"
        _store_results(run, evaluations, image_ids, weights, data.class_names)
        final = evaluations.get("test") or evaluations.get("val")
        checked = health.run_warnings(run, evaluation=final, class_names=data.class_names, **monitor.health_inputs)
        done = lifecycle.finish(lease, "succeed", timings=timings, progress=_done_progress(history, config, result),
                                warnings=_merged_warnings(run, summary.pop("warnings")), health=checked, **summary)
        if not done:
            transaction.set_rollback(True)  # the lease was lost at the last moment: leave no trace
            return "lost"
    return "succeeded"


def _diverged_health(run, monitor: RunMonitor, exc: Exception) -> None:
    """Keep the health of a run whose loss diverged: its curves' warnings and the learning rate to lower."""
    from training.loop import TrainingDiverged

    if not isinstance(exc, TrainingDiverged):
        return
    try:
        warnings = health.run_warnings(run, finished=False, **monitor.health_inputs) if monitor.health_inputs else []
        warnings = [health.diverged_warning(run, str(exc)), *(w for w in warnings if w["setting"] != "lr")]
        TrainingRun.objects.filter(pk=run.pk, attempts=monitor.lease.attempt).update(health=warnings)
    except Exception:
        log.warning("run %s: health check failed", run.pk, exc_info=True)


def _fitter(gpus: int):
    """Return fit() for one device, or fit_ranks() with one torchrun rank per device for several."""
    from training import fit
    from training.launch import fit_ranks

    return fit if gpus <= 1 else functools.partial(fit_ranks, nproc=gpus)


def _devices_in_words(choice: str, gpus: int) -> str:
    """Return what the run trains on: describe_device(), or "2 × cuda:0 (NVIDIA H200)"-like for several ranks."""
    device = describe_device(choice)
    if gpus <= 1:
        return device
    return f"{gpus} ranks on {device.split(' (')[0]} (one process each)" if device.startswith("cpu") \
        else f"{gpus} × {device.split(':')[0]} ({device.split(' (', 1)[-1]}"


def _checkpoint_position(run) -> dict:
    """Return the (epoch, step) of the checkpoint a resumed attempt continues from."""
    from training.checkpoint import CheckpointManager

    positions = CheckpointManager(conf.run_dir(run) / "checkpoints", keep_last=1).positions()
    epoch, step = positions[-1][0] if positions else (0, 0)
    return {"epoch": epoch, "step": step}


def _stopped(run, lease, monitor, *, warnings, timings, **fields) -> str:
    """End a stopped attempt: cancelled by the user, or interrupted by a worker shutdown and requeued at once."""
    if monitor.lost.is_set():
        return "lost"
    warnings = _merged_warnings(run, warnings)
    if monitor.shutdown.is_set() and not monitor.cancel.is_set():
        note = f"Attempt {lease.attempt} stopped because its worker shut down; resumed from the last checkpoint."
        if lifecycle.transition(run.pk, "interrupt", only_if={"attempts": lease.attempt}, timings=timings,
                                warnings=[*warnings, note], **fields):
            enqueue_run(run, quiet=True)  # a broker that is down: the reaper sends it once it is back
        return "interrupted"
    lifecycle.finish(lease, "stop_cancelled", warnings=warnings, timings=timings, **fields)
    return "cancelled"


def _cache_warnings(data, source) -> list[str]:
    """Return a warning naming the images that could not be decoded (they were left out)."""
    if not data.errors:
        return []
    first = data.errors[0][1]
    return [f"{len(data.errors)} of {len(source.records)} images could not be read and were left out "
            f"(first: {first[:300]})"]


def _merged_warnings(run: TrainingRun, new: list[str]) -> list[str]:
    """Return the row's warnings (the reaper's notes) followed by the new ones, without repeats."""
    current = TrainingRun.objects.filter(pk=run.pk).values_list("warnings", flat=True).first() or []
    return list(dict.fromkeys([*current, *new]))


def _done_progress(history: list[dict], config, result) -> dict:
    """Return the final progress snapshot; `early_stopped` says patience ended the run before `epochs`."""
    last = history[-1] if history else {}
    return {"phase": "done", "epoch": len(history), "epochs": config.epochs, "step": 0, "steps": 0,
            "loss": last.get("train_loss"), "accuracy": last.get("train_accuracy"), "lr": last.get("lr"),
            "images_per_s": last.get("images_per_s"), "eta_s": 0.0, "early_stopped": result.early_stopped,
            "updated_at": timezone.now().isoformat()}


def _evaluate(result, data, split: str) -> dict:
    from training import evaluate

    return evaluate(result.model, data.split(split), class_names=data.class_names, preset=result.eval_preset,
                    device=result.device)


def _save_weights(run, config, result, class_names, evaluations) -> Path:
    """Write the best weights with their model card as safetensors; return the file."""
    from classifier.weights import ModelCard, save_model
    from training import presets_for

    train_preset, _ = presets_for(config)
    test = evaluations.get("test") or evaluations.get("val") or {}
    card = ModelCard(arch=config.arch, num_classes=len(class_names), class_names=list(class_names),
                     image_size=config.image_size, preset=result.eval_preset.to_dict(), spec=config.spec,
                     extra={"config": config.to_dict(), "train_preset": train_preset.to_dict(),
                            "best_epoch": result.best_epoch, "test_accuracy": test.get("top1"),
                            "run_id": run.pk, "dataset_version": run.version_id})
    path = conf.run_dir(run) / "model.safetensors"
    save_model(path, result.model, card)
    return path


def _store_results(run, evaluations: dict, image_ids: list[int], weights: Path, class_names) -> None:
    """Write the weights artifact and the val/test evaluations (replacing any from an earlier attempt)."""
    Evaluation.objects.filter(run=run, created_by__isnull=True, version=run.version).delete()
    for split, metrics in evaluations.items():
        store_evaluation(Evaluation(run=run, version=run.version, split=split, class_names=list(class_names)),
                         metrics, image_ids)
    _store_artifact(run, ModelArtifact.Kind.WEIGHTS, weights)
    best = conf.run_dir(run) / "checkpoints" / "best.pt"
    if best.exists():
        _store_artifact(run, ModelArtifact.Kind.CHECKPOINT, best, with_hash=False)


def _store_artifact(run, kind: str, path: Path, *, with_hash: bool = True) -> None:
    digest = file_sha256(path) if with_hash else ""
    relative = path.relative_to(Path(settings.MEDIA_ROOT)).as_posix()
    ModelArtifact.objects.filter(run=run, kind=kind, path=relative).delete()
    ModelArtifact.objects.create(run=run, kind=kind, path=relative, size_bytes=path.stat().st_size, sha256=digest)


# ---- an evaluation ----------------------------------------------------------------------------------

def execute_evaluation(evaluation_id: int, *, worker: str = "", token: str | None = None) -> str:
    """Claim the evaluation, measure its model on its split and store the results; return what happened.

    It beats while it measures; a message the evaluation no longer names (`token`) claims nothing.
    """
    from webapp.runs.services.reaper import EVALUATIONS

    now = timezone.now()
    only_if = {"task_id__in": (token, "")} if token else None
    if not lifecycle.evaluation_transition(evaluation_id, "claim", only_if=only_if, worker=worker[:255],
                                           started_at=now, heartbeat_at=now, attempts=F("attempts") + 1):
        return "not claimed"
    evaluation = Evaluation.objects.select_related("run", "version").get(pk=evaluation_id)
    lease = {"attempts": evaluation.attempts}
    try:
        with reaping.Heartbeat.of(EVALUATIONS, evaluation_id, evaluation.attempts) as heartbeat:
            metrics, image_ids = _measure(evaluation)
        with transaction.atomic():
            if heartbeat.lost.is_set() or not EVALUATIONS.leased(evaluation_id, evaluation.attempts).exists():
                return "lost"  # the reaper gave it to another worker meanwhile
            store_evaluation(evaluation, metrics, image_ids)
    except Exception as exc:
        log.exception("evaluation %s failed", evaluation_id)
        lifecycle.evaluation_transition(evaluation_id, "fail", only_if=lease,
                                        error=lifecycle.error_fields(exc)["error"])
        return "failed"
    return "succeeded"


def _measure(evaluation: Evaluation) -> tuple[dict, list[int]]:
    """Run the saved model over the evaluation's split; return (metrics, image ids by record)."""
    from classifier.factory import load_model
    from classifier.presets import preset_from_dict
    from training import build_cache, evaluate
    from training.device import resolve_device

    artifact = weights_artifact(evaluation.run)
    device = resolve_device(conf.device_choice(evaluation.run.config.get("device", "auto")))
    model, card = load_model(settings.MEDIA_ROOT / artifact.path, device=device)
    preset = preset_from_dict(card.preset)
    mapping = label_map(card.class_names, list(evaluation.version.class_names))
    source, image_ids = datasets.version_source(evaluation.version, splits=(evaluation.split,), label_map=mapping,
                                                class_names=card.class_names)
    data = build_cache(source, cache_size=preset.resize_size, cache_dir=conf.cache_dir())
    # Predictions name their record by its index in `source.records`, which `image_ids` follows.
    metrics = evaluate(model, data.split(evaluation.split), class_names=card.class_names, preset=preset,
                       device=device)
    return metrics, image_ids
