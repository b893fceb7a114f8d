"""Check-in reminders and their escalation.

Each organization has a cadence (weekly on Monday at 09:00 in its time zone unless an
admin changed it); a team may have its own, for the key results of its objectives. At
each scheduled moment ("occurrence") the owners of active key results not checked in
within the cadence get one reminder listing them; owners who checked in get nothing.
Someone reminded at N moments in a row (default 2) is escalated to the leads of the
teams whose key results they let pass; one more, to the organization's admins.

The `reminders` job runs every minute and does each due round once: a round's
ReminderRun row is written in the transaction that writes its notifications, so a round
is done entirely or not at all, and a rerun (another worker, a restart after kill -9)
finds it done. Every notification has a dedupe key, so nothing is written twice.
"""

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.db.models import Count, F, QuerySet, Window
from django.db.models.functions import Coalesce, RowNumber
from django.urls import reverse
from django.utils import timezone

from landmark.notify.actions import Note, notify
from landmark.notify.kinds import CHECKIN_ESCALATION, CHECKIN_REMINDER
from landmark.notify.models import (
    Cadence,
    ReminderRun,
    ReminderSettings,
    ReminderStreak,
    TeamCadence,
)
from landmark.okrs.models import KeyResult, Objective, Period
from landmark.orgs.models import Membership, Organization, TeamMember, User

# Key results listed in one reminder (the rest are counted, and on the focus page).
LISTED = 10
# Monday 5 January 1970: week 0, from which "every two weeks" counts.
EPOCH_MONDAY = date(1970, 1, 5)
ORG_SCOPE = "org"


def week_index(day: date) -> int:
    return (day - EPOCH_MONDAY).days // 7


def latest_occurrence(cadence: Cadence, zone: ZoneInfo, now: datetime) -> datetime:
    """The last scheduled moment at or before `now` (UTC)."""
    local = now.astimezone(zone)
    day = local.date() - timedelta(days=(local.weekday() - cadence.weekday) % 7)
    while True:
        moment = datetime.combine(day, cadence.at_time, tzinfo=zone)
        if moment <= now and week_index(day) % cadence.every_weeks == 0:
            return moment.astimezone(UTC)
        day -= timedelta(days=7)


def counts_from(org: Organization, since: datetime) -> datetime:
    """When a schedule counts from: its own start, or the organization's last change
    of time zone if later (a moment already past in the new zone is not sent late)."""
    moved = org.time_zone_changed_at
    return max(since, moved) if moved is not None else since


def next_occurrence(cadence: Cadence, zone: ZoneInfo, now: datetime) -> datetime:
    """The first scheduled moment after `now` (UTC)."""
    local = now.astimezone(zone)
    day = local.date() + timedelta(days=(cadence.weekday - local.weekday()) % 7)
    while True:
        moment = datetime.combine(day, cadence.at_time, tzinfo=zone)
        if moment > now and week_index(day) % cadence.every_weeks == 0:
            return moment.astimezone(UTC)
        day += timedelta(days=7)


@dataclass(frozen=True)
class Round:
    """One due reminder round: an organization's or a team's, at one moment."""

    org: Organization
    scope: str
    team_id: int | None
    cadence: Cadence
    zone: ZoneInfo
    settings: ReminderSettings
    occurrence: datetime

    @property
    def window_start(self) -> datetime:
        return self.occurrence - timedelta(weeks=self.cadence.every_weeks)

    @property
    def previous(self) -> datetime:
        return latest_occurrence(
            self.cadence, self.zone, self.occurrence - timedelta(seconds=1)
        )


