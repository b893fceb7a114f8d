"""The connectors' schedule: every minute, the runs that are due go to the queue."""

import logging

from huey.contrib.djhuey import db_task

from landmark.connectors import actions
from landmark.jobs.registry import scheduled_job

logger = logging.getLogger(__name__)


@db_task(retries=2, retry_delay=60)  # type: ignore[untyped-decorator]
def execute_run(run_id: int) -> None:
    """One run; a crash (not a source error, which the run records) is retried, and
    the retry sends the same idempotency key."""
    actions.execute_run(run_id)


@scheduled_job(
    "run-connectors",
    description="Run the KPI connectors that are due (at most a few per organization at once).",
    minute="*",
)
def run_connectors() -> None:
    run_ids = actions.due_runs()
    for run_id in run_ids:
        execute_run(run_id)
    if run_ids:
        logger.info("Queued %d connector runs.", len(run_ids))
