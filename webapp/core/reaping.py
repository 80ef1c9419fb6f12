"""Jobs that outlive their worker, every kind in one place: sending, heartbeats, requeues, resends and cancels.

Each app describes its job kinds once (a ColumnKind over its model's columns, or a JobKind of its own) in
its services/reaper.py; the reaper finds them there. Every send stores a fresh task id on the row: the
attempt token. A task claims its row only while the row still names that token, so a late redelivery of
an old message (Redis hands unacknowledged messages out again after its visibility timeout) finds a
finished or newer row and does nothing. While a worker holds a row it beats (heartbeat_at) from a thread,
and the reaper (a daemon thread in every worker: the embedded default has no beat scheduler) then:

- requeues a running row whose heartbeat went stale, under a new token, up to the kind's max attempts,
  then fails it with the reason; a row whose cancel was asked for ends cancelled instead;
- sends again a waiting row whose message never reached the broker (sent_at still empty after
  LUX_JOB_RESEND_AFTER_S), and fails it once it has waited LUX_JOB_SEND_GIVE_UP_S.
- lets each kind sweep what it alone knows to be abandoned (JobKind.sweep: pending batch jobs that took
  no upload for LUX_PENDING_UPLOAD_EXPIRY_HOURS).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.module_loading import autodiscover_modules, import_string
from kombu.exceptions import ChannelError, KombuError

from webapp.env import env_int

log = logging.getLogger(__name__)
# What a send raises when the broker is down: Redis refusing connections (kombu's OperationalError after its
# retries), or the embedded broker's folder refusing the file.
BROKER_ERRORS = (KombuError, ChannelError, OSError)
_DEFAULTS = {
    "LUX_JOB_STALE_AFTER_S": 60,  # a running job whose heartbeat is older than this lost its worker
    "LUX_JOB_MAX_ATTEMPTS": 3,  # starts before a job whose worker keeps dying is failed
    "LUX_JOB_RESEND_AFTER_S": 30,  # a waiting job never sent to the broker after this long is sent again
    "LUX_JOB_SEND_GIVE_UP_S": 3600,  # ... and failed once it has waited this long
}
_kinds: dict[str, JobKind] = {}
_discovered = threading.Event()
_started = threading.Event()


def setting(name: str) -> int:
    """Return an integer setting: from Django settings when set there, else from the environment."""
    value = getattr(settings, name, None)
    return int(value) if value is not None else env_int(name, _DEFAULTS[name], minimum=1)


def new_token() -> str:
    """Return a fresh attempt token (the task id of the next message)."""
    return str(uuid.uuid4())


class QueueUnreachable(Exception):
    """The broker refused a task. The row is saved and unsent; the reaper sends it once the broker is back."""

    def __init__(self, message: str, url: str | None = None):
        super().__init__(message)
        self.message = message
        self.url = url  # the saved row's page, where a person can follow it


@dataclass(frozen=True)
class Held:
    """A row a worker held when the reaper looked: a requeue or an end must find it unchanged."""

    pk: int
    attempts: int
    worker: str
    heartbeat_at: datetime | None
    cancel_requested: bool = False
    row: object = None


@dataclass(frozen=True)
class Waiting:
    """A row waiting for a worker whose message never reached the broker."""

    pk: int
    token: str
    queued_at: datetime | None


class JobKind:
    """One kind of job: which rows are held or waiting, how they move, and the task that works on them."""

    name = ""  # registry key, e.g. "classify.jobs"
    noun = "job"  # in messages: "the worker running this {noun} stopped"

    def stale_after_s(self) -> float:
        return setting("LUX_JOB_STALE_AFTER_S")

    def max_attempts(self) -> int:
        return setting("LUX_JOB_MAX_ATTEMPTS")

    def heartbeat_interval_s(self) -> float:
        """Return how often a worker beats: several beats fit in the stale window."""
        return max(0.5, min(10.0, self.stale_after_s() / 6))

    def page_url(self, pk: int) -> str | None:
        """Return the page of row `pk`, where a person follows it (None: there is none)."""
        return None

    # -- what a kind implements ------------------------------------------------------------------------
    def stale(self, cutoff: datetime) -> list[Held]:
        """Return the held rows whose heartbeat is older than `cutoff`."""
        raise NotImplementedError

    def unsent(self, cutoff: datetime) -> list[Waiting]:
        """Return the waiting rows queued before `cutoff` whose message never reached the broker."""
        raise NotImplementedError

    def requeue(self, held: Held, token: str) -> bool:
        """Put a held row back to wait for a worker under `token`, if it is still as seen."""
        raise NotImplementedError

    def end(self, held: Held, outcome: str, reason: str) -> bool:
        """End a held row as "failed" or "cancelled" with `reason`, if it is still as seen."""
        raise NotImplementedError

    def give_up_send(self, waiting: Waiting, reason: str) -> bool:
        """Fail a waiting row that never reached the broker, if it is still unsent under the same token."""
        raise NotImplementedError

    def mark_sent(self, pk: int, token: str) -> None:
        """Record that the broker took row `pk`'s message `token`."""
        raise NotImplementedError

    def send(self, pk: int, token: str) -> None:
        """Send row `pk`'s task with task id `token` (raises what the broker raises)."""
        raise NotImplementedError

    # -- the reasons a person reads ----------------------------------------------------------------------
    def last_seen(self, held: Held) -> str:
        when = timezone.localtime(held.heartbeat_at).strftime("%Y-%m-%d %H:%M:%S %Z") if held.heartbeat_at else "?"
        return f"last seen on host {held.worker or '(unknown)'} at {when}"

    def gave_up_reason(self, held: Held, now: datetime) -> str:
        return (f"Gave up after {held.attempts} attempts: the worker running this {self.noun} stopped "
                f"{held.attempts} time{'s' if held.attempts != 1 else ''}; {self.last_seen(held)}.")

    def cancelled_reason(self, held: Held, now: datetime) -> str:
        return f"Cancelled: the worker running this {self.noun} stopped ({self.last_seen(held)})."

    def unsent_reason(self, waiting: Waiting) -> str:
        return (f"The job queue was unreachable for over {_duration(setting('LUX_JOB_SEND_GIVE_UP_S'))}, so this "
                f"{self.noun} never reached a worker; start it again.")

    # -- the reaper's look -------------------------------------------------------------------------------
    def reap_stale(self, now: datetime, *, stale_after_s: float | None = None,
                   max_attempts: int | None = None) -> dict[str, list[int]]:
        """Requeue held rows whose worker went silent, fail those out of attempts, end cancelled ones."""
        stale_after_s = self.stale_after_s() if stale_after_s is None else stale_after_s
        max_attempts = self.max_attempts() if max_attempts is None else max_attempts
        outcome = {"requeued": [], "failed": [], "cancelled": []}
        for held in self.stale(now - timedelta(seconds=stale_after_s)):
            if held.cancel_requested:
                if self.end(held, "cancelled", self.cancelled_reason(held, now)):
                    outcome["cancelled"].append(held.pk)
            elif held.attempts >= max_attempts:
                if self.end(held, "failed", self.gave_up_reason(held, now)):
                    outcome["failed"].append(held.pk)
            else:
                token = new_token()
                if self.requeue(held, token):
                    send_on_commit(self, held.pk, token, quiet=True)
                    outcome["requeued"].append(held.pk)
        return outcome

    def sweep(self, now: datetime) -> dict[str, list[int]]:
        """Do a kind's own housekeeping at each look (e.g. delete abandoned rows); return {what: ids}."""
        return {}

    def resend(self, now: datetime) -> dict[str, list[int]]:
        """Send again waiting rows that never reached the broker; fail those that waited too long."""
        outcome = {"resent": [], "unsent": []}
        give_up = now - timedelta(seconds=setting("LUX_JOB_SEND_GIVE_UP_S"))
        for waiting in self.unsent(now - timedelta(seconds=setting("LUX_JOB_RESEND_AFTER_S"))):
            if waiting.queued_at is not None and waiting.queued_at < give_up:
                if self.give_up_send(waiting, self.unsent_reason(waiting)):
                    outcome["unsent"].append(waiting.pk)
            elif send_now(self, waiting.pk, waiting.token, quiet=True):
                outcome["resent"].append(waiting.pk)
        return outcome


