"""Celery tasks of training runs: thin adapters over webapp.runs.worker, and the worker-start hooks."""

import socket

from celery import shared_task
from celery.exceptions import Reject
from celery.signals import worker_init, worker_ready

from webapp.celery import GPU_QUEUE
from webapp.runs.services import reaper


@worker_init.connect
def load_the_engine(**kwargs):
    """Import torch and the engine before the pool forks, so a worker's first run starts at once."""
    import classifier.weights  # noqa: F401
    import training  # noqa: F401
    from classifier.registry import list_models
    from webapp.runs import worker  # noqa: F401

    list_models()  # fills the registry (imports every architecture module)


@worker_ready.connect
def reap_at_worker_start(sender=None, **kwargs):
    """Look for runs orphaned by a dead worker as soon as a worker starts, then periodically."""
    reaper.start_reaper()


@shared_task(name="runs.train", bind=True, queue=GPU_QUEUE)
def train_run(self, run_id: int) -> str:
    """Train run `run_id` (claimed atomically: a run already taken or cancelled is left alone)."""
    from webapp.runs.worker import execute_run, worker_is_stopping

    if worker_is_stopping():  # a run this worker just checkpointed and requeued: leave it to the next worker
        raise Reject("this worker is shutting down", requeue=True)
    return execute_run(run_id, worker=self.request.hostname or socket.gethostname())


@shared_task(name="runs.evaluate", bind=True, queue=GPU_QUEUE)
def evaluate_run(self, evaluation_id: int) -> str:
    """Measure a finished run's model on the evaluation's dataset version and split."""
    from webapp.runs.worker import execute_evaluation

    return execute_evaluation(evaluation_id, worker=self.request.hostname or socket.gethostname())


@shared_task(name="runs.reap")
def reap_stale_runs() -> dict:
    """Requeue runs whose worker died (for deployments that schedule it with celery beat as well)."""
    return reaper.reap_stale_runs()
