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
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any

from django.db.models import (
    Case,
    Count,
    F,
    Q,
    QuerySet,
    Value,
    When,
    Window,
)
from django.db.models.functions import Coalesce, Lower, RowNumber
from django.urls import reverse
from django.utils import timezone

from landmark.kpis import health
from landmark.kpis.access import kpis_for_member
from landmark.kpis.actions import is_more_ambitious
from landmark.kpis.models import KPI, KPIQuerySet
from landmark.lib import coach
from landmark.lib.coach import BY_ID, Rule, Settings
from landmark.loop.actions import kpis_without_okrs
from landmark.okrs.access import objectives_for_member
from landmark.okrs.models import KeyResult, Objective, ObjectiveKPI, Period
from landmark.orgs.models import Membership, Team

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
    object_id: int  # the objective's, key result's, KPI's or team's
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
    team: Team | None = None,
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
    if team is not None:
        scope = scope.filter(team=team)
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
    return Finding(
        BY_ID[rule_id], message, kind, o.pk, o.title, url, _team_name(o), fix
    )


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
                    kr.pk,
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
                team.pk,
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
    """Every finding on the KPIs this member may see (or on one of them): unhealthy
    or raised without an OKR working on it (an objective of a period not closed, as
    the KPI dashboard says), and too many key KPIs in a team. A target counts as
    raised when a change during `period` made it more ambitious. Queries: the KPIs'
    versions (when a period is given), the KPIs a rule names, the key KPIs per team.
    The coach page counts instead (`period_report`): a large organization's are many."""
    rules = _KPIRules(membership, period, now, kpi=kpi)
    return order(rules.every_finding() + rules.key_kpis())


# A KPI rule's findings in order() (by team, then name) as SQL sorts them: the page
# reads only the first ones. (lower() agrees with casefold() on ASCII names.)
KPI_ORDER = (Lower("team_name"), Lower("name"), "pk")
KPI_ROW = ("pk", "name", "health", "team_name")


