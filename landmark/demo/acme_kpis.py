"""The Acme demo's KPIs: the seed articles' health metrics with a year of history.

Grouped by department (Sales, Marketing, Support, HR) plus the company's own. Built
through the actions like the rest of the demo: `create_kpi`, `set_kpi_targets`, and
`import_data_points` (source "import") once per KPI, which also fills the per-window
values. Deterministic for a given `now`: one seeded generator drives every wobble.

The story follows seed article 002: support's average response time crept up to
about 52 minutes over the last weeks (the target is 30), and the support team set the
objective "Empower customers to help themselves by building the best help resources"
this quarter to fix it.

Sums (revenue, calls, traffic, tickets, contract value, deals) only have data for
windows that are over, as when a system reports each week or month once it closes:
a half-finished month's revenue would read as a miss against the month's target.
"""

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from itertools import pairwise

from django.utils import timezone

from landmark.kpis import health
from landmark.kpis.actions import (
    ParsedRow,
    create_kpi,
    import_data_points,
    set_kpi_targets,
)
from landmark.kpis.models import KPI, DataPoint
from landmark.okrs.actions import create_key_result, create_objective, record_checkin
from landmark.okrs.models import KeyResult, Objective, ObjectiveKPI, Period
from landmark.orgs.models import Organization, Team, TeamMember, User

SEED = 2024_05_14
HISTORY_DAYS = 365
HELP_RESOURCES = (
    "Empower customers to help themselves by building the best help resources"
)

Freq = KPI.Frequency
Agg = KPI.Aggregation
Kind = KPI.TargetKind
LEAD = KPI.Indicator.LEAD
LAG = KPI.Indicator.LAG


@dataclass(frozen=True)
class Series:
    """How a KPI's data points arrive over the year and what they say.

    `cadence`: when points come: "daily", "workdays" (Monday to Friday), "weekly"
    (on `weekday`), "monthly" (the month's last day), "quarterly" (a survey on the
    quarter's 8th day) or "events" (about `per_day` a working day, at random times,
    e.g. one per deal closed).
    `shape`: (days before now, level) knots, linearly interpolated. With
    `per_window` the level is the window's total and is spread over its points
    (weekends weighted by `weekend`); otherwise it is each point's value.
    `of_target`: the level is a share of the window's scheduled target.
    """

    cadence: str
    shape: tuple[tuple[int, float], ...]
    noise: float = 0.0  # each point varies by up to ±noise (relative)
    places: int = 0
    weekday: int = 4
    per_day: float = 1.0
    per_window: bool = False
    weekend: float = 1.0
    of_target: bool = False
    complete_windows_only: bool = False
    silent_days: int = 0  # no data in the last N days (a stale KPI)


@dataclass(frozen=True)
class KPISpec:
    key: str
    name: str
    team: str  # the demo team's name; "" for the company (root) team
    unit: str
    frequency: str
    aggregation: str
    series: Series
    target_kind: str = Kind.NONE
    low: str | None = None
    high: str | None = None
    indicator: str = LAG
    is_key: bool = False
    private: bool = False
    category: str = ""
    definition: str = ""


def revenue_target(months_from_now: int) -> Decimal:
    """Monthly revenue targets ramp up by $20k a month towards $800k."""
    return Decimal(800 + 20 * months_from_now)


