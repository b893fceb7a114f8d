"""Landmark's scheduled jobs: Huey periodic tasks, each with a name an operator types.

A job is registered with `@scheduled_job("name", minute=..., hour=...)` in an app's
`tasks.py` (the worker imports every app's `tasks` module, as huey's Django integration
does). The schedule is a crontab in UTC. Every run is recorded in JobRun (started,
finished, the error that ended it), which `landmark jobs` lists with the next run.

Jobs are idempotent and at-least-once: a job may run twice (two workers, a retry, a
worker killed mid-run and the job enqueued again) and must then do nothing twice.
"""

import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db.models import F
from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import HUEY, db_periodic_task

from landmark.jobs.models import JobRun

CRON_FIELDS = ("minute", "hour", "day", "month", "day_of_week")
# How far ahead `next_run` looks (a monthly job is found within 32 days).
LOOKAHEAD = timedelta(days=32)


@dataclass(frozen=True)
class Job:
    name: str
    description: str
    cron: dict[str, str]
    task: Any  # huey's TaskWrapper (huey ships no type hints)
    # Enqueued once whenever a worker starts, besides the schedule.
    at_worker_start: bool = False

    @property
    def schedule(self) -> str:
        """The crontab line, e.g. "15 3 * * *" (UTC)."""
        return " ".join(self.cron[name] for name in CRON_FIELDS)

    def next_run(self, after: datetime) -> datetime | None:
        """The first minute after `after` that the schedule matches (UTC)."""
        matches = crontab(**self.cron)
        minute = after.astimezone(UTC).replace(second=0, microsecond=0, tzinfo=None)
        end = minute + LOOKAHEAD
        while minute < end:
            minute += timedelta(minutes=1)
            if matches(minute):
                return minute.replace(tzinfo=UTC)
        return None

    def enqueue(self) -> None:
        """Put one run on the queue now (a worker runs it)."""
        self.task()


JOBS: dict[str, Job] = {}


@contextmanager
def recorded(name: str) -> Iterator[None]:
    """Record a run of job `name` in JobRun: when it started and ended, and the error
    that ended it."""
    JobRun.objects.get_or_create(name=name)
    JobRun.objects.filter(name=name).update(
        last_started_at=timezone.now(), runs=F("runs") + 1
    )
    try:
        yield
    except Exception as error:
        JobRun.objects.filter(name=name).update(
            last_finished_at=timezone.now(),
            last_error=describe_error(error),
            failures=F("failures") + 1,
        )
        raise
    JobRun.objects.filter(name=name).update(
        last_finished_at=timezone.now(), last_error=""
    )


def describe_error(error: BaseException) -> str:
    """The error in one line, as an operator reads it (the worker's log has the
    traceback)."""
    text = "".join(traceback.format_exception_only(error)).strip()
    return text[:2000]


def scheduled_job(
    name: str,
    *,
    description: str,
    at_worker_start: bool = False,
    retries: int = 0,
    retry_delay: int = 0,
    **cron: str,
) -> Callable[[Callable[[], object]], Any]:
    """Register a function of no arguments as the periodic job `name`."""
    unknown = set(cron) - set(CRON_FIELDS)
    if unknown:
        raise ValueError(f"Unknown crontab fields: {sorted(unknown)}")
    fields = {field: str(cron.get(field, "*")) for field in CRON_FIELDS}

    def decorator(fn: Callable[[], object]) -> Any:
        if name in JOBS:
            raise ValueError(f"A job named {name!r} is already registered.")

        def run() -> None:
            with recorded(name):
                fn()

        run.__name__ = fn.__name__
        run.__module__ = fn.__module__
        run.__doc__ = fn.__doc__
        task = db_periodic_task(
            crontab(strict=True, **fields),
            name=name,
            retries=retries,
            retry_delay=retry_delay,
        )(run)
        JOBS[name] = Job(name, description, fields, task, at_worker_start)
        return task

    return decorator


def queue_description() -> str:
    """Where the queue lives, for operators (never a password)."""
    storage = HUEY.storage
    filename = getattr(storage, "filename", None)
    if filename:
        return f"SQLite {filename}"
    kwargs = storage.pool.connection_kwargs
    where = kwargs.get("path") or f"{kwargs.get('host')}:{kwargs.get('port')}"
    return f"Redis {where}, queue {HUEY.name!r}"


def pending_jobs() -> int:
    """Runs waiting in the queue for a worker."""
    return int(HUEY.pending_count())