def due_rounds(now: datetime) -> list[Round]:
    """Rounds whose moment has come (since their schedule took effect) and that no
    worker has done yet. A few queries, whatever the number of organizations."""
    saved = {s.organization_id: s for s in ReminderSettings.objects.all()}
    orgs = {org.pk: org for org in Organization.objects.all()}
    candidates: list[Round] = []
    for org in orgs.values():
        settings = saved.get(org.pk) or ReminderSettings(
            organization=org, effective_from=org.created_at
        )
        if not settings.enabled:
            continue
        zone = ZoneInfo(org.time_zone)
        occurrence = latest_occurrence(settings, zone, now)
        if occurrence >= counts_from(org, settings.effective_from):
            candidates.append(
                Round(org, ORG_SCOPE, None, settings, zone, settings, occurrence)
            )
    for team in TeamCadence.objects.all():
        org = orgs[team.organization_id]
        settings = saved.get(org.pk) or ReminderSettings(
            organization=org, effective_from=org.created_at
        )
        if not settings.enabled:
            continue
        zone = ZoneInfo(org.time_zone)
        occurrence = latest_occurrence(team, zone, now)
        if occurrence >= counts_from(org, team.effective_from):
            candidates.append(
                Round(
                    org,
                    f"team:{team.team_id}",
                    team.team_id,
                    team,
                    zone,
                    settings,
                    occurrence,
                )
            )
    if not candidates:
        return []
    done = set(
        ReminderRun.objects.filter(
            occurrence__gte=min(c.occurrence for c in candidates)
        ).values_list("organization_id", "scope", "occurrence")
    )
    return [c for c in candidates if (c.org.pk, c.scope, c.occurrence) not in done]


@dataclass
class RoundResult:
    org_id: int
    scope: str
    occurrence: datetime
    reminded: int
    escalated: int


def run_due_reminders(now: datetime | None = None) -> list[RoundResult]:
    """Do every due round (the `reminders` job)."""
    now = now or timezone.now()
    results = []
    for round_ in due_rounds(now):
        result = run_round(round_, now)
        if result is not None:
            results.append(result)
    return results


def run_round(round_: Round, now: datetime) -> RoundResult | None:
    """Do one round in one transaction; None if another worker did it."""
    with transaction.atomic():
        try:
            with transaction.atomic():
                run = ReminderRun.objects.create(
                    organization=round_.org,
                    scope=round_.scope,
                    occurrence=round_.occurrence,
                    created_at=now,
                )
        except IntegrityError:
            return None
        reminded, escalated = remind(round_)
        run.reminded, run.escalated = reminded, escalated
        run.save(update_fields=["reminded", "escalated"])
    return RoundResult(
        round_.org.pk, round_.scope, round_.occurrence, reminded, escalated
    )


def due_key_results(round_: Round) -> QuerySet[KeyResult]:
    """The round's key results not checked in within the cadence: active (objective,
    and a period under way), with an owner who is an active member, not done, and
    neither checked in nor created since the window opened (the previous moment)."""
    org = round_.org
    window_day = round_.window_start.astimezone(round_.zone).date()
    today = round_.occurrence.astimezone(round_.zone).date()
    owners = Membership.objects.filter(
        organization=org, is_active=True, user__is_active=True
    ).values("user_id")
    # A period's first cadence passes before its first reminder; an ended period
    # waiting to be closed gets none. Read first (a few rows), then the round's
    # objectives by their period index, then their key results by objective: walking
    # the organization's key results by owner instead read every period's (40,000 in
    # the large workspace for 9,000 due; bench/bench_reminders.py).
    periods = list(
        Period.objects.filter(
            organization=org,
            state=Period.State.ACTIVE,
            start__lte=window_day,
            end__gte=today,
        ).values_list("pk", flat=True)
    )
    objectives = Objective.objects.filter(
        organization=org, period_id__in=periods, state=Objective.State.ACTIVE
    )
    if round_.team_id is not None:
        objectives = objectives.filter(team_id=round_.team_id)
    else:
        own = TeamCadence.objects.filter(organization=org).values("team_id")
        objectives = objectives.exclude(team_id__in=own)
    return (
        KeyResult.objects.filter(
            organization=org,
            done=False,
            owner_id__in=owners,
            objective_id__in=objectives.values("pk"),
        )
        .alias(seen=Coalesce("last_checkin_at", "created_at"))
        .filter(seen__lt=round_.window_start)
    )


