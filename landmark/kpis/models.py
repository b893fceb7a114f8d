"""KPIs (health metrics), their targets, data points and per-window values."""

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db import models
from django.db.models import Case, F, Q, Value, When
from django.db.models.functions import Lower
from django.utils import timezone

from landmark.kpis import health
from landmark.lib.history import TenantHistoricalRecords
from landmark.orgs.access import visible_q
from landmark.orgs.models import Membership, Organization, Team, User

if TYPE_CHECKING:
    from django.db.models.fields.related_descriptors import RelatedManager


class KPIQuerySet(models.QuerySet["KPI"]):
    def for_org(self, org: Organization) -> "KPIQuerySet":
        return self.filter(organization=org)

    def with_health(self, now: datetime | None = None) -> "KPIQuerySet":
        """Annotate `health`: the stored current health, or stale once the KPI's
        data is older than its window plus grace (read at `now`)."""
        now = now or timezone.now()
        return self.annotate(
            health=Case(
                When(current_value__isnull=True, then=Value(health.Health.NO_DATA)),
                When(stale_after__lt=now, then=Value(health.Health.STALE)),
                default=F("current_health"),
                output_field=models.CharField(),
            )
        )

    def in_dashboard_order(self) -> "KPIQuerySet":
        """Gauges keep their place: the company's own KPIs (no team, or the company
        team) first, then by department; key KPIs first, then by name."""
        company = Q(team__isnull=True) | Q(team__kind=Team.Kind.COMPANY)
        return self.annotate(
            department_rank=Case(
                When(company, then=Value(0)),
                default=Value(1),
                output_field=models.IntegerField(),
            ),
            department=Case(
                When(company, then=Value("Company")),
                default=F("team__name"),
                output_field=models.CharField(),
            ),
        ).order_by(
            "department_rank", "department", "-is_key", Lower("name"), "name", "pk"
        )

    def visible_to(self, membership: Membership) -> "KPIQuerySet":
        """The KPIs this member may see (orgs.access.visible_q)."""
        return self.filter(visible_q(membership))


class KPI(models.Model):
    """A health metric of business as usual, with a target."""

    class Indicator(models.TextChoices):
        LEAD = "lead", "Lead (predicts results)"
        LAG = "lag", "Lag (measures results)"

    class Frequency(models.TextChoices):
        DAILY = "daily", "Daily"
        WEEKLY = "weekly", "Weekly"
        MONTHLY = "monthly", "Monthly"
        QUARTERLY = "quarterly", "Quarterly"

    class Aggregation(models.TextChoices):
        LAST = "last", "Last value"
        SUM = "sum", "Sum"
        MEAN = "mean", "Mean"
        MIN = "min", "Minimum"
        MAX = "max", "Maximum"

    class TargetKind(models.TextChoices):
        NONE = "", "No target"
        AT_LEAST = "at_least", "At least"
        ABOVE = "above", "Above"
        AT_MOST = "at_most", "At most"
        BELOW = "below", "Below"
        BETWEEN = "between", "Between"
        EQUAL = "equal", "Equal to"

    class Visibility(models.TextChoices):
        PUBLIC = "public", "Public"
        PRIVATE = "private", "Private"

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="kpis"
    )
    name = models.CharField(max_length=120)
    key = models.SlugField(
        max_length=80,
        blank=True,
        help_text="A stable key for pushing data from other systems (e.g. support-response-time).",
    )
    definition = models.TextField(blank=True, help_text="What is measured, and how.")
    owner = models.ForeignKey(
        User,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_kpis",
    )
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="kpis"
    )
    unit = models.CharField(max_length=20, blank=True)
    category = models.CharField(max_length=60, blank=True)
    indicator = models.CharField(
        max_length=4, choices=Indicator.choices, default=Indicator.LAG
    )
    frequency = models.CharField(
        max_length=10, choices=Frequency.choices, default=Frequency.MONTHLY
    )
    aggregation = models.CharField(
        max_length=4, choices=Aggregation.choices, default=Aggregation.LAST
    )
    target_kind = models.CharField(max_length=8, choices=TargetKind.choices, blank=True)
    target_low = models.DecimalField(
        max_digits=20, decimal_places=4, null=True, blank=True
    )
    target_high = models.DecimalField(
        max_digits=20, decimal_places=4, null=True, blank=True
    )
    tolerance = models.DecimalField(
        max_digits=5,
        decimal_places=4,
        default=Decimal("0.10"),
        help_text="How far outside the target still counts as a warning (0.10 = 10 %): "
        "a share of the target, of the band's width for “between”, and of the target "
        "again when that width is zero (“equal to”).",
    )
    is_key = models.BooleanField(
        default=False, help_text="One of the few KPIs that matter most."
    )
    visibility = models.CharField(
        max_length=8, choices=Visibility.choices, default=Visibility.PUBLIC
    )
    archived = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    # The latest window and its health, kept by kpis.current.refresh_current on every
    # write of points, targets or the KPI itself, so that dashboards count, filter and
    # sort thousands of KPIs by health in SQL. Staleness depends on the clock: a KPI
    # is stale once `stale_after` has passed (KPIQuerySet.with_health).
    current_start = models.DateField(null=True, editable=False)
    current_value = models.DecimalField(
        max_digits=24, decimal_places=6, null=True, editable=False
    )
    current_health = models.CharField(max_length=10, default="no_data", editable=False)
    stale_after = models.DateTimeField(null=True, editable=False)

    objects = KPIQuerySet.as_manager()
    # Who changed the definition, target or owner, and when (the KPI page's history).
    history = TenantHistoricalRecords(
        excluded_fields=[
            "updated_at",
            "current_start",
            "current_value",
            "current_health",
            "stale_after",
        ]
    )

    if TYPE_CHECKING:
        points: RelatedManager["DataPoint"]
        windows: RelatedManager["KPIWindow"]
        targets: RelatedManager["KPITarget"]

    class Meta:
        ordering = ["name"]
        verbose_name = "KPI"
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "key"],
                condition=~Q(key=""),
                name="kpi_key_unique_in_org",
            ),
            models.CheckConstraint(
                condition=Q(tolerance__gte=0), name="kpi_tolerance_not_negative"
            ),
            # "Equal to" keeps its one value as both bounds.
            models.CheckConstraint(
                condition=~Q(target_kind="equal") | Q(target_high=F("target_low")),
                name="kpi_equal_target_one_value",
            ),
        ]
        indexes = [models.Index(fields=["organization", "team"])]

    def __str__(self) -> str:
        return self.name

    @property
    def target(self) -> health.Target:
        return health.Target(
            health.TargetKind(self.target_kind), self.target_low, self.target_high
        )

    def target_for(
        self, start: date, schedule: dict[date, "KPITarget"] | None = None
    ) -> health.Target:
        """The window's own target from the schedule, else the KPI's target."""
        if schedule and start in schedule:
            row = schedule[start]
            return health.Target(health.TargetKind(self.target_kind), row.low, row.high)
        return self.target

    @property
    def window_days(self) -> int:
        return health.WINDOW_DAYS[health.Frequency(self.frequency)]


