"""KPI alerts: a KPI's owner and watchers are told when it turns unhealthy, goes stale
or recovers, once per change, and only once the change has held.

A KPI's alert state (KPIAlertState) remembers what was last told. Each look at the KPI
(the `kpi-alerts` job every minute, and the `values_changed` signal in the transaction
that wrote new values) compares its health now, read with KPIQuerySet.with_health as
the dashboard reads it, with that: a different state becomes *pending*, and is told
once it has held for the organization's hold time (ReminderSettings.alert_hold_minutes,
an hour by default). A value that flaps back within the hold time restarts the wait,
so a flapping KPI sends no storm. With a hold time of 0 the change is told at once, by
the signal, in the writing transaction.

Healthy is "ok"; unhealthy and stale are told; a warning, no data or no target moves
nothing (they clear a pending change). A KPI first seen healthy starts silently. Every
move of the state is a conditional UPDATE, and the alert's dedupe key carries the
state's change number, so two workers (or a rerun) tell nothing twice.
"""

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from landmark.kpis.health import HEALTH_LABELS, Health
from landmark.kpis.models import KPI
from landmark.lib import numbers
from landmark.notify.actions import Note, notify
from landmark.notify.kinds import KPI_RECOVERED, KPI_STALE, KPI_UNHEALTHY
from landmark.notify.models import KPIAlertState, KPIWatch, ReminderSettings
from landmark.orgs.models import Membership, Organization

OK = KPIAlertState.State.OK
UNHEALTHY = KPIAlertState.State.UNHEALTHY
STALE = KPIAlertState.State.STALE
DEFAULT_HOLD_MINUTES = 60

STATE_OF_HEALTH: dict[str, str] = {
    Health.HEALTHY: OK,
    Health.UNHEALTHY: UNHEALTHY,
    Health.STALE: STALE,
}
ROW_FIELDS = (
    "pk",
    "organization_id",
    "name",
    "owner_id",
    "health",
    "current_value",
    "unit",
)


def state_of(health: str) -> str:
    """The alert state of a health ("" for those that move nothing)."""
    return STATE_OF_HEALTH.get(health, "")


@dataclass(frozen=True)
class Told:
    kpi_id: int
    kind: str
    recipients: int


def hold_of(settings: ReminderSettings | None) -> timedelta:
    minutes = settings.alert_hold_minutes if settings else DEFAULT_HOLD_MINUTES
    return timedelta(minutes=minutes)


def run_kpi_alerts(now: datetime | None = None) -> list[Told]:
    """Look at every KPI of every organization (the `kpi-alerts` job): a few queries
    per organization, whatever the number of KPIs, one transaction each."""
    now = now or timezone.now()
    saved = {s.organization_id: s for s in ReminderSettings.objects.all()}
    told: list[Told] = []
    for org in Organization.objects.all():
        rows = list(
            KPI.objects.for_org(org)
            .filter(archived=False)
            .with_health(now)
            .values(*ROW_FIELDS)
        )
        if rows:
            with transaction.atomic():
                told += observe(org.pk, rows, now, hold_of(saved.get(org.pk)))
    return told


def on_values_changed(sender: object, kpis: Sequence[KPI], **kwargs: Any) -> None:
    """kpis.signals.values_changed, in the writing transaction: note when the KPIs'
    health changed (and, with a hold time of 0, tell it now). Three queries when
    nothing changes, whatever the number of KPIs."""
    by_org: dict[int, list[int]] = defaultdict(list)
    for kpi in kpis:
        by_org[kpi.organization_id].append(kpi.pk)
    now = timezone.now()
    for org_id, ids in by_org.items():
        rows = list(
            KPI.objects.filter(organization_id=org_id, pk__in=ids, archived=False)
            .with_health(now)
            .values(*ROW_FIELDS)
        )
        settings = ReminderSettings.objects.filter(organization_id=org_id).first()
        observe(org_id, rows, now, hold_of(settings))


