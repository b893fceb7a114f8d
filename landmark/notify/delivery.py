"""Sending deliveries: claim, send, record. Safe to run anywhere, any number of times.

A worker claims a batch of due deliveries with one conditional UPDATE (a token and a
lease), sends each through its channel, and marks each sent as soon as it is: only a
delivery still under its claim is marked. A failure is recorded on the delivery (the
error, when, the next attempt after a growing pause) where admins see it, and a later
run tries again; after MAX_ATTEMPTS it is given up. A worker killed mid-batch leaves its
claims to expire (NOTIFY_LEASE_SECONDS); then any worker sends what it had not marked.
A worker still sending when half its lease has passed renews the claim on the rest.
Deliveries whose recipient turned the kind off since, or left the organization, are
skipped, not sent.
"""

import secrets
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from django.conf import settings
from django.db import connection
from django.db.models import Q, QuerySet
from django.utils import timezone

from landmark.jobs.registry import describe_error
from landmark.lib.db import unsynced_commits
from landmark.notify.channels import CHANNELS
from landmark.notify.models import Delivery, Preference
from landmark.orgs.models import Membership

# The pause before each retry: 1 minute, 5, 15, an hour, 3 hours; then it is given up.
BACKOFF = [timedelta(minutes=m) for m in (1, 5, 15, 60, 180)]
MAX_ATTEMPTS = len(BACKOFF) + 1
BATCH = 100


# Columns of a claimed delivery's rows that sending never reads (channels read the
# notification, its recipient's name and address, and the organization's name).
UNREAD = (
    "claimed_until",
    "sent_at",
    "last_error",
    "last_error_at",
    "notification__recipient__password",
    "notification__recipient__last_login",
    "notification__recipient__date_joined",
    "notification__organization__created_at",
    "notification__organization__time_zone_changed_at",
    "notification__organization__on_track_gap",
    "notification__organization__off_track_gap",
    "notification__organization__getting_started_dismissed_at",
)


@dataclass
class Outcome:
    claimed: int = 0
    sent: int = 0
    failed: int = 0
    skipped: int = 0

    def add(self, other: "Outcome") -> None:
        self.claimed += other.claimed
        self.sent += other.sent
        self.failed += other.failed
        self.skipped += other.skipped


def lease() -> timedelta:
    return timedelta(seconds=settings.NOTIFY_LEASE_SECONDS)


def unclaimed(now: datetime) -> Q:
    return Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)


def due(channel: str, now: datetime) -> "QuerySet[Delivery]":
    return Delivery.objects.filter(
        unclaimed(now),
        channel=channel,
        status=Delivery.Status.PENDING,
        next_attempt_at__lte=now,
    )


def claim(
    *,
    channel: str,
    now: datetime,
    notification_ids: Sequence[int] | None,
    limit: int,
) -> str | None:
    """Claim up to `limit` due deliveries; the claim's token, or None if none."""
    candidates = due(channel, now)
    if notification_ids is not None:
        candidates = candidates.filter(notification_id__in=list(notification_ids))
    ids = list(
        candidates.order_by("next_attempt_at", "pk").values_list("pk", flat=True)[
            :limit
        ]
    )
    if not ids:
        return None
    token = secrets.token_hex(16)
    # Conditional: a delivery another worker claimed meanwhile is not taken.
    taken = (
        Delivery.objects.filter(unclaimed(now), pk__in=ids)
        .filter(status=Delivery.Status.PENDING)
        .update(claim=token, claimed_until=now + lease())
    )
    return token if taken else None