KPIS: list[KPISpec] = [
    # Sales (seed articles 001, 002, 004).
    KPISpec(
        "sales-revenue",
        "Sales revenue",
        "Sales",
        "k USD",
        Freq.MONTHLY,
        Agg.SUM,
        Series(
            "workdays",
            (
                (365, 1.04),
                (300, 1.06),
                (230, 0.97),
                (200, 0.88),
                (170, 1.02),
                (120, 1.05),
                (60, 1.01),
                (30, 1.04),
                (0, 1.03),
            ),
            noise=0.25,
            places=1,
            per_window=True,
            of_target=True,
            complete_windows_only=True,
        ),
        Kind.AT_LEAST,
        low="800",
        is_key=True,
        category="Revenue",
        definition="New and expansion bookings closed in the month, from the CRM. The target ramps up month by month through the year.",
    ),
    KPISpec(
        "deals-closed",
        "Deals closed per quarter",
        "Sales",
        "deals",
        Freq.QUARTERLY,
        Agg.SUM,
        Series(
            "weekly",
            ((365, 96), (270, 104), (180, 112), (90, 120), (0, 124)),
            noise=0.15,
            per_window=True,
            complete_windows_only=True,
        ),
        Kind.AT_LEAST,
        low="110",
        category="Pipeline",
        definition="Deals marked closed-won in the CRM, counted each Friday.",
    ),
    KPISpec(
        "average-deal-size",
        "Average deal size",
        "Sales",
        "k USD",
        Freq.MONTHLY,
        Agg.MEAN,
        Series(
            "events",
            ((365, 62), (180, 80), (90, 92), (0, 103)),
            noise=0.45,
            places=1,
            per_day=2,
        ),
        Kind.AT_LEAST,
        low="80",
        category="Revenue",
        definition="First-year contract value of each deal closed, averaged over the month.",
    ),
    KPISpec(
        "trial-conversion",
        "Trial-to-customer conversion",
        "Sales",
        "%",
        Freq.MONTHLY,
        Agg.MEAN,
        Series(
            "weekly",
            ((365, 13.6), (120, 14.2), (90, 14.0), (0, 17.5)),
            noise=0.06,
            places=1,
            weekday=0,
        ),
        Kind.AT_LEAST,
        low="15",
        category="Conversion",
        definition="Share of each week's trial cohort that became paying customers within 30 days.",
    ),
    KPISpec(
        "calls-made",
        "Calls made",
        "Sales",
        "calls",
        Freq.WEEKLY,
        Agg.SUM,
        Series(
            "workdays",
            ((365, 262), (200, 281), (100, 244), (0, 290)),
            noise=0.2,
            per_window=True,
            complete_windows_only=True,
        ),
        Kind.AT_LEAST,
        low="250",
        indicator=LEAD,
        category="Activity",
        definition="Outbound calls logged by the sales team in the dialer.",
    ),
    KPISpec(
        "customer-lifetime-value",
        "Customer lifetime value",
        "Sales",
        "k USD",
        Freq.MONTHLY,
        Agg.LAST,
        Series(
            "monthly",
            ((365, 212), (0, 240)),
            noise=0.03,
            places=1,
            silent_days=140,
        ),
        Kind.AT_LEAST,
        low="200",
        category="Revenue",
        definition="Average gross margin per customer over their lifetime, copied by hand from the finance model.",
    ),
    KPISpec(
        "lead-to-customer",
        "Lead to customer conversion",
        "Sales",
        "%",
        Freq.MONTHLY,
        Agg.LAST,
        Series(
            "monthly",
            ((365, 5.4), (200, 4.8), (150, 5.3), (0, 5.8)),
            noise=0.03,
            places=2,
        ),
        Kind.AT_LEAST,
        low="5",
        is_key=True,
        category="Conversion",
        definition="Share of the month's sales-accepted leads that became customers.",
    ),
    KPISpec(
        "time-to-close",
        "Average time to close",
        "Sales",
        "days",
        Freq.MONTHLY,
        Agg.MEAN,
        Series("events", ((365, 33), (200, 29), (0, 26)), noise=0.5, per_day=2),
        Kind.AT_MOST,
        high="30",
        category="Pipeline",
        definition="Days from first meeting to signature, for each deal closed.",
    ),
    # Marketing.
    KPISpec(
        "website-traffic",
        "Website traffic",
        "Marketing",
        "visitors",
        Freq.DAILY,
        Agg.SUM,
        Series(
            "daily",
            ((365, 1_480), (250, 1_560), (120, 1_650), (0, 1_800)),
            noise=0.08,
            per_window=True,
            complete_windows_only=True,
        ),
        Kind.AT_LEAST,
        low="1400",
        indicator=LEAD,
        category="Awareness",
        definition="Unique visitors to the website and blog a day, from the analytics tool.",
    ),
    KPISpec(
        "visitor-to-lead",
        "Visitor-to-lead conversion",
        "Marketing",
        "%",
        Freq.WEEKLY,
        Agg.MEAN,
        Series(
            "daily",
            ((365, 8.3), (200, 8.9), (100, 8.4), (0, 8.7)),
            noise=0.1,
            places=2,
        ),
        Kind.AT_LEAST,
        low="8",
        indicator=LEAD,
        is_key=True,
        category="Conversion",
        definition="Share of the day's visitors who left their details (sign-up, demo request, download).",
    ),
    KPISpec(
        "cost-per-lead",
        "Cost per lead",
        "Marketing",
        "USD",
        Freq.MONTHLY,
        Agg.LAST,
        Series(
            "monthly",
            ((365, 46), (240, 53), (200, 47), (0, 44)),
            noise=0.02,
            places=2,
        ),
        Kind.AT_MOST,
        high="50",
        category="Efficiency",
        definition="Marketing spend of the month divided by the leads it brought in.",
    ),
    KPISpec(
        "customer-acquisition-cost",
        "Customer acquisition cost",
        "Marketing",
        "USD",
        Freq.MONTHLY,
        Agg.LAST,
        Series(
            "monthly",
            ((365, 2_380), (200, 2_450), (120, 2_560), (90, 2_600), (0, 2_650)),
            noise=0.01,
        ),
        Kind.AT_MOST,
        high="2500",
        is_key=True,
        category="Efficiency",
        definition="Sales and marketing spend of the month divided by the new customers won.",
    ),
    # Support (seed articles 001 and 002).
    KPISpec(
        "support-response-time",
        "Average response time",
        "Support",
        "min",
        Freq.WEEKLY,
        Agg.MEAN,
        Series(
            "daily",
            (
                (365, 24),
                (120, 26),
                (45, 27),
                (35, 33),
                (28, 40),
                (21, 44),
                (14, 48),
                (7, 51),
                (0, 52.5),
            ),
            noise=0.02,
            places=1,
        ),
        Kind.AT_MOST,
        high="30",
        is_key=True,
        category="Responsiveness",
        definition="Minutes from a customer's first message to our first human reply, averaged per day (help desk).",
    ),
    KPISpec(
        "support-median-response",
        "Median response time",
        "Support",
        "min",
        Freq.WEEKLY,
        Agg.LAST,
        Series(
            "weekly",
            ((365, 17), (40, 17.5), (0, 19)),
            noise=0.04,
            places=1,
            weekday=6,
        ),
        Kind.AT_MOST,
        high="20",
        category="Responsiveness",
        definition="Median minutes to the first human reply over the week, reported each Sunday.",
    ),
    KPISpec(
        "support-resolution-time",
        "Average resolution time",
        "Support",
        "h",
        Freq.WEEKLY,
        Agg.MEAN,
        Series(
            "daily",
            ((365, 10.5), (60, 11), (30, 12.2), (10, 12.8), (0, 12.8)),
            noise=0.015,
            places=2,
        ),
        Kind.AT_MOST,
        high="12",
        category="Responsiveness",
        definition="Hours from a ticket's creation to its resolution, averaged per day.",
    ),
    KPISpec(
        "csat",
        "Customer satisfaction (CSAT)",
        "Support",
        "%",
        Freq.WEEKLY,
        Agg.MEAN,
        Series(
            "daily",
            ((365, 95.8), (100, 96.1), (0, 96.2)),
            noise=0.006,  # every day above the 95 % target: healthy on any day
            places=1,
        ),
        Kind.AT_LEAST,
        low="95",
        is_key=True,
        category="Satisfaction",
        definition="Share of rated conversations rated good or great, per day.",
    ),
    KPISpec(
        "tickets-per-month",
        "Tickets per month",
        "Support",
        "tickets",
        Freq.MONTHLY,
        Agg.SUM,
        Series(
            "daily",
            ((365, 1_380), (200, 1_320), (120, 1_240), (90, 1_200), (0, 1_130)),
            noise=0.12,
            per_window=True,
            weekend=0.4,
            complete_windows_only=True,
        ),
        category="Volume",
        definition="New tickets opened. Watched for staffing, with no healthy range of its own.",
    ),
    # HR (seed articles 000 and 001).
    KPISpec(
        "employee-engagement",
        "Employee engagement",
        "HR",
        "",
        Freq.QUARTERLY,
        Agg.LAST,
        Series("quarterly", ((365, 70), (270, 71), (180, 72), (90, 74), (0, 78))),
        Kind.AT_LEAST,
        low="75",
        private=True,
        category="People",
        definition="Score out of 100 from the quarterly engagement survey. Private: team-level answers stay within HR.",
    ),
    KPISpec(
        "recruitment-time",
        "Average recruitment time",
        "HR",
        "days",
        Freq.MONTHLY,
        Agg.MEAN,
        Series("events", ((365, 52), (150, 48), (0, 42)), noise=0.25, per_day=0.25),
        Kind.AT_MOST,
        high="45",
        category="Hiring",
        definition="Days from opening a role to the accepted offer, for each hire.",
    ),
    # The company's own (seed article 000).
    KPISpec(
        "churn-rate",
        "Churn rate",
        "",
        "%",
        Freq.MONTHLY,
        Agg.LAST,
        Series(
            "monthly",
            ((365, 2.6), (180, 2.5), (90, 2.3), (0, 2.1)),
            noise=0.02,
            places=2,
        ),
        Kind.BELOW,  # strictly: 2 % itself is not healthy
        high="2",
        is_key=True,
        category="Retention",
        definition="Share of customers at the start of the month who cancelled during it.",
    ),
    KPISpec(
        "arr",
        "Annual recurring revenue (ARR)",
        "",
        "$M",
        Freq.MONTHLY,
        Agg.LAST,
        Series("weekly", ((365, 6.6), (90, 8.0), (0, 8.9)), noise=0.004, places=2),
        Kind.AT_LEAST,
        low="7.5",
        is_key=True,
        category="Revenue",
        definition="Annualised value of all active subscriptions, snapshotted each Friday.",
    ),
    KPISpec(
        "nps",
        "Net Promoter Score (NPS)",
        "",
        "NPS",
        Freq.MONTHLY,
        Agg.MEAN,
        Series("weekly", ((365, 28), (200, 31), (0, 37)), noise=0.08, weekday=2),
        Kind.AT_LEAST,
        low="30",
        category="Satisfaction",
        definition="NPS of each weekly in-app survey batch, averaged over the month.",
    ),
    KPISpec(
        "total-contract-value",
        "Total contract value (TCV)",
        "",
        "k USD",
        Freq.MONTHLY,
        Agg.SUM,
        Series(
            "events",
            ((365, 70), (180, 74), (0, 78)),
            noise=0.6,
            places=1,
            complete_windows_only=True,
        ),
        Kind.AT_LEAST,
        low="1500",
        category="Revenue",
        definition="Full value over their term of the contracts signed in the month.",
    ),
]

