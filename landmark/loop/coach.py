"""The coach (docs/coach.md): findings on a period's OKRs and the KPIs, by the rules of
landmark/lib/coach.py, as a member sees them.

Every finding is computed from a few bulk reads, whatever the number of objectives:
a whole period (the coach page) costs the same queries as one objective (its page's
Coach box). Only what the member may see is read: private objectives and KPIs they
may not open count nowhere (not in a team's count either).
"""

import itertools
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, F, Q, QuerySet
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone

from landmark.kpis import health
from landmark.kpis.access import kpis_for_member
from landmark.kpis.actions import is_more_ambitious
from landmark.kpis.models import KPI
from landmark.lib import coach
from landmark.lib.coach import BY_ID, Rule, Settings
from landmark.loop.actions import kpis_with_okrs
from landmark.okrs.access import objectives_for_member
from landmark.okrs.models import KeyResult, Objective, ObjectiveKPI, Period
from landmark.orgs.models import Membership

Health = health.Health


@dataclass(frozen=True)
class Link:
    """An item's or a fix's address, reversed only when it is written out: a large
    period's findings are thousands, and a page shows the first 50 of each group."""

    name: str
    pk: int
    anchor: str = ""

    def __str__(self) -> str:
        return reverse(self.name, args=[self.pk]) + self.anchor


@dataclass(frozen=True)
class Fix:
    """A one-click way out that already exists: a link, or a button posting a form."""

    label: str
    url: Link | str
    post: bool = False
    period_id: int | None = None  # Fix with an OKR: the period it drafts into


@dataclass(frozen=True)
class Finding:
    rule: Rule
    message: str  # what this item does, in plain words
    kind: str  # "objective", "key_result", "kpi", "team"
    title: str
    url: Link | str  # the item's page
    team: str  # the team it belongs to ("" for none)
    fix: Fix | None = None

    @property
    def severity(self) -> str:
        return self.rule.severity.value


def order(findings: Iterable[Finding]) -> list[Finding]:
    """Warnings first, then in the rules' order, then by team and title."""
    rank = {rule.id: i for i, rule in enumerate(coach.RULES)}
    return sorted(
        findings,
        key=lambda f: (
            f.rule.severity != coach.Severity.WARNING,
            rank[f.rule.id],
            f.team.casefold(),
            f.title.casefold(),
        ),
    )


@dataclass
class _Context:
    membership: Membership
    period: Period
    settings: Settings
    now: datetime

    def __post_init__(self) -> None:
        # What holds for the whole period, worked out once rather than per key result
        # (a large period has tens of thousands).
        org = self.membership.organization
        started = self.now >= self.period.starts_at
        self.stale_possible = self.period.state == Period.State.ACTIVE and started
        self.silence = timedelta(days=org.checkin_cadence_days + org.checkin_grace_days)
        self.early = started and self.period.time_share(self.now) <= coach.EARLY_SHARE

    def on(self, rule_id: str) -> bool:
        return self.settings.on(rule_id)

    def is_stale(self, kr: KeyResult) -> bool:
        """KeyResult.is_stale, asked only when it can be: a check-in within the
        cadence plus grace is never stale (scoring.is_stale)."""
        if not self.stale_possible or (
            kr.last_checkin_at is not None
            and self.now - kr.last_checkin_at <= self.silence
        ):
            return False
        return kr.is_stale(self.period, self.membership.organization, self.now)


def url(name: str, pk: int, anchor: str = "") -> Link:
    return Link(name, pk, anchor)


# OKRs


# What the rules read (a large period has tens of thousands of key results: only these
# columns are loaded; reading another would cost a query per row).
OBJECTIVE_FIELDS = (
    "id",
    "title",
    "period_id",
    "team_id",
    "parent_id",
    "carried_from_id",
)
KEY_RESULT_FIELDS = (
    "id",
    "objective_id",
    "title",
    "kind",
    "start",
    "target",
    "threshold_op",
    "threshold_low",
    "threshold_high",
    "current",
    "done",
    "owner_id",
    "kpi_id",
    "last_checkin_at",
    "created_at",
    "start_date",
    "due_date",
)