class ColumnKind(JobKind):
    """A kind whose model has the usual columns: status, task_id, sent_at, queued_at, heartbeat_at, worker,
    attempts and error (with cancel_requested, started_at and finished_at where it has them)."""

    model = None
    task = ""  # dotted path of the Celery task, called with the row's id
    waiting = ("queued",)  # statuses a worker may claim
    running = "running"
    queued = "queued"  # where a requeue puts the row
    failed = "failed"
    cancelled: str | None = None  # None: this kind cannot be cancelled

    def rows(self):
        return self.model.objects.all()

    def has(self, field: str) -> bool:
        return any(f.name == field for f in self.model._meta.concrete_fields)

    def queue(self) -> str | None:
        """Return the queue to send to (None: the one the task declares)."""
        return None

    def send(self, pk: int, token: str) -> None:
        task = import_string(self.task)
        options = {"queue": self.queue()} if self.queue() else {}
        task.apply_async(args=[pk], task_id=token, **options)

    def queued_fields(self, token: str) -> dict:
        """Return the fields that put a row in line for a worker under `token` (to be sent next)."""
        return {"status": self.queued, "task_id": token, "sent_at": None, "queued_at": timezone.now()}

    def stale(self, cutoff):
        rows = self.rows().filter(Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True), status=self.running)
        cancel = self.has("cancel_requested")
        return [Held(row.pk, row.attempts, row.worker, row.heartbeat_at, cancel and row.cancel_requested, row)
                for row in rows]

    def unsent(self, cutoff):
        rows = self.rows().filter(status__in=self.waiting, sent_at__isnull=True, queued_at__lt=cutoff)
        return [Waiting(pk, token, queued_at) for pk, token, queued_at in rows.values_list("pk", "task_id",
                                                                                           "queued_at")]

    def as_seen(self, held: Held):
        return self.rows().filter(pk=held.pk, status=self.running, attempts=held.attempts,
                                  heartbeat_at=held.heartbeat_at)

    def requeue(self, held, token):
        return self.as_seen(held).update(worker="", **self.queued_fields(token)) == 1

    def end(self, held, outcome, reason):
        status = self.cancelled if outcome == "cancelled" else self.failed
        return self.as_seen(held).update(**self._ending(status, reason)) == 1

    def give_up_send(self, waiting, reason):
        rows = self.rows().filter(pk=waiting.pk, status__in=self.waiting, task_id=waiting.token,
                                  sent_at__isnull=True)
        return rows.update(**self._ending(self.failed, reason)) == 1

    def _ending(self, status: str, reason: str) -> dict:
        fields = {"status": status, "error": reason}
        if self.has("finished_at"):
            fields["finished_at"] = timezone.now()
        return fields

    def mark_sent(self, pk, token):
        self.rows().filter(pk=pk, task_id=token).update(sent_at=timezone.now())

    # -- the worker's side ---------------------------------------------------------------------------------
    def claim(self, pk: int, *, token: str | None, worker: str, **fields) -> int | None:
        """Take row `pk` for this worker and return the attempt number (the lease), or None when it is not ours.

        Claimable: waiting under `token` (or under no token at all); or running under it with a stale
        heartbeat, which is the same message come back after its worker died. A message whose token the row
        no longer names (the reaper sent a newer one, or the row finished) does nothing. `token` None (a
        direct call) skips the token check.
        """
        now = timezone.now()
        silent = Q(heartbeat_at__lt=now - timedelta(seconds=self.stale_after_s())) | Q(heartbeat_at__isnull=True)
        rows = self.rows().filter(Q(status__in=self.waiting) | Q(silent, status=self.running), pk=pk)
        if token:
            rows = rows.filter(task_id__in=(token, ""))  # "": a row given no token (made by hand) takes any
        if not rows.update(status=self.running, attempts=F("attempts") + 1, worker=worker[:255], heartbeat_at=now,
                           **fields):
            return None
        return self.rows().filter(pk=pk).values_list("attempts", flat=True).first()

    def leased(self, pk: int, attempt: int):
        """Return the row while it is still running under this attempt (empty once the lease is lost)."""
        return self.rows().filter(pk=pk, status=self.running, attempts=attempt)

    def beat(self, pk: int, attempt: int) -> bool:
        """Write the heartbeat; return False when the lease is lost."""
        return self.leased(pk, attempt).update(heartbeat_at=timezone.now()) == 1

    def cancel_orphan(self, pk: int) -> bool:
        """End a running row whose worker stopped beating as cancelled, at once; return whether it did."""
        cutoff = timezone.now() - timedelta(seconds=self.stale_after_s())
        rows = self.rows().filter(Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True), pk=pk,
                                  status=self.running)
        return rows.update(cancel_requested=True, **self._ending(self.cancelled, "")) == 1


