"""Notifications: what Landmark tells people, how it reaches them, and what they chose.

An event becomes one Notification per recipient (shown in the app: the bell and the
notifications page) and one Delivery per outside channel the recipient keeps on for
its kind (email today; chat and webhooks plug in as channels). Both are written in the
transaction of the change that caused them and sent after it commits, by a worker.

A notification's `dedupe_key` names the event and its recipient: written twice (a job
run twice, two workers), the second write adds nothing, and a delivery is unique per
notification and channel, so nothing is sent twice by a rerun. A delivery is claimed
with a lease before it is sent and marked sent after; a worker killed mid-send leaves
its claim to expire and another worker sends it (at-least-once; docs/notifications.md).
"""

from datetime import time

from django.db import models
from django.utils import timezone

from landmark.kpis.models import KPI
from landmark.lib.encryption import SealedField
from landmark.orgs.models import Organization, Team, User
from landmark.orgs.models import default_time_zone as orgs_default_time_zone


class NotificationQuerySet(models.QuerySet["Notification"]):
    def for_member(self, organization_id: int, user_id: int) -> "NotificationQuerySet":
        """One person's notifications in one organization (never anyone else's)."""
        return self.filter(organization_id=organization_id, recipient_id=user_id)

    def unread(self) -> "NotificationQuerySet":
        return self.filter(read_at__isnull=True)


class Notification(models.Model):
    """Something Landmark tells one person in one organization."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="+"
    )
    recipient = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=40)
    # The event and the recipient, e.g. "checkin_reminder:3:org:20260511T0900:17".
    dedupe_key = models.CharField(max_length=200, unique=True)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    # Where the notification leads (a path on this site), and the things it lists:
    # [{"title": ..., "url": ..., "detail": ...}], at most MAX_ITEMS of them.
    url = models.CharField(max_length=500, blank=True)
    items = models.JSONField(default=list, blank=True)
    more_items = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    objects = NotificationQuerySet.as_manager()

    MAX_ITEMS = 20

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(
                fields=["organization", "recipient", "-created_at"],
                name="notification_inbox",
            ),
            models.Index(
                fields=["organization", "recipient"],
                condition=models.Q(read_at__isnull=True),
                name="notification_unread",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_read(self) -> bool:
        return self.read_at is not None


class Delivery(models.Model):
    """One notification sent on one outside channel: its state, attempts and error."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to be sent"
        SENT = "sent", "Sent"
        FAILED = "failed", "Gave up"
        SKIPPED = "skipped", "Not sent (turned off)"

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="+"
    )
    notification = models.ForeignKey(
        Notification, on_delete=models.CASCADE, related_name="deliveries"
    )
    channel = models.CharField(max_length=20)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    # A worker's claim: nobody else sends this delivery before `claimed_until`.
    claim = models.CharField(max_length=32, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["notification", "channel"], name="one_delivery_per_channel"
            )
        ]
        indexes = [
            models.Index(
                fields=["channel", "next_attempt_at"],
                condition=models.Q(status="pending"),
                name="delivery_due",
            ),
            models.Index(
                fields=["organization", "-last_error_at"],
                condition=models.Q(last_error_at__isnull=False),
                name="delivery_errors",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel} for notification {self.notification_id}: {self.status}"


class Preference(models.Model):
    """A person's choice for one kind of notification on one channel, in one
    organization. Without a row, the kind's default applies."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="+"
    )
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=40)
    channel = models.CharField(max_length=20)
    enabled = models.BooleanField()
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "user", "kind", "channel"],
                name="one_preference_per_kind_and_channel",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} by {self.channel}: {'on' if self.enabled else 'off'}"


class Cadence(models.Model):
    """When check-in reminders go out: a weekday and a time, every N weeks."""

    class Weekday(models.IntegerChoices):
        MONDAY = 0, "Monday"
        TUESDAY = 1, "Tuesday"
        WEDNESDAY = 2, "Wednesday"
        THURSDAY = 3, "Thursday"
        FRIDAY = 4, "Friday"
        SATURDAY = 5, "Saturday"
        SUNDAY = 6, "Sunday"

    class Frequency(models.IntegerChoices):
        WEEKLY = 1, "Every week"
        FORTNIGHTLY = 2, "Every two weeks"
        FOUR_WEEKLY = 4, "Every four weeks"

    weekday = models.PositiveSmallIntegerField(
        choices=Weekday.choices, default=Weekday.MONDAY
    )
    at_time = models.TimeField(default=time(9, 0))
    every_weeks = models.PositiveSmallIntegerField(
        choices=Frequency.choices, default=Frequency.WEEKLY
    )
    # Reminders due before this moment are not sent (a schedule set on a Wednesday
    # does not send last Monday's reminders late).
    effective_from = models.DateTimeField(default=timezone.now)

    class Meta:
        abstract = True


# Named by migration 0001 (the time zone moved to Organization.time_zone since).
default_time_zone = orgs_default_time_zone


class ReminderSettings(Cadence):
    """An organization's check-in reminders: its cadence (weekly on Monday at 09:00
    unless changed, in the organization's time zone) and when missed reminders are
    escalated. Without a row the defaults apply, from the organization's creation."""

    organization = models.OneToOneField(
        Organization, on_delete=models.CASCADE, related_name="+"
    )
    enabled = models.BooleanField(default=True)
    # After this many reminders missed in a row the team lead is told; one more, and
    # the organization's admins.
    escalate_after = models.PositiveSmallIntegerField(default=2)
    # A KPI's change of health is told once it has held this long (no alert storms
    # from a value that flaps): docs/notifications.md, "KPI alerts".
    alert_hold_minutes = models.PositiveIntegerField(default=60)
    # The weekly digest (docs/notifications.md, "Weekly digest"): its own day and time
    # in the same time zone, Friday 16:00 unless changed; digests due before
    # `digest_from` (when the schedule last moved) are not sent.
    digest_enabled = models.BooleanField(default=True)
    digest_weekday = models.PositiveSmallIntegerField(
        choices=Cadence.Weekday.choices, default=Cadence.Weekday.FRIDAY
    )
    digest_at_time = models.TimeField(default=time(16, 0))
    digest_from = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Reminders of {self.organization_id}"


class TeamCadence(Cadence):
    """A team's own reminder cadence, for key results of the team's objectives."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="+"
    )
    team = models.OneToOneField(Team, on_delete=models.CASCADE, related_name="+")

    def __str__(self) -> str:
        return f"Reminders of team {self.team_id}"


class ReminderRun(models.Model):
    """One reminder round done: an organization's (scope "org") or a team's
    ("team:<id>") reminders for one scheduled moment. Written in the transaction that
    creates the round's notifications, so a round is done once, or not at all."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="+"
    )
    scope = models.CharField(max_length=30)
    occurrence = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now)
    reminded = models.PositiveIntegerField(default=0)
    escalated = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "scope", "occurrence"],
                name="one_reminder_round",
            )
        ]

    def __str__(self) -> str:
        return f"{self.scope} of {self.organization_id} at {self.occurrence}"


