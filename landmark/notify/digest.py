"""The weekly digest: once a week, each member's week in one notification (in the app,
and by email unless they turned it off).

It goes out on the organization's digest day and time, in its time zone (Friday 16:00
unless an admin changed it on the Reminders, digest and alerts page: the week's
check-ins are in), and tells each active member:

- their key results on My focus, with progress and pace (okrs.tree.evaluate_key_result,
  what My focus shows);
- the KPIs of their teams and those they own, with health (KPIQuerySet.with_health,
  what the KPI dashboard shows);
- what changed in the week before: check-ins by others on their own and their teams'
  objectives, objectives graded, KPI health changes told;
- the kudos they received.

Everything is read through the same access helpers as the pages, so nobody is told of
anything they may not see; a fixed number of queries per member. A member with nothing
to tell gets no digest. A round is done once: its ReminderRun row (scope "digest") is
written in the transaction that writes the digests, and every digest has a dedupe key.
A round more than six hours late (the worker was stopped) is not sent: next week's
comes on time.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from landmark.kpis.access import kpis_for_member
from landmark.kpis.health import HEALTH_LABELS, Health
from landmark.lib import numbers
from landmark.notify.actions import Note, notify
from landmark.notify.kinds import WEEKLY_DIGEST
from landmark.notify.models import (
    KPIAlertState,
    KPIWatch,
    ReminderRun,
    ReminderSettings,
)
from landmark.notify.reminders import counts_from, latest_occurrence, objective_path
from landmark.okrs import scoring
from landmark.okrs.access import focus_key_results, objectives_for_member
from landmark.okrs.models import CheckIn, Kudos, Period
from landmark.okrs.tree import evaluate_key_result
from landmark.orgs.models import Membership, Organization, TeamMember

SCOPE = "digest"
KPI_FIELDS = ("pk", "name", "health", "current_value", "unit")
TOO_LATE = timedelta(hours=6)
# Listed per section (20 in all: Notification.MAX_ITEMS); the rest are counted.
LISTED = {"krs": 6, "kpis": 6, "changes": 5, "kudos": 3}
HEALTH_ORDER = {
    Health.UNHEALTHY: 0,
    Health.STALE: 1,
    Health.WARNING: 2,
    Health.NO_DATA: 3,
    Health.NO_TARGET: 4,
    Health.HEALTHY: 5,
}
TOLD = {"ok": "healthy again", "unhealthy": "turned unhealthy", "stale": "went stale"}


@dataclass(frozen=True)
class DigestRound:
    org: Organization
    settings: ReminderSettings
    zone: ZoneInfo
    occurrence: datetime

    @property
    def since(self) -> datetime:
        return self.occurrence - timedelta(weeks=1)


def schedule_of(settings: ReminderSettings) -> ReminderSettings:
    """The digest's day and time, every week (as a cadence)."""
    return ReminderSettings(
        weekday=settings.digest_weekday,
        at_time=settings.digest_at_time,
        every_weeks=1,
    )


def due_digest_rounds(now: datetime) -> list[DigestRound]:
    """Rounds whose moment has come, at most TOO_LATE ago, since the schedule took
    effect, and that no worker has done yet: a few queries in all."""
    saved = {s.organization_id: s for s in ReminderSettings.objects.all()}
    candidates = []
    for org in Organization.objects.all():
        settings = saved.get(org.pk) or ReminderSettings(
            organization=org, effective_from=org.created_at, digest_from=org.created_at
        )
        if not settings.digest_enabled:
            continue
        zone = ZoneInfo(org.time_zone)
        occurrence = latest_occurrence(schedule_of(settings), zone, now)
        since = counts_from(org, settings.digest_from)
        if occurrence >= since and now - occurrence < TOO_LATE:
            candidates.append(DigestRound(org, settings, zone, occurrence))
    if not candidates:
        return []
    done = set(
        ReminderRun.objects.filter(
            scope=SCOPE, occurrence__gte=min(c.occurrence for c in candidates)
        ).values_list("organization_id", "occurrence")
    )
    return [c for c in candidates if (c.org.pk, c.occurrence) not in done]


