"""What KPI pages show, computed from stored per-window values.

A fixed number of queries whatever the number of KPIs and data points: the windows of
every KPI on the page in one query, their scheduled targets in another.
"""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone
from django.utils.safestring import SafeString

from landmark.kpis import health
from landmark.kpis.models import KPI, KPITarget, KPIWindow
from landmark.lib import numbers
from landmark.lib.svg import sparkline


@dataclass
class KPIView:
    kpi: KPI
    starts: list[date]  # the windows shown, oldest first
    values: list[Decimal | None]  # aligned with starts (None: no data that window)
    targets: list[health.Target]  # aligned with starts
    healths: list[health.Health]  # aligned with starts
    current: Decimal | None  # value of the latest window that has data
    current_start: date | None
    current_target: health.Target
    health: health.Health
    last_time: datetime | None
    streak: int
    trend: float | None
    forecast: float | None  # windows until the target holds, on the current trend
    locale: str = numbers.DEFAULT_LOCALE  # the organization's: how numbers read

    @property
    def health_label(self) -> str:
        return health.HEALTH_LABELS[self.health]

    @property
    def current_label(self) -> str:
        return numbers.amount(self.current, self.kpi.unit, self.locale)

    @property
    def target_label(self) -> str:
        return self.current_target.label(self.kpi.unit, self.locale)

    @property
    def target_words(self) -> str:
        """The target in words: "above 95%" reads apart from "at least 95%"."""
        return self.current_target.words(self.kpi.unit, self.locale)

    @property
    def warning_label(self) -> str:
        return health.warning_words(
            self.current_target, self.kpi.tolerance, self.kpi.unit, self.locale
        )

    @property
    def trend_label(self) -> str:
        if self.trend is None:
            return "—"
        if abs(self.trend) < 1e-9:
            return "flat"
        arrow = "↑" if self.trend > 0 else "↓"
        size = numbers.amount(abs(self.trend), self.kpi.unit, self.locale)
        return f"{arrow} {size} per {WINDOW_NOUN[self.kpi.frequency]}"

    @property
    def forecast_label(self) -> str:
        if self.forecast is None or self.health in {
            health.Health.HEALTHY,
            health.Health.NO_TARGET,
        }:
            return ""
        n = max(1, round(self.forecast))
        return f"On this trend, healthy in about {n} {WINDOW_NOUN[self.kpi.frequency]}{'s' if n != 1 else ''}"

    def sparkline(self) -> SafeString:
        band = band_of(self.current_target)
        return sparkline(
            self.values,
            band=band,
            label=f"{self.kpi.name}, last {len(self.starts)} windows",
        )


WINDOW_NOUN = {
    "daily": "day",
    "weekly": "week",
    "monthly": "month",
    "quarterly": "quarter",
}


def band_of(target: health.Target) -> tuple[float | None, float | None] | None:
    """The healthy range for charts: (low, high), None for an open end."""
    if not target.is_set:
        return None
    low = float(target.low) if target.has_low and target.low is not None else None
    high = float(target.high) if target.has_high and target.high is not None else None
    return (low, high)


def load_kpi_views(
    kpis: Sequence[KPI],
    *,
    locale: str = numbers.DEFAULT_LOCALE,
    now: datetime | None = None,
    windows: int = 12,
) -> dict[int, KPIView]:
    """`locale`: the organization's (Organization.locale), for the views' labels."""
    now = now or timezone.now()
    today = timezone.localtime(now).date()
    starts_by_freq = {
        f: health.previous_windows(f, today, windows) for f in health.Frequency
    }
    kpi_ids = [k.pk for k in kpis]
    if not kpi_ids:
        return {}
    # One query for all windows: per frequency, only the windows shown.
    frequencies = {k.frequency for k in kpis}
    recent = Q()
    for f in frequencies:
        recent |= Q(kpi__frequency=f, start__gte=starts_by_freq[health.Frequency(f)][0])
    # And each KPI's latest window even when it is older than those shown: a KPI
    # silent for longer than the chart is stale, not "no data yet".
    # (Looked up once per KPI, not once per window row.)
    latest_ids = (
        KPI.objects.filter(pk__in=kpi_ids)
        .annotate(
            latest=Subquery(
                KPIWindow.objects.filter(kpi_id=OuterRef("pk"))
                .order_by("-start")
                .values("pk")[:1]
            )
        )
        .values("latest")
    )
    rows: dict[int, dict[date, KPIWindow]] = defaultdict(dict)
    latest: dict[int, KPIWindow] = {}
    for w in KPIWindow.objects.filter(
        recent | Q(pk__in=latest_ids),
        kpi_id__in=kpi_ids,
        organization_id=kpis[0].organization_id,
    ):
        rows[w.kpi_id][w.start] = w
        if w.kpi_id not in latest or w.start > latest[w.kpi_id].start:
            latest[w.kpi_id] = w
    schedule: dict[int, dict[date, KPITarget]] = defaultdict(dict)
    for t in KPITarget.objects.filter(
        kpi_id__in=kpi_ids, organization_id=kpis[0].organization_id
    ):
        schedule[t.kpi_id][t.window_start] = t
    return {
        k.pk: build_view(
            k,
            starts_by_freq[health.Frequency(k.frequency)],
            rows[k.pk],
            latest.get(k.pk),
            schedule[k.pk],
            now,
            locale,
        )
        for k in kpis
    }


def build_view(
    kpi: KPI,
    starts: list[date],
    by_start: dict[date, KPIWindow],
    latest: KPIWindow | None,
    schedule: dict[date, KPITarget],
    now: datetime,
    locale: str = numbers.DEFAULT_LOCALE,
) -> KPIView:
    values = [by_start[s].value if s in by_start else None for s in starts]
    targets = [kpi.target_for(s, schedule) for s in starts]
    tolerance = kpi.tolerance
    healths = [
        health.health(v, t, tolerance) for v, t in zip(values, targets, strict=True)
    ]
    current = latest.value if latest else None
    current_start = latest.start if latest else None
    current_target = (
        kpi.target_for(current_start, schedule) if current_start else kpi.target
    )
    last_time = latest.last_time if latest else None
    if current is None:
        state = health.Health.NO_DATA
    elif health.is_stale(last_time, now, kpi.frequency, kpi.window_days):
        state = health.Health.STALE
    else:
        state = health.health(current, current_target, tolerance)
    present = [h for v, h in zip(values, healths, strict=True) if v is not None]
    return KPIView(
        kpi=kpi,
        starts=starts,
        values=values,
        targets=targets,
        healths=healths,
        current=current,
        current_start=current_start,
        current_target=current_target,
        health=state,
        last_time=last_time,
        streak=health.unhealthy_streak(present),
        trend=health.slope(values),
        forecast=health.windows_until_target(values, current_target),
        locale=locale,
    )
