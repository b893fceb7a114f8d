"""Writes of the hooks app: webhooks created, changed, turned on or off, deleted, and
deliveries sent again. Every URL passes the SSRF guard when saved (and again at each
send: a name may resolve elsewhere later)."""

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from landmark.hooks.events import RETRY_FOR, send_after_commit
from landmark.hooks.models import EVENTS, Webhook, WebhookDelivery
from landmark.hooks.signing import new_secret
from landmark.lib import outbound
from landmark.lib.encryption import Sealed
from landmark.orgs.models import Organization, User

MAX_WEBHOOKS = 20


def check_url(url: str) -> str:
    url = url.strip()
    if not url:
        raise ValidationError({"url": "Enter the address to send events to."})
    if len(url) > 500:
        raise ValidationError({"url": "Keep the address under 500 characters."})
    try:
        outbound.check_url(url)
    except outbound.Refused as refused:
        raise ValidationError({"url": refused.reason}) from None
    return url


def check_events(events: Iterable[str]) -> list[str]:
    chosen = sorted(set(events))
    unknown = [e for e in chosen if e not in EVENTS]
    if unknown:
        raise ValidationError({"events": f"Unknown events: {', '.join(unknown)}."})
    if not chosen:
        raise ValidationError({"events": "Choose at least one event."})
    return chosen


@transaction.atomic
def create_webhook(
    *,
    org: Organization,
    url: str,
    events: Iterable[str],
    description: str = "",
    created_by: User | None = None,
) -> tuple[Webhook, str]:
    """A new webhook and its signing secret in clear (shown once: only the encrypted
    copy is kept)."""
    events = list(events)
    errors: dict[str, list[str]] = {}
    try:
        check_url(url)
    except ValidationError as error:
        errors.update(error.message_dict)
    try:
        check_events(events)
    except ValidationError as error:
        errors.update(error.message_dict)
    if errors:
        raise ValidationError(errors)
    if Webhook.objects.filter(organization=org).count() >= MAX_WEBHOOKS:
        raise ValidationError(
            f"An organization has at most {MAX_WEBHOOKS} webhooks; delete one first."
        )
    secret = new_secret()
    webhook = Webhook.objects.create(
        organization=org,
        url=check_url(url),
        events=check_events(events),
        description=description.strip()[:200],
        secret=Sealed.seal(secret),
        created_by=created_by,
    )
    return webhook, secret


@transaction.atomic
def update_webhook(
    *,
    webhook: Webhook,
    url: str | None = None,
    events: Iterable[str] | None = None,
    description: str | None = None,
    is_active: bool | None = None,
) -> Webhook:
    errors: dict[str, list[str]] = {}
    changed: list[str] = []
    if url is not None:
        try:
            webhook.url = check_url(url)
            changed.append("url")
        except ValidationError as error:
            errors.update(error.message_dict)
    if events is not None:
        try:
            webhook.events = check_events(events)
            changed.append("events")
        except ValidationError as error:
            errors.update(error.message_dict)
    if errors:
        raise ValidationError(errors)
    if description is not None:
        webhook.description = description.strip()[:200]
        changed.append("description")
    if is_active is not None and is_active != webhook.is_active:
        webhook.is_active = is_active
        changed.append("is_active")
        if is_active:  # on again: failures start over
            webhook.failing_since = None
            webhook.disabled_at = None
            webhook.disabled_reason = ""
        else:
            webhook.disabled_at = timezone.now()
            webhook.disabled_reason = "Turned off by an admin."
        changed += ["failing_since", "disabled_at", "disabled_reason"]
    if changed:
        webhook.save(update_fields=changed)
    return webhook


@transaction.atomic
def delete_webhook(*, webhook: Webhook) -> None:
    webhook.delete()


@transaction.atomic
def redeliver(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send a delivery again (the same event id and payload, so a receiver that keeps
    the ids it saw can tell), now and with a day of retries; after it commits."""
    webhook = delivery.webhook
    if not webhook.is_active:
        raise ValidationError("This webhook is off: turn it on to redeliver.")
    now = timezone.now()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=WebhookDelivery.Status.PENDING,
        next_attempt_at=now,
        give_up_at=now + RETRY_FOR,
        claim="",
        claimed_until=None,
        redelivery_requested=True,
    )
    send_after_commit([delivery.pk])
    delivery.refresh_from_db()
    return delivery