def objective_path(pk: int) -> str:
    """An objective's page."""
    return reverse("objective", args=[pk])


def item(
    row: Mapping[str, Any], zone: ZoneInfo, paths: dict[int, str]
) -> dict[str, str]:
    """One key result as a notification lists it (the date in the organization's
    time zone). `paths` keeps each objective's page, reversed once a round: a round
    lists thousands of key results of far fewer objectives."""
    objective_id = int(row["objective_id"])
    if objective_id not in paths:
        paths[objective_id] = objective_path(objective_id)
    last = row["last_checkin_at"]
    when = (
        f"last check-in {last.astimezone(zone).date().isoformat()}"
        if last
        else "never checked in"
    )
    return {
        "title": str(row["title"]),
        "url": f"{paths[objective_id]}#kr-{row['pk']}",
        "detail": f"{row['objective__title']} · {when}",
    }


def remind(round_: Round) -> tuple[int, int]:
    """Write the round's reminders and escalations; (people reminded, escalations)."""
    org = round_.org
    stamp = round_.occurrence.strftime("%Y%m%dT%H%MZ")
    due = due_key_results(round_)
    rows = list(
        due.annotate(
            rank=Window(
                RowNumber(),
                partition_by=[F("owner_id")],
                order_by=[F("objective_id").asc(), F("position").asc(), F("pk").asc()],
            ),
            owner_total=Window(Count("pk"), partition_by=[F("owner_id")]),
        )
        .filter(rank__lte=LISTED)
        .values(
            "pk",
            "title",
            "objective_id",
            "objective__title",
            "owner_id",
            "last_checkin_at",
            "owner_total",
        )
        .order_by("owner_id", "rank")
    )
    listed: dict[int, list[dict[str, str]]] = defaultdict(list)
    totals: dict[int, int] = {}
    paths: dict[int, str] = {}
    for row in rows:
        owner = int(row["owner_id"])
        listed[owner].append(item(row, round_.zone, paths))
        totals[owner] = int(row["owner_total"])
    focus = reverse("focus")
    notes = []
    for owner, items in listed.items():
        total = totals[owner]
        more = total - len(items)
        notes.append(
            Note(
                recipient_id=owner,
                kind=CHECKIN_REMINDER.key,
                dedupe_key=f"{CHECKIN_REMINDER.key}:{org.pk}:{round_.scope}:{stamp}:{owner}",
                title=(
                    "1 key result waits for your check-in"
                    if total == 1
                    else f"{total} key results wait for your check-in"
                ),
                body=(
                    "Not checked in since "
                    f"{round_.window_start.astimezone(round_.zone):%A %-d %B}"
                    + (f"; {more} more on your focus page." if more else ".")
                ),
                url=focus,
                items=items,
            )
        )
    escalations = streaks_and_escalations(round_, set(listed), stamp)
    notify(org=org, notes=notes + escalations)
    return len(notes), len(escalations)


def streaks_and_escalations(
    round_: Round, reminded: set[int], stamp: str
) -> list[Note]:
    """Move each reminded person's streak on, and say who is told of those who let
    enough reminders pass."""
    org = round_.org
    existing = {
        streak.user_id: streak
        for streak in ReminderStreak.objects.filter(
            organization=org, scope=round_.scope
        )
    }
    previous = round_.previous
    after = round_.settings.escalate_after
    to_lead: list[int] = []
    to_admins: list[int] = []
    new: list[ReminderStreak] = []
    # Existing streaks move in a few grouped UPDATEs (bulk_update's CASE per row
    # costs more than the rest of the round).
    going_on: list[int] = []
    starting_again: list[int] = []
    for user_id in reminded:
        streak = existing.get(user_id)
        if streak is None:
            streak = ReminderStreak(
                organization=org,
                scope=round_.scope,
                user_id=user_id,
                last_reminded_at=round_.occurrence,
            )
            new.append(streak)
        elif streak.last_reminded_at == previous:
            streak.missed += 1
            going_on.append(streak.pk)
        elif streak.last_reminded_at != round_.occurrence:
            streak.missed, streak.escalated = 0, 0
            starting_again.append(streak.pk)
        if streak.missed >= after + 1 and streak.escalated < 2:
            to_admins.append(user_id)
            streak.escalated = 2
        elif streak.missed >= after and streak.escalated < 1:
            to_lead.append(user_id)
            streak.escalated = 1
    ReminderStreak.objects.bulk_create(new, batch_size=500)
    mine = ReminderStreak.objects.filter(organization=org, scope=round_.scope)
    moment = round_.occurrence
    mine.filter(pk__in=going_on).update(missed=F("missed") + 1, last_reminded_at=moment)
    mine.filter(pk__in=starting_again).update(
        missed=0, escalated=0, last_reminded_at=moment
    )
    for level, users in ((1, to_lead), (2, to_admins)):
        if users:
            mine.filter(user_id__in=users).update(escalated=level)
    if not to_lead and not to_admins:
        return []
    return escalation_notes(round_, to_lead, to_admins, existing, stamp)


