"""Celery tasks of searches: advancing one, sent when a member run ends and at every reaper look."""

from celery import shared_task
from celery.signals import task_postrun

from webapp.celery import DEFAULT_QUEUE

ADVANCE_TASK = "searches.advance"


@shared_task(name=ADVANCE_TASK, queue=DEFAULT_QUEUE)
def advance_search(search_id: int) -> str:
    """Advance search `search_id` from the state of its member runs (idempotent)."""
    from webapp.searches.worker import advance_search as advance

    return advance(search_id)


@task_postrun.connect
def advance_after_member(sender=None, args=None, **kwargs):
    """When a training task of a search's member ends, ask for the search to advance (on the default queue)."""
    if getattr(sender, "name", "") != "runs.train" or not args:
        return
    from webapp.searches.services.triggers import advance_later_for_run

    advance_later_for_run(args[0])
