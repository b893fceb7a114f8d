"""The "Acme" demo workspace: a believable company with a quarter of OKR history.

Built only through the action functions, so the demo exercises the same code paths
as the web and the CLI. The support team's response time is the Fix with an OKR story
of docs/kpis.md ("Where KPIs and OKRs meet").
Deterministic: one seeded random generator drives every wobble in the numbers.
"""

import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.contrib.auth.hashers import check_password, make_password
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from landmark.demo.acme_data import (
    CARRIED_TRENDS,
    CURRENT,
    GRADES,
    INITIATIVES,
    KUDOS,
    LAST,
    PEOPLE,
    PERIOD_RETROSPECTIVE,
    ROOT_LEADS,
    ROOT_MEMBERS,
    TEAMS,
    GradeSpec,
    ObjectiveSpec,
    Trend,
)
from landmark.demo.acme_kpis import SEED as KPI_SEED
from landmark.demo.acme_kpis import build_demo_kpis
from landmark.kpis.models import KPI
from landmark.okrs import scoring
from landmark.okrs.actions import (
    Grade,
    close_period,
    create_initiative,
    create_key_result,
    create_objective,
    create_period,
    give_kudos,
    record_checkin,
    update_objective,
)
from landmark.okrs.models import (
    KeyResult,
    Objective,
    Period,
    day_start,
)
from landmark.orgs.actions import (
    create_member,
    create_organization,
    create_team,
    mark_email_verified,
    set_team_members,
)
from landmark.orgs.models import Membership, Organization, Team, User

DEMO_SLUG = "acme"
DEMO_DOMAIN = "acme.example"
DEMO_OWNER = f"admin@{DEMO_DOMAIN}"
DEMO_PASSWORD = "landmark-demo"  # noqa: S105  # printed on the login page of the demo
# Where `landmark demo` makes accounts with DEMO_PASSWORD: Acme, and the large
# benchmark workspace (demo/large.py, slug "globex"). `.example` is reserved (RFC 2606).
DEMO_DOMAINS = (DEMO_DOMAIN, "globex.example")
# Checking a password costs ~0.5 s (PBKDF2); the demo gives all its accounts one hash,
# so a handful of distinct hashes covers every demo account in practice.
DEMO_HASHES_CHECKED = 8
SEED = 2020_05_14


