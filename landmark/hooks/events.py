"""Events: what happened in an organization, queued for its webhooks.

The receivers of the lower layers' signals (okrs, kpis, orgs; connected in apps.py)
run inside the transaction of the change: they write one WebhookDelivery per active
webhook subscribed to the event, and the sending is enqueued once the transaction
commits (never in the web request). No webhook subscribed: one query, nothing written.

An event's id is made from the event itself (the check-in's id, the objective's id and
the moment it changed…), so the same event written twice is queued once.
"""

import hashlib
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from landmark.hooks.models import Webhook, WebhookDelivery
from landmark.hooks.queue import send_task
from landmark.kpis.models import KPI
from landmark.kpis.signals import HealthChange
from landmark.okrs.models import CheckIn, Objective, Period
from landmark.orgs.models import Membership, Organization

# Retries stop a day after the event.
RETRY_FOR = timedelta(days=1)


def absolute(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def number(value: Decimal | None) -> str | None:
    """Decimals as strings, exactly (as the API writes them)."""
    return None if value is None else format(value.normalize(), "f")


def event_id(*parts: object) -> str:
    return hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()[:32]


def subscribed(organization_id: int, event: str) -> list[Webhook]:
    return [
        hook
        for hook in Webhook.objects.filter(
            organization_id=organization_id, is_active=True
        ).only("pk", "events")
        if event in hook.events
    ]


def emit(
    *,
    organization_id: int,
    event: str,
    key: tuple[object, ...],
    data: Callable[[], dict[str, Any]],
    now: datetime | None = None,
    hooks: list[Webhook] | None = None,
) -> list[int]:
    """Queue `event` for every active webhook of the organization subscribed to it
    (`hooks`, when the caller looked them up already); `data` (the payload's "data")
    is built only when one is. Returns the ids of the deliveries written now."""
    if hooks is None:
        hooks = subscribed(organization_id, event)
    if not hooks:
        return []
    now = now or timezone.now()
    ident = event_id(event, *key)
    org = Organization.objects.only("pk", "name", "slug").get(pk=organization_id)
    payload = {
        "id": ident,
        "event": event,
        "created_at": now.isoformat().replace("+00:00", "Z"),
        "organization": {"id": org.pk, "slug": org.slug, "name": org.name},
        "data": data(),
    }
    WebhookDelivery.objects.bulk_create(
        [
            WebhookDelivery(
                organization_id=organization_id,
                webhook=hook,
                event_id=ident,
                event=event,
                payload=payload,
                next_attempt_at=now,
                give_up_at=now + RETRY_FOR,
                created_at=now,
            )
            for hook in hooks
        ],
        ignore_conflicts=True,  # the same event again: queued once
    )
    ids = list(
        WebhookDelivery.objects.filter(
            webhook__in=hooks, event_id=ident, status=WebhookDelivery.Status.PENDING
        ).values_list("pk", flat=True)
    )
    send_after_commit(ids)
    return ids


def send_after_commit(ids: list[int]) -> None:
    if not ids:
        return
    transaction.on_commit(lambda: send_task(ids), robust=True)


# The events' data


def objective_data(objective: Objective) -> dict[str, Any]:
    return {
        "objective": {
            "id": objective.pk,
            "title": objective.title,
            "state": objective.state,
            "level": objective.level,
            "visibility": objective.visibility,
            "period_id": objective.period_id,
            "team_id": objective.team_id,
            "owner_id": objective.owner_id,
            "parent_id": objective.parent_id,
            "url": absolute(reverse("objective", args=[objective.pk])),
        }
    }


def on_objective_saved(
    sender: object,
    objective: Objective,
    created: bool,
    fields: list[str],
    **kwargs: object,
) -> None:
    event = "objective.created" if created else "objective.updated"

    def data() -> dict[str, Any]:
        found = objective_data(objective)
        if not created:
            found["changed"] = fields
        return found

    emit(
        organization_id=objective.organization_id,
        event=event,
        key=(objective.pk, objective.updated_at.isoformat(), *fields),
        data=data,
    )


def on_checkin(sender: object, checkin: CheckIn, **kwargs: object) -> None:
    def data() -> dict[str, Any]:
        kr = checkin.key_result
        return {
            "checkin": {
                "id": checkin.pk,
                "key_result_id": kr.pk,
                "key_result_title": kr.title,
                "objective_id": kr.objective_id,
                "author_id": checkin.author_id,
                "source": checkin.source,
                "value": number(checkin.value),
                "done": checkin.done,
                "status": checkin.status,
                "confidence": checkin.confidence,
                "created_at": checkin.created_at.isoformat(),
                "url": absolute(reverse("objective", args=[kr.objective_id])),
            }
        }

    emit(
        organization_id=checkin.organization_id,
        event="checkin.recorded",
        key=(checkin.pk,),
        data=data,
    )


def on_health_changed(
    sender: object, changes: list[HealthChange], **kwargs: object
) -> None:
    now = timezone.now()
    # One look-up per organization, however many KPIs an ingestion moved.
    by_org = {
        org_id: subscribed(org_id, "kpi.health_changed")
        for org_id in {change.organization_id for change in changes}
    }
    for change in changes:
        if not by_org[change.organization_id]:
            continue

        def data(change: HealthChange = change) -> dict[str, Any]:
            kpi = KPI.objects.only("pk", "name", "current_value").get(pk=change.kpi_id)
            return {
                "kpi": {
                    "id": kpi.pk,
                    "name": kpi.name,
                    "value": number(kpi.current_value),
                    "url": absolute(reverse("kpi", args=[kpi.pk])),
                },
                "health": {"before": change.before, "after": change.after},
            }

        emit(
            organization_id=change.organization_id,
            event="kpi.health_changed",
            key=(change.kpi_id, change.before, change.after, now.isoformat()),
            data=data,
            now=now,
            hooks=by_org[change.organization_id],
        )


def on_period_closed(sender: object, period: Period, **kwargs: object) -> None:
    def data() -> dict[str, Any]:
        return {
            "period": {
                "id": period.pk,
                "name": period.name,
                "start": period.start.isoformat(),
                "end": period.end.isoformat(),
                "closed_at": period.closed_at.isoformat() if period.closed_at else None,
            }
        }

    emit(
        organization_id=period.organization_id,
        event="period.closed",
        key=(period.pk, period.closed_at),
        data=data,
    )


def on_member_joined(sender: object, membership: Membership, **kwargs: object) -> None:
    def data() -> dict[str, Any]:
        return {
            "member": {
                "id": membership.pk,
                "user_id": membership.user_id,
                "name": membership.user.display_name,
                "role": membership.role,
            }
        }

    emit(
        organization_id=membership.organization_id,
        event="member.joined",
        key=(membership.pk, timezone.now().isoformat()),
        data=data,
    )