def okr_findings(
    membership: Membership,
    period: Period,
    *,
    objective: Objective | None = None,
    now: datetime | None = None,
) -> list[Finding]:
    """Findings on the period's objectives and key results that this member may see,
    or on one objective of it. Queries: the objectives, their key results, their
    links to KPIs, the visible KPIs tracked, objectives of earlier periods with the
    same titles, and (for one objective) its team's count."""
    org = membership.organization
    ctx = _Context(membership, period, org.coach_settings(), now or timezone.now())
    scope = objectives_for_member(membership).in_period(period)
    if objective is not None:
        scope = scope.filter(pk=objective.pk)
    objectives = list(
        scope.select_related("team")
        .only(*OBJECTIVE_FIELDS, "team__id", "team__name")
        .order_by("position", "pk")
    )
    if not objectives:
        return []
    ids = [o.pk for o in objectives]
    key_results: dict[int, list[KeyResult]] = defaultdict(list)
    for kr in (
        KeyResult.objects.filter(organization=org, objective_id__in=ids)
        .only(*KEY_RESULT_FIELDS)
        .order_by("objective_id", "position", "pk")
    ):
        key_results[kr.objective_id].append(kr)
    findings: list[Finding] = []
    for o in objectives:
        findings += _objective_findings(ctx, o, key_results[o.pk])
        for kr in key_results[o.pk]:
            findings += _key_result_findings(ctx, o, kr)
    if ctx.on("objective-unaligned"):
        findings += _unaligned(ctx, objectives)
    if ctx.on("objective-recurs"):
        findings += _recurring(ctx, objectives)
    if ctx.on("team-objectives"):
        findings += _team_objectives(ctx, objectives, whole=objective is None)
    return order(findings)


def _team_name(o: Objective) -> str:
    return o.team.name if o.team is not None else ""


def _objective_findings(
    ctx: _Context, o: Objective, krs: list[KeyResult]
) -> list[Finding]:
    link = url("objective", o.pk)
    found = []
    t = ctx.settings.thresholds
    if ctx.on("kr-count") and (message := coach.kr_count_message(len(krs), t)):
        fix = (
            Fix("Add a key result", url("key_result_create", o.pk))
            if len(krs) < t.min_key_results
            else Fix("Open the objective", link)
        )
        found.append(_f("kr-count", message, "objective", o, link, fix))
    if ctx.on("objective-numbers") and coach.has_numbers(o.title):
        found.append(
            _f(
                "objective-numbers",
                "Its title has numbers in it.",
                "objective",
                o,
                link,
                Fix("Edit the objective", url("objective_edit", o.pk)),
            )
        )
    return found


def _f(
    rule_id: str, message: str, kind: str, o: Objective, url: Link, fix: Fix | None
) -> Finding:
    return Finding(BY_ID[rule_id], message, kind, o.title, url, _team_name(o), fix)


def _key_result_findings(ctx: _Context, o: Objective, kr: KeyResult) -> list[Finding]:
    found = []
    link = url("objective", o.pk, f"#kr-{kr.pk}")

    def add(rule_id: str, message: str, fix: Fix | bool | None = True) -> None:
        if ctx.on(rule_id):
            if fix is True:
                fix = Fix("Edit the key result", url("key_result_edit", kr.pk))
            found.append(
                Finding(
                    BY_ID[rule_id],
                    message,
                    "key_result",
                    kr.title,
                    link,
                    _team_name(o),
                    fix or None,
                )
            )

    if not measurable(kr):
        add("kr-no-target", "It has no start and target to measure it by.")
    if kr.kind != KeyResult.Kind.MILESTONE and coach.reads_like_initiative(kr.title):
        add(
            "kr-initiative",
            "It reads like a task with no measure.",
            Fix("Make it a milestone", url("key_result_edit", kr.pk)),
        )
    if kr.owner_id is None:
        add("kr-no-owner", "It has no owner.")
    if ctx.is_stale(kr):
        days = ctx.membership.organization.checkin_cadence_days
        add(
            "kr-stale",
            f"No check-in for longer than the {days}-day cadence.",
            Fix("Check in", link),
        )
    if kr.kind == KeyResult.Kind.METRIC and coach.wrong_way(
        kr.title, kr.start, kr.target
    ):
        add("kr-not-ambitious", "Its target goes the other way from what it says.")
    elif ctx.early and reached_early(kr, ctx.period, ctx.now):
        add(
            "kr-not-ambitious",
            "Already reached in the first third of the period.",
            None,
        )
    return found


def measurable(kr: KeyResult) -> bool:
    """A metric with a start and a target, a threshold with a bound, or a milestone."""
    if kr.kind == KeyResult.Kind.METRIC:
        return kr.start is not None and kr.target is not None and kr.start != kr.target
    if kr.kind == KeyResult.Kind.THRESHOLD:
        return kr.threshold_low is not None or kr.threshold_high is not None
    return True


def reached_early(kr: KeyResult, period: Period, now: datetime) -> bool:
    """At 100 % while no more than a third of its period has passed."""
    if kr.kind == KeyResult.Kind.MILESTONE or now < period.starts_at:
        return False
    raw = kr.progress_raw()
    return raw is not None and raw >= 1 and period.time_share(now) <= coach.EARLY_SHARE


