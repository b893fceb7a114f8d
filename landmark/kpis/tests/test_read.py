"""What KPI pages show: value, health, streak, trend and forecast per KPI, read from
stored windows in a fixed number of queries, and the sparkline drawn from them."""

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from landmark.kpis import actions, health
from landmark.kpis.health import Health, Target, TargetKind
from landmark.kpis.models import KPI, KPITarget, KPIWindow
from landmark.kpis.read import KPIView, band_of, load_kpi_views
from landmark.orgs.models import Organization

D = Decimal
# Mid-June 2025: twelve monthly windows go back to July 2024.
NOW = datetime(2025, 6, 15, 12, 0, tzinfo=UTC)
MONTHS = [date(2024, 7 + n, 1) if n < 6 else date(2025, n - 5, 1) for n in range(12)]


def at(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, 9, 0, tzinfo=UTC)


def make_kpi(org: Organization, **fields: Any) -> KPI:
    defaults: dict[str, Any] = {
        "name": "Average response time",
        "unit": "min",
        "frequency": KPI.Frequency.MONTHLY,
        "target_kind": KPI.TargetKind.AT_MOST,
        "target_high": D("30"),
    }
    defaults.update(fields)
    return actions.create_kpi(org=org, **defaults)


def record(kpi: KPI, *points: tuple[datetime, str]) -> None:
    for when, value in points:
        actions.record_data_point(kpi=kpi, value=D(value), time=when)


def view_of(kpi: KPI, now: datetime = NOW, windows: int = 12) -> KPIView:
    return load_kpi_views([kpi], now=now, windows=windows)[kpi.pk]


@pytest.fixture
def kpi(org) -> KPI:
    return make_kpi(org)


def test_the_months_shown_end_with_this_one():
    assert health.previous_windows("monthly", NOW.date(), 12) == MONTHS


# Value and health


def test_it_shows_the_latest_value_and_its_health(kpi):
    record(kpi, (at(2025, 4, 10), "32"), (at(2025, 5, 20), "52"))
    view = view_of(kpi)
    assert view.current == D("52")
    assert view.current_start == date(2025, 5, 1)
    assert view.last_time == at(2025, 5, 20)
    assert view.health is Health.UNHEALTHY
    assert view.health_label == "Unhealthy"
    assert view.current_label == "52 min"
    assert view.target_label == "≤ 30 min"
    assert view.starts == MONTHS
    assert view.values[-3:] == [D("32"), D("52"), None]
    assert view.healths[-3:] == [Health.WARNING, Health.UNHEALTHY, Health.NO_DATA]


@pytest.mark.parametrize(
    ("value", "expected"),
    [("30", Health.HEALTHY), ("32", Health.WARNING), ("33", Health.WARNING)],
)
def test_it_rates_the_current_value_with_the_kpis_tolerance(kpi, value, expected):
    record(kpi, (at(2025, 6, 2), value))
    assert view_of(kpi).health is expected


def test_it_uses_the_kpis_own_tolerance(org):
    kpi = make_kpi(org, tolerance=D("0"))
    record(kpi, (at(2025, 6, 2), "31"))
    assert view_of(kpi).health is Health.UNHEALTHY


def test_a_kpi_without_recent_data_is_stale_not_healthy(kpi):
    # Monthly: 31 days plus 7 of grace. 10 April is 66 days before NOW.
    record(kpi, (at(2025, 4, 10), "12"))
    view = view_of(kpi)
    assert view.health is Health.STALE
    assert view.health_label == "Stale"
    assert view.current == D("12")
    assert view.healths[-3] is Health.HEALTHY  # the window itself was healthy


def test_a_kpi_is_not_stale_within_its_grace(kpi):
    record(kpi, (NOW - timedelta(days=38), "12"))
    assert view_of(kpi).health is Health.HEALTHY
    assert view_of(kpi, now=NOW + timedelta(seconds=1)).health is Health.STALE


def test_a_kpi_whose_data_is_older_than_the_windows_shown_is_stale(kpi):
    # Bug fixed: with only windows older than the twelve shown, the KPI read as
    # "No data yet", the longest silence looking like a brand-new KPI.
    record(kpi, (at(2024, 1, 15), "52"))
    view = view_of(kpi)
    assert view.health is Health.STALE
    assert view.current == D("52")
    assert view.current_start == date(2024, 1, 1)
    assert view.values == [None] * 12
    assert view.streak == 0


def test_a_kpi_without_data_says_so(kpi):
    view = view_of(kpi)
    assert view.health is Health.NO_DATA
    assert view.health_label == "No data yet"
    assert view.current is None
    assert view.current_label == "—"
    assert view.values == [None] * 12
    assert view.trend is None
    assert view.trend_label == "—"
    assert view.forecast is None
    assert view.forecast_label == ""
    assert view.streak == 0