class KPITarget(models.Model):
    """A per-window target: e.g. monthly revenue targets that ramp through a year."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
    kpi = models.ForeignKey(KPI, on_delete=models.CASCADE, related_name="targets")
    window_start = models.DateField()
    low = models.DecimalField(max_digits=20, decimal_places=4, null=True, blank=True)
    high = models.DecimalField(max_digits=20, decimal_places=4, null=True, blank=True)

    history = TenantHistoricalRecords()

    class Meta:
        ordering = ["window_start"]
        constraints = [
            models.UniqueConstraint(
                fields=["kpi", "window_start"], name="one_target_per_window"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kpi} from {self.window_start}"


class DataPoint(models.Model):
    """One value of a KPI at a time. A correction is a new version; the old one stays."""

    class Source(models.TextChoices):
        MANUAL = "manual", "Manual"
        IMPORT = "import", "Import"
        API = "api", "API"
        CONNECTOR = "connector", "Connector"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
    kpi = models.ForeignKey(KPI, on_delete=models.CASCADE, related_name="points")
    time = models.DateTimeField()
    value = models.DecimalField(max_digits=20, decimal_places=4)
    source = models.CharField(
        max_length=10, choices=Source.choices, default=Source.MANUAL
    )
    author = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL)
    note = models.CharField(max_length=500, blank=True)
    # Corrections: the replaced version keeps its row, with is_current = False and a
    # link to the version that replaced it.
    is_current = models.BooleanField(default=True)
    replaced_by = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="replaces",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-time", "-pk"]
        indexes = [
            models.Index(
                fields=["organization", "kpi", "time"], name="point_org_kpi_time"
            ),
            # The organization's log: the latest values entered, newest first (read
            # backwards; the id orders a batch's points, which share their time).
            models.Index(
                fields=["organization", "created_at", "id"], name="point_org_created"
            ),
            # The versions a correction replaced, by their replacement: few rows, so
            # the planner's statistics show the lookup is selective (nearly every
            # point's replaced_by is NULL).
            models.Index(
                fields=["organization", "replaced_by"],
                condition=Q(replaced_by__isnull=False),
                name="point_org_replaced",
            ),
        ]
        constraints = [
            # At most one current value per KPI and time: the upsert rule's anchor.
            models.UniqueConstraint(
                fields=["kpi", "time"],
                condition=Q(is_current=True),
                name="one_current_point_per_time",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kpi_id} = {self.value} at {self.time:%Y-%m-%d %H:%M}"


class KPIWindow(models.Model):
    """A KPI's aggregated value for one window, kept up to date by the actions.

    Pages read these instead of raw points: a dashboard tile or a chart costs the same
    whether the KPI has a thousand points or a million.
    """

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
    kpi = models.ForeignKey(KPI, on_delete=models.CASCADE, related_name="windows")
    start = models.DateField()
    value = models.DecimalField(max_digits=24, decimal_places=6)
    count = models.PositiveIntegerField()
    last_time = models.DateTimeField()

    class Meta:
        ordering = ["start"]
        constraints = [
            models.UniqueConstraint(
                fields=["kpi", "start"], name="one_value_per_window"
            )
        ]
        indexes = [
            models.Index(
                fields=["organization", "kpi", "start"], name="window_org_kpi_start"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kpi_id} {self.start}: {self.value}"


class IngestionRequest(models.Model):
    """A bulk push of data points accepted under an idempotency key.

    Saved in the same transaction as the points, so a stored request means its points
    are committed. Replaying the key with the same body answers the stored response
    and adds nothing; see `landmark.kpis.ingest`.
    """

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    user = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The API token that sent it (kept as a plain id: tokens may be deleted while
    # the key is still remembered).
    token_id = models.PositiveBigIntegerField(null=True, blank=True)
    status = models.PositiveSmallIntegerField()
    response = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "key"], name="one_ingestion_per_key"
            )
        ]
        indexes = [
            models.Index(
                fields=["organization", "created_at"], name="ingestion_org_created"
            )
        ]

    def __str__(self) -> str:
        return f"{self.organization_id} {self.key}"