class ReminderStreak(models.Model):
    """How many reminders in a row (of one schedule: the organization's or a team's)
    a person let pass: reminded at one scheduled moment and again at the next, with
    key results still not checked in. `escalated`: how far that was told (0 no one,
    1 the team leads, 2 the admins); a moment without a reminder ends the streak."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="+"
    )
    scope = models.CharField(max_length=30)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    missed = models.PositiveIntegerField(default=0)
    last_reminded_at = models.DateTimeField()
    escalated = models.PositiveSmallIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "scope", "user"], name="one_reminder_streak"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.scope}: {self.missed} missed"


class ChatRoom(models.Model):
    """A chat room Landmark posts notifications to (Slack, Microsoft Teams, Google
    Chat, Mattermost, or any URL taking JSON), through Apprise: the organization's
    (team None) or one team's, for the kinds of notification chosen. The webhook URL
    is a secret (whoever has it can post there): stored encrypted."""

    class Service(models.TextChoices):
        SLACK = "slack", "Slack"
        TEAMS = "teams", "Microsoft Teams (Workflows)"
        GOOGLE_CHAT = "google_chat", "Google Chat"
        MATTERMOST = "mattermost", "Mattermost"
        JSON = "json", "Generic JSON webhook"

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="+"
    )
    team = models.ForeignKey(
        Team, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    name = models.CharField(max_length=100)
    service = models.CharField(max_length=20, choices=Service.choices)
    url = SealedField()
    kinds = models.JSONField(default=list)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name


class ChatPost(models.Model):
    """A notification posted in a room: a retried delivery skips the rooms that
    already have it (one room down never makes another room's post twice)."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="+"
    )
    room = models.ForeignKey(ChatRoom, on_delete=models.CASCADE, related_name="+")
    notification = models.ForeignKey(
        Notification, on_delete=models.CASCADE, related_name="+"
    )
    posted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["room", "notification"], name="one_post_per_room"
            )
        ]

    def __str__(self) -> str:
        return f"{self.notification_id} in {self.room_id}"


class KPIWatch(models.Model):
    """A member who asked to be told of a KPI's alerts (its owner always is)."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="+"
    )
    kpi = models.ForeignKey(KPI, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kpi", "user"], name="one_watch_per_kpi")
        ]
        indexes = [models.Index(fields=["organization", "user"])]

    def __str__(self) -> str:
        return f"{self.user_id} watches KPI {self.kpi_id}"


class KPIAlertState(models.Model):
    """What was last told of a KPI's health, and a change waiting to hold.

    `announced` is the last state told ("" before the KPI was first seen with data
    and a target). A different state seen since is `pending` from `pending_since`; it
    is told once it has held for the organization's hold time, and `changes` counts
    what was told (the dedupe key of each alert). Moved with conditional UPDATEs."""

    class State(models.TextChoices):
        OK = "ok", "Healthy"
        UNHEALTHY = "unhealthy", "Unhealthy"
        STALE = "stale", "Stale"

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="+"
    )
    kpi = models.OneToOneField(KPI, on_delete=models.CASCADE, related_name="+")
    announced = models.CharField(max_length=10, blank=True)
    announced_at = models.DateTimeField(null=True, blank=True)
    pending = models.CharField(max_length=10, blank=True)
    pending_since = models.DateTimeField(null=True, blank=True)
    changes = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [
            models.Index(fields=["organization", "announced_at"], name="kpi_alert_told")
        ]

    def __str__(self) -> str:
        return f"KPI {self.kpi_id}: {self.announced or 'unseen'}"
