"""Each KPI's latest window and its health, stored on the KPI row.

Dashboards count, filter, sort and page thousands of KPIs by health in SQL
(KPIQuerySet.with_health), instead of reading every KPI's latest window and working
its health out in Python on each page view. Every write that can change a KPI's
latest window or its target calls refresh_current: points recorded, corrected,
imported or ingested; the KPI edited; its per-window targets replaced.
"""

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.db import connection
from django.db.models import OuterRef, Subquery

from landmark.kpis import health
from landmark.kpis.models import KPI, KPITarget, KPIWindow
from landmark.kpis.signals import HealthChange, health_changed

FIELDS = ["current_start", "current_value", "current_health", "stale_after"]
BATCH = 500


def refresh_current(kpi_ids: Iterable[int]) -> None:
    """Store the latest window, its health (staleness aside) and when it goes stale,
    for these KPIs: two statements per 500 KPIs."""
    ids = sorted(set(kpi_ids))
    for i in range(0, len(ids), BATCH):
        _refresh(ids[i : i + BATCH])


def _refresh(ids: list[int]) -> None:
    latest = KPIWindow.objects.filter(kpi=OuterRef("pk")).order_by("-start")
    scheduled = KPITarget.objects.filter(
        kpi=OuterRef("pk"), window_start=OuterRef("latest_start")
    )
    rows = (
        KPI.objects.filter(pk__in=ids)
        .annotate(
            latest_start=Subquery(latest.values("start")[:1]),
            latest_value=Subquery(latest.values("value")[:1]),
            latest_time=Subquery(latest.values("last_time")[:1]),
        )
        .annotate(
            has_schedule=Subquery(scheduled.values("pk")[:1]),
            scheduled_low=Subquery(scheduled.values("low")[:1]),
            scheduled_high=Subquery(scheduled.values("high")[:1]),
        )
        .values(
            "pk",
            "organization_id",
            "current_health",
            "frequency",
            "target_kind",
            "target_low",
            "target_high",
            "tolerance",
            "latest_start",
            "latest_value",
            "latest_time",
            "has_schedule",
            "scheduled_low",
            "scheduled_high",
        )
    )
    fresh = {row["pk"]: (row, current_of(row)) for row in rows}
    store([KPI(pk=pk, **current) for pk, (_, current) in fresh.items()])
    changes = [
        HealthChange(
            kpi_id=pk,
            organization_id=row["organization_id"],
            before=row["current_health"],
            after=current["current_health"],
        )
        for pk, (row, current) in fresh.items()
        if row["current_health"] != current["current_health"]
    ]
    if changes:
        health_changed.send(sender=KPI, changes=changes)


def current_of(row: dict[str, Any]) -> dict[str, Any]:
    """FIELDS of a KPI from its row with its latest window and scheduled target."""
    value = row["latest_value"]
    if value is None:
        return {
            "current_start": None,
            "current_value": None,
            "current_health": health.Health.NO_DATA,
            "stale_after": None,
        }
    scheduled = row["has_schedule"] is not None
    target = health.Target(
        health.TargetKind(row["target_kind"]),
        row["scheduled_low"] if scheduled else row["target_low"],
        row["scheduled_high"] if scheduled else row["target_high"],
    )
    return {
        "current_start": row["latest_start"],
        "current_value": value,
        "current_health": health.health(value, target, row["tolerance"]),
        "stale_after": row["latest_time"] + stale_delay(row["frequency"]),
    }


def store(kpis: list[KPI]) -> None:
    """Write FIELDS of each KPI: one UPDATE statement run per row (executemany), as
    bulk_update would, without building its CASE per field and row (that took more
    time than the rest of a 1,000-point ingestion's bookkeeping)."""
    if not kpis:
        return
    meta = KPI._meta
    quote = connection.ops.quote_name
    by_name = {f.name: f for f in meta.concrete_fields}
    fields = [by_name[name] for name in FIELDS]
    assignments = ", ".join(f"{quote(str(f.column))} = %s" for f in fields)
    sql = (
        f"UPDATE {quote(meta.db_table)} SET {assignments} "  # noqa: S608  # names from the model, values as parameters
        f"WHERE {quote(str(meta.pk.column))} = %s"
    )
    rows = [
        [f.get_db_prep_save(getattr(kpi, f.attname), connection) for f in fields]
        + [kpi.pk]
        for kpi in kpis
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def stale_delay(frequency: str) -> timedelta:
    """How long after its last point a KPI goes stale (health.is_stale)."""
    f = health.Frequency(frequency)
    return timedelta(days=health.WINDOW_DAYS[f]) + health.GRACE[f]
