"""Writes of the notify app: notifications and their deliveries, reading them,
preferences, unsubscribing, and the reminder settings."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import time

from django.db import connection, transaction
from django.utils import timezone

from landmark.kpis.models import KPI
from landmark.notify.channels import CHANNELS
from landmark.notify.kinds import KINDS
from landmark.notify.models import (
    Delivery,
    KPIWatch,
    Notification,
    Preference,
    ReminderSettings,
    TeamCadence,
)
from landmark.notify.queue import send_after_commit
from landmark.orgs.models import Organization, Team, User

KEYS_PER_QUERY = 500


@dataclass(frozen=True)
class Note:
    """One notification to write: who gets it, what it says, and its dedupe key (the
    event and the recipient; the same key twice is written once)."""

    recipient_id: int
    kind: str
    dedupe_key: str
    title: str
    body: str = ""
    url: str = ""
    items: Sequence[dict[str, str]] = field(default_factory=tuple)


def channel_choices(
    org_id: int, kinds: Iterable[str]
) -> dict[tuple[int, str, str], bool]:
    """The organization's explicit choices: (user, kind, channel) → on or off."""
    return {
        (user_id, kind, channel): enabled
        for user_id, kind, channel, enabled in Preference.objects.filter(
            organization_id=org_id, kind__in=list(kinds)
        ).values_list("user_id", "kind", "channel", "enabled")
    }


def wants(
    choices: dict[tuple[int, str, str], bool], user_id: int, kind: str, channel: str
) -> bool:
    chosen = choices.get((user_id, kind, channel))
    if chosen is not None:
        return chosen
    return channel in KINDS[kind].default_channels or bool(
        getattr(CHANNELS.get(channel), "on_by_default", False)
    )


@transaction.atomic
def notify(*, org: Organization, notes: Sequence[Note]) -> list[int]:
    """Write these notifications, and a delivery for each outside channel their
    recipient keeps on for the kind, in the caller's transaction; they are sent after
    it commits. Notes whose dedupe key was written before are skipped. Returns the ids
    of the notifications written now.

    A constant number of queries per 500 notes, whatever the recipients."""
    unknown = {note.kind for note in notes} - set(KINDS)
    if unknown:
        raise ValueError(f"Unknown notification kinds: {sorted(unknown)}")
    by_key = {note.dedupe_key: note for note in notes}
    keys = list(by_key)
    seen: set[str] = set()
    for start in range(0, len(keys), KEYS_PER_QUERY):
        seen.update(
            Notification.objects.filter(
                dedupe_key__in=keys[start : start + KEYS_PER_QUERY]
            ).values_list("dedupe_key", flat=True)
        )
    fresh = [by_key[key] for key in keys if key not in seen]
    if not fresh:
        return []
    now = timezone.now()
    Notification.objects.bulk_create(
        [
            Notification(
                organization=org,
                recipient_id=note.recipient_id,
                kind=note.kind,
                dedupe_key=note.dedupe_key,
                title=note.title[:200],
                body=note.body,
                url=note.url,
                items=list(note.items[: Notification.MAX_ITEMS]),
                more_items=max(0, len(note.items) - Notification.MAX_ITEMS),
                created_at=now,
            )
            for note in fresh
        ],
        batch_size=KEYS_PER_QUERY,
        # Another worker may write the same key at the same moment: one row wins.
        ignore_conflicts=True,
    )
    fresh_keys = [note.dedupe_key for note in fresh]
    written: dict[str, int] = {}
    for start in range(0, len(fresh_keys), KEYS_PER_QUERY):
        written.update(
            Notification.objects.filter(
                dedupe_key__in=fresh_keys[start : start + KEYS_PER_QUERY]
            ).values_list("dedupe_key", "pk")
        )
    choices = channel_choices(org.pk, {note.kind for note in fresh})
    # A channel that takes only some kinds in this organization (chat: the kinds its
    # rooms chose) gets no delivery for the others.
    takes = {
        key: channel.kinds_taken(org.pk)
        for key, channel in CHANNELS.items()
        if hasattr(channel, "kinds_taken")
    }
    to_send: dict[str, list[int]] = {channel: [] for channel in CHANNELS}
    for note in fresh:
        for channel in CHANNELS:
            if wants(choices, note.recipient_id, note.kind, channel) and (
                channel not in takes or note.kind in takes[channel]
            ):
                to_send[channel].append(written[note.dedupe_key])
    for channel, notification_ids in to_send.items():
        for start in range(0, len(notification_ids), KEYS_PER_QUERY):
            add_deliveries(channel, notification_ids[start : start + KEYS_PER_QUERY])
    ids = sorted(written.values())
    send_after_commit(ids, {channel for channel, waiting in to_send.items() if waiting})
    return ids


def add_deliveries(channel: str, notification_ids: Sequence[int]) -> None:
    """A pending delivery on `channel` for each of these notifications, due now (at
    its notification's creation), in one INSERT ... SELECT; one that exists is kept.
    Written out (names from the models, values as parameters): building a model
    instance per delivery for bulk_create cost more than the rest of writing them."""
    if not notification_ids:
        return
    d, n = Delivery._meta, Notification._meta
    quote = connection.ops.quote_name
    to = {f.name: quote(f.column) for f in d.concrete_fields}
    of = {f.name: quote(f.column) for f in n.concrete_fields}
    slots = ", ".join(["%s"] * len(notification_ids))
    sql = (
        f"INSERT INTO {quote(d.db_table)} ({to['organization']}, "  # noqa: S608  # names from the models
        f"{to['notification']}, {to['channel']}, {to['status']}, {to['attempts']}, "
        f"{to['next_attempt_at']}, {to['claim']}, {to['last_error']}) "
        f"SELECT {of['organization']}, {of['id']}, %s, %s, 0, {of['created_at']}, "
        f"'', '' FROM {quote(n.db_table)} WHERE {of['id']} IN ({slots}) "
        # The same notification's delivery on the same channel (one_delivery_per_channel)
        f"ON CONFLICT DO NOTHING"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [channel, Delivery.Status.PENDING, *notification_ids])