class _KPIRules:
    """The KPI rules for one member and period, as queries: which KPIs they name,
    how many (by team), the first ones, and the teams with too many key KPIs."""

    def __init__(
        self,
        membership: Membership,
        period: Period | None,
        now: datetime | None,
        *,
        kpi: KPI | None = None,
        team: Team | None = None,
    ) -> None:
        self.membership, self.period, self.kpi = membership, period, kpi
        self.settings = membership.organization.coach_settings()
        # The KPIs in scope (the team's, when given); the rules on KPIs read one of
        # them when a KPI is given, the key-KPI rule its whole team.
        self.visible = kpis_for_member(membership).filter(archived=False)
        if team is not None:
            self.visible = self.visible.filter(team=team)
        self.kpis = self.visible if kpi is None else self.visible.filter(pk=kpi.pk)
        self.raised = (
            raised_in(period, self.kpis.values("pk"))
            if period is not None and self.settings.on("kpi-raised-no-okr")
            else set()
        )
        self.now = now or timezone.now()
        closed = period is None or period.is_closed
        self.fix_period = None if closed or period is None else period.pk

    def unhealthy(self) -> Q:
        return Q(health=Health.UNHEALTHY)

    def raised_q(self) -> Q:
        return Q(pk__in=sorted(self.raised))

    @cached_property
    def _named(self) -> KPIQuerySet:
        # Built once for the queries that read it: on a small organization its
        # subqueries cost more to build than to run.
        # Never empty in Python's eyes (`pk__in=[]` alone sends no query): a page
        # costs the same queries whether a target was raised or not.
        on = self.settings.on("kpi-unhealthy-no-okr")
        wanted = self.raised_q() | (self.unhealthy() if on else Q(pk__isnull=True))
        read = self.kpis.with_health(self.now).annotate(
            team_name=Coalesce("team__name", Value(""))
        )
        return kpis_without_okrs(self.membership, read).filter(wanted)

    def named(self, **more: Any) -> QuerySet[Any, Any]:
        """Rows of the KPIs a rule names: unhealthy (when that rule is on) or raised,
        and no OKR working on them (with `more` annotations)."""
        return self._named.annotate(**more).values_list(*KPI_ROW, *more, named=True)

    def _counts(self) -> dict[str, Count]:
        """Each rule's findings among the rows of `named()`, as aggregates."""
        on = self.settings.on("kpi-unhealthy-no-okr")
        return {
            "kpi-unhealthy-no-okr": Count(
                "pk", filter=self.unhealthy() if on else Q(pk__in=[])
            ),
            "kpi-raised-no-okr": Count("pk", filter=self.raised_q()),
        }

    def first_by_rule(self, shown: int) -> tuple[list[Finding], dict[str, int]]:
        """The first `shown` findings of each rule (in order()) and how many each
        rule has: one query. The raised KPIs come first, read whole (few: a raised
        target is rare), then the unhealthy ones: of those read, the first `shown`,
        counted over all (window aggregates, worked out before the LIMIT)."""
        counts = self._counts()
        rows = self.named(
            **{f"n{i}": Window(c) for i, c in enumerate(counts.values())}
        ).order_by(*self._raised_first(), *KPI_ORDER)[: len(self.raised) + shown]
        totals: dict[str, int] = {}
        found: list[Finding] = []
        for row in rows:
            totals = {
                rule_id: getattr(row, f"n{i}") for i, rule_id in enumerate(counts)
            }
            found += self.finding(row)
        return order(found), {rule_id: n for rule_id, n in totals.items() if n}

    def team_counts(self) -> dict[tuple[str, str], int]:
        """How many findings each rule has in each team (by the team's name, "" for
        none): one query."""
        counts = self._counts()
        grouped = (
            self.named()
            .values("team_name")
            .annotate(**{f"n{i}": c for i, c in enumerate(counts.values())})
            .order_by()
        )
        return {
            (rule_id, row["team_name"]): row[f"n{i}"]
            for row in grouped
            for i, rule_id in enumerate(counts)
            if row[f"n{i}"]
        }

    def first_in_teams(self, shown: int, teams: list[str]) -> list[Finding]:
        """The first `shown` findings of each rule in each of these teams (by name,
        "" for none), in order(): one query, as first_by_rule's in each team."""
        rank = Window(
            RowNumber(),
            partition_by=[F("team_name")],
            order_by=[*self._raised_first(), *KPI_ORDER],
        )
        rows = (
            self.named(rank=rank)
            .filter(team_name__in=teams)
            .filter(rank__lte=len(self.raised) + shown)
        )
        return order([f for row in rows for f in self.finding(row)])

    def _raised_first(self) -> list[Case]:
        # A constant ORDER BY would name a column: only when some are raised.
        if not self.raised:
            return []
        return [Case(When(self.raised_q(), then=Value(0)), default=Value(1))]

    def every_finding(self) -> list[Finding]:
        """The findings on every KPI a rule names (without the key-KPI rule's), in
        order()."""
        rows = self.named().order_by(*KPI_ORDER)
        return [f for row in rows for f in self.finding(row)]

    def finding(self, k: Any) -> list[Finding]:
        """The findings on one KPI row of `named()`."""
        found = []
        link = url("kpi", k.pk)
        fix = Fix(
            "Fix with an OKR",
            url("kpi_fix_with_okr", k.pk),
            post=True,
            period_id=self.fix_period,
        )
        if k.health == Health.UNHEALTHY and self.settings.on("kpi-unhealthy-no-okr"):
            found.append(
                Finding(
                    BY_ID["kpi-unhealthy-no-okr"],
                    "Unhealthy, and no OKR works on it.",
                    "kpi",
                    k.pk,
                    k.name,
                    link,
                    k.team_name,
                    fix,
                )
            )
        if k.pk in self.raised:
            period = self.period
            when = f" during {period.name}" if period is not None else ""
            found.append(
                Finding(
                    BY_ID["kpi-raised-no-okr"],
                    f"Its target was raised{when}, and no OKR works on it.",
                    "kpi",
                    k.pk,
                    k.name,
                    link,
                    k.team_name,
                    fix,
                )
            )
        return found

    def key_kpis(self) -> list[Finding]:
        """Teams with more key KPIs than the threshold (one query; for one KPI, its
        team's when it is key)."""
        if not self.settings.on("team-key-kpis"):
            return []
        most = self.settings.thresholds.max_key_kpis
        kpis = self.visible
        if self.kpi is not None:
            # Its team's, when it is key; asked even when not (no team matches), so
            # that every KPI page costs the same queries.
            team_id = self.kpi.team_id if self.kpi.is_key else None
            kpis = (
                kpis.filter(team_id=team_id)
                if team_id is not None
                else kpis.filter(team__isnull=True)
            )
        teams = (
            kpis.filter(is_key=True, team__isnull=False)
            .values_list("team_id", "team__name")
            .annotate(n=Count("pk"))
            .filter(n__gt=most)
            .order_by(Lower("team__name"), "team_id")
        )
        found = []
        for team_id, name, n in teams:
            link = reverse("kpi_dashboard") + f"?team={team_id}&key=1"
            found.append(
                Finding(
                    BY_ID["team-key-kpis"],
                    f"{n} KPIs marked key; aim for at most {most}.",
                    "team",
                    team_id,
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


# A team's Coach box (on its OKRs: the OKR tree filtered to it) shows its first ones.
TEAM_SHOWN = 12


@dataclass
class TeamCoach:
    findings: list[Finding]  # the first TEAM_SHOWN, in order()
    total: int

    @property
    def more(self) -> int:
        return self.total - len(self.findings)


def team_findings(
    membership: Membership,
    period: Period,
    team: Team,
    *,
    now: datetime | None = None,
) -> TeamCoach:
    """The findings on a team's own objectives and key results in the period, its
    number of objectives, its KPIs and its key KPIs: what the coach page's group of
    that team holds (by=team). A team's sub-teams have their own. Queries: those of
    okr_findings and kpi_findings, on the team's rows only."""
    rules = _KPIRules(membership, period, now, team=team)
    okrs = okr_findings(membership, period, team=team, now=now)
    found = order([*okrs, *rules.every_finding(), *rules.key_kpis()])
    return TeamCoach(found[:TEAM_SHOWN], len(found))


# A period's coach page (and GET /api/v1/coach)

# Findings shown per group: a large organization's period may have thousands; the rest
# are counted in SQL (the same rule's findings read alike).
SHOWN = 50
# Groups shown: by team, a large organization has a thousand teams; the page shows
# the first ones (by name) and counts the rest.
GROUPS_SHOWN = 40
NO_TEAM = "No team"


@dataclass
class Group:
    name: str
    rule: Rule | None  # grouped by rule: the rule; by team: None
    findings: list[Finding] = field(default_factory=list)
    total: int = 0

    @property
    def more(self) -> int:
        return self.total - len(self.findings)


@dataclass
class Report:
    """A period's findings as the coach page shows them: the first groups, each with
    its first findings, and how many there are in all."""

    groups: list[Group]
    groups_more: int  # groups with findings not shown
    total: int
    warnings: int


def period_report(
    membership: Membership,
    period: Period,
    *,
    by: str = "rule",
    shown: int | None = None,
    groups_shown: int | None = None,
    now: datetime | None = None,
) -> Report:
    """The findings on a period's OKRs (all built: a period's are as many as its
    objectives) and on the KPIs (counted in SQL, only the shown ones built: an
    organization's KPIs are thousands), grouped by rule or by team (by its name), in
    order(). Queries: okr_findings's, and for the KPIs their targets' versions, the
    teams' key KPIs, then by rule the first KPIs each rule names with the counts
    (window aggregates); by team the counts, then the first KPIs in the teams shown
    (none when no team has a finding)."""
    shown = SHOWN if shown is None else shown
    groups_shown = GROUPS_SHOWN if groups_shown is None else groups_shown
    by_team = by == "team"

    def key(rule_id: str, team: str) -> str:
        return (team or NO_TEAM) if by_team else rule_id

    okrs = okr_findings(membership, period, now=now)
    kpis = _KPIRules(membership, period, now)
    whole = okrs + kpis.key_kpis()  # counted by building them
    totals: Counter[str] = Counter(key(f.rule.id, f.team) for f in whole)
    if by_team:
        counted = kpis.team_counts()
    else:
        first, rule_counts = kpis.first_by_rule(shown)
        counted = {(rule_id, ""): n for rule_id, n in rule_counts.items()}
    for (rule_id, team), count in counted.items():
        totals[key(rule_id, team)] += count
    if by_team:
        names = sorted(totals, key=lambda n: (n == NO_TEAM, n.casefold()))
    else:
        names = [r.id for r in coach.RULES if r.id in totals]
    names_shown = names[:groups_shown]
    if by_team:
        first = kpis.first_in_teams(
            shown, [("" if n == NO_TEAM else n) for n in names_shown]
        )
    built = whole + first
    groups = {
        n: Group(n, None) if by_team else Group(BY_ID[n].name, BY_ID[n])
        for n in names_shown
    }
    for f in order(built):
        group = groups.get(key(f.rule.id, f.team))
        if group is not None and len(group.findings) < shown:
            group.findings.append(f)
    for n, group in groups.items():
        group.total = totals[n]
    warning = coach.Severity.WARNING
    warnings = sum(f.rule.severity == warning for f in whole) + sum(
        count
        for (rule_id, _), count in counted.items()
        if BY_ID[rule_id].severity == warning
    )
    return Report(
        groups=list(groups.values()),
        groups_more=max(0, len(names) - groups_shown),
        total=sum(totals.values()),
        warnings=warnings,
    )