def escalation_notes(
    round_: Round,
    to_lead: list[int],
    to_admins: list[int],
    streaks: dict[int, ReminderStreak],
    stamp: str,
) -> list[Note]:
    """Who is told: for a first escalation, the leads of the teams of the key results
    let pass (leads see their team's objectives, private ones too); key results with
    no other lead, and every key result at the second escalation, go to the admins
    (who see everything). Each recipient's list holds only key results they may see."""
    org = round_.org
    people = set(to_lead) | set(to_admins)
    rows = list(
        due_key_results(round_)
        .filter(owner_id__in=people)
        .values(
            "pk",
            "title",
            "objective_id",
            "objective__title",
            "objective__team_id",
            "owner_id",
            "last_checkin_at",
        )
        .order_by("owner_id", "objective_id", "position", "pk")
    )
    leads: dict[int, set[int]] = defaultdict(set)
    for team_id, user_id in TeamMember.objects.filter(
        organization=org,
        is_lead=True,
        user__memberships__organization=org,
        user__memberships__is_active=True,
    ).values_list("team_id", "user_id"):
        leads[team_id].add(user_id)
    admins = set(
        Membership.objects.filter(
            organization=org,
            is_active=True,
            role__in=[Membership.Role.OWNER, Membership.Role.ADMIN],
        ).values_list("user_id", flat=True)
    )
    names = {
        user.pk: user.display_name
        for user in User.objects.filter(pk__in=people).only("full_name", "email")
    }
    # (recipient, owner) → the owner's key results that recipient is told of.
    told: dict[tuple[int, int], list[dict[str, str]]] = defaultdict(list)
    paths: dict[int, str] = {}
    for row in rows:
        owner = int(row["owner_id"])
        team = row["objective__team_id"]
        team_leads = leads.get(team, set()) - {owner} if team else set()
        recipients = team_leads if owner in to_lead and team_leads else admins - {owner}
        for recipient in recipients:
            told[(recipient, owner)].append(item(row, round_.zone, paths))
    notes = []
    for (recipient, owner), items in told.items():
        missed = (
            streaks[owner].missed
            if owner in streaks
            else round_.settings.escalate_after
        )
        name = names.get(owner, "Someone")
        notes.append(
            Note(
                recipient_id=recipient,
                kind=CHECKIN_ESCALATION.key,
                dedupe_key=(
                    f"{CHECKIN_ESCALATION.key}:{org.pk}:{round_.scope}:{stamp}:"
                    f"{recipient}:{owner}"
                ),
                title=(
                    f"{name} let {missed} check-in "
                    f"reminder{'s' if missed != 1 else ''} pass"
                ),
                body=(
                    f"{name} has not checked in on "
                    f"{len(items)} key result{'s' if len(items) != 1 else ''} "
                    f"after {missed} reminder{'s' if missed != 1 else ''} in a row."
                ),
                url=items[0]["url"],
                items=items,
            )
        )
    return notes
