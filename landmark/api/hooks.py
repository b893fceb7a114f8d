"""Outgoing webhooks (admins): subscribe URLs to events, read each one's delivery log,
send a delivery again. Requests are signed with the webhook's secret, which only the
creation's answer shows (docs/api.md, "Webhooks")."""

from datetime import datetime
from typing import Annotated, Literal

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from ninja import Field, Path, Query, Router, Schema, Status

from landmark.api.auth import membership_of
from landmark.api.pagination import Cursor, Limit, Page, paginate
from landmark.api.responses import created
from landmark.api.schemas import LEFT_OUT, Filters, Id, In, Patch, Text
from landmark.hooks import actions
from landmark.hooks.access import (
    get_delivery_for_admin,
    get_webhook_for_admin,
    webhooks_of,
)
from landmark.hooks.models import Webhook, WebhookAttempt, WebhookDelivery

router = Router(tags=["webhooks"])

Event = Literal[
    "objective.created",
    "objective.updated",
    "checkin.recorded",
    "kpi.health_changed",
    "period.closed",
    "member.joined",
]
Url = Annotated[str, Field(min_length=1, max_length=500, pattern=r"^[^\x00\s]+$")]
Events = Annotated[list[Event], Field(min_length=1, max_length=6)]


class WebhookOut(Schema):
    id: int
    url: str
    description: str
    events: list[str]
    is_active: bool
    failing_since: datetime | None = Field(
        description="Since when every attempt failed; null when the last succeeded."
    )
    disabled_at: datetime | None
    disabled_reason: str
    created_at: datetime


class WebhookCreated(WebhookOut):
    secret: str = Field(
        description="The signing secret: shown in this answer only, never again."
    )


class WebhookIn(In):
    url: Url = Field(
        description="https:// (http:// unless the server is HTTPS-only); never a private or local address."
    )
    events: Events
    description: Annotated[Text, Field(max_length=200)] = ""


class WebhookPatch(Patch):
    url: Url = LEFT_OUT
    events: Events = LEFT_OUT
    description: Annotated[Text, Field(max_length=200)] = LEFT_OUT
    is_active: bool = Field(
        LEFT_OUT, description="false turns it off; true on again (failures reset)."
    )


class AttemptOut(Schema):
    at: datetime
    status_code: int | None = Field(description="null: no answer (see error).")
    duration_ms: int
    error: str
    manual: bool = Field(description="The attempt an admin's redelivery asked for.")


class DeliveryOut(Schema):
    id: int
    event_id: str = Field(description="The Landmark-Delivery header's value.")
    event: str
    status: Literal["pending", "sent", "failed"]
    attempts: int
    next_attempt_at: datetime
    created_at: datetime
    sent_at: datetime | None
    last_status_code: int | None
    last_error: str
    payload: dict[str, object]
    log: list[AttemptOut] = Field(description="Every attempt, newest first.")

    @staticmethod
    def resolve_log(obj: WebhookDelivery) -> list[WebhookAttempt]:
        return list(obj.log.all())


class WebhookPage(Page[WebhookOut]):
    pass


class DeliveryPage(Page[DeliveryOut]):
    pass


class WebhookFilters(Filters):
    sort: Literal["created_at", "-created_at"] = "created_at"
    limit: int = Limit
    cursor: str | None = Cursor


class DeliveryFilters(Filters):
    status: Literal["pending", "sent", "failed"] | None = None
    sort: Literal["created_at", "-created_at"] = "-created_at"
    limit: int = Limit
    cursor: str | None = Cursor


@router.get("/webhooks", response=WebhookPage, summary="List webhooks (admins)")
def list_webhooks(request: HttpRequest, q: Query[WebhookFilters]) -> dict[str, object]:
    rows = webhooks_of(membership_of(request))
    return paginate(rows, sort=q.sort, cursor=q.cursor, limit=q.limit)


@router.post(
    "/webhooks",
    response={201: WebhookCreated},
    summary="Create a webhook (admins); the answer holds its secret, once",
)
def create_webhook(
    request: HttpRequest, response: HttpResponse, body: WebhookIn
) -> Status[WebhookCreated]:
    membership = membership_of(request)
    webhooks_of(membership)  # admins only
    webhook, secret = actions.create_webhook(
        org=membership.organization,
        url=body.url,
        events=body.events,
        description=body.description,
        created_by=membership.user,
    )
    shown = WebhookCreated.model_validate(
        {**WebhookOut.from_orm(webhook).model_dump(), "secret": secret}
    )
    created(response, "webhooks", webhook)
    return Status(201, shown)


@router.get("/webhooks/{pk}", response=WebhookOut, summary="One webhook (admins)")
def get_webhook(request: HttpRequest, pk: Path[Id]) -> Webhook:
    return get_webhook_for_admin(membership_of(request), pk)


@router.patch(
    "/webhooks/{pk}", response=WebhookOut, summary="Change a webhook (admins)"
)
def update_webhook(request: HttpRequest, pk: Path[Id], body: WebhookPatch) -> Webhook:
    membership = membership_of(request)
    with transaction.atomic():
        webhook = get_webhook_for_admin(membership, pk)
        sent = body.model_dump(exclude_unset=True)
        return actions.update_webhook(webhook=webhook, **sent)


@router.delete(
    "/webhooks/{pk}", response={204: None}, summary="Delete a webhook (admins)"
)
def delete_webhook(request: HttpRequest, pk: Path[Id]) -> Status[None]:
    webhook = get_webhook_for_admin(membership_of(request), pk)
    actions.delete_webhook(webhook=webhook)
    return Status(204, None)


@router.get(
    "/webhooks/{pk}/deliveries",
    response=DeliveryPage,
    summary="A webhook's deliveries and their attempts (admins)",
)
def list_webhook_deliveries(
    request: HttpRequest, pk: Path[Id], q: Query[DeliveryFilters]
) -> dict[str, object]:
    webhook = get_webhook_for_admin(membership_of(request), pk)
    rows = WebhookDelivery.objects.filter(webhook=webhook).prefetch_related("log")
    if q.status is not None:
        rows = rows.filter(status=q.status)
    return paginate(rows, sort=q.sort, cursor=q.cursor, limit=q.limit)


@router.post(
    "/webhook-deliveries/{pk}/redeliver",
    response=DeliveryOut,
    summary="Send a delivery again, after this request (admins)",
)
def redeliver_webhook_delivery(request: HttpRequest, pk: Path[Id]) -> WebhookDelivery:
    delivery = get_delivery_for_admin(membership_of(request), pk)
    actions.redeliver(delivery=delivery)
    return WebhookDelivery.objects.prefetch_related("log").get(pk=delivery.pk)