def mark_read(*, notification: Notification) -> None:
    Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(
        read_at=timezone.now()
    )


def mark_all_read(*, organization_id: int, user_id: int) -> int:
    return (
        Notification.objects.for_member(organization_id, user_id)
        .unread()
        .update(read_at=timezone.now())
    )


@transaction.atomic
def set_preferences(
    *, org: Organization, user_id: int, choices: dict[tuple[str, str], bool]
) -> None:
    """Save a person's choices: (kind, channel) → on or off."""
    now = timezone.now()
    for (kind, channel), enabled in choices.items():
        if kind not in KINDS or channel not in CHANNELS:
            raise ValueError(f"Unknown kind or channel: {kind}, {channel}")
        Preference.objects.update_or_create(
            organization=org,
            user_id=user_id,
            kind=kind,
            channel=channel,
            defaults={"enabled": enabled, "updated_at": now},
        )


def preferences_of(
    org_id: int, user_id: int, channels: list[str] | None = None
) -> dict[tuple[str, str], bool]:
    """Every (kind, channel) with whether it is on for this person, defaults included:
    on `channels`, or every channel in use in the organization (channels_in_use)."""
    if channels is None:
        channels = channels_in_use(org_id)
    choices = channel_choices(org_id, KINDS)
    return {
        (kind, channel): wants(choices, user_id, kind, channel)
        for kind in KINDS
        for channel in channels
    }


def channels_in_use(org_id: int) -> list[str]:
    """The channels a person of this organization chooses for: every channel, less
    those that take no kind here (chat, where no room is set up)."""
    return [
        key
        for key, channel in CHANNELS.items()
        if not hasattr(channel, "kinds_taken") or channel.kinds_taken(org_id)
    ]


def unsubscribe(*, org: Organization, user_id: int, kind: str, channel: str) -> None:
    """One-click unsubscribe: this kind stops on this channel (deliveries still
    waiting are skipped too)."""
    set_preferences(org=org, user_id=user_id, choices={(kind, channel): False})


def reminder_settings_of(org: Organization) -> ReminderSettings:
    """The organization's reminder settings; unsaved defaults (effective from the
    organization's creation) when it never changed them."""
    found = ReminderSettings.objects.filter(organization=org).first()
    if found is not None:
        return found
    return ReminderSettings(
        organization=org, effective_from=org.created_at, digest_from=org.created_at
    )


@transaction.atomic
def save_reminder_settings(
    *,
    org: Organization,
    enabled: bool,
    weekday: int,
    at_time: time,
    every_weeks: int,
    escalate_after: int,
    alert_hold_minutes: int | None = None,
    digest_enabled: bool | None = None,
    digest_weekday: int | None = None,
    digest_at_time: time | None = None,
) -> ReminderSettings:
    """Change when reminders go out. A changed cadence counts from now: a moment
    already past under the new schedule is not sent late (a changed time zone, on the
    organization settings page, too: reminders.counts_from)."""
    current = reminder_settings_of(org)
    moved = (current.weekday, current.at_time, current.every_weeks)
    current.enabled = enabled
    current.weekday = weekday
    current.at_time = at_time
    current.every_weeks = every_weeks
    current.escalate_after = escalate_after
    if alert_hold_minutes is not None:
        current.alert_hold_minutes = alert_hold_minutes
    if digest_enabled is not None:
        current.digest_enabled = digest_enabled
    digest = (
        digest_weekday if digest_weekday is not None else current.digest_weekday,
        digest_at_time if digest_at_time is not None else current.digest_at_time,
    )
    if digest != (current.digest_weekday, current.digest_at_time):
        current.digest_weekday, current.digest_at_time = digest
        current.digest_from = timezone.now()
    if moved != (weekday, at_time, every_weeks):
        current.effective_from = timezone.now()
    current.save()
    return current


@transaction.atomic
def save_team_cadence(
    *,
    team: Team,
    own: bool,
    weekday: int = 0,
    at_time: time = time(9, 0),
    every_weeks: int = 1,
) -> TeamCadence | None:
    """Give a team its own reminder cadence, or (own=False) let it follow the
    organization's again."""
    if not own:
        TeamCadence.objects.filter(team=team).delete()
        return None
    cadence = TeamCadence.objects.filter(team=team).first() or TeamCadence(
        organization_id=team.organization_id, team=team
    )
    moved = (cadence.pk is None) or (
        (cadence.weekday, cadence.at_time, cadence.every_weeks)
        != (weekday, at_time, every_weeks)
    )
    cadence.weekday = weekday
    cadence.at_time = at_time
    cadence.every_weeks = every_weeks
    if moved:
        cadence.effective_from = timezone.now()
    cadence.save()
    return cadence


def is_watching(*, kpi: KPI, user: User) -> bool:
    return KPIWatch.objects.filter(kpi=kpi, user=user).exists()


def set_watching(*, kpi: KPI, user: User, watching: bool) -> bool:
    """Watch a KPI (be told of its alerts) or stop; the same call twice changes
    nothing. Returns whether the person watches it now."""
    if watching:
        KPIWatch.objects.get_or_create(
            kpi=kpi, user=user, defaults={"organization_id": kpi.organization_id}
        )
    else:
        KPIWatch.objects.filter(kpi=kpi, user=user).delete()
    return watching
