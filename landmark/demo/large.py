"""A synthetic workspace big enough to show whether pages keep their speed with size.

About 1,000 teams, 500 people, 4 quarters, 10,000 objectives, 40,000 key results and
400,000 check-ins (`scale` builds a share of that). Rows go in with bulk_create (with
their "created" history versions) instead of the actions, then a few edits go
through the actions so the history shows changes too: recording
400,000 check-ins one by one would take an hour. So this module fills the key
results' latest-check-in fields (current, last_checkin_at, counters) itself, exactly
as record_checkin would leave them, and grades closed quarters as close_period would.

KPIs (`build_large_kpis`): 2,000 over the departments with 5,000,000 data points, one
of them with 1,000,000 and one with 1,000 for the KPI page benchmark. Points go in
with `executemany` and the per-window values are computed here with the same rules as
`kpis.actions.recompute_windows`, which would take hours one window at a time.
"""

import bisect
import math
import random
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import TypeVar

from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.text import slugify
from simple_history.utils import bulk_create_with_history

from landmark.kpis import health
from landmark.kpis.current import refresh_current
from landmark.kpis.models import KPI, DataPoint, KPIWindow
from landmark.okrs import scoring
from landmark.okrs.actions import (
    computed_outcome,
    update_key_result,
    update_objective,
)
from landmark.okrs.models import CheckIn, KeyResult, Objective, Period, day_start
from landmark.orgs.models import Membership, Organization, Team, TeamMember, User

SEED = 1_000
BATCH = 4_000
PASSWORD = "landmark-demo"  # noqa: S105  # a benchmark workspace, never a real one
USERS = 500
QUARTERS = 4
OBJECTIVES_PER_PERIOD = 2_500
COMPANY_OBJECTIVES = 5
SMALL_PERIODS = ("Offsite sprint", "Launch sprint")  # closed, running
SMALL_PERIOD_OBJECTIVES = 16  # as many as Acme's quarter
KRS_PER_OBJECTIVE = 4
CHECKINS_PER_KR = 10

FUNCTIONS = [
    "Sales",
    "Marketing",
    "Support",
    "Engineering",
    "Finance",
    "People",
    "Operations",
    "Product",
    "Legal",
    "Data",
]
REGIONS = [
    "North",
    "South",
    "East",
    "West",
    "Central",
    "Nordics",
    "Iberia",
    "Benelux",
    "DACH",
    "UK",
    "Ireland",
    "France",
    "Italy",
    "Poland",
    "Japan",
    "Korea",
    "India",
    "Brazil",
    "Mexico",
    "Canada",
]
SQUADS = ["Alpha", "Bravo", "Charlie", "Delta"]
FIRST_NAMES = [
    "Alex",
    "Bea",
    "Carlos",
    "Dana",
    "Emil",
    "Fatima",
    "Gus",
    "Hana",
    "Ivan",
    "Jules",
    "Kemal",
    "Lin",
    "Mona",
    "Nils",
    "Olu",
    "Pia",
    "Quinn",
    "Rosa",
    "Tomas",
    "Yara",
]
LAST_NAMES = [
    "Adler",
    "Berg",
    "Costa",
    "Dubois",
    "Eriksen",
    "Fischer",
    "Garcia",
    "Horvat",
    "Ito",
    "Jensen",
    "Kowalski",
    "Larsen",
    "Moreau",
    "Novak",
    "Okafor",
    "Petrov",
    "Rossi",
    "Silva",
    "Tanaka",
    "Weber",
    "Young",
    "Zimmer",
    "Quist",
    "Vega",
    "Ueda",
]
COMPANY_TITLES = [
    "Become the obvious choice for mid-sized companies",
    "Delight every customer from the first day",
    "Grow efficiently in every region",
    "Build a product people recommend",
    "Make this the best place we have ever worked",
]
VERBS = ["Improve", "Grow", "Simplify", "Accelerate", "Strengthen", "Reinvent"]
THEMES = [
    "customer onboarding",
    "the sales pipeline",
    "self-service support",
    "hiring",
    "release quality",
    "partner revenue",
    "data quality",
    "brand awareness",
    "retention",
    "unit economics",
]
METRICS = [
    ("weekly active users", "users", 5_000, 40_000),
    ("trial conversion", "%", 5, 30),
    ("NPS", "NPS", 10, 50),
    ("open ticket backlog", "tickets", 100, 900),
    ("monthly revenue", "k USD", 200, 2_000),
    ("lead time", "days", 3, 40),
    ("qualified leads", "leads", 100, 1_500),
    ("churn", "%", 1, 6),
]
MILESTONES = [
    "Ship the new reporting module",
    "Launch the partner programme",
    "Sign the framework agreement",
    "Migrate billing to the new provider",
    "Publish the public roadmap",
]
PERIOD_RETROSPECTIVE = "Synthetic quarter for benchmarks."