# Objectives of the current quarter that work on a KPI (docs/kpis.md, "Where KPIs and
# OKRs meet").
WORKS_ON = {
    HELP_RESOURCES: ("support-response-time",),
    "Generate Qualified Leads for sales": ("customer-acquisition-cost",),
    "Empower our users to be more self-sufficient": ("tickets-per-month",),
    "Provide the best possible experience when people trial our software": (
        "trial-conversion",
    ),
    "Grow faster than our market in the US and UK": ("arr",),
}
# Key results of the current quarter whose value follows a KPI.
TRACKS = {"Maintain CSAT at 95%": "csat"}


def build_demo_kpis(
    org: Organization, *, now: datetime, rng: random.Random
) -> list[KPI]:
    """Create the demo KPIs with their history and link them to this quarter's OKRs."""
    today = timezone.localtime(now).date()
    current = (
        Period.objects.filter(
            organization=org,
            kind=Period.Kind.QUARTER,
            start__lte=today,
            end__gte=today,
        )
        .exclude(state=Period.State.CLOSED)
        .first()
    )
    tracking = {
        kr.title: kr
        for kr in KeyResult.objects.filter(
            objective__period=current, title__in=list(TRACKS)
        ).select_related("owner", "objective")
    }
    kpis: dict[str, KPI] = {}
    for spec in KPIS:
        team = team_of(org, spec.team)
        owner = head_of(team)
        kpi = create_kpi(
            org=org,
            name=spec.name,
            key=spec.key,
            definition=spec.definition,
            owner=owner,
            team=team,
            unit=spec.unit,
            category=spec.category,
            indicator=spec.indicator,
            frequency=spec.frequency,
            aggregation=spec.aggregation,
            target_kind=spec.target_kind,
            target_low=decimal_or_none(spec.low),
            target_high=decimal_or_none(spec.high),
            is_key=spec.is_key,
            visibility=KPI.Visibility.PRIVATE
            if spec.private
            else KPI.Visibility.PUBLIC,
        )
        kpi.created_at = now - timedelta(days=HISTORY_DAYS + 7)
        kpi.save(update_fields=["created_at"])
        schedule = targets_of(spec, today)
        if schedule:
            set_kpi_targets(
                kpi=kpi, schedule=[(s, low, None) for s, low in schedule.items()]
            )
        # A key result that tracks the KPI follows the import (with a check-in).
        for title, key in TRACKS.items():
            if key == spec.key and title in tracking:
                tracking[title].kpi = kpi
                tracking[title].save(update_fields=["kpi"])
        points = generate_points(spec, now=now, rng=rng, schedule=schedule)
        import_data_points(
            kpi=kpi,
            rows=[
                ParsedRow(line=n, time=when, value=value, note="")
                for n, (when, value) in enumerate(points, start=1)
            ],
            author=owner,
            source=DataPoint.Source.IMPORT,
        )
        kpis[spec.key] = kpi
    if current is not None:
        link_objectives(org, current, kpis, now=now, rng=rng)
    return list(kpis.values())