def observe(
    org_id: int,
    rows: Sequence[Mapping[str, Any]],
    now: datetime,
    hold: timedelta,
) -> list[Told]:
    """Move these KPIs' alert states on from their health at `now`; write the alerts
    of changes that held (sent after the caller's transaction commits)."""
    ids = [int(row["pk"]) for row in rows]
    states = {s.kpi_id: s for s in KPIAlertState.objects.filter(kpi_id__in=ids)}
    missing = [
        KPIAlertState(organization_id=org_id, kpi_id=int(row["pk"]))
        for row in rows
        if int(row["pk"]) not in states and state_of(str(row["health"]))
    ]
    if missing:
        KPIAlertState.objects.bulk_create(missing, ignore_conflicts=True)
        states.update(
            (s.kpi_id, s)
            for s in KPIAlertState.objects.filter(
                kpi_id__in=[m.kpi_id for m in missing]
            )
        )
    due: list[tuple[Mapping[str, Any], KPIAlertState, str]] = []
    for row in rows:
        state = states.get(int(row["pk"]))
        if state is None:
            continue
        seen = state_of(str(row["health"]))
        mine = KPIAlertState.objects.filter(pk=state.pk)
        if not seen or seen == state.announced:
            if state.pending:
                mine.filter(pending=state.pending).update(
                    pending="", pending_since=None
                )
            continue
        if seen == OK and not state.announced:
            # First seen healthy: nothing to tell.
            mine.filter(announced="", changes=state.changes).update(
                announced=OK, pending="", pending_since=None
            )
            continue
        since = state.pending_since
        if seen != state.pending or since is None:
            mine.filter(pending=state.pending).update(pending=seen, pending_since=now)
            since = now
        if now - since >= hold:
            due.append((row, state, seen))
    if not due:
        return []
    org = Organization.objects.get(pk=org_id)
    told = []
    notes: list[Note] = []
    for row, state, seen in due:
        # Conditional: another worker that told this change first wins.
        moved = KPIAlertState.objects.filter(
            pk=state.pk, announced=state.announced, changes=state.changes
        ).update(
            announced=seen,
            announced_at=now,
            pending="",
            pending_since=None,
            changes=F("changes") + 1,
        )
        if moved != 1:
            continue
        kind = (
            KPI_RECOVERED.key
            if seen == OK
            else (KPI_UNHEALTHY.key if seen == UNHEALTHY else KPI_STALE.key)
        )
        recipients = recipients_of(org, row)
        notes += [
            alert_note(org, row, kind, state.changes + 1, user_id)
            for user_id in recipients
        ]
        told.append(Told(int(row["pk"]), kind, len(recipients)))
    if notes:
        notify(org=org, notes=notes)
    return told


def recipients_of(org: Organization, row: Mapping[str, Any]) -> list[int]:
    """The KPI's owner and watchers who are active members and may see it (the one
    visibility rule: KPIQuerySet.visible_to)."""
    wanted = set(
        KPIWatch.objects.filter(organization=org, kpi_id=row["pk"]).values_list(
            "user_id", flat=True
        )
    )
    if row["owner_id"]:
        wanted.add(int(row["owner_id"]))
    members = Membership.objects.filter(
        organization=org, user_id__in=wanted, is_active=True, user__is_active=True
    ).select_related("organization")
    return sorted(
        m.user_id
        for m in members
        if KPI.objects.filter(pk=row["pk"]).visible_to(m).exists()
    )


def alert_note(
    org: Organization,
    row: Mapping[str, Any],
    kind: str,
    change: int,
    user_id: int,
) -> Note:
    name = str(row["name"])
    url = reverse("kpi", args=[row["pk"]])
    value = row["current_value"]
    unit = str(row["unit"] or "")
    now_label = HEALTH_LABELS[Health(str(row["health"]))].lower()
    shown = numbers.amount(value, unit, org.locale) if value is not None else "no value"
    title = {
        KPI_UNHEALTHY.key: f"{name} turned unhealthy",
        KPI_STALE.key: f"{name} went stale",
        KPI_RECOVERED.key: f"{name} recovered",
    }[kind]
    body = (
        f"{name} is {now_label} (current value: {shown})."
        if kind != KPI_STALE.key
        else f"{name} has had no new data within its window and grace."
    )
    items: list[dict[str, str]] = [
        {
            "title": f"Open {name}",
            "url": url,
            "detail": "Its values, target and history",
        }
    ]
    if kind != KPI_RECOVERED.key:
        items.append(
            {
                "title": "Fix with an OKR",
                "url": f"{url}#fix-with-okr",
                "detail": "Draft an objective that brings it back to its target",
                "post": reverse("kpi_fix_with_okr", args=[row["pk"]]),
            }
        )
    return Note(
        recipient_id=user_id,
        kind=kind,
        dedupe_key=f"{kind}:{org.pk}:{row['pk']}:{change}:{user_id}",
        title=title,
        body=body,
        url=url,
        items=items,
    )
