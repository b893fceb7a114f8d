"""Sending webhook deliveries: claim, POST, record. Safe to run anywhere, any number
of times.

A worker claims a batch of due deliveries with one conditional UPDATE (a token and a
lease), POSTs each through the SSRF guard (landmark.lib.outbound), and records every
attempt (the answer's status code and how long it took, or the error). A 2xx answer
delivers it; anything else is retried after a pause that doubles (1 minute, 2, 4…, at
most 4 hours) until a day has passed since the event (or since an admin asked to
redeliver it), then given up. A webhook whose every attempt failed for a day is turned
off, and the organization's admins get an email.
"""

import json
import logging
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import requests
from django.conf import settings
from django.core.mail import send_mail
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from landmark.hooks.models import Webhook, WebhookAttempt, WebhookDelivery
from landmark.hooks.signing import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    signature,
)
from landmark.jobs.registry import describe_error
from landmark.lib import outbound
from landmark.orgs.models import Membership

logger = logging.getLogger(__name__)

BATCH = 50
LONGEST_PAUSE = timedelta(hours=4)
# A webhook whose every attempt failed for this long is turned off.
DISABLE_AFTER = timedelta(days=1)
# What is kept of a receiver's error in the log.
ERROR_CHARS = 500


@dataclass
class Outcome:
    claimed: int = 0
    sent: int = 0
    failed: int = 0
    disabled: int = 0


def pause(attempts: int) -> timedelta:
    """The wait after the n-th failed attempt: 1, 2, 4, 8… minutes, at most 4 hours."""
    return min(timedelta(minutes=2 ** min(attempts - 1, 16)), LONGEST_PAUSE)


def lease() -> timedelta:
    return timedelta(seconds=settings.NOTIFY_LEASE_SECONDS)


def unclaimed(now: datetime) -> Q:
    return Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)


def claim(*, now: datetime, ids: Sequence[int] | None, limit: int) -> str | None:
    candidates = WebhookDelivery.objects.filter(
        unclaimed(now),
        status=WebhookDelivery.Status.PENDING,
        next_attempt_at__lte=now,
        webhook__is_active=True,
    )
    if ids is not None:
        candidates = candidates.filter(pk__in=list(ids))
    chosen = list(
        candidates.order_by("next_attempt_at", "pk").values_list("pk", flat=True)[
            :limit
        ]
    )
    if not chosen:
        return None
    token = secrets.token_hex(16)
    taken = WebhookDelivery.objects.filter(
        unclaimed(now), pk__in=chosen, status=WebhookDelivery.Status.PENDING
    ).update(claim=token, claimed_until=now + lease())
    return token if taken else None


def send_due(
    *,
    ids: Sequence[int] | None = None,
    now: datetime | None = None,
    limit: int = BATCH,
) -> Outcome:
    """Send one batch of due deliveries (those of `ids` only, when given)."""
    now = now or timezone.now()
    outcome = Outcome()
    token = claim(now=now, ids=ids, limit=limit)
    if token is None:
        return outcome
    rows = list(
        WebhookDelivery.objects.filter(
            claim=token, status=WebhookDelivery.Status.PENDING
        )
        .select_related("webhook")
        .order_by("pk")
    )
    outcome.claimed = len(rows)
    with outbound.session() as http:
        for row in rows:
            result = send_one(http, row, token, now)
            if result == SENT:
                outcome.sent += 1
            else:
                outcome.failed += 1
                if disable_if_failing(row.webhook, now, gave_up=result == GAVE_UP):
                    outcome.disabled += 1
    return outcome


def send_all_due(*, now: datetime | None = None, max_batches: int = 20) -> Outcome:
    """The `webhooks` job: everything due, batch after batch."""
    total = Outcome()
    for _ in range(max_batches):
        outcome = send_due(now=now)
        total.claimed += outcome.claimed
        total.sent += outcome.sent
        total.failed += outcome.failed
        total.disabled += outcome.disabled
        if outcome.claimed == 0:
            break
    return total


def request_of(row: WebhookDelivery) -> tuple[dict[str, str], bytes]:
    body = json.dumps(row.payload, separators=(",", ":"), sort_keys=True).encode()
    stamp = int(timezone.now().timestamp())
    secret = row.webhook.secret.reveal() if row.webhook.secret else ""
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Landmark-Webhooks",
        EVENT_HEADER: row.event,
        DELIVERY_HEADER: row.event_id,
        TIMESTAMP_HEADER: str(stamp),
        SIGNATURE_HEADER: signature(secret, stamp, body),
    }
    return headers, body


