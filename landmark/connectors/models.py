"""KPI connectors: a KPI whose values are pulled on a schedule from a database, a JSON
API or a CSV file at a URL (docs/connectors.md), and the history of their runs."""

import json
from datetime import time

from django.db import models
from django.utils import timezone

from landmark.kpis.models import KPI
from landmark.lib.encryption import Sealed, SealedField
from landmark.orgs.models import Organization, User


class Connector(models.Model):
    class Kind(models.TextChoices):
        SQL = "sql", "SQL query (PostgreSQL, MySQL/MariaDB, SQLite)"
        HTTP_JSON = "http_json", "HTTP JSON API"
        CSV_URL = "csv_url", "CSV file at a URL (a published spreadsheet)"

    class Schedule(models.TextChoices):
        HOURLY = "hourly", "Every hour"
        DAILY = "daily", "Every day"
        WEEKLY = "weekly", "Every week"
        CRON = "cron", "Cron expression"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
    kpi = models.OneToOneField(KPI, on_delete=models.CASCADE, related_name="connector")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    # What is not secret: the query, the URL, the expression, column and header names.
    settings = models.JSONField(default=dict)
    # The secret parts (a database URL with its password, header values), as one
    # encrypted JSON object: {"database_url": "...", "headers": {"Authorization": "..."}}.
    # A value may be an environment variable reference, "${SALES_DB_URL}".
    secret = SealedField(null=True, blank=True)
    schedule = models.CharField(
        max_length=8, choices=Schedule.choices, default=Schedule.DAILY
    )
    at_time = models.TimeField(default=time(6, 0))  # daily and weekly; hourly: minute
    weekday = models.PositiveSmallIntegerField(default=0)  # weekly: 0 is Monday
    cron = models.CharField(max_length=120, blank=True)
    enabled = models.BooleanField(default=True)
    # The member whose name the values carry (who configured it last); the run needs
    # them to be able to write.
    run_as = models.ForeignKey(
        User, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    failures = models.PositiveIntegerField(default=0)  # consecutive failed runs
    next_run_at = models.DateTimeField(null=True, blank=True)
    last_run_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["enabled", "next_run_at"])]

    def __str__(self) -> str:
        return f"Connector of KPI {self.kpi_id}"

    def secret_parts(self) -> dict[str, object]:
        """The secret parts in clear: only for the code about to use them."""
        if self.secret is None:
            return {}
        parts = json.loads(self.secret.reveal())
        return parts if isinstance(parts, dict) else {}

    def set_secret_parts(self, parts: dict[str, object]) -> None:
        kept = {k: v for k, v in parts.items() if v}
        self.secret = Sealed.seal(json.dumps(kept)) if kept else None


class ConnectorRun(models.Model):
    """One run of a connector: what it read and saved, or the error that stopped it."""

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule", "Schedule"
        MANUAL = "manual", "Run now"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
    connector = models.ForeignKey(
        Connector, on_delete=models.CASCADE, related_name="runs"
    )
    trigger = models.CharField(max_length=8, choices=Trigger.choices)
    # The idempotency key of the run's ingestion: a retried run sends the same one.
    key = models.CharField(max_length=120, unique=True)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    rows_read = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at", "-pk"]
        indexes = [models.Index(fields=["connector", "-started_at"])]

    def __str__(self) -> str:
        return f"Run {self.pk} of connector {self.connector_id}"

    @property
    def succeeded(self) -> bool:
        return self.finished_at is not None and not self.error