def deliver(
    *,
    channel: str,
    notification_ids: Sequence[int] | None = None,
    now: datetime | None = None,
    limit: int = BATCH,
) -> Outcome:
    """Send one batch of due deliveries on `channel` (those of `notification_ids`
    only, when given)."""
    now = now or timezone.now()
    outcome = Outcome()
    token = claim(
        channel=channel, now=now, notification_ids=notification_ids, limit=limit
    )
    if token is None:
        return outcome
    rows = list(
        Delivery.objects.filter(claim=token, status=Delivery.Status.PENDING)
        .select_related("notification__recipient", "notification__organization")
        # What no channel reads: converting SQLite's dates and decimals of three rows
        # per delivery cost more than the query.
        .defer(*UNREAD)
        .order_by("pk")
    )
    outcome.claimed = len(rows)
    blocked = turned_off(rows, channel)
    if blocked:
        Delivery.objects.filter(pk__in=blocked, claim=token).update(
            status=Delivery.Status.SKIPPED, claim="", claimed_until=None
        )
        outcome.skipped = len(blocked)
    to_send = [row for row in rows if row.pk not in blocked]
    if not to_send:
        return outcome
    with ExitStack() as stack:
        # Each email is marked sent as soon as the server took it, one commit each:
        # commits that need not wait for the disk (a power cut may forget a mark,
        # and the email then goes again; a killed worker forgets none).
        stack.enter_context(unsynced_commits())
        try:
            sender = stack.enter_context(CHANNELS[channel].session())
        except Exception as error:  # the server is down: every delivery waits
            for row in to_send:
                record_failure(row, token, error, now)
            outcome.failed = len(to_send)
            return outcome
        renew_at = now + lease() / 2
        held = {row.pk for row in to_send}
        for row in to_send:
            if timezone.now() >= renew_at:
                # A long batch keeps its claim on what it has not sent yet; what
                # another worker took over meanwhile (this claim had lapsed) is
                # left to that worker.
                held = renew(token, held)
                renew_at = timezone.now() + lease() / 2
            if row.pk not in held:
                continue
            try:
                sender.send(row)
            except Exception as error:  # one refused message does not stop the rest
                record_failure(row, token, error, now)
                outcome.failed += 1
            else:
                mark_sent(row.pk, token)
                outcome.sent += 1
            held.discard(row.pk)
    return outcome


@lru_cache(maxsize=4)
def mark_sent_sql(vendor: str) -> str:
    """The UPDATE that marks one delivery sent, if this claim still holds it. Written
    out once (names from the model, values as parameters): it runs once per email,
    and building it with the ORM each time cost more than running it."""
    meta = Delivery._meta
    quote = connection.ops.quote_name
    column = {f.name: quote(f.column) for f in meta.concrete_fields}
    return (
        f"UPDATE {quote(meta.db_table)} SET {column['status']} = %s, "  # noqa: S608  # names from the model
        f"{column['sent_at']} = %s, {column['attempts']} = {column['attempts']} + 1, "
        f"{column['claim']} = '', {column['claimed_until']} = NULL "
        f"WHERE {column['id']} = %s AND {column['claim']} = %s"
    )


def mark_sent(pk: int, token: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            mark_sent_sql(connection.vendor),
            [Delivery.Status.SENT, timezone.now(), pk, token],
        )


def renew(token: str, held: set[int]) -> set[int]:
    """Extend this claim on the deliveries still to send; those still held."""
    Delivery.objects.filter(
        pk__in=held, claim=token, status=Delivery.Status.PENDING
    ).update(claimed_until=timezone.now() + lease())
    return set(
        Delivery.objects.filter(
            pk__in=held, claim=token, status=Delivery.Status.PENDING
        ).values_list("pk", flat=True)
    )


def deliver_all_due(*, now: datetime | None = None, max_batches: int = 50) -> Outcome:
    """Send what is due on every channel, batch after batch (the `deliveries` job)."""
    total = Outcome()
    for channel in CHANNELS:
        for _ in range(max_batches):
            outcome = deliver(channel=channel, now=now)
            total.add(outcome)
            if outcome.claimed == 0:
                break
    return total


def turned_off(rows: list[Delivery], channel: str) -> set[int]:
    """The deliveries not to send: the recipient turned this kind off on this channel
    since, or is no longer an active member (or account) of the organization."""
    orgs = {row.organization_id for row in rows}
    users = {row.notification.recipient_id for row in rows}
    active = set(
        Membership.objects.filter(
            organization_id__in=orgs,
            user_id__in=users,
            is_active=True,
            user__is_active=True,
        ).values_list("organization_id", "user_id")
    )
    off = set(
        Preference.objects.filter(
            organization_id__in=orgs,
            user_id__in=users,
            channel=channel,
            enabled=False,
        ).values_list("organization_id", "user_id", "kind")
    )
    blocked = set()
    for row in rows:
        who = (row.organization_id, row.notification.recipient_id)
        if who not in active or (*who, row.notification.kind) in off:
            blocked.add(row.pk)
    return blocked


def record_failure(
    row: Delivery, token: str, error: BaseException, now: datetime
) -> None:
    attempts = row.attempts + 1
    gave_up = attempts >= MAX_ATTEMPTS
    Delivery.objects.filter(pk=row.pk, claim=token).update(
        attempts=attempts,
        status=Delivery.Status.FAILED if gave_up else Delivery.Status.PENDING,
        next_attempt_at=now if gave_up else now + BACKOFF[attempts - 1],
        last_error=describe_error(error),
        last_error_at=now,
        claim="",
        claimed_until=None,
    )