class Heartbeat:
    """Beat a held row from a thread while the body works; `lost` is set once the row is no longer ours."""

    def __init__(self, beat, interval_s: float, *, name: str = "job-heartbeat"):
        self._beat = beat  # () -> bool: False when the lease is lost
        self.interval_s = interval_s
        self.lost, self._closing = threading.Event(), threading.Event()
        self._thread = threading.Thread(target=self._watch, name=name, daemon=True)

    @classmethod
    def of(cls, kind: ColumnKind, pk: int, attempt: int) -> Heartbeat:
        return cls(partial(kind.beat, pk, attempt), kind.heartbeat_interval_s(), name=f"{kind.name}-{pk}-heartbeat")

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._closing.set()
        self._thread.join(timeout=10)

    def _watch(self) -> None:
        try:
            while not self._closing.wait(self.interval_s):
                try:
                    if not self._beat():
                        self.lost.set()
                except Exception:  # a busy database costs one beat, never the job
                    log.warning("heartbeat failed", exc_info=True)
                    close_old_connections()
        finally:
            connection.close()  # this thread's own connection


# ---- sending ------------------------------------------------------------------------------------------

def send_on_commit(kind: JobKind, pk: int, token: str, *, quiet: bool = False) -> None:
    """Send row `pk`'s task once the current transaction commits (a worker must find the row it names)."""
    transaction.on_commit(partial(send_now, kind, pk, token, quiet=quiet))


