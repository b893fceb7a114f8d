"""Forget the idempotency keys of KPI ingestion that are past their retention.

    landmark manage prune_idempotency_keys     # e.g. daily from cron

A key older than the retention (7 days) is no longer honoured anyway; this deletes its
row, with the saved response, so the table does not grow for ever.
"""

from typing import Any

from django.core.management.base import BaseCommand

from landmark.kpis.ingest import KEY_RETENTION, prune_ingestion_requests


class Command(BaseCommand):
    help = (
        f"Delete KPI ingestion idempotency keys older than {KEY_RETENTION.days} days "
        "(every organization)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        deleted = prune_ingestion_requests()
        self.stdout.write(
            f"Deleted {deleted} idempotency key{'' if deleted == 1 else 's'} "
            f"older than {KEY_RETENTION.days} days."
        )
