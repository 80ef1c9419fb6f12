"""Celery tasks of classification: thin adapters over worker/; what a person waits on goes to the interactive queue."""

import socket

from celery import shared_task

from webapp.celery import GPU_QUEUE, INTERACTIVE_QUEUE


@shared_task(name="classify.quick_predict", queue=INTERACTIVE_QUEUE)
def quick_predict(source: dict, staged: list, names: list, k: int = 5) -> dict:
    """Classify a few staged images with a cached model and answer at once (the web process waits briefly)."""
    from webapp.classify.worker.quick import run_quick

    return run_quick(source, staged, names, k)


@shared_task(name="classify.run_job", bind=True, queue=GPU_QUEUE)
def run_job(self, job_id: int) -> str:
    """Run a batch classification job to its end."""
    from webapp.classify.worker.jobs import execute_job

    return execute_job(job_id, worker=self.request.hostname or socket.gethostname(), token=self.request.id)


@shared_task(name="classify.explain", bind=True, queue=INTERACTIVE_QUEUE)
def explain(self, explanation_id: int) -> str:
    """Compute the heatmaps, feature maps and filters of one explanation."""
    from webapp.classify.worker.explain import run_explanation

    return run_explanation(explanation_id, worker=self.request.hostname or socket.gethostname(),
                           token=self.request.id)


@shared_task(name="classify.export", bind=True, queue=GPU_QUEUE)
def export_model(self, artifact_id: int) -> str:
    """Export a run's model to TorchScript or ONNX and record the parity check."""
    from webapp.classify.worker.export import run_export

    return run_export(artifact_id, worker=self.request.hostname or socket.gethostname(), token=self.request.id)
