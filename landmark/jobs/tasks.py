"""Housekeeping, scheduled: what operators used to run from cron.

Each job deletes only what is past its retention, so running it twice (or on two
workers at once) deletes nothing more.
"""

import logging
from importlib import import_module

from django.conf import settings

from landmark.jobs.registry import scheduled_job
from landmark.kpis.ingest import prune_ingestion_requests
from landmark.orgs.actions import prune_expired_invitations

logger = logging.getLogger(__name__)


@scheduled_job(
    "prune-idempotency-keys",
    description="Forget KPI ingestion idempotency keys older than 7 days.",
    minute="15",
    hour="3",
)
def prune_idempotency_keys() -> None:
    logger.info("Deleted %d idempotency keys.", prune_ingestion_requests())


@scheduled_job(
    "prune-invitations",
    description="Delete invitations that expired more than 30 days ago.",
    minute="20",
    hour="3",
)
def prune_invitations() -> None:
    logger.info("Deleted %d expired invitations.", prune_expired_invitations())


@scheduled_job(
    "prune-sessions",
    description="Delete expired login sessions.",
    minute="25",
    hour="3",
)
def prune_sessions() -> None:
    # Django's own `clearsessions`, through the session engine's public API.
    engine = import_module(settings.SESSION_ENGINE)
    engine.SessionStore.clear_expired()
