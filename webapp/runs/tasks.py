"""Celery tasks of training runs: thin adapters over webapp.runs.worker, and the worker-start hooks."""

import socket
import time

from celery import shared_task
from celery.exceptions import Reject
from celery.signals import worker_init, worker_ready

from webapp.celery import GPU_QUEUE
from webapp.core import reaping
from webapp.runs.services import conf

GPU_REQUEUE_PAUSE_S = 5.0

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
    """Look for jobs of every kind orphaned by a dead worker (or never sent) as soon as a worker starts, then
    every LUX_RUN_REAPER_INTERVAL_S."""
    reaping.start_reaper(conf.reaper_interval_s())


@shared_task(name="runs.train", bind=True, queue=GPU_QUEUE)
def train_run(self, run_id: int) -> str:
    """Train run `run_id` (claimed atomically: a run already taken, cancelled or sent again is left alone)."""
    from webapp.runs.worker import execute_run, missing_gpus, worker_is_stopping

    if worker_is_stopping():  # a run this worker just checkpointed and requeued: leave it to the next worker
        raise Reject("this worker is shutting down", requeue=True)
    if reason := missing_gpus(run_id):  # it waits in the queue for a worker that has them (launch checked one does)
        time.sleep(GPU_REQUEUE_PAUSE_S)  # so a small worker alone on the queue does not spin on it
        raise Reject(reason, requeue=True)
    return execute_run(run_id, worker=self.request.hostname or socket.gethostname(), token=self.request.id)


@shared_task(name="runs.evaluate", bind=True, queue=GPU_QUEUE)
def evaluate_run(self, evaluation_id: int) -> str:
    """Measure a finished run's model on the evaluation's dataset version and split."""
    from webapp.runs.worker import execute_evaluation

    return execute_evaluation(evaluation_id, worker=self.request.hostname or socket.gethostname(),
                              token=self.request.id)


@shared_task(name="runs.reap")
def reap_stale_runs() -> dict:
    """Requeue jobs of every kind whose worker died, resend unsent ones (for deployments that schedule it
    with celery beat as well)."""
    return reaping.reap_all()