@dataclass
class DigestResult:
    org_id: int
    occurrence: datetime
    sent: int


def run_due_digests(now: datetime | None = None) -> list[DigestResult]:
    """Do every due digest round (the `digest` job)."""
    now = now or timezone.now()
    results = []
    for round_ in due_digest_rounds(now):
        with transaction.atomic():
            try:
                with transaction.atomic():
                    run = ReminderRun.objects.create(
                        organization=round_.org,
                        scope=SCOPE,
                        occurrence=round_.occurrence,
                        created_at=now,
                    )
            except IntegrityError:
                continue  # another worker did this round
            notes = digest_notes(round_, now)
            notify(org=round_.org, notes=notes)
            run.reminded = len(notes)
            run.save(update_fields=["reminded"])
        results.append(DigestResult(round_.org.pk, round_.occurrence, len(notes)))
    return results


def digest_notes(round_: DigestRound, now: datetime) -> list[Note]:
    members = Membership.objects.filter(
        organization=round_.org, is_active=True, user__is_active=True
    ).select_related("organization", "user")
    notes = []
    for membership in members:
        note = digest_of(membership, round_, now)
        if note is not None:
            notes.append(note)
    return notes


def section(
    name: str, rows: list[dict[str, str]], key: str
) -> tuple[list[dict[str, str]], int]:
    """A section's listed items (each marked with its heading) and how many more."""
    listed = rows[: LISTED[key]]
    return [{**row, "section": name} for row in listed], len(rows) - len(listed)