def test_a_kpi_without_a_target_is_neutral(org):
    kpi = make_kpi(org, target_kind="", target_high=None, unit="%")
    record(kpi, (at(2025, 6, 2), "40"))
    view = view_of(kpi)
    assert view.health is Health.NO_TARGET
    assert view.target_label == "No target"
    assert view.current_label == "40%"
    assert view.forecast is None


def test_it_returns_nothing_for_no_kpis():
    assert load_kpi_views([], now=NOW) == {}


def test_it_reads_the_windows_of_each_frequency(org):
    weekly = make_kpi(org, name="Tickets", frequency="weekly", aggregation="sum")
    record(weekly, (at(2025, 6, 9), "3"), (at(2025, 6, 12), "4"))
    view = view_of(weekly, windows=4)
    assert view.starts == [
        date(2025, 5, 19),
        date(2025, 5, 26),
        date(2025, 6, 2),
        date(2025, 6, 9),
    ]
    assert view.values == [None, None, None, D("7")]


# Per-window targets


def test_a_per_window_target_overrides_the_kpis_target(kpi):
    record(kpi, (at(2025, 4, 10), "52"), (at(2025, 5, 10), "52"))
    actions.set_kpi_targets(kpi=kpi, schedule=[(date(2025, 5, 1), None, D("60"))])
    view = view_of(kpi)
    assert view.targets[-3:] == [
        Target(TargetKind.AT_MOST, None, D("30")),
        Target(TargetKind.AT_MOST, None, D("60")),
        Target(TargetKind.AT_MOST, None, D("30")),
    ]
    assert view.healths[-3:] == [Health.UNHEALTHY, Health.HEALTHY, Health.NO_DATA]
    assert view.current_target.high == D("60")
    assert view.target_label == "≤ 60 min"
    assert view.health is Health.HEALTHY
    assert view.streak == 0


def test_per_window_targets_of_one_kpi_do_not_leak_to_another(org, kpi):
    other = make_kpi(org, name="Backlog")
    record(kpi, (at(2025, 6, 2), "52"))
    record(other, (at(2025, 6, 2), "52"))
    actions.set_kpi_targets(kpi=kpi, schedule=[(date(2025, 6, 1), None, D("60"))])
    views = load_kpi_views([kpi, other], now=NOW)
    assert views[kpi.pk].health is Health.HEALTHY
    assert views[other.pk].health is Health.UNHEALTHY


# Streak, trend and forecast


def test_the_streak_counts_consecutive_unhealthy_windows_at_the_end(kpi):
    record(
        kpi,
        (at(2025, 1, 5), "20"),  # healthy
        (at(2025, 2, 5), "50"),  # unhealthy
        (at(2025, 3, 5), "25"),  # healthy: ends the run before it
        (at(2025, 4, 5), "40"),  # unhealthy
        (at(2025, 5, 20), "41"),  # unhealthy; June has no data yet
    )
    view = view_of(kpi)
    assert view.streak == 2
    assert view.health is Health.UNHEALTHY


def test_a_warning_window_breaks_the_streak(kpi):
    record(kpi, (at(2025, 4, 5), "40"), (at(2025, 5, 5), "32"))
    assert view_of(kpi).streak == 0


def test_every_window_unhealthy_makes_a_streak_as_long_as_the_data(kpi):
    record(kpi, *[(at(2025, m, 5), "45") for m in range(1, 7)])
    assert view_of(kpi).streak == 6


def test_it_shows_the_trend_and_when_it_will_be_healthy(kpi):
    record(kpi, (at(2025, 4, 5), "60"), (at(2025, 5, 5), "50"), (at(2025, 6, 5), "40"))
    view = view_of(kpi)
    assert view.trend == pytest.approx(-10)
    assert view.trend_label == "↓ 10 min per month"
    assert view.forecast == pytest.approx(1)
    assert view.forecast_label == "On this trend, healthy in about 1 month"


def test_it_makes_no_promise_for_a_trend_moving_away(kpi):
    record(kpi, (at(2025, 4, 5), "40"), (at(2025, 5, 5), "50"), (at(2025, 6, 5), "60"))
    view = view_of(kpi)
    assert view.trend_label == "↑ 10 min per month"
    assert view.forecast is None
    assert view.forecast_label == ""


def test_it_calls_a_level_trend_flat_and_needs_no_forecast_when_healthy(kpi):
    record(kpi, (at(2025, 5, 5), "20"), (at(2025, 6, 5), "20"))
    view = view_of(kpi)
    assert view.trend_label == "flat"
    assert view.forecast == 0
    assert view.forecast_label == ""


def test_it_counts_forecast_windows_in_the_plural(kpi):
    record(kpi, (at(2025, 4, 5), "60"), (at(2025, 5, 5), "55"), (at(2025, 6, 5), "50"))
    assert view_of(kpi).forecast_label == "On this trend, healthy in about 4 months"


# Query count


