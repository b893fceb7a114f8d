"""The notify app's scheduled jobs (the worker imports this module)."""

import logging

from landmark.jobs.registry import scheduled_job
from landmark.notify.delivery import deliver_all_due
from landmark.notify.queue import deliver_task  # noqa: F401  # registers the task with the worker
from landmark.notify.reminders import run_due_reminders

logger = logging.getLogger(__name__)


@scheduled_job(
    "reminders",
    description="Send the check-in reminders (and escalations) whose moment has come.",
    minute="*",
)
def reminders() -> None:
    for done in run_due_reminders():
        logger.info(
            "Reminders of organization %s (%s) for %s: %d people, %d escalations.",
            done.org_id,
            done.scope,
            done.occurrence.isoformat(),
            done.reminded,
            done.escalated,
        )


@scheduled_job(
    "deliveries",
    description="Send notifications still waiting: retries after errors, and sends "
    "a stopped worker had claimed.",
    minute="*",
    at_worker_start=True,
)
def deliveries() -> None:
    outcome = deliver_all_due()
    if outcome.claimed:
        logger.info(
            "Deliveries: %d sent, %d failed, %d skipped.",
            outcome.sent,
            outcome.failed,
            outcome.skipped,
        )