def digest_of(
    membership: Membership, round_: DigestRound, now: datetime
) -> Note | None:
    """One member's digest: a fixed number of queries, whatever they own."""
    org, user = round_.org, membership.user
    since, until = round_.since, round_.occurrence
    my_teams = TeamMember.objects.filter(organization=org, user=user).values("team_id")
    # My key results, as My focus shows them.
    krs = []
    for kr in focus_key_results(membership).select_related("objective__period"):
        view = evaluate_key_result(kr, kr.objective.period, org, now)
        krs.append((view, kr))
    krs.sort(key=lambda pair: (PACE_ORDER[pair[0].pace], pair[1].pk))
    kr_rows = [
        {
            "title": kr.title,
            "url": f"{objective_path(kr.objective_id)}#kr-{kr.pk}",
            "detail": f"{view.progress_label} · {scoring.PACE_LABELS[view.pace]} · "
            f"{kr.objective.title}",
        }
        for view, kr in krs
    ]
    # My teams' KPIs and my own, as the KPI dashboard shows them.
    my_kpis = kpis_for_member(membership).filter(
        Q(team_id__in=my_teams) | Q(owner=user), archived=False
    )
    kpis = list(my_kpis.with_health(now).values(*KPI_FIELDS))
    kpis.sort(key=lambda k: (HEALTH_ORDER[Health(k["health"])], k["name"], k["pk"]))
    kpi_rows = [
        {
            "title": str(k["name"]),
            "url": reverse("kpi", args=[k["pk"]]),
            "detail": HEALTH_LABELS[Health(k["health"])]
            + (
                f" · {numbers.amount(k['current_value'], k['unit'], org.locale)}"
                if k["current_value"] is not None
                else ""
            ),
        }
        for k in kpis
    ]
    # What changed since last week.
    mine = objectives_for_member(membership).filter(
        Q(owner=user) | Q(team_id__in=my_teams)
    )
    checkins = list(
        CheckIn.objects.filter(
            organization=org,
            key_result__objective__in=mine,
            created_at__gte=since,
            created_at__lt=until,
        )
        .exclude(author=user)
        .select_related("author", "key_result")
        .order_by("-created_at", "-pk")[:50]
    )
    graded = list(
        mine.filter(
            period__state=Period.State.CLOSED,
            period__closed_at__gte=since,
            period__closed_at__lt=until,
        ).order_by("pk")
    )
    watched = KPIWatch.objects.filter(organization=org, user=user).values("kpi_id")
    health_changes = list(
        KPIAlertState.objects.filter(
            organization=org,
            announced_at__gte=since,
            announced_at__lt=until,
            kpi__in=kpis_for_member(membership).filter(
                Q(team_id__in=my_teams) | Q(owner=user) | Q(pk__in=watched)
            ),
        )
        .select_related("kpi")
        .order_by("-announced_at", "pk")
    )
    change_rows = [
        {
            "title": f"{change.kpi.name} {TOLD.get(change.announced, 'changed')}",
            "url": reverse("kpi", args=[change.kpi_id]),
            "detail": "KPI health",
        }
        for change in health_changes
    ]
    change_rows += [
        {
            "title": f"{objective.title} graded",
            "url": objective_path(objective.pk),
            "detail": "Score "
            + (
                numbers.score(objective.final_score, org.locale)
                if objective.final_score is not None
                else "not set"
            ),
        }
        for objective in graded
    ]
    change_rows += [
        {
            "title": f"{checkin.author.display_name} checked in on "
            f"{checkin.key_result.title}",
            "url": f"{objective_path(checkin.key_result.objective_id)}"
            f"#kr-{checkin.key_result_id}",
            "detail": f"{checkin.created_at.astimezone(round_.zone):%A %-d %B}",
        }
        for checkin in checkins
    ]
    # Kudos received.
    kudos = list(
        Kudos.objects.filter(
            organization=org,
            recipient=user,
            created_at__gte=since,
            created_at__lt=until,
        )
        .select_related("sender")
        .order_by("-created_at", "-pk")
    )
    kudos_rows = [
        {
            "title": f"From {k.sender.display_name}",
            "url": objective_path(k.objective_id) if k.objective_id else "",
            "detail": k.message,
        }
        for k in kudos
    ]
    if not (kr_rows or kpi_rows or change_rows or kudos_rows):
        return None
    items: list[dict[str, str]] = []
    more: list[str] = []
    for name, rows, key in (
        ("Your key results", kr_rows, "krs"),
        ("Your teams' KPIs", kpi_rows, "kpis"),
        ("Since last week", change_rows, "changes"),
        ("Kudos for you", kudos_rows, "kudos"),
    ):
        listed, extra = section(name, rows, key)
        items += listed
        if extra:
            more.append(f"{extra} more in {name.lower()}")
    return Note(
        recipient_id=user.pk,
        kind=WEEKLY_DIGEST.key,
        dedupe_key=(
            f"{WEEKLY_DIGEST.key}:{org.pk}:{round_.occurrence:%Y%m%dT%H%MZ}:{user.pk}"
        ),
        title=f"Your week in {org.name}",
        body=summary(krs, kpis, len(change_rows), len(kudos_rows), more),
        url=reverse("focus"),
        items=items,
    )


PACE_ORDER = {
    scoring.Pace.OFF_TRACK: 0,
    scoring.Pace.STALE: 1,
    scoring.Pace.NEEDS_ATTENTION: 2,
    scoring.Pace.ON_TRACK: 3,
}


def summary(
    krs: list[Any],
    kpis: list[dict[str, Any]],
    changes: int,
    kudos: int,
    more: list[str],
) -> str:
    parts = []
    if krs:
        paces: dict[str, int] = {}
        for view, _ in krs:
            label = scoring.PACE_LABELS[view.pace].lower()
            paces[label] = paces.get(label, 0) + 1
        parts.append(
            f"{plural(len(krs), 'key result')}: "
            + ", ".join(f"{n} {label}" for label, n in paces.items())
            + "."
        )
    if kpis:
        health: dict[str, int] = {}
        for k in kpis:
            label = HEALTH_LABELS[Health(k["health"])].lower()
            health[label] = health.get(label, 0) + 1
        parts.append(
            f"{plural(len(kpis), 'KPI')}: "
            + ", ".join(f"{n} {label}" for label, n in health.items())
            + "."
        )
    parts.append(f"Since last week: {plural(changes, 'change')}.")
    if kudos:
        parts.append(f"{plural(kudos, 'kudos', 'kudos')} received.")
    if more:
        parts.append("Also " + "; ".join(more) + ".")
    return " ".join(parts)


def plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n} {word if n == 1 else (many or word + 's')}"