KIND_WEIGHTS = [
    (KeyResult.Kind.METRIC, 65),
    (KeyResult.Kind.THRESHOLD, 20),
    (KeyResult.Kind.MILESTONE, 15),
]
STATUS_OF_PACE: dict[scoring.Pace, str] = {
    scoring.Pace.ON_TRACK: KeyResult.Status.ON_TRACK,
    scoring.Pace.NEEDS_ATTENTION: KeyResult.Status.NEEDS_ATTENTION,
    scoring.Pace.OFF_TRACK: KeyResult.Status.OFF_TRACK,
    scoring.Pace.STALE: KeyResult.Status.OFF_TRACK,
}
CENT = Decimal("0.01")
T = TypeVar("T")


def build_large(
    *,
    now: datetime | None = None,
    name: str = "Globex",
    slug: str = "globex",
    scale: float = 1.0,
) -> Organization:
    """Create the large benchmark workspace, or return it unchanged if it exists.

    `scale` shrinks it: 0.1 gives about a tenth (100 teams, 50 people, 1,000
    objectives, 200 KPIs with 500,000 data points) for a quick benchmark.
    """
    if not 0 < scale <= 1:
        raise ValueError("The scale is a share of the full size: above 0, at most 1.")
    existing = Organization.objects.filter(slug=slug).first()
    if existing is not None:
        return existing
    now = now or timezone.now()
    with transaction.atomic():
        org = LargeBuilder(now, name, slug, scale=scale).build()
        build_large_kpis(
            org,
            now,
            kpi_count=max(3, round(KPI_COUNT * scale)),
            total_points=round(KPI_POINTS * scale),
            big_points=round(BIG_POINTS * scale),
        )
        edit_some(org)
        return org


def edit_some(org: Organization) -> None:
    """A few edits through the actions, as people make them: the activity log and the
    objective pages then show changes (an alignment, a tracked KPI), as Acme's do, and
    the running sprint works on KPIs like Acme's quarter. Never on the owner's key
    results: the owner's focus page stays as plain as Acme's owner's."""
    owner = Membership.objects.get(organization=org, role=Membership.Role.OWNER)
    kpis = list(KPI.objects.filter(organization=org).order_by("pk")[:5])
    quarter = Period.objects.get(
        organization=org, kind=Period.Kind.QUARTER, state=Period.State.ACTIVE
    )
    sprint = Period.objects.get(organization=org, name=SMALL_PERIODS[1])
    in_quarter = Objective.objects.filter(organization=org, period=quarter)
    company = list(in_quarter.filter(level=Objective.Level.COMPANY).order_by("pk"))
    teams = in_quarter.filter(level=Objective.Level.TEAM, parent__isnull=False)
    for n, objective in enumerate(teams.order_by("pk")[:5]):
        others = [c for c in company if c.pk != objective.parent_id]
        update_objective(objective=objective, parent=others[n % len(others)])
    metric = KeyResult.objects.filter(
        organization=org, kind=KeyResult.Kind.METRIC, kpi__isnull=True
    ).exclude(Q(owner_id=owner.user_id) | Q(objective__owner_id=owner.user_id))
    in_sprint = metric.filter(objective__period=sprint).order_by("pk")[:1]
    in_quarter_krs = metric.filter(objective__in=in_quarter).order_by("pk")[:5]
    for kpi, key_result in zip(kpis, in_quarter_krs, strict=False):
        update_key_result(key_result=key_result, kpi=kpi)
    for key_result in in_sprint:
        update_key_result(key_result=key_result, kpi=kpis[0])
    sprint_objectives = Objective.objects.filter(organization=org, period=sprint)
    for kpi, objective in zip(kpis, sprint_objectives.order_by("pk"), strict=False):
        update_objective(objective=objective, kpis=[kpi])


@dataclass
class Reading:
    """One planned check-in: when, what value (or done), and the owner's status."""

    at: datetime
    value: Decimal | None
    done: bool | None
    status: str
    confidence: int


