"""Periods, objectives, key results, initiatives, check-ins and kudos (docs/okrs.md,
"The words")."""

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from django.db import models
from django.db.models import Q
from django.utils import timezone

from landmark.kpis.models import KPI, KPIQuerySet
from landmark.lib import bounds, numbers
from landmark.lib.history import TenantHistoricalRecords
from landmark.okrs import scoring
from landmark.orgs.access import visible_q
from landmark.orgs.models import Membership, Organization, Team, User

if TYPE_CHECKING:
    from django.db.models.fields.related_descriptors import RelatedManager

# Measured values: columns of 16 digits before the point, 4 after; exact decimals,
# never floats. Input takes 15 before the point (landmark.lib.bounds).


def day_start(d: date) -> datetime:
    return timezone.make_aware(datetime.combine(d, time.min))


class PeriodQuerySet(models.QuerySet["Period"]):
    def for_org(self, org: Organization) -> "PeriodQuerySet":
        return self.filter(organization=org)

    def current_first(self) -> "PeriodQuerySet":
        return self.order_by("-start", "-end")


class Period(models.Model):
    """A time box for OKRs: quarter, year or custom; planning → active → closed."""

    class Kind(models.TextChoices):
        QUARTER = "quarter", "Quarter"
        YEAR = "year", "Year"
        CUSTOM = "custom", "Custom"

    class State(models.TextChoices):
        PLANNING = "planning", "Planning"
        ACTIVE = "active", "Active"
        CLOSED = "closed", "Closed"

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="periods"
    )
    name = models.CharField(max_length=80)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.QUARTER)
    start = models.DateField()
    end = models.DateField(help_text="The last day of the period.")
    state = models.CharField(
        max_length=10, choices=State.choices, default=State.PLANNING
    )
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="children",
        help_text="The year this quarter belongs to, if any.",
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    retrospective = models.TextField(blank=True)

    objects = PeriodQuerySet.as_manager()
    history = TenantHistoricalRecords()

    class Meta:
        ordering = ["-start"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end__gte=models.F("start")), name="period_end_after_start"
            ),
            models.UniqueConstraint(
                fields=["organization", "name"], name="period_name_unique_in_org"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def starts_at(self) -> datetime:
        return day_start(self.start)

    @property
    def ends_at(self) -> datetime:
        return day_start(self.end + timedelta(days=1))

    def time_share(self, now: datetime | None = None) -> float:
        return scoring.time_share(now or timezone.now(), self.starts_at, self.ends_at)

    @property
    def is_closed(self) -> bool:
        return self.state == self.State.CLOSED


def current_of(periods: Sequence[Period], today: date) -> Period | None:
    """The period people work in today: the active quarter (else custom period, else
    year) containing today, else the latest one not closed, else the latest."""
    for wanted in (Period.Kind.QUARTER, Period.Kind.CUSTOM, Period.Kind.YEAR):
        for p in periods:
            if (
                p.kind == wanted
                and p.state == Period.State.ACTIVE
                and p.start <= today <= p.end
            ):
                return p
    return next(
        (p for p in periods if p.state != Period.State.CLOSED),
        periods[0] if periods else None,
    )


# New work drafted this close to a period's end goes into the next period.
NEXT_PERIOD_WITHIN = timedelta(weeks=3)


def next_if_ending(periods: Sequence[Period], today: date) -> Period | None:
    """Where new work goes by default (Fix with an OKR): the current period, or the
    next one (not closed, starting after it, of the same kind if there is one) when
    fewer than three weeks of the current one remain."""
    current = current_of(periods, today)
    if current is None or current.end - today >= NEXT_PERIOD_WITHIN - timedelta(1):
        return current
    later = [p for p in periods if not p.is_closed and p.start > current.end]
    if not later:
        return current
    return min(later, key=lambda p: (p.kind != current.kind, p.start, p.pk))


class ObjectiveQuerySet(models.QuerySet["Objective"]):
    def for_org(self, org: Organization) -> "ObjectiveQuerySet":
        return self.filter(organization=org)

    def in_period(self, period: Period) -> "ObjectiveQuerySet":
        return self.filter(period=period)

    def visible_to(self, membership: Membership) -> "ObjectiveQuerySet":
        """The objectives this member may see (orgs.access.visible_q)."""
        return self.filter(visible_q(membership))

    def with_tree_data(self, *, kpis: KPIQuerySet) -> "ObjectiveQuerySet":
        """Owner, team, period and key results; a key result's `kpi` is read from
        `kpis` (the KPIs the member may see), so a hidden KPI reads as None."""
        return self.select_related("owner", "team", "period").prefetch_related(
            models.Prefetch(
                "key_results",
                queryset=KeyResult.objects.select_related("owner")
                .prefetch_related(models.Prefetch("kpi", queryset=kpis))
                .order_by("position", "pk"),
            )
        )


class Objective(models.Model):
    """Qualitative, inspiring "where do we want to go"."""

    class Level(models.TextChoices):
        COMPANY = "company", "Company"
        TEAM = "team", "Team"
        PERSONAL = "personal", "Personal"

    class Type(models.TextChoices):
        BUILD = "build", "Build"
        IMPROVE = "improve", "Improve"
        INNOVATE = "innovate", "Innovate"

    class Commitment(models.TextChoices):
        COMMITTED = "committed", "Committed"
        ASPIRATIONAL = "aspirational", "Aspirational"

    class Visibility(models.TextChoices):
        PUBLIC = "public", "Public"
        PRIVATE = "private", "Private"

    class State(models.TextChoices):
        DRAFT = "draft", "Draft"
        ACTIVE = "active", "Active"
        CLOSED = "closed", "Closed"

    class Outcome(models.TextChoices):
        ACHIEVED = "achieved", "Achieved"
        PARTIAL = "partially_achieved", "Partially achieved"
        MISSED = "missed", "Missed"
        CARRIED_OVER = "carried_over", "Carried over"

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="objectives"
    )
    period = models.ForeignKey(
        Period, on_delete=models.PROTECT, related_name="objectives"
    )
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    level = models.CharField(max_length=10, choices=Level.choices, default=Level.TEAM)
    team = models.ForeignKey(
        Team,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="objectives",
    )
    owner = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="owned_objectives"
    )
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="children",
        help_text="The objective this one is aligned to (contributes to).",
    )
    type = models.CharField(max_length=10, choices=Type.choices, default=Type.IMPROVE)
    commitment = models.CharField(
        max_length=12, choices=Commitment.choices, default=Commitment.ASPIRATIONAL
    )
    visibility = models.CharField(
        max_length=8, choices=Visibility.choices, default=Visibility.PUBLIC
    )
    state = models.CharField(max_length=8, choices=State.choices, default=State.ACTIVE)
    include_children = models.BooleanField(
        default=False,
        help_text="Count aligned child objectives in this objective's progress.",
    )
    position = models.PositiveIntegerField(default=0)
    # Grading (set when the period closes).
    score = models.DecimalField(max_digits=4, decimal_places=2, null=True, blank=True)
    score_override = models.DecimalField(
        max_digits=4, decimal_places=2, null=True, blank=True
    )
    override_reason = models.TextField(blank=True)
    outcome = models.CharField(max_length=20, choices=Outcome.choices, blank=True)
    retrospective = models.TextField(blank=True)
    carried_from = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="carried_into",
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ObjectiveQuerySet.as_manager()
    history = TenantHistoricalRecords(excluded_fields=["updated_at"])

    if TYPE_CHECKING:
        key_results: RelatedManager["KeyResult"]
        children: RelatedManager["Objective"]

    class Meta:
        ordering = ["position", "pk"]
        indexes = [
            models.Index(fields=["organization", "period", "team"]),
            models.Index(fields=["organization", "owner"]),
            # The API's list in its default order, a page without sorting them all.
            models.Index(
                fields=["organization", "created_at", "id"],
                name="objective_org_created",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_committed(self) -> bool:
        return self.commitment == self.Commitment.COMMITTED

    @property
    def final_score(self) -> Decimal | None:
        return self.score_override if self.score_override is not None else self.score


def week_start(now: datetime, org: Organization) -> datetime:
    """The start of the organization's week containing `now`: midnight of its first
    day (Organization.week_start, Monday unless changed) in its time zone."""
    local = timezone.localtime(now, ZoneInfo(org.time_zone))
    day = local.date() - timedelta(days=(local.weekday() - org.week_start) % 7)
    return datetime.combine(day, time(0), tzinfo=local.tzinfo)


def awaiting_checkin_q(org: Organization, now: datetime, prefix: str = "") -> Q:
    """A key result awaits its owner's check-in this week (My focus): never checked
    in, not since Monday, or stale (KeyResult.is_stale) in its active period.

    The SQL form of KeyResult.awaits_checkin; tests hold the two together."""
    silence = timedelta(days=org.checkin_cadence_days + org.checkin_grace_days)
    at = f"{prefix}last_checkin_at"
    return (
        Q(**{f"{at}__isnull": True})
        | Q(**{f"{at}__lt": week_start(now, org)})
        | Q(
            **{
                f"{at}__lt": now - silence,
                f"{prefix}objective__period__state": Period.State.ACTIVE,
                f"{prefix}objective__period__start__lte": timezone.localdate(now),
            }
        )
    )


class KeyResultQuerySet(models.QuerySet["KeyResult"]):
    def awaiting_checkin(
        self, org: Organization, now: datetime | None = None
    ) -> "KeyResultQuerySet":
        return self.filter(awaiting_checkin_q(org, now or timezone.now()))


class KeyResult(models.Model):
    """ "How do we know we got there": metric, threshold or milestone."""

    class Kind(models.TextChoices):
        METRIC = "metric", "Metric (from start to target)"
        THRESHOLD = "threshold", "Threshold (stay at or above / below / between)"
        MILESTONE = "milestone", "Milestone (done or not)"

    class ThresholdOp(models.TextChoices):
        AT_LEAST = "at_least", "At or above"
        AT_MOST = "at_most", "At or below"
        BETWEEN = "between", "Between"

    class Status(models.TextChoices):
        ON_TRACK = "on_track", "On track"
        NEEDS_ATTENTION = "needs_attention", "Needs attention"
        OFF_TRACK = "off_track", "Off track"

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="key_results"
    )
    objective = models.ForeignKey(
        Objective, on_delete=models.CASCADE, related_name="key_results"
    )
    title = models.CharField(max_length=200)
    description = models.TextField(
        blank=True,
        max_length=bounds.MAX_DESCRIPTION,
        help_text="What it measures and how (where the number comes from).",
    )
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.METRIC)
    unit = models.CharField(max_length=20, blank=True)
    start = models.DecimalField(max_digits=20, decimal_places=4, null=True, blank=True)
    target = models.DecimalField(max_digits=20, decimal_places=4, null=True, blank=True)
    threshold_op = models.CharField(
        max_length=10, choices=ThresholdOp.choices, blank=True
    )
    threshold_low = models.DecimalField(
        max_digits=20, decimal_places=4, null=True, blank=True
    )
    threshold_high = models.DecimalField(
        max_digits=20, decimal_places=4, null=True, blank=True
    )
    # The latest checked-in value (or done flag), kept with the last check-in so pages
    # read progress without scanning history; written only by record_checkin.
    current = models.DecimalField(
        max_digits=20, decimal_places=4, null=True, blank=True
    )
    done = models.BooleanField(default=False)
    weight = models.DecimalField(max_digits=6, decimal_places=2, default=Decimal("1"))
    owner = models.ForeignKey(
        User,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_key_results",
    )
    due_date = models.DateField(
        null=True, blank=True, help_text="Defaults to the end of the period."
    )
    start_date = models.DateField(
        null=True,
        blank=True,
        help_text="The day measuring starts (the day of the start value). Empty: the "
        "day the key result is added. Progress is expected from then, never before "
        "the period starts.",
    )
    position = models.PositiveIntegerField(default=0)
    last_checkin_at = models.DateTimeField(null=True, blank=True)
    last_status = models.CharField(max_length=16, choices=Status.choices, blank=True)
    last_confidence = models.PositiveSmallIntegerField(null=True, blank=True)
    checkins_held = models.PositiveIntegerField(default=0)
    checkins_count = models.PositiveIntegerField(default=0)
    score = models.DecimalField(max_digits=4, decimal_places=2, null=True, blank=True)
    kpi = models.ForeignKey(
        KPI,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="key_results",
        help_text="Track a KPI: the current value follows the KPI's value.",
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = KeyResultQuerySet.as_manager()

    # Definition changes (target, weight, owner...). The running value and check-in
    # counters move with each check-in, whose own rows are the value history.
    history = TenantHistoricalRecords(
        excluded_fields=[
            "current",
            "done",
            "last_checkin_at",
            "last_status",
            "last_confidence",
            "checkins_held",
            "checkins_count",
        ]
    )

    if TYPE_CHECKING:
        checkins: RelatedManager["CheckIn"]
        initiatives: RelatedManager["Initiative"]

    class Meta:
        ordering = ["position", "pk"]
        indexes = [
            models.Index(fields=["organization", "owner"]),
            # The API's list in its default order, a page without sorting them all.
            models.Index(
                fields=["organization", "created_at", "id"], name="kr_org_created"
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(weight__gte=0), name="kr_weight_not_negative"
            )
        ]

    def __str__(self) -> str:
        return self.title

    def progress_raw(self) -> float | None:
        """Honest progress: may be below 0 or over 1 for metrics. None before any data:
        a metric or threshold without a value yet (a milestone is done or not)."""
        if self.kind != self.Kind.MILESTONE and self.current is None:
            return None
        return self.progress_at(self.current, self.done)

    def progress_at(self, value: Decimal | None, done: bool | None) -> float | None:
        """Progress this key result would have with the given value (or done flag)."""
        if self.kind == self.Kind.METRIC:
            if self.start is None or self.target is None or self.start == self.target:
                return None
            return scoring.metric_progress_raw(
                self.start, self.target, self.start if value is None else value
            )
        if self.kind == self.Kind.THRESHOLD:
            return scoring.threshold_progress(
                self.threshold_op, value, self.threshold_low, self.threshold_high
            )
        return scoring.milestone_progress(bool(done))

    def progress(self) -> float:
        """Clamped progress used in roll-ups."""
        raw = self.progress_raw()
        return scoring.clamp(raw) if raw is not None else 0.0

    def tracked_from(self, period: Period) -> datetime:
        """When this key result began to be tracked: the later of the period's start
        and its start date (or, without one, the moment it was added). Its expected
        progress runs from then, so a key result added in week 9 is not behind on
        its first day (PRODUCT.md §2, time share)."""
        began = day_start(self.start_date) if self.start_date else self.created_at
        return max(period.starts_at, began)

    def window(self, period: Period) -> tuple[datetime, datetime]:
        """From when it is tracked to its due date (or the end of the period)."""
        end = (
            day_start(self.due_date + timedelta(days=1))
            if self.due_date
            else period.ends_at
        )
        return self.tracked_from(period), end

    def time_share(self, period: Period, now: datetime | None = None) -> float:
        start, end = self.window(period)
        return scoring.time_share(now or timezone.now(), start, end)

    def expected_value(
        self, period: Period, now: datetime | None = None
    ) -> Decimal | None:
        if self.kind != self.Kind.METRIC or self.start is None or self.target is None:
            return None
        return scoring.expected_value(
            self.start, self.target, self.time_share(period, now)
        )

    def is_stale(
        self, period: Period, org: Organization, now: datetime | None = None
    ) -> bool:
        now = now or timezone.now()
        if period.state != Period.State.ACTIVE or now < period.starts_at:
            return False
        since = self.tracked_from(period)
        return scoring.is_stale(
            self.last_checkin_at,
            since,
            now,
            org.checkin_cadence_days,
            org.checkin_grace_days,
        )

    def awaits_checkin(
        self, period: Period, org: Organization, now: datetime | None = None
    ) -> bool:
        """Whether its owner should check in this week (awaiting_checkin_q in SQL)."""
        now = now or timezone.now()
        return (
            self.last_checkin_at is None
            or self.last_checkin_at < week_start(now, org)
            or self.is_stale(period, org, now)
        )

    def pace(
        self, period: Period, org: Organization, now: datetime | None = None
    ) -> scoring.Pace:
        if self.is_stale(period, org, now):
            return scoring.Pace.STALE
        thresholds = scoring.PaceThresholds(
            float(org.on_track_gap), float(org.off_track_gap)
        )
        return scoring.pace(self.progress(), self.time_share(period, now), thresholds)

    def target_label(self, locale: str) -> str:
        """The target as people read it: 30,000 → 45,000 visitors, ≥ $100K, Done."""
        if self.kind == self.Kind.MILESTONE:
            return "Done"
        if self.kind == self.Kind.THRESHOLD:
            low, high = self.threshold_low, self.threshold_high
            if self.threshold_op == self.ThresholdOp.AT_LEAST:
                return numbers.bound("≥", low, self.unit, locale)
            if self.threshold_op == self.ThresholdOp.AT_MOST:
                return numbers.bound("≤", high, self.unit, locale)
            return numbers.between(low, high, self.unit, locale)
        return numbers.change(self.start, self.target, self.unit, locale)

    def current_label(self, locale: str) -> str:
        """Its current value with its unit, or Done / Not done for a milestone."""
        if self.kind == self.Kind.MILESTONE:
            return numbers.milestone(self.done)
        return numbers.amount(self.current, self.unit, locale)


class Initiative(models.Model):
    """Work done to move a key result (a project, task or link to a ticket)."""

    class Status(models.TextChoices):
        NOT_STARTED = "not_started", "Not started"
        IN_PROGRESS = "in_progress", "In progress"
        DONE = "done", "Done"
        BLOCKED = "blocked", "Blocked"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
    key_result = models.ForeignKey(
        KeyResult, on_delete=models.CASCADE, related_name="initiatives"
    )
    title = models.CharField(max_length=200)
    status = models.CharField(
        max_length=12, choices=Status.choices, default=Status.NOT_STARTED
    )
    url = models.URLField(
        blank=True, help_text="Link to an external ticket or document."
    )
    owner = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.title


class CheckIn(models.Model):
    """An append-only update on a key result; history is never rewritten.

    A person's check-in carries their status and confidence. One from the KPI the key
    result tracks carries the KPI's new value only: no status, no confidence, and it
    leaves the owner's last word as it was. An imported one (an admin's history from
    a spreadsheet or another tool, at a past time) is a person's word at that time,
    marked as imported (docs/okrs.md, "Importing check-in history")."""

    class Source(models.TextChoices):
        PERSON = "person", "A person's check-in"
        KPI = "kpi", "From the KPI it tracks"
        IMPORT = "import", "Imported from history"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
    key_result = models.ForeignKey(
        KeyResult, on_delete=models.CASCADE, related_name="checkins"
    )
    author = models.ForeignKey(User, on_delete=models.PROTECT, related_name="checkins")
    source = models.CharField(
        max_length=8, choices=Source.choices, default=Source.PERSON
    )
    value = models.DecimalField(max_digits=20, decimal_places=4, null=True, blank=True)
    done = models.BooleanField(null=True, blank=True)
    status = models.CharField(
        max_length=16, choices=KeyResult.Status.choices, blank=True
    )
    confidence = models.PositiveSmallIntegerField(null=True, blank=True)
    moved = models.TextField(
        blank=True, help_text="What moved since the last check-in."
    )
    blocks = models.TextField(blank=True, help_text="What is in the way.")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    history = TenantHistoricalRecords()

    class Meta:
        ordering = ["-created_at", "-pk"]
        # Organization first: every tenant query filters by it, and SQLite's planner
        # must not prefer a scan of the whole organization's check-ins.
        indexes = [
            models.Index(fields=["organization", "key_result", "created_at"]),
            # The organization's log and the API's list: its latest check-ins.
            models.Index(
                fields=["organization", "created_at", "id"], name="checkin_org_created"
            ),
        ]

    def __str__(self) -> str:
        return f"Check-in on {self.key_result_id} at {self.created_at:%Y-%m-%d}"

    @property
    def from_kpi(self) -> bool:
        return self.source == self.Source.KPI

    @property
    def imported(self) -> bool:
        return self.source == self.Source.IMPORT


class Kudos(models.Model):
    """Recognition from one member to another, optionally on an objective or KR."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
    sender = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="kudos_sent"
    )
    recipient = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="kudos_received"
    )
    message = models.CharField(max_length=500)
    objective = models.ForeignKey(
        Objective, null=True, blank=True, on_delete=models.CASCADE, related_name="kudos"
    )
    key_result = models.ForeignKey(
        KeyResult, null=True, blank=True, on_delete=models.CASCADE, related_name="kudos"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "kudos"

    def __str__(self) -> str:
        return f"Kudos to {self.recipient}"


class ObjectiveKPI(models.Model):
    """An objective works on a KPI (docs/kpis.md, "Where KPIs and OKRs meet"): the KPI
    page lists it."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
    objective = models.ForeignKey(
        Objective, on_delete=models.CASCADE, related_name="kpi_links"
    )
    kpi = models.ForeignKey(
        KPI, on_delete=models.CASCADE, related_name="objective_links"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["objective", "kpi"], name="objective_kpi_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.objective_id} works on {self.kpi_id}"