def team_of(org: Organization, name: str) -> Team:
    if not name:
        return Team.objects.get(organization=org, kind=Team.Kind.COMPANY)
    return Team.objects.get(organization=org, name=name)


def head_of(team: Team) -> User | None:
    lead = (
        TeamMember.objects.filter(team=team, is_lead=True)
        .select_related("user")
        .order_by("pk")
        .first()
    )
    return lead.user if lead else None


def targets_of(spec: KPISpec, today: date) -> dict[date, Decimal]:
    """Sales revenue's monthly targets, from a year ago to two months ahead."""
    if spec.key != "sales-revenue":
        return {}
    this_month = today.replace(day=1)
    months: dict[date, Decimal] = {}
    for offset in range(-13, 3):
        month = this_month.month - 1 + offset
        start = date(this_month.year + month // 12, month % 12 + 1, 1)
        months[start] = revenue_target(offset)
    return months


def generate_points(
    spec: KPISpec,
    *,
    now: datetime,
    rng: random.Random,
    schedule: dict[date, Decimal] | None = None,
) -> list[tuple[datetime, Decimal]]:
    """The KPI's data points over the last year, oldest first, none after `now`."""
    series = spec.series
    today = timezone.localtime(now).date()
    cutoff = now - timedelta(days=series.silent_days)
    if series.complete_windows_only:
        cutoff = min(cutoff, local_midnight(health.window_start(spec.frequency, today)))
    points: list[tuple[datetime, Decimal]] = []
    seen: set[datetime] = set()
    weights = WindowWeights(spec.frequency, series)
    day = today - timedelta(days=HISTORY_DAYS)
    while day <= today:
        level = interpolate(series.shape, (today - day).days)
        if series.of_target and schedule:
            start = health.window_start(spec.frequency, day)
            level *= float(schedule.get(start, Decimal(0)))
        for when, weight in occurrences(series, day, rng):
            if when > cutoff or when in seen:
                continue
            share = weight / weights.total(day) if series.per_window else 1.0
            wobble = 1 + rng.uniform(-series.noise, series.noise)
            value = max(level * share * wobble, 0.0)
            points.append((when, rounded(value, series.places)))
            seen.add(when)
        day += timedelta(days=1)
    points.sort()
    return points


def occurrences(
    series: Series, day: date, rng: random.Random
) -> list[tuple[datetime, float]]:
    """When points arrive on `day`, each with its weight in a per-window total."""
    weekend = day.weekday() >= 5
    cadence = series.cadence
    if cadence == "daily":
        return [(at(day, 17), series.weekend if weekend else 1.0)]
    if cadence == "workdays":
        return [] if weekend else [(at(day, 17), 1.0)]
    if cadence == "weekly":
        return [(at(day, 17), 1.0)] if day.weekday() == series.weekday else []
    if cadence == "monthly":
        last = (day + timedelta(days=1)).day == 1
        return [(at(day, 18), 1.0)] if last else []
    if cadence == "quarterly":
        survey = day.day == 8 and day.month % 3 == 1
        return [(at(day, 10), 1.0)] if survey else []
    if weekend:
        return []
    whole = int(series.per_day)
    count = whole + (1 if rng.random() < series.per_day - whole else 0)
    count += rng.choice([-1, 0, 0, 1]) if whole else 0
    return [
        (at(day, 9) + timedelta(seconds=rng.randrange(9 * 3600)), 1.0)
        for _ in range(max(count, 0))
    ]


@dataclass
class WindowWeights:
    """The total weight of the points of a window, to spread a window's total."""

    frequency: str
    series: Series

    def __post_init__(self) -> None:
        self.cache: dict[date, float] = {}

    def total(self, day: date) -> float:
        start = health.window_start(self.frequency, day)
        if start not in self.cache:
            end = health.next_window(self.frequency, start)
            days = (start + timedelta(days=n) for n in range((end - start).days))
            quiet = random.Random(0)  # fixed cadences never draw from it
            self.cache[start] = sum(
                w for d in days for _, w in occurrences(self.series, d, quiet)
            )
        return self.cache[start] or 1.0


def interpolate(shape: Sequence[tuple[int, float]], days_ago: int) -> float:
    """The level `days_ago` days before now, from (days before now, level) knots."""
    knots = sorted(shape)
    if days_ago <= knots[0][0]:
        return knots[0][1]
    for (d0, v0), (d1, v1) in pairwise(knots):
        if d0 <= days_ago <= d1:
            return v0 + (v1 - v0) * (days_ago - d0) / (d1 - d0)
    return knots[-1][1]


def at(day: date, hour: int) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour)))