@dataclass
class LargeBuilder:
    now: datetime
    name: str
    slug: str
    rng: random.Random = field(default_factory=lambda: random.Random(SEED))
    org: Organization = field(init=False)
    writers: list[User] = field(default_factory=list)
    started: float = 0.0
    scale: float = 1.0

    def scaled(self, count: int, least: int = 1) -> int:
        return max(least, round(count * self.scale))

    def build(self) -> Organization:
        self.org = Organization.objects.create(name=self.name, slug=self.slug)
        users = self.create_people()
        departments, squads = self.create_teams(users)
        periods = self.create_periods()
        for period in periods:
            total = (
                self.scaled(OBJECTIVES_PER_PERIOD)
                if period.kind == Period.Kind.QUARTER
                else SMALL_PERIOD_OBJECTIVES
            )
            self.create_okrs(period, departments, squads, total)
        return self.org

    def log(self, message: str) -> None:
        print(f"[{self.slug}] {message}", file=sys.stderr, flush=True)

    def create_people(self) -> list[User]:
        password = make_password(PASSWORD)  # one hash: PBKDF2 costs ~0.5 s each
        people = self.scaled(USERS, least=50)
        emails = [f"admin@{self.slug}.example"] + [
            f"user{i:03d}@{self.slug}.example" for i in range(1, people)
        ]
        known = set(
            User.objects.filter(email__in=emails).values_list("email", flat=True)
        )
        User.objects.bulk_create(
            [
                User(email=email, full_name=self.person_name(i), password=password)
                for i, email in enumerate(emails)
                if email not in known
            ],
            batch_size=BATCH,
        )
        by_email = User.objects.in_bulk(emails, field_name="email")
        users = [by_email[email] for email in emails]
        roles = [self.role(i, len(users)) for i in range(len(users))]
        # With their "created" versions, as the actions would leave them.
        bulk_create_with_history(
            [
                Membership(organization=self.org, user=user, role=role)
                for user, role in zip(users, roles, strict=True)
            ],
            Membership,
            batch_size=BATCH,
            default_date=self.now - timedelta(days=400),
        )
        # Viewers cannot own or check in, so they never lead or own anything.
        self.writers = [
            user
            for user, role in zip(users, roles, strict=True)
            if role != Membership.Role.VIEWER
        ]
        return users

    def person_name(self, i: int) -> str:
        if i == 0:
            return f"{self.name} Admin"
        first = FIRST_NAMES[i % len(FIRST_NAMES)]
        last = LAST_NAMES[(i // len(FIRST_NAMES)) % len(LAST_NAMES)]
        return f"{first} {last}"

    @staticmethod
    def role(i: int, users: int) -> str:
        if i == 0:
            return Membership.Role.OWNER
        if i < 10:
            return Membership.Role.ADMIN
        if i >= users - users // 12:
            return Membership.Role.VIEWER
        return Membership.Role.MEMBER

    def create_teams(self, users: list[User]) -> tuple[list[Team], list[list[Team]]]:
        org = self.org
        root = Team.objects.create(
            organization=org, name=self.name, kind=Team.Kind.COMPANY
        )
        departments = Team.objects.bulk_create(
            [
                Team(
                    organization=org,
                    name=f"{function} {region}",
                    kind=Team.Kind.DEPARTMENT,
                    parent=root,
                )
                for region in REGIONS[: self.scaled(len(REGIONS))]
                for function in FUNCTIONS
            ],
            batch_size=BATCH,
        )
        squads_flat = Team.objects.bulk_create(
            [
                Team(
                    organization=org,
                    name=f"{department.name} {squad}",
                    kind=Team.Kind.TEAM,
                    parent=department,
                )
                for department in departments
                for squad in SQUADS
            ],
            batch_size=BATCH,
        )
        squads = [
            squads_flat[i : i + len(SQUADS)]
            for i in range(0, len(squads_flat), len(SQUADS))
        ]
        rows = [TeamMember(organization=org, team=root, user=users[0], is_lead=True)]
        writers = self.writers
        for n, team in enumerate([*departments, *squads_flat]):
            lead = writers[n % len(writers)]
            member = writers[(n * 7 + 3) % len(writers)]
            rows.append(
                TeamMember(organization=org, team=team, user=lead, is_lead=True)
            )
            if member.pk != lead.pk:
                rows.append(TeamMember(organization=org, team=team, user=member))
        TeamMember.objects.bulk_create(rows, batch_size=BATCH)
        self.log(
            f"{1 + len(departments) + len(squads_flat)} teams, {len(users)} people"
        )
        return departments, squads

    def create_periods(self) -> list[Period]:
        today = timezone.localtime(self.now).date()
        starts = [quarter_start(today)]
        for _ in range(QUARTERS - 1):
            starts.insert(0, quarter_start(starts[0] - timedelta(days=1)))
        periods = []
        spans = [
            (
                f"Q{(start.month - 1) // 3 + 1} {start.year}",
                Period.Kind.QUARTER,
                start,
                quarter_start(start + timedelta(days=100)) - timedelta(days=1),
            )
            for start in starts
        ]
        # Two small periods, one closed and one running, with as many objectives as
        # Acme's quarter: the benchmark's whole-period pages (the company's tree, the
        # close and review pages, the strategy map) compare those in the large
        # workspace with Acme's, as the department pages compare departments.
        spans += [
            (
                SMALL_PERIODS[0],
                Period.Kind.CUSTOM,
                starts[0],
                starts[0] + timedelta(30),
            ),
            (SMALL_PERIODS[1], Period.Kind.CUSTOM, starts[-1], spans[-1][3]),
        ]
        for name, kind, start, end in spans:
            closed = end < today
            periods.append(
                Period(
                    organization=self.org,
                    name=name,
                    kind=kind,
                    start=start,
                    end=end,
                    state=Period.State.CLOSED if closed else Period.State.ACTIVE,
                    closed_at=day_start(end + timedelta(days=3)) if closed else None,
                    retrospective=PERIOD_RETROSPECTIVE if closed else "",
                )
            )
        created: list[Period] = bulk_create_with_history(
            periods, Period, default_date=self.now - timedelta(days=400)
        )
        return created

    def objective_counts(
        self, departments: int, squads: int, total: int
    ) -> tuple[list[int], list[int]]:
        """How many objectives each department and squad gets in one period.

        Uneven on purpose (0 to 6 per squad), so some departments resemble a small
        real one and the benchmark can compare pages showing as many objectives.
        A small period (`total` below one a department) has one objective in each
        of its first departments and none in squads.
        """
        rng = self.rng
        if total < COMPANY_OBJECTIVES + departments:
            firsts = total - COMPANY_OBJECTIVES
            return [1 if i < firsts else 0 for i in range(departments)], [0] * squads
        per_department = [rng.choice([1, 2, 2, 3, 3, 4]) for _ in range(departments)]
        left = total - COMPANY_OBJECTIVES - sum(per_department)
        per_squad = [left // squads] * squads
        for i in rng.sample(range(squads), left % squads):
            per_squad[i] += 1
        for _ in range(squads * 2):
            give, take = rng.randrange(squads), rng.randrange(squads)
            if per_squad[give] > 0 and per_squad[take] < 6:
                per_squad[give] -= 1
                per_squad[take] += 1
        return per_department, per_squad

    def create_okrs(
        self,
        period: Period,
        departments: list[Team],
        squads: list[list[Team]],
        total: int,
    ) -> None:
        rng = self.rng
        closed = period.state == Period.State.CLOSED
        root = departments[0].parent
        if root is None:
            raise ValueError("Globex's departments need a parent team.")
        leads = self.team_leads()
        per_department, per_squad = self.objective_counts(
            len(departments), len(departments) * len(SQUADS), total
        )
        plans: list[tuple[Objective, list[KeyResult], list[list[Reading]]]] = []

        def plan(
            team: Team, level: str, title: str, parent: Objective | None
        ) -> Objective:
            owner = leads[team.pk]
            if level == Objective.Level.PERSONAL:
                owner = self.writers[rng.randrange(len(self.writers))]
            objective = Objective(
                organization=self.org,
                period=period,
                title=title,
                level=level,
                team=team,
                owner=owner,
                parent=parent,
                type=rng.choice(Objective.Type.values),
                commitment=rng.choice(Objective.Commitment.values),
                visibility=(
                    Objective.Visibility.PRIVATE
                    if rng.random() < 0.05
                    else Objective.Visibility.PUBLIC
                ),
                state=Objective.State.CLOSED if closed else Objective.State.ACTIVE,
                created_at=period.starts_at,
            )
            krs, readings = self.plan_key_results(objective, period, closed)
            if closed:
                self.grade(objective, krs)
            plans.append((objective, krs, readings))
            return objective

        company = [
            plan(root, Objective.Level.COMPANY, title, None) for title in COMPANY_TITLES
        ]
        self.save_objectives([o for o, _, _ in plans], period)
        by_department: list[list[Objective]] = []
        level_start = len(plans)
        for department, count in zip(departments, per_department, strict=True):
            by_department.append(
                [
                    plan(
                        department,
                        Objective.Level.TEAM,
                        self.title(department),
                        rng.choice(company),
                    )
                    for _ in range(count)
                ]
            )
        self.save_objectives([o for o, _, _ in plans[level_start:]], period)
        level_start = len(plans)
        counts = iter(per_squad)
        for teams, aligned_to in zip(squads, by_department, strict=True):
            for team in teams:
                for _ in range(next(counts)):
                    level = (
                        Objective.Level.PERSONAL
                        if rng.random() < 0.1
                        else Objective.Level.TEAM
                    )
                    plan(team, level, self.title(team), rng.choice(aligned_to))
        self.save_objectives([o for o, _, _ in plans[level_start:]], period)
        self.save_key_results(plans, period)
        self.log(f"{period.name}: {len(plans)} objectives")

    def team_leads(self) -> dict[int, User]:
        rows = TeamMember.objects.filter(organization=self.org, is_lead=True)
        users = {u.pk: u for u in self.writers}
        return {row.team_id: users[row.user_id] for row in rows}

    def title(self, team: Team) -> str:
        return f"{self.rng.choice(VERBS)} {self.rng.choice(THEMES)} in {team.name}"

    def plan_key_results(
        self, objective: Objective, period: Period, closed: bool
    ) -> tuple[list[KeyResult], list[list[Reading]]]:
        krs, readings = [], []
        kinds, weights = zip(*KIND_WEIGHTS, strict=True)
        for position in range(KRS_PER_OBJECTIVE):
            kind = self.rng.choices(kinds, weights)[0]
            kr = self.plan_key_result(objective, kind, position)
            history = self.plan_history(kr, period, closed)
            last = history[-1]
            kr.current = last.value
            kr.done = bool(last.done)
            kr.last_checkin_at = last.at
            kr.last_status = last.status
            kr.last_confidence = last.confidence
            kr.checkins_count = len(history)
            if kind == KeyResult.Kind.THRESHOLD:
                kr.checkins_held = sum(
                    1
                    for r in history
                    if r.value is not None
                    and scoring.threshold_holds(
                        kr.threshold_op, r.value, kr.threshold_low, kr.threshold_high
                    )
                )
            krs.append(kr)
            readings.append(history)
        return krs, readings

    def plan_key_result(
        self, objective: Objective, kind: str, position: int
    ) -> KeyResult:
        rng = self.rng
        kr = KeyResult(
            organization=self.org,
            objective=objective,
            kind=kind,
            owner=objective.owner if rng.random() < 0.6 else rng.choice(self.writers),
            position=position,
            weight=rng.choice([Decimal(1)] * 6 + [Decimal(2), Decimal("0.5")]),
            created_at=objective.created_at,
        )
        name, unit, low, high = rng.choice(METRICS)
        kr.unit = unit
        if kind == KeyResult.Kind.METRIC:
            start, target = rng.randint(low, high), rng.randint(low, high)
            if start == target:
                target += 1
            verb = "Increase" if target > start else "Reduce"
            kr.title = f"{verb} {name} from {start} to {target}"
            kr.start, kr.target = Decimal(start), Decimal(target)
        elif kind == KeyResult.Kind.THRESHOLD:
            bound = Decimal(rng.randint(low, high))
            if rng.random() < 0.5:
                kr.threshold_op, kr.threshold_low = (
                    KeyResult.ThresholdOp.AT_LEAST,
                    bound,
                )
                kr.title = f"Keep {name} at or above {bound}"
            else:
                kr.threshold_op, kr.threshold_high = (
                    KeyResult.ThresholdOp.AT_MOST,
                    bound,
                )
                kr.title = f"Keep {name} at or below {bound}"
        else:
            kr.unit = ""
            kr.title = rng.choice(MILESTONES)
        return kr

    def plan_history(
        self, kr: KeyResult, period: Period, closed: bool
    ) -> list[Reading]:
        """Ten check-ins spread over the period (or over what has elapsed of it)."""
        rng = self.rng
        start = period.starts_at
        span = (period.ends_at if closed else self.now) - start
        pace = rng.gauss(0.85, 0.3)
        done_at = rng.random() * 1.5  # past 1: never done this period
        readings = []
        for k in range(CHECKINS_PER_KR):
            at = start + span * (k + 0.5) / CHECKINS_PER_KR
            share = period.time_share(at)
            value: Decimal | None = None
            done: bool | None = None
            if kr.kind == KeyResult.Kind.METRIC:
                if kr.start is None or kr.target is None:
                    raise ValueError(
                        f"Metric key result {kr.title!r} needs a start and a target."
                    )
                progress = pace * share + rng.uniform(-0.05, 0.05)
                raw = kr.start + (kr.target - kr.start) * Decimal(progress)
                value = max(raw.quantize(CENT), Decimal(0))
                p = scoring.clamp(
                    scoring.metric_progress_raw(kr.start, kr.target, value)
                )
            elif kr.kind == KeyResult.Kind.THRESHOLD:
                bound = kr.threshold_low or kr.threshold_high or Decimal(1)
                value = (bound * Decimal(rng.uniform(0.9, 1.15))).quantize(CENT)
                p = scoring.threshold_progress(
                    kr.threshold_op, value, kr.threshold_low, kr.threshold_high
                )
            else:
                done = share >= done_at
                p = 1.0 if done else 0.0
            status = STATUS_OF_PACE[scoring.pace(p, share)]
            confidence = {"on_track": 8, "needs_attention": 5, "off_track": 3}[status]
            readings.append(
                Reading(at, value, done, status, confidence + rng.randint(-1, 1))
            )
        return readings

    @staticmethod
    def grade(objective: Objective, krs: Sequence[KeyResult]) -> None:
        """Score a closed quarter's objective the way close_period does."""
        for kr in krs:
            kr.score = scoring.round_score(kr.progress())
        objective.score = scoring.objective_score(
            [(kr.score, kr.weight) for kr in krs if kr.score is not None]
        )
        objective.outcome = computed_outcome(objective.score, objective.is_committed)

    @staticmethod
    def save_objectives(objectives: list[Objective], period: Period) -> None:
        bulk_create_with_history(
            objectives, Objective, batch_size=BATCH, default_date=period.starts_at
        )

    def save_key_results(
        self,
        plans: list[tuple[Objective, list[KeyResult], list[list[Reading]]]],
        period: Period,
    ) -> None:
        # Chunks keep at most ~20,000 check-in objects in memory at a time.
        for chunk in chunks(plans, 500):
            krs = [kr for objective, planned, _ in chunk for kr in planned]
            for kr in krs:
                kr.objective_id = kr.objective.pk
            bulk_create_with_history(
                krs, KeyResult, batch_size=BATCH, default_date=period.starts_at
            )
            checkins = []
            for _, planned, histories in chunk:
                for kr, history in zip(planned, histories, strict=True):
                    author_id = kr.owner_id
                    if author_id is None:
                        raise ValueError(f"Key result {kr.title!r} needs an owner.")
                    # Plain ids, not instances: the related-object descriptors
                    # cost a third of the build time at 400,000 rows.
                    checkins += [
                        CheckIn(
                            organization_id=self.org.pk,
                            key_result_id=kr.pk,
                            author_id=author_id,
                            value=r.value,
                            done=r.done,
                            status=r.status,
                            confidence=r.confidence,
                            created_at=r.at,
                        )
                        for r in history
                    ]
            CheckIn.objects.bulk_create(checkins, batch_size=BATCH)


def quarter_start(day: date) -> date:
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def chunks(items: list[T], size: int) -> Iterator[list[T]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


# KPIs ----------------------------------------------------------------------------

KPIS_PER_DEPARTMENT = 10
KPI_COUNT = 2_000
KPI_POINTS = 5_000_000
BIG_KPI = "globex-api-latency-ms"
BIG_POINTS = 1_000_000  # one every ~32 s over a year
SMALL_KPI = "globex-small-kpi"
SMALL_POINTS = 1_000
KPI_SPAN = timedelta(days=365)
POINT_BATCH = 5_000
SCALE = 10_000  # values are generated as integers of 1/10,000: DataPoint's 4 places


@dataclass(frozen=True)
class KPITemplate:
    name: str
    unit: str
    frequency: str
    aggregation: str
    base: float  # the typical value of one point
    target_kind: str = ""
    low: float | None = None  # as a share of base
    high: float | None = None
    indicator: str = KPI.Indicator.LAG
    places: int = 2
    noise: float = 0.2


F, A, K = KPI.Frequency, KPI.Aggregation, KPI.TargetKind
KPI_TEMPLATES = [
    KPITemplate("Revenue", "k USD", F.MONTHLY, A.SUM, 4.0, K.AT_LEAST, low=0.9 * 220),
    KPITemplate(
        "Calls made",
        "calls",
        F.WEEKLY,
        A.SUM,
        7.0,
        K.AT_LEAST,
        low=0.95 * 38,
        indicator=KPI.Indicator.LEAD,
        places=0,
        noise=0.5,
    ),
    KPITemplate(
        "Website traffic",
        "visitors",
        F.WEEKLY,
        A.SUM,
        300.0,
        K.AT_LEAST,
        low=0.9 * 38,
        indicator=KPI.Indicator.LEAD,
        places=0,
    ),
    KPITemplate("Conversion rate", "%", F.WEEKLY, A.MEAN, 8.0, K.AT_LEAST, low=0.97),
    KPITemplate("Cost per lead", "USD", F.MONTHLY, A.MEAN, 48.0, K.AT_MOST, high=1.05),
    KPITemplate(
        "Average response time",
        "min",
        F.DAILY,
        A.MEAN,
        28.0,
        K.AT_MOST,
        high=1.1,
        noise=0.4,
    ),
    KPITemplate("Tickets", "tickets", F.MONTHLY, A.SUM, 5.0, places=0, noise=0.6),
    KPITemplate("CSAT", "%", F.WEEKLY, A.MEAN, 95.5, K.AT_LEAST, low=0.995, noise=0.02),
    KPITemplate("Error rate", "%", F.DAILY, A.MAX, 0.8, K.AT_MOST, high=1.3, noise=0.5),
    KPITemplate(
        "Uptime",
        "%",
        F.DAILY,
        A.MIN,
        99.9,
        K.BETWEEN,
        low=0.998,
        high=1.001,
        noise=0.001,
        places=3,
    ),
    KPITemplate(
        "Engagement",
        "",
        F.QUARTERLY,
        A.LAST,
        74.0,
        K.AT_LEAST,
        low=0.98,
        places=0,
        noise=0.05,
    ),
    KPITemplate(
        "Open backlog",
        "items",
        F.WEEKLY,
        A.LAST,
        120.0,
        K.BETWEEN,
        low=0.6,
        high=1.2,
        places=0,
    ),
    KPITemplate(
        "Time to hire", "days", F.MONTHLY, A.MEAN, 40.0, K.AT_MOST, high=1.1, places=0
    ),
    KPITemplate(
        "Churn rate", "%", F.MONTHLY, A.LAST, 2.2, K.AT_MOST, high=1.0, noise=0.1
    ),
]
BIG_TEMPLATE = KPITemplate(
    "API latency", "ms", F.DAILY, A.MEAN, 180.0, K.AT_MOST, high=250 / 180, noise=0.4
)
# Daily like the big one: the KPI page and chart compare the same number of windows.
SMALL_TEMPLATE = KPITemplate(
    "Deploys", "deploys", F.DAILY, A.SUM, 1.0, K.AT_LEAST, low=2.0, places=0
)


@dataclass
class PlannedKPI:
    kpi: KPI
    template: KPITemplate
    points: int
    end: datetime  # the last point's time; stale KPIs stopped early


def build_large_kpis(
    org: Organization,
    now: datetime,
    *,
    kpi_count: int = KPI_COUNT,
    total_points: int = KPI_POINTS,
    big_points: int = BIG_POINTS,
    small_points: int = SMALL_POINTS,
) -> list[KPI]:
    """Add KPIs with a year of data to the departments, unless the org has KPIs.

    The first two KPIs (an Engineering department's) are the benchmark's: `BIG_KPI`
    with `big_points` points and `SMALL_KPI` with `small_points`; the others share
    the rest of `total_points` evenly. Small counts make a quick test build.
    """
    if kpi_count < 3 or big_points + small_points > total_points:
        raise ValueError("Room for the two benchmark KPIs and at least one more.")
    if KPI.objects.filter(organization=org).exists():
        return []
    started = time.perf_counter()
    rng = random.Random(SEED + 1)
    with transaction.atomic():
        plans = plan_kpis(
            org, now, rng, kpi_count, total_points, big_points, small_points
        )
        # With their "created" history record, as the KPI page's edit history expects.
        created = bulk_create_with_history(
            [p.kpi for p in plans],
            KPI,
            batch_size=BATCH,
            default_date=now - KPI_SPAN - timedelta(days=1),
        )
        by_key = {kpi.key: kpi for kpi in created}
        for plan in plans:
            plan.kpi = by_key[plan.kpi.key]
        points = windows = 0
        for plan in plans:
            times, values = kpi_series(plan, rng)
            insert_points(plan.kpi, times, values, now)
            windows += insert_windows(plan.kpi, times, values)
            points += len(times)
    print(
        f"[{org.slug}] {len(plans)} KPIs, {points:,} data points, {windows:,} windows"
        f" in {time.perf_counter() - started:.0f} s",
        file=sys.stderr,
        flush=True,
    )
    return [p.kpi for p in plans]


def plan_kpis(
    org: Organization,
    now: datetime,
    rng: random.Random,
    kpi_count: int,
    total_points: int,
    big_points: int,
    small_points: int,
) -> list[PlannedKPI]:
    departments = sorted(
        Team.objects.filter(organization=org, kind=Team.Kind.DEPARTMENT),
        key=lambda t: (not t.name.startswith("Engineering"), t.pk),
    )
    leads = {
        row.team_id: row.user_id
        for row in TeamMember.objects.filter(organization=org, is_lead=True).order_by(
            "-pk"
        )
    }
    slots = [
        (department, KPI_TEMPLATES[(d + k) % len(KPI_TEMPLATES)], k)
        for d, department in enumerate(departments)
        for k in range(KPIS_PER_DEPARTMENT)
    ][:kpi_count]
    special = {0: (BIG_KPI, BIG_TEMPLATE, big_points)}
    special[1] = (SMALL_KPI, SMALL_TEMPLATE, small_points)
    regular = max(kpi_count - len(special), 1)
    share, extra = divmod(total_points - big_points - small_points, regular)
    plans = []
    for n, (department, template, k) in enumerate(slots):
        if n in special:
            key, template, count = special[n]
        else:
            key = slugify(f"{department.name} {template.name}")
            i = n - len(special)
            count = share + (1 if i < extra else 0)
        stale = n not in special and n % 37 == 5
        base = template.base
        kpi = KPI(
            organization=org,
            name=template.name,
            key=key,
            definition=f"Synthetic {template.name.lower()} of {department.name}.",
            owner_id=leads.get(department.pk),
            team=department,
            unit=template.unit,
            indicator=template.indicator,
            frequency=template.frequency,
            aggregation=template.aggregation,
            target_kind=template.target_kind,
            target_low=target_bound(template.low, base),
            target_high=target_bound(template.high, base),
            is_key=k == 0,
            visibility=KPI.Visibility.PRIVATE if n % 50 == 7 else KPI.Visibility.PUBLIC,
            created_at=now - KPI_SPAN - timedelta(days=1),
        )
        end = now - timedelta(days=120) if stale else now
        plans.append(PlannedKPI(kpi, template, count, end))
    rng.shuffle(plans[len(special) :])  # regular KPIs: no pattern in the order
    return plans


def target_bound(share: float | None, base: float) -> Decimal | None:
    if share is None:
        return None
    return Decimal(str(round(share * base, 3)))


def kpi_series(plan: PlannedKPI, rng: random.Random) -> tuple[list[int], list[int]]:
    """Point times (whole epoch seconds, increasing) and values (1/SCALE units).

    Evenly spread over the year before `end`; the value drifts over the year, swings
    daily (weekly for the KPIs that are not daily) and wobbles by the noise.
    """
    n = plan.points
    t = plan.template
    end = int(plan.end.timestamp())
    span = int(KPI_SPAN.total_seconds())
    drift = rng.uniform(-0.15, 0.15)
    swing = rng.uniform(0.02, 0.15)
    period = 86_400.0 if t.frequency == F.DAILY else 7 * 86_400.0
    phase = rng.uniform(0, 2 * math.tau)
    step = 10 ** (4 - t.places)  # values keep the template's decimal places
    times = [end - ((n - 1 - i) * span) // n for i in range(n)]
    uniform, sin, tau, base, noise = rng.random, math.sin, math.tau, t.base, t.noise
    values = [
        max(
            0,
            round(
                base
                * (
                    1
                    + drift * i / n
                    + swing * sin(tau * ts / period + phase)
                    + noise * (2 * uniform() - 1)
                )
                * SCALE
                / step
            )
            * step,
        )
        for i, ts in enumerate(times)
    ]
    return times, values


def insert_points(kpi: KPI, times: list[int], values: list[int], now: datetime) -> None:
    """INSERT the points with executemany: no model instances, one statement reused."""
    meta = DataPoint._meta
    column = {f.name: str(f.column) for f in meta.concrete_fields}
    names = ("organization", "kpi", "time", "value", "source", "note")
    columns = [column[name] for name in (*names, "is_current", "created_at")]
    quote = connection.ops.quote_name
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(c) for c in columns)}) "  # noqa: S608  # names from the model, values as parameters
        f"VALUES ({', '.join(['%s'] * len(columns))})"
    )
    sqlite = connection.vendor == "sqlite"
    db_time = sqlite_time if sqlite else utc_time
    fixed = (kpi.organization_id, kpi.pk)
    tail = (DataPoint.Source.API, "", True, db_time(int(now.timestamp())))
    with connection.cursor() as cursor:
        for i in range(0, len(times), POINT_BATCH):
            cursor.executemany(
                sql,
                [
                    (
                        *fixed,
                        db_time(ts),
                        # SQLite stores a decimal as a float either way.
                        v / SCALE if sqlite else Decimal(v).scaleb(-4),
                        *tail,
                    )
                    for ts, v in zip(
                        times[i : i + POINT_BATCH],
                        values[i : i + POINT_BATCH],
                        strict=True,
                    )
                ],
            )


EPOCH = datetime(1970, 1, 1)


def sqlite_time(ts: int) -> str | datetime:
    """A UTC epoch second as SQLite stores a DateTimeField value: what
    connection.ops.adapt_datetimefield_value returns, ten times faster."""
    return str(EPOCH + timedelta(seconds=ts))


def utc_time(ts: int) -> str | datetime:
    return datetime.fromtimestamp(ts, tz=UTC)


def insert_windows(kpi: KPI, times: list[int], values: list[int]) -> int:
    """The KPI's per-window values, as recompute_windows would store them."""
    rows = []
    for start, lo, hi in window_slices(kpi.frequency, times):
        rows.append(
            KPIWindow(
                organization_id=kpi.organization_id,
                kpi_id=kpi.pk,
                start=start,
                value=window_value(kpi.aggregation, values[lo:hi]),
                count=hi - lo,
                last_time=datetime.fromtimestamp(times[hi - 1], tz=UTC),
            )
        )
    KPIWindow.objects.bulk_create(rows, batch_size=BATCH)
    refresh_current([kpi.pk])
    return len(rows)


def window_slices(frequency: str, times: list[int]) -> Iterator[tuple[date, int, int]]:
    """(window start, first index, end index) of each window that has points.

    Windows are local days, weeks, months and quarters with the same bounds as
    recompute_windows: [local midnight of the start, local midnight of the next).
    """
    if not times:
        return
    tz = timezone.get_current_timezone()

    def midnight(day: date) -> int:
        return int(
            timezone.make_aware(
                datetime.combine(day, datetime.min.time()), tz
            ).timestamp()
        )

    first = timezone.localtime(datetime.fromtimestamp(times[0], tz=UTC), tz).date()
    start = health.window_start(frequency, first)
    lo = 0
    while lo < len(times):
        end = health.next_window(frequency, start)
        hi = bisect.bisect_left(times, midnight(end), lo)
        if hi > lo:
            yield start, lo, hi
        lo, start = hi, end


def window_value(aggregation: str, values: list[int]) -> Decimal:
    """health.aggregate over the points as the database gives them back (Decimals
    with 4 places), taken on the integers: sums, minimums and maximums of integers
    are exact, so only the result becomes a Decimal, with the same digits."""
    if aggregation == A.LAST:
        return Decimal(values[-1]).scaleb(-4)
    if aggregation == A.MIN:
        return Decimal(min(values)).scaleb(-4)
    if aggregation == A.MAX:
        return Decimal(max(values)).scaleb(-4)
    total = Decimal(sum(values)).scaleb(-4)
    return total if aggregation == A.SUM else total / len(values)