def add_kpis_with_history(org: Organization, count: int, months: int) -> list[KPI]:
    """`count` KPIs of every frequency, each with `months` of windows and targets."""
    frequencies = list(KPI.Frequency)
    kpis = [
        make_kpi(org, name=f"KPI {n}", frequency=frequencies[n % len(frequencies)])
        for n in range(count)
    ]
    rows: list[KPIWindow] = []
    targets: list[KPITarget] = []
    for kpi in kpis:
        starts = health.previous_windows(kpi.frequency, NOW.date(), months)
        for n, start in enumerate(starts):
            rows.append(
                KPIWindow(
                    organization_id=org.pk,
                    kpi=kpi,
                    start=start,
                    value=D(20 + n % 20),
                    count=1,
                    last_time=datetime.combine(start, datetime.min.time(), UTC),
                )
            )
        targets.extend(
            KPITarget(organization_id=org.pk, kpi=kpi, window_start=s, high=D(25))
            for s in starts[-6:]
        )
    KPIWindow.objects.bulk_create(rows)
    KPITarget.objects.bulk_create(targets)
    return kpis


def render(views: dict[int, KPIView]) -> list[str]:
    """Everything a KPI tile shows."""
    return [
        f"{v.health_label} {v.current_label} {v.target_label} {v.trend_label} "
        f"{v.forecast_label} {v.streak} {v.sparkline()}"
        for v in views.values()
    ]


def test_the_number_of_queries_does_not_grow_with_kpis_or_windows(
    org, django_assert_num_queries
):
    few = add_kpis_with_history(org, 2, 3)
    with CaptureQueriesContext(connection) as small:
        render(load_kpi_views(few, now=NOW))
    assert len(small) == 2  # the windows, then the scheduled targets

    many = few + add_kpis_with_history(org, 48, 40)
    with django_assert_num_queries(len(small)):
        views = load_kpi_views(many, now=NOW)
        tiles = render(views)
    assert len(tiles) == 50
    assert all(len(v.values) == 12 for v in views.values())
    assert sum(v.current is not None for v in views.values()) == 50


def test_the_windows_of_another_organization_never_show(kpi, other_org):
    record(kpi, (at(2025, 6, 2), "20"))
    other = make_kpi(other_org)
    KPIWindow.objects.create(
        organization=other_org,
        kpi=kpi,  # a hand-made cross-tenant row
        start=date(2025, 5, 1),
        value=D("99"),
        count=1,
        last_time=at(2025, 5, 2),
    )
    assert view_of(kpi).values[-2:] == [None, D("20")]
    assert view_of(other).current is None


# Sparkline


def test_band_of_gives_the_healthy_range_with_open_ends():
    assert band_of(Target(TargetKind.AT_LEAST, low=D("95"))) == (95.0, None)
    assert band_of(Target(TargetKind.AT_MOST, high=D("30"))) == (None, 30.0)
    assert band_of(Target(TargetKind.BETWEEN, D("10"), D("20"))) == (10.0, 20.0)
    assert band_of(Target(TargetKind.NONE)) is None


def test_the_sparkline_draws_the_healthy_band_behind_the_values(kpi):
    record(kpi, (at(2025, 5, 5), "52"), (at(2025, 6, 5), "40"))
    svg = str(view_of(kpi).sparkline())
    assert svg.startswith('<svg class="spark"')
    assert svg.count('<rect class="band"') == 1
    assert 'aria-label="Average response time, last 12 windows"' in svg
    assert svg.count("<polyline") == 1
    assert '<circle class="last"' in svg


def test_the_sparkline_has_no_band_without_a_target(org):
    kpi = make_kpi(org, target_kind="", target_high=None)
    record(kpi, (at(2025, 5, 5), "52"), (at(2025, 6, 5), "40"))
    svg = str(view_of(kpi).sparkline())
    assert "<rect" not in svg
    assert svg.count("<polyline") == 1


def test_the_sparkline_leaves_gaps_for_windows_without_data(kpi):
    record(
        kpi,
        (at(2025, 2, 5), "52"),
        (at(2025, 3, 5), "50"),
        # April: nothing
        (at(2025, 5, 5), "45"),
        (at(2025, 6, 5), "40"),
    )
    svg = str(view_of(kpi).sparkline())
    lines = re.findall(r'<polyline class="line" points="([^"]*)"', svg)
    assert len(lines) == 2
    assert [len(points.split()) for points in lines] == [2, 2]


def test_the_sparkline_of_a_kpi_without_data_is_empty(kpi):
    svg = str(view_of(kpi).sparkline())
    assert "<polyline" not in svg
    assert "<rect" not in svg
    assert svg.endswith("></svg>")


def test_the_sparkline_escapes_the_kpis_name(org):
    kpi = make_kpi(org, name='Churn <script>alert("x")</script>')
    record(kpi, (at(2025, 6, 5), "40"))
    svg = str(view_of(kpi).sparkline())
    assert "<script>" not in svg
    assert "&lt;script&gt;" in svg