def _unaligned(ctx: _Context, objectives: list[Objective]) -> list[Finding]:
    """No parent objective and no KPI it works on (as this member sees the KPIs)."""
    candidates = [o for o in objectives if o.parent_id is None]
    if not candidates:
        return []
    ids = [o.pk for o in candidates]
    # One query: a link to a KPI, or a key result tracking one, that the member sees.
    org, visible = ctx.membership.organization, kpis_for_member(ctx.membership)
    linked = ObjectiveKPI.objects.filter(
        organization=org, objective_id__in=ids, kpi__in=visible.values("pk")
    ).values_list("objective_id", flat=True)
    tracked = KeyResult.objects.filter(
        organization=org, objective_id__in=ids, kpi__in=visible.values("pk")
    ).values_list("objective_id", flat=True)
    aligned = set(linked.order_by().union(tracked.order_by()))
    found = []
    for o in candidates:
        if o.pk in aligned:
            continue
        found.append(
            _f(
                "objective-unaligned",
                "No parent objective, no KPI.",
                "objective",
                o,
                url("objective", o.pk),
                Fix("Align it", url("objective_edit", o.pk)),
            )
        )
    return found


def _recurring(ctx: _Context, objectives: list[Objective]) -> list[Finding]:
    """The same title (in any case and punctuation), for the same team, in an earlier
    period that this member may see; a carried-over objective is not a repeat."""
    fresh = [o for o in objectives if o.carried_from_id is None]
    lowered = sorted({o.title.lower() for o in fresh})
    if not lowered:
        return []
    earlier: dict[tuple[str, int | None], str] = {}
    for title, team_id, period_name in (
        objectives_for_member(ctx.membership)
        .filter(period__start__lt=ctx.period.start)
        .annotate(lowered=Lower("title"))
        .filter(lowered__in=lowered)
        .order_by("period__start", "pk")
        .values_list("title", "team_id", "period__name")
    ):
        earlier[(coach.same_title(title), team_id)] = period_name  # latest wins
    found = []
    for o in fresh:
        seen_in = earlier.get((coach.same_title(o.title), o.team_id))
        if seen_in is None:
            continue
        link = url("objective", o.pk)
        found.append(
            _f(
                "objective-recurs",
                f"Also an objective in {seen_in}.",
                "objective",
                o,
                link,
                Fix("Keep as a KPI", url("objective", o.pk, "#key-results")),
            )
        )
    return found


def _team_objectives(
    ctx: _Context, objectives: list[Objective], *, whole: bool
) -> list[Finding]:
    most = ctx.settings.thresholds.max_team_objectives
    teams = {o.team_id: o.team for o in objectives if o.team is not None}
    if whole:
        counts = Counter(o.team_id for o in objectives if o.team_id is not None)
    else:
        counts = Counter(
            dict(
                objectives_for_member(ctx.membership)
                .in_period(ctx.period)
                .filter(team_id__in=sorted(teams))
                .order_by()
                .values_list("team_id")
                .annotate(n=Count("pk"))
            )
        )
    found = []
    for team_id, n in counts.items():
        team = teams.get(team_id)
        if team is None or n <= most:
            continue
        link = reverse("tree") + f"?period={ctx.period.pk}&team={team.pk}"
        found.append(
            Finding(
                BY_ID["team-objectives"],
                f"{n} objectives in {ctx.period.name}; aim for at most {most}.",
                "team",
                team.name,
                link,
                team.name,
                Fix("See the team's OKRs", link),
            )
        )
    return found


# KPIs


