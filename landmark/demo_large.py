"""A synthetic workspace big enough to show whether pages keep their speed with size.

About 1,000 teams, 500 people, 4 quarters, 10,000 objectives, 40,000 key results and
400,000 check-ins. Rows go in with bulk_create instead of the actions: recording
400,000 check-ins one by one would take an hour. So this module fills the key
results' latest-check-in fields (current, last_checkin_at, counters) itself, exactly
as record_checkin would leave them, and grades closed quarters as close_period would.
"""

import random
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TypeVar

from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from landmark.okrs import scoring
from landmark.okrs.actions import computed_outcome
from landmark.okrs.models import CheckIn, KeyResult, Objective, Period, day_start
from landmark.orgs.models import Membership, Organization, Team, TeamMember, User

SEED = 1_000
BATCH = 4_000
PASSWORD = "landmark-demo"  # noqa: S105  # a benchmark workspace, never a real one
USERS = 500
QUARTERS = 4
OBJECTIVES_PER_PERIOD = 2_500
COMPANY_OBJECTIVES = 5
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
    *, now: datetime | None = None, name: str = "Globex", slug: str = "globex"
) -> Organization:
    """Create the large benchmark workspace, or return it unchanged if it exists."""
    existing = Organization.objects.filter(slug=slug).first()
    if existing is not None:
        return existing
    with transaction.atomic():
        return LargeBuilder(now or timezone.now(), name, slug).build()


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

    def build(self) -> Organization:
        self.org = Organization.objects.create(name=self.name, slug=self.slug)
        users = self.create_people()
        departments, squads = self.create_teams(users)
        periods = self.create_periods()
        for period in periods:
            self.create_okrs(period, departments, squads)
        return self.org

    def log(self, message: str) -> None:
        print(f"[{self.slug}] {message}", file=sys.stderr, flush=True)

    def create_people(self) -> list[User]:
        password = make_password(PASSWORD)  # one hash: PBKDF2 costs ~0.5 s each
        emails = [f"admin@{self.slug}.example"] + [
            f"user{i:03d}@{self.slug}.example" for i in range(1, USERS)
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
        roles = [self.role(i) for i in range(len(users))]
        Membership.objects.bulk_create(
            [
                Membership(organization=self.org, user=user, role=role)
                for user, role in zip(users, roles, strict=True)
            ],
            batch_size=BATCH,
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
    def role(i: int) -> str:
        if i == 0:
            return Membership.Role.OWNER
        if i < 10:
            return Membership.Role.ADMIN
        if i >= USERS - 40:
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
                for region in REGIONS
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
        for start in starts:
            end = quarter_start(start + timedelta(days=100)) - timedelta(days=1)
            closed = end < today
            periods.append(
                Period(
                    organization=self.org,
                    name=f"Q{(start.month - 1) // 3 + 1} {start.year}",
                    kind=Period.Kind.QUARTER,
                    start=start,
                    end=end,
                    state=Period.State.CLOSED if closed else Period.State.ACTIVE,
                    closed_at=day_start(end + timedelta(days=3)) if closed else None,
                    retrospective=PERIOD_RETROSPECTIVE if closed else "",
                )
            )
        return Period.objects.bulk_create(periods)

    def objective_counts(
        self, departments: int, squads: int
    ) -> tuple[list[int], list[int]]:
        """How many objectives each department and squad gets in one period.

        Uneven on purpose (0 to 6 per squad), so some departments resemble a small
        real one and the benchmark can compare pages showing as many objectives.
        """
        rng = self.rng
        per_department = [rng.choice([1, 2, 2, 3, 3, 4]) for _ in range(departments)]
        left = OBJECTIVES_PER_PERIOD - COMPANY_OBJECTIVES - sum(per_department)
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
        self, period: Period, departments: list[Team], squads: list[list[Team]]
    ) -> None:
        rng = self.rng
        closed = period.state == Period.State.CLOSED
        root = departments[0].parent
        assert root is not None
        leads = self.team_leads()
        per_department, per_squad = self.objective_counts(
            len(departments), len(departments) * len(SQUADS)
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
        Objective.objects.bulk_create([o for o, _, _ in plans], batch_size=BATCH)
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
        Objective.objects.bulk_create(
            [o for o, _, _ in plans[level_start:]], batch_size=BATCH
        )
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
        Objective.objects.bulk_create(
            [o for o, _, _ in plans[level_start:]], batch_size=BATCH
        )
        self.save_key_results(plans)
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
                assert kr.start is not None and kr.target is not None
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

    def save_key_results(
        self, plans: list[tuple[Objective, list[KeyResult], list[list[Reading]]]]
    ) -> None:
        # Chunks keep at most ~20,000 check-in objects in memory at a time.
        for chunk in chunks(plans, 500):
            krs = [kr for objective, planned, _ in chunk for kr in planned]
            for kr in krs:
                kr.objective_id = kr.objective.pk
            KeyResult.objects.bulk_create(krs, batch_size=BATCH)
            checkins = []
            for _, planned, histories in chunk:
                for kr, history in zip(planned, histories, strict=True):
                    author_id = kr.owner_id
                    assert author_id is not None  # every planned key result has one
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