def quarter_bounds(day: date) -> tuple[date, date]:
    first_month = 3 * ((day.month - 1) // 3) + 1
    start = date(day.year, first_month, 1)
    next_start = (
        date(day.year + 1, 1, 1)
        if first_month == 10
        else date(day.year, first_month + 3, 1)
    )
    return start, next_start - timedelta(days=1)


def quarter_name(start: date) -> str:
    return f"Q{(start.month - 1) // 3 + 1} {start.year}"


def demo_organization() -> Organization | None:
    """The Acme demo workspace: the organization at the demo's address whose owner is
    the demo's owner (a real company may have called itself Acme)."""
    return Organization.objects.filter(
        slug=DEMO_SLUG,
        memberships__user__email=DEMO_OWNER,
        memberships__role=Membership.Role.OWNER,
    ).first()


def why_not_build_demo(*, force: bool) -> str | None:
    """Why `landmark demo` must not touch this database, or None when it may.

    Its own database (the demo is there) and an empty one are fine. A database that
    holds someone's organizations is refused unless forced: the demo would add
    accounts whose password is published. The demo's address taken by another
    organization is refused even when forced (the demo could not be found again).
    Asked before migrating, so a refused database is left exactly as it was.
    """
    if Organization._meta.db_table not in connection.introspection.table_names():
        return None  # a new database
    # exists() and values_list() only: a column a pending migration adds to
    # Organization is not there yet.
    if Organization.objects.filter(
        slug=DEMO_SLUG,
        memberships__user__email=DEMO_OWNER,
        memberships__role=Membership.Role.OWNER,
    ).exists():
        return None
    if Organization.objects.filter(slug=DEMO_SLUG).exists():
        return (
            f"landmark demo: this database already holds an organization at the demo's "
            f"address “{DEMO_SLUG}” that is not the demo workspace; it was left "
            f"unchanged. Build the demo in a database of its own (another "
            f"LANDMARK_DATA_DIR or DATABASE_URL)."
        )
    if force:
        return None
    names = list(Organization.objects.order_by("name").values_list("name", flat=True))
    if not names:
        return None
    shown = ", ".join(f"“{name}”" for name in names[:5])
    more = f" and {len(names) - 5} more" if len(names) > 5 else ""
    return (
        f"landmark demo: this database already holds {len(names)} "
        f"organization{'s' if len(names) != 1 else ''} ({shown}{more}); it was left "
        f"unchanged. The demo workspace adds accounts whose password "
        f"(“{DEMO_PASSWORD}”) is published, so it belongs in a database of its own: "
        f"point LANDMARK_DATA_DIR (or DATABASE_URL) at a new one. To add the demo "
        f"to this database anyway, run `landmark demo --force`."
    )


@dataclass
class DemoPasswords:
    """Active demo accounts whose password is still the published one."""

    emails: list[str]
    unchecked: list[str]  # demo accounts beyond the DEMO_HASHES_CHECKED budget


def accounts_with_demo_password() -> DemoPasswords:
    """Active accounts of the demo's domains that still log in with DEMO_PASSWORD.

    Only the demo's own addresses are checked: each check costs ~0.5 s, too slow for
    every account of a real company at each start. Accounts sharing one hash (as the
    demo makes them) are checked once.
    """
    by_hash: defaultdict[str, list[str]] = defaultdict(list)
    in_domains = Q()
    for domain in DEMO_DOMAINS:
        in_domains |= Q(email__iendswith=f"@{domain}")
    for email, encoded in (
        User.objects.filter(in_domains, is_active=True)
        .order_by("email")
        .values_list("email", "password")
    ):
        by_hash[encoded].append(email)
    found: list[str] = []
    unchecked: list[str] = []
    # The largest groups first: the demo's shared hash covers most accounts at once.
    groups = sorted(by_hash.items(), key=lambda group: -len(group[1]))
    for n, (encoded, emails) in enumerate(groups):
        if n >= DEMO_HASHES_CHECKED:
            unchecked += emails
        elif check_password(DEMO_PASSWORD, encoded):
            found += emails
    return DemoPasswords(sorted(found), sorted(unchecked))


def build_demo(*, now: datetime | None = None) -> Organization:
    """Create the Acme demo workspace, or return it unchanged if it already exists."""
    now = now or timezone.now()
    existing = demo_organization()
    if existing is not None:
        if not KPI.objects.filter(organization=existing).exists():
            # A workspace built before the demo had KPIs gets them now.
            with transaction.atomic():
                build_demo_kpis(existing, now=now, rng=random.Random(KPI_SEED))
        return existing
    with transaction.atomic():
        return DemoBuilder(now).build()


@dataclass
class DemoBuilder:
    now: datetime
    rng: random.Random = field(default_factory=lambda: random.Random(SEED))
    users: dict[str, User] = field(default_factory=dict)
    teams: dict[str, Team] = field(default_factory=dict)
    key_results: dict[str, KeyResult] = field(default_factory=dict)
    # One PBKDF2 hash shared by every demo account: hashing the same password
    # thirteen times would take most of the time budget of the whole demo.
    password: str = field(default_factory=lambda: make_password(DEMO_PASSWORD))

    def build(self) -> Organization:
        self.create_users()
        org = create_organization(
            name="Acme", owner=self.users["admin"], slug=DEMO_SLUG
        )
        self.create_people_and_teams(org)
        last, current = self.create_periods(org)

        last_objectives = self.create_objectives(org, last, LAST)
        self.record_history(last, self.key_results_of(LAST))
        current_objectives = self.create_objectives(org, current, CURRENT)
        history = self.key_results_of(CURRENT)
        # Closing after the new quarter's own objectives exist keeps the carried-over
        # one after them in the tree, as it would be in a real planning cycle.
        self.close_last_quarter(last, current, last_objectives)
        carried = Objective.objects.filter(period=current, carried_from__isnull=False)
        for objective in carried:
            # Carrying over drops the alignment; the enterprise push now serves growth.
            update_objective(objective=objective, parent=current_objectives["grow"])
            for kr in objective.key_results.all():
                history.append((kr, CARRIED_TRENDS[kr.title]))
                self.key_results[kr.title] = kr
        self.record_history(current, history)

        self.create_initiatives()
        self.give_kudos(org, current_objectives)
        # Their own generator, so the OKR history above stays as it was without them.
        build_demo_kpis(org, now=self.now, rng=random.Random(KPI_SEED))
        return org

    def create_users(self) -> None:
        """The owner's account. The demo makes its own accounts and never adopts one
        that already exists (joining an organization takes the person's consent)."""
        emails = [f"{person.key}@{DEMO_DOMAIN}" for person in PEOPLE]
        taken = sorted(
            User.objects.filter(email__in=emails).values_list("email", flat=True)
        )
        if taken:
            raise ValueError(
                f"{', '.join(taken)} already have accounts on this instance; the demo "
                "workspace makes its own accounts and never adopts existing ones."
            )
        owner = next(p for p in PEOPLE if p.role == Membership.Role.OWNER)
        user = User.objects.create(
            email=f"{owner.key}@{DEMO_DOMAIN}",
            full_name=owner.full_name,
            password=self.password,
        )
        # Demo addresses are not real mailboxes: verified, so logins need no mail.
        mark_email_verified(user=user)
        self.users[owner.key] = user

    def create_people_and_teams(self, org: Organization) -> None:
        for person in PEOPLE:
            if person.role != Membership.Role.OWNER:
                user = create_member(
                    org=org,
                    email=f"{person.key}@{DEMO_DOMAIN}",
                    role=person.role,
                    full_name=person.full_name,
                ).user
                mark_email_verified(user=user)
                self.users[person.key] = user
        User.objects.filter(pk__in=[u.pk for u in self.users.values()]).update(
            password=self.password
        )
        root = Team.objects.get(organization=org, kind=Team.Kind.COMPANY)
        self.teams[root.name] = root
        set_team_members(
            team=root, members=self.people(ROOT_MEMBERS), leads=self.people(ROOT_LEADS)
        )
        for spec in TEAMS:
            kind = Team.Kind.DEPARTMENT if spec.parent == root.name else Team.Kind.TEAM
            team = create_team(
                org=org, name=spec.name, kind=kind, parent=self.teams[spec.parent]
            )
            set_team_members(
                team=team,
                members=self.people(spec.members),
                leads=self.people(spec.leads),
            )
            self.teams[spec.name] = team

    def people(self, keys: Sequence[str]) -> list[User]:
        return [self.users[key] for key in keys]

    def create_periods(self, org: Organization) -> tuple[Period, Period]:
        today = timezone.localtime(self.now).date()
        current_start, current_end = quarter_bounds(today)
        last_start, last_end = quarter_bounds(current_start - timedelta(days=1))
        years: dict[int, Period] = {}
        for year in sorted({last_start.year, current_start.year}):
            state = Period.State.ACTIVE if year == today.year else Period.State.CLOSED
            years[year] = create_period(
                org=org,
                name=str(year),
                kind=Period.Kind.YEAR,
                start=date(year, 1, 1),
                end=date(year, 12, 31),
                state=state,
            )
        last = create_period(
            org=org,
            name=quarter_name(last_start),
            start=last_start,
            end=last_end,
            state=Period.State.ACTIVE,
            parent=years[last_start.year],
        )
        current = create_period(
            org=org,
            name=quarter_name(current_start),
            start=current_start,
            end=current_end,
            state=Period.State.ACTIVE,
            parent=years[current_start.year],
        )
        return last, current

    def create_objectives(
        self, org: Organization, period: Period, specs: Sequence[ObjectiveSpec]
    ) -> dict[str, Objective]:
        created: dict[str, Objective] = {}
        for spec in specs:
            objective = create_objective(
                org=org,
                period=period,
                owner=self.users[spec.owner],
                title=spec.title,
                description=spec.description,
                level=spec.level,
                team=self.teams[spec.team],
                parent=created[spec.parent] if spec.parent else None,
                type=spec.type,
                commitment=spec.commitment,
                visibility=spec.visibility,
                state=spec.state,
                include_children=spec.include_children,
            )
            for kr in spec.krs:
                self.key_results[kr.title] = create_key_result(
                    objective=objective,
                    title=kr.title,
                    kind=kr.kind,
                    owner=self.users[kr.owner],
                    unit=kr.unit,
                    start=decimal_or_none(kr.start),
                    target=decimal_or_none(kr.target),
                    threshold_op=kr.op,
                    threshold_low=decimal_or_none(kr.low),
                    threshold_high=decimal_or_none(kr.high),
                    weight=Decimal(kr.weight),
                    # Its check-in history runs from the period's first days.
                    start_date=period.start,
                )
            created[spec.key] = objective
        return created

    def key_results_of(
        self, specs: Sequence[ObjectiveSpec]
    ) -> list[tuple[KeyResult, Trend]]:
        return [
            (self.key_results[kr.title], kr.trend) for spec in specs for kr in spec.krs
        ]

    def checkin_times(self, period: Period, trend: Trend) -> list[datetime]:
        """Weekly morning check-ins from the period's first days until now."""
        closed_by_now = period.ends_at <= self.now
        cutoff = self.now - timedelta(days=trend.stale_days)
        times = []
        day = period.start + timedelta(days=2)
        while day <= period.end:
            at = day_start(day) + timedelta(hours=9, minutes=self.rng.randrange(0, 180))
            if at > cutoff:
                break
            times.append(at)
            day += timedelta(days=7)
        if closed_by_now:
            # The final check-in lands on the last day, so grading sees the final value.
            final = day_start(period.end) + timedelta(hours=16)
            if not times or times[-1] < final:
                times.append(final)
        return times

    def record_history(
        self, period: Period, items: Sequence[tuple[KeyResult, Trend]]
    ) -> None:
        for kr, trend in items:
            times = self.checkin_times(period, trend)
            previous: Decimal | None = None
            moved, blocks = iter(trend.moved), iter(trend.blocks)
            for n, at in enumerate(times):
                share = 1.0 if at >= day_start(period.end) else period.time_share(at)
                is_last = n == len(times) - 1
                value, done, status = self.reading(
                    kr, trend, share, previous, exact=is_last
                )
                previous = value
                status = self.owner_view(status)
                record_checkin(
                    key_result=kr,
                    author=kr.owner or self.users["admin"],
                    status=status,
                    value=value,
                    done=done,
                    confidence=self.confidence(status),
                    moved=next(moved, "") if self.rng.random() < 0.5 else "",
                    blocks=next(blocks, "")
                    if status != KeyResult.Status.ON_TRACK
                    else "",
                    at=at,
                )

    def reading(
        self,
        kr: KeyResult,
        trend: Trend,
        share: float,
        previous: Decimal | None,
        *,
        exact: bool,
    ) -> tuple[Decimal | None, bool | None, str]:
        """The value (or done flag) and computed status at a share of the period."""
        if kr.kind == KeyResult.Kind.MILESTONE:
            done = trend.done_at is not None and share >= trend.done_at
            if done or share < 0.4:
                return None, done, KeyResult.Status.ON_TRACK
            late = (
                KeyResult.Status.NEEDS_ATTENTION
                if share < 0.7
                else KeyResult.Status.OFF_TRACK
            )
            return None, False, late
        if kr.kind == KeyResult.Kind.THRESHOLD:
            value = rounded(
                trend.level + self.rng.uniform(-trend.spread, trend.spread),
                trend.places,
            )
            holds = scoring.threshold_holds(
                kr.threshold_op, value, kr.threshold_low, kr.threshold_high
            )
            return (
                value,
                None,
                KeyResult.Status.ON_TRACK
                if holds
                else KeyResult.Status.NEEDS_ATTENTION,
            )
        if kr.start is None or kr.target is None:
            raise ValueError(
                f"The demo's metric key result {kr.title!r} needs a start and a target."
            )
        wobble = 0.0 if exact else self.rng.uniform(-trend.noise, trend.noise)
        progress = trend.end * share + wobble
        value = rounded(
            float(kr.start) + float(kr.target - kr.start) * progress, trend.places
        )
        if trend.cumulative and previous is not None:
            value = (
                max(previous, value) if kr.target > kr.start else min(previous, value)
            )
        clamped = scoring.clamp(scoring.metric_progress_raw(kr.start, kr.target, value))
        return value, None, STATUS_OF_PACE[scoring.pace(clamped, share)]

    def owner_view(self, computed: str) -> str:
        """Owners are a little optimistic: now and then they report one notch better."""
        if computed == KeyResult.Status.ON_TRACK or self.rng.random() > 0.2:
            return computed
        if computed == KeyResult.Status.OFF_TRACK:
            return KeyResult.Status.NEEDS_ATTENTION
        return KeyResult.Status.ON_TRACK

    def confidence(self, status: str) -> int:
        low, high = CONFIDENCE[status]
        return self.rng.randint(low, high)

    def close_last_quarter(
        self, last: Period, current: Period, objectives: dict[str, Objective]
    ) -> None:
        grades = []
        for key, objective in objectives.items():
            spec = GRADES.get(key, GradeSpec())
            grades.append(
                Grade(
                    objective=objective,
                    score_override=decimal_or_none(spec.override),
                    override_reason=spec.reason,
                    retrospective=spec.retrospective,
                    carry_over=spec.carry_over,
                )
            )
        close_period(
            period=last,
            grades=grades,
            retrospective=PERIOD_RETROSPECTIVE,
            carry_into=current,
            author=self.users["admin"],
        )

    def create_initiatives(self) -> None:
        for spec in INITIATIVES:
            create_initiative(
                key_result=self.key_results[spec.kr_title],
                title=spec.title,
                status=spec.status,
                url=spec.url,
                owner=self.users[spec.owner],
            )

    def give_kudos(self, org: Organization, objectives: dict[str, Objective]) -> None:
        for spec in KUDOS:
            give_kudos(
                org=org,
                sender=self.users[spec.sender],
                recipient=self.users[spec.recipient],
                message=spec.message,
                objective=objectives[spec.objective] if spec.objective else None,
                key_result=self.key_results[spec.kr_title] if spec.kr_title else None,
            )


STATUS_OF_PACE = {
    scoring.Pace.ON_TRACK: KeyResult.Status.ON_TRACK,
    scoring.Pace.NEEDS_ATTENTION: KeyResult.Status.NEEDS_ATTENTION,
    scoring.Pace.OFF_TRACK: KeyResult.Status.OFF_TRACK,
}

CONFIDENCE: dict[str, tuple[int, int]] = {
    KeyResult.Status.ON_TRACK: (7, 9),
    KeyResult.Status.NEEDS_ATTENTION: (5, 6),
    KeyResult.Status.OFF_TRACK: (2, 4),
}


def decimal_or_none(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


def rounded(value: float, places: int) -> Decimal:
    return Decimal(str(value)).quantize(Decimal(1).scaleb(-places))