def kpi_findings(
    membership: Membership,
    period: Period | None,
    *,
    kpi: KPI | None = None,
    now: datetime | None = None,
) -> list[Finding]:
    """Findings on the KPIs this member may see (or one of them): unhealthy or raised
    without an OKR working on it (an objective of a period not closed, as the KPI
    dashboard says), and too many key KPIs in a team. A target counts as raised when
    a change during `period` made it more ambitious. Queries: the KPIs, the OKRs
    working on them, their versions (when a period is given)."""
    org = membership.organization
    settings = org.coach_settings()
    now = now or timezone.now()
    kpis = kpis_for_member(membership).filter(archived=False)
    read = kpis.with_health(now).order_by("pk")
    if kpi is not None:
        mine = Q(pk=kpi.pk)
        read = read.filter(
            mine | Q(team_id=kpi.team_id, is_key=True) if kpi.team_id else mine
        )
        kpis = kpis.filter(pk=kpi.pk)
    raised = (
        raised_in(period, kpis.values("pk"))
        if period is not None and settings.on("kpi-raised-no-okr")
        else set()
    )
    if kpi is None:
        # Only the KPIs a rule may name (a large organization's healthy ones are most).
        read = read.filter(
            Q(health=Health.UNHEALTHY)
            | Q(pk__in=sorted(raised))
            | Q(is_key=True, team__isnull=False)
        )
    # Rows, not models: a large organization's rules may name a thousand KPIs.
    rows = list(
        read.annotate(team_name=F("team__name")).values_list(
            *("pk", "name", "team_id", "is_key", "health", "team_name"), named=True
        )
    )
    targets = [k for k in rows if kpi is None or k.pk == kpi.pk]
    unhealthy = {k.pk for k in targets if k.health == Health.UNHEALTHY}
    if not settings.on("kpi-unhealthy-no-okr"):
        unhealthy = set()
    # A whole organization's: the KPIs that OKRs work on are few, the unhealthy many.
    # Asked whatever the KPIs' health, so that a page costs the same queries whatever
    # its KPIs' state (a subquery: a thousand ids written into the SQL cost more).
    working = kpis_with_okrs(membership, kpis.values("pk") if kpi is None else [kpi.pk])
    found = []
    fix_period = period.pk if period is not None and not period.is_closed else None
    for k in targets:
        if k.pk in working or not (k.pk in unhealthy or k.pk in raised):
            continue
        link = url("kpi", k.pk)
        team = k.team_name or ""
        fix = Fix(
            "Fix with an OKR",
            url("kpi_fix_with_okr", k.pk),
            post=True,
            period_id=fix_period,
        )
        if k.pk in unhealthy:
            found.append(
                Finding(
                    BY_ID["kpi-unhealthy-no-okr"],
                    "Unhealthy, and no OKR works on it.",
                    "kpi",
                    k.name,
                    link,
                    team,
                    fix,
                )
            )
        if k.pk in raised:
            when = f" during {period.name}" if period is not None else ""
            found.append(
                Finding(
                    BY_ID["kpi-raised-no-okr"],
                    f"Its target was raised{when}, and no OKR works on it.",
                    "kpi",
                    k.name,
                    link,
                    team,
                    fix,
                )
            )
    if settings.on("team-key-kpis"):
        found += _key_kpis(rows, settings, only=kpi)
    return order(found)


def _key_kpis(
    rows: list[Any], settings: Settings, *, only: KPI | None
) -> list[Finding]:
    most = settings.thresholds.max_key_kpis
    by_team: dict[int, list[Any]] = defaultdict(list)
    for k in rows:
        if k.is_key and k.team_id is not None:
            by_team[k.team_id].append(k)
    found = []
    for team_id, team_kpis in by_team.items():
        name = team_kpis[0].team_name
        if len(team_kpis) <= most:
            continue
        if only is not None and not (only.is_key and only.team_id == team_id):
            continue
        link = reverse("kpi_dashboard") + f"?team={team_id}&key=1"
        found.append(
            Finding(
                BY_ID["team-key-kpis"],
                f"{len(team_kpis)} KPIs marked key; aim for at most {most}.",
                "team",
                name,
                link,
                name,
                Fix("Review the team's key KPIs", link),
            )
        )
    return found


def raised_in(period: Period, kpi_ids: "QuerySet[KPI, Any]") -> set[int]:
    """Which of these KPIs had their target made more ambitious by a change during the
    period (kpis.actions.is_more_ambitious, as "Raise the bar" on saving): one query
    for the versions of the KPIs changed during it, up to its end."""
    history: Any = KPI.history  # added by HistoricalRecords
    changed = history.filter(
        id__in=kpi_ids,
        history_type="~",
        history_date__gte=period.starts_at,
        history_date__lt=period.ends_at,
    ).values("id")
    versions: dict[int, list[Any]] = defaultdict(list)
    for row in (
        history.filter(id__in=changed, history_date__lt=period.ends_at)
        .order_by("id", "history_date", "history_id")
        .only("id", "history_date", "target_kind", "target_low", "target_high")
    ):
        versions[row.id].append(row)
    raised = set()
    for kpi_id, rows in versions.items():
        for older, newer in itertools.pairwise(rows):
            if newer.history_date >= period.starts_at and is_more_ambitious(
                _target(older), _target(newer)
            ):
                raised.add(kpi_id)
                break
    return raised


def _target(row: Any) -> health.Target:
    return health.Target(
        health.TargetKind(row.target_kind), row.target_low, row.target_high
    )
