"""The hooks app's scheduled job (the worker imports this module)."""

import logging

from landmark.hooks.queue import send_task  # noqa: F401  # registers the task with the worker
from landmark.hooks.sending import send_all_due
from landmark.jobs.registry import scheduled_job

logger = logging.getLogger(__name__)


@scheduled_job(
    "webhooks",
    description="Send webhook deliveries still waiting: retries after errors, and "
    "sends a stopped worker had claimed.",
    minute="*",
    at_worker_start=True,
)
def webhooks() -> None:
    outcome = send_all_due()
    if outcome.claimed:
        logger.info(
            "Webhooks: %d delivered, %d failed, %d webhooks turned off.",
            outcome.sent,
            outcome.failed,
            outcome.disabled,
        )
