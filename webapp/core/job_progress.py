"""Progress of a job that works through images in batches: counts, rate and ETA on its row, and its cancel flag.

Shared by the jobs that run a model over many images (batch classification, pre-labelling): each writes its
row at most once a second, through the lease (`leased()` is empty once the reaper gave the job to another
worker), and stops when someone asked to cancel or the lease was lost.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.db.models import QuerySet
from django.utils import timezone

from webapp.core.reaping import Heartbeat

PROGRESS_WRITE_S = 1.0


class JobProgress:
    """Count finished images, write progress at most once a second, and read the cancel flag as often."""

    def __init__(self, job, heartbeat: Heartbeat, leased: Callable[[], QuerySet]):
        # The job's row object: its `total` is read as it stands (an archive's count may be set after the start).
        self.job, self.heartbeat, self.leased = job, heartbeat, leased
        self.done = self.errors = 0
        self.started = time.monotonic()
        self.last_write = 0.0

    def snapshot(self) -> dict:
        """Return the progress a page shows: images per second, seconds left, seconds so far."""
        elapsed = max(time.monotonic() - self.started, 1e-6)
        rate = self.done / elapsed
        left = max(self.job.total - self.done, 0)
        return {"images_per_s": round(rate, 2), "eta_s": round(left / rate, 1) if rate > 0 else None,
                "elapsed_s": round(elapsed, 2), "updated_at": timezone.now().isoformat()}

    def advance(self, done: int, errors: int) -> bool:
        """Record a batch; return True when the job should stop (cancel asked for, or the lease lost)."""
        self.done += done
        self.errors += errors
        now = time.monotonic()
        if now - self.last_write < PROGRESS_WRITE_S:
            return self.heartbeat.lost.is_set()
        self.last_write = now
        rows = self.leased()
        if not rows.update(done=self.done, errors=self.errors, progress=self.snapshot(), heartbeat_at=timezone.now()):
            self.heartbeat.lost.set()
            return True
        return bool(rows.values_list("cancel_requested", flat=True).first())

    def final_fields(self) -> dict:
        """Return the row's counts and progress as the job ends."""
        return {"done": self.done, "errors": self.errors, "progress": {**self.snapshot(), "eta_s": 0}}