def send_now(kind: JobKind, pk: int, token: str, *, quiet: bool = False) -> bool:
    """Send row `pk`'s task and record it; when the broker is unreachable leave it unsent for the reaper.

    Raises QueueUnreachable then, unless `quiet`; returns whether the broker took the message.
    """
    try:
        kind.send(pk, token)
    except BROKER_ERRORS as exc:
        log.warning("could not send %s %s: %s", kind.noun, pk, exc)
        if quiet:
            return False
        raise QueueUnreachable(f"The job queue is unreachable; {kind.noun} {pk} is saved and will start when the "
                               "queue is back.", url=kind.page_url(pk)) from exc
    kind.mark_sent(pk, token)
    return True


# ---- the reaper -----------------------------------------------------------------------------------------

def register(kind: JobKind) -> JobKind:
    """Add a job kind to the reaper's looks; return it."""
    _kinds[kind.name] = kind
    return kind


def kinds() -> list[JobKind]:
    """Return every registered job kind (each app's services/reaper.py registers its own)."""
    if not _discovered.is_set():
        autodiscover_modules("services.reaper")
        _discovered.set()
    return list(_kinds.values())


def reap_all(*, now: datetime | None = None) -> dict[str, dict[str, list[int]]]:
    """Look once at every job kind: requeue, fail or end rows whose worker died, resend unsent ones."""
    now = now or timezone.now()
    outcome = {}
    for kind in kinds():
        try:
            found = {**kind.reap_stale(now), **kind.resend(now), **kind.sweep(now)}
        except Exception:  # one kind's trouble must not stop the look at the others
            log.exception("reaper: %s failed", kind.name)
            continue
        if any(found.values()):
            outcome[kind.name] = {key: ids for key, ids in found.items() if ids}
    if outcome:
        log.warning("reaper: %s", outcome)
    return outcome


def _loop(interval: float) -> None:
    while True:
        try:
            close_old_connections()
            reap_all()
        except Exception:  # a failed look is retried at the next interval
            log.exception("reaper failed")
        time.sleep(interval)


def start_reaper(interval_s: float) -> None:
    """Start this process's reaper thread (once): a look now, then one every `interval_s`."""
    if _started.is_set():
        return
    _started.set()
    threading.Thread(target=_loop, args=(interval_s,), name="reaper", daemon=True).start()


def _duration(seconds: int) -> str:
    if seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    return f"{seconds // 60} min" if seconds % 60 == 0 else f"{seconds} s"