def local_midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def rounded(value: float, places: int) -> Decimal:
    return Decimal(str(round(value, places))).quantize(Decimal(1).scaleb(-places))


def decimal_or_none(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


def link_objectives(
    org: Organization,
    period: Period,
    kpis: dict[str, KPI],
    *,
    now: datetime,
    rng: random.Random,
) -> None:
    """This quarter's objectives that work on a KPI, and the support team's new one."""
    objectives = {
        o.title: o
        for o in Objective.objects.filter(
            organization=org, period=period, title__in=list(WORKS_ON)
        )
    }
    if HELP_RESOURCES not in objectives:
        objectives[HELP_RESOURCES] = create_help_resources(org, period, now, rng)
    ObjectiveKPI.objects.bulk_create(
        ObjectiveKPI(organization=org, objective=objectives[title], kpi=kpis[key])
        for title, keys in WORKS_ON.items()
        if title in objectives
        for key in keys
    )


def create_help_resources(
    org: Organization, period: Period, now: datetime, rng: random.Random
) -> Objective:
    """Seed article 002's fix for the slow replies: new features shipped without help
    articles, so customers wrote in instead."""
    support = team_of(org, "Support")
    head = head_of(support)
    if head is None:
        raise ValueError("The demo's Support team needs a lead.")
    agent = next(
        (
            m.user
            for m in TeamMember.objects.filter(team=support, is_lead=False)
            .select_related("user")
            .order_by("pk")
        ),
        head,
    )
    objective = create_objective(
        org=org,
        period=period,
        owner=head,
        title=HELP_RESOURCES,
        description=(
            "Average response time rose to about 52 minutes against a target of 30. "
            "Most new tickets ask about features we shipped without help articles."
        ),
        team=support,
        type=Objective.Type.IMPROVE,
    )
    plans: list[tuple[KeyResult, Callable[[float], Decimal]]] = [
        (
            create_key_result(
                objective=objective,
                title="Reduce the number of support tickets about new features by 30%, from 400 to 280 a month",
                owner=head,
                unit="tickets/month",
                start=Decimal(400),
                target=Decimal(280),
            ),
            lambda share: Decimal(round(400 - 120 * 0.8 * share)),
        ),
        (
            create_key_result(
                objective=objective,
                title="Increase Knowledge Base traffic to 25,000 unique visitors a month",
                owner=agent,
                unit="visitors",
                start=Decimal(16_000),
                target=Decimal(25_000),
            ),
            lambda share: Decimal(round(16_000 + 9_000 * 0.9 * share, -2)),
        ),
    ]
    # Weekly check-ins since the objective was set, about four weeks ago.
    first = max(period.starts_at + timedelta(days=2), now - timedelta(days=27))
    times = []
    when = first
    while when <= now - timedelta(hours=1):
        times.append(when)
        when += timedelta(days=7)
    for kr, value_at in plans:
        for when in times:
            share = min(1.0, (when - first) / (period.ends_at - first) * 2)
            record_checkin(
                key_result=kr,
                author=kr.owner or head,
                status=KeyResult.Status.ON_TRACK
                if rng.random() < 0.7
                else KeyResult.Status.NEEDS_ATTENTION,
                value=value_at(share),
                confidence=rng.randint(5, 8),
                at=when,
            )
    return objective
