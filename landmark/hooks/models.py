"""Outgoing webhooks: an organization's subscriptions, the events queued for each,
and every attempt to send them (the delivery log).

An event is written as one WebhookDelivery per subscribed webhook, in the transaction
of the change that caused it, and sent after it commits by a worker (hooks.sending).
A delivery is unique per webhook and event id, so writing an event twice (a job run
twice) queues it once; it is claimed with a lease before sending, so two workers do
not send it twice at once.
"""

from django.db import models
from django.utils import timezone

from landmark.lib.encryption import SealedField
from landmark.orgs.models import Organization, User

# The events a webhook may subscribe to, with what the settings page says of each.
EVENTS: dict[str, str] = {
    "objective.created": "An objective is created",
    "objective.updated": "An objective is changed",
    "checkin.recorded": "A check-in is recorded on a key result",
    "kpi.health_changed": "A KPI's health changes (healthy, warning, unhealthy…)",
    "period.closed": "A period is closed and its objectives graded",
    "member.joined": "Someone joins the organization",
    "comment.created": "A comment is posted on an objective, key result or KPI",
}


class Webhook(models.Model):
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="+"
    )
    url = models.CharField(max_length=500)
    description = models.CharField(max_length=200, blank=True)
    events = models.JSONField(default=list)
    # The signing key (HMAC-SHA256), encrypted at rest; shown once, at creation.
    secret = SealedField()
    is_active = models.BooleanField(default=True)
    # Since when every attempt failed (None: the last one succeeded, or none yet).
    failing_since = models.DateTimeField(null=True, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.url


class WebhookDelivery(models.Model):
    """One event for one webhook: its payload, its state, its attempts."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to be sent"
        SENT = "sent", "Delivered"
        FAILED = "failed", "Gave up"

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="+"
    )
    webhook = models.ForeignKey(
        Webhook, on_delete=models.CASCADE, related_name="deliveries"
    )
    # The event's id (the same for every webhook it goes to), sent in Landmark-Delivery
    # ... with this webhook's pk: unique per webhook.
    event_id = models.CharField(max_length=64)
    event = models.CharField(max_length=40)
    payload = models.JSONField()
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    # Retries stop after this moment (a day after the event, or after a redelivery).
    give_up_at = models.DateTimeField()
    claim = models.CharField(max_length=32, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    # An admin asked to send it again (Redeliver): its next attempt is marked manual.
    redelivery_requested = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["webhook", "event_id"], name="one_delivery_per_event"
            )
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(status="pending"),
                name="webhook_delivery_due",
            ),
            models.Index(
                fields=["webhook", "-created_at"], name="webhook_delivery_log"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event} to webhook {self.webhook_id}: {self.status}"


class WebhookAttempt(models.Model):
    """One HTTP request of a delivery: what the receiver answered and how long it took
    (or the error: a refused address, a timeout, a connection reset)."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="+"
    )
    delivery = models.ForeignKey(
        WebhookDelivery, on_delete=models.CASCADE, related_name="log"
    )
    at = models.DateTimeField(default=timezone.now)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    manual = models.BooleanField(default=False)

    class Meta:
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"{self.status_code or self.error[:40]}"

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300
