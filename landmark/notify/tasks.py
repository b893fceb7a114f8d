"""The notify app's scheduled jobs (the worker imports this module)."""

import logging

from landmark.jobs.registry import scheduled_job
from landmark.notify.alerts import run_kpi_alerts
from landmark.notify.delivery import deliver_all_due
from landmark.notify.digest import run_due_digests
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


@scheduled_job(
    "kpi-alerts",
    description="Tell KPI owners and watchers of health changes that held (turned "
    "unhealthy, went stale, recovered).",
    minute="*",
)
def kpi_alerts() -> None:
    for told in run_kpi_alerts():
        logger.info(
            "KPI %s: %s, told to %d people.", told.kpi_id, told.kind, told.recipients
        )


@scheduled_job(
    "digest",
    description="Send each member's weekly digest at the organization's reminder "
    "day and time.",
    minute="*",
)
def digest() -> None:
    for done in run_due_digests():
        logger.info(
            "Weekly digest of organization %s for %s: %d people.",
            done.org_id,
            done.occurrence.isoformat(),
            done.sent,
        )