SENT, RETRY, GAVE_UP = "sent", "retry", "gave_up"


def send_one(
    http: requests.Session, row: WebhookDelivery, token: str, now: datetime
) -> str:
    """POST one delivery and record the attempt: SENT (the receiver took it), RETRY
    (later) or GAVE_UP (its day of retries is over)."""
    headers, body = request_of(row)
    started = time.perf_counter()
    code: int | None = None
    error = ""
    try:
        response = http.post(
            row.webhook.url, data=body, headers=headers, allow_redirects=False
        )
        code = response.status_code
        if not 200 <= code < 300:
            error = f"HTTP {code}: {response.text[:ERROR_CHARS]}".strip()
    except outbound.Refused as refused:
        error = refused.reason
    except requests.RequestException as failure:
        error = describe_error(failure)[:ERROR_CHARS]
    duration = max(0, round((time.perf_counter() - started) * 1000))
    WebhookAttempt.objects.create(
        organization_id=row.organization_id,
        delivery=row,
        at=timezone.now(),
        status_code=code,
        duration_ms=duration,
        error=error,
        manual=row.redelivery_requested,
    )
    mine = WebhookDelivery.objects.filter(pk=row.pk, claim=token)
    attempts = row.attempts + 1
    if not error:
        mine.update(
            status=WebhookDelivery.Status.SENT,
            attempts=attempts,
            sent_at=timezone.now(),
            last_status_code=code,
            last_error="",
            claim="",
            claimed_until=None,
            redelivery_requested=False,
        )
        Webhook.objects.filter(pk=row.webhook_id).update(failing_since=None)
        return SENT
    retry_at = now + pause(attempts)
    gave_up = retry_at > row.give_up_at
    mine.update(
        status=WebhookDelivery.Status.FAILED
        if gave_up
        else WebhookDelivery.Status.PENDING,
        attempts=attempts,
        next_attempt_at=now if gave_up else retry_at,
        last_status_code=code,
        last_error=error,
        claim="",
        claimed_until=None,
        redelivery_requested=False,
    )
    Webhook.objects.filter(pk=row.webhook_id, failing_since__isnull=True).update(
        failing_since=now
    )
    return GAVE_UP if gave_up else RETRY


def disable_if_failing(webhook: Webhook, now: datetime, *, gave_up: bool) -> bool:
    """Turn the webhook off once every attempt failed for DISABLE_AFTER, or a delivery
    was given up with no success since (its day of retries all failed), and tell the
    organization's admins by email (once: the update is conditional)."""
    reason = (
        f"Turned off by Landmark on {now:%Y-%m-%d %H:%M} UTC: every delivery failed "
        f"for a day."
    )
    failing = Webhook.objects.filter(pk=webhook.pk, is_active=True)
    if not gave_up:
        failing = failing.filter(failing_since__lte=now - DISABLE_AFTER)
    turned_off = failing.filter(failing_since__isnull=False).update(
        is_active=False, disabled_at=now, disabled_reason=reason
    )
    if not turned_off:
        return False
    webhook.refresh_from_db()
    tell_admins(webhook)
    return True


def tell_admins(webhook: Webhook) -> None:
    admins = Membership.objects.filter(
        organization_id=webhook.organization_id,
        is_active=True,
        user__is_active=True,
        role__in=[Membership.Role.ADMIN, Membership.Role.OWNER],
    ).select_related("user", "organization")
    addresses = sorted({m.user.email for m in admins})
    if not addresses:
        return
    org = admins[0].organization
    last = (
        WebhookDelivery.objects.filter(webhook=webhook)
        .exclude(last_error="")
        .order_by("-next_attempt_at")
        .values_list("last_error", flat=True)
        .first()
    )
    link = f"{settings.SITE_URL}{reverse('webhook_detail', args=[webhook.pk])}"
    try:
        send_mail(
            subject=f"[{org.name}] A webhook was turned off",
            message=(
                f"Landmark turned off the webhook to {webhook.url}: every delivery to "
                f"it failed for a day.\n\n"
                f"Last error: {last or 'none recorded'}\n\n"
                f"Fix the receiver, then turn the webhook on again and redeliver what "
                f"it missed: {link}\n"
            ),
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=addresses,
        )
    except Exception:  # the webhook stays off and says why on its page
        logger.exception("Could not email the admins about webhook %s.", webhook.pk)
