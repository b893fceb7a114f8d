"""The KPI maths of docs/kpis.md ("Health"): worked examples first, then hypothesis
properties."""

import itertools
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from landmark.kpis import health
from landmark.kpis.health import Aggregation, Frequency, Health, Target, TargetKind

D = Decimal
TEN_PERCENT = D("0.10")

# Values as people type them: bounded, at most 4 decimal places (the model's value).
values = st.decimals(
    min_value=D("-100000"), max_value=D("100000"), places=4, allow_nan=False
)
distances = st.decimals(min_value=D("0"), max_value=D("10000"), places=4)
positive_distances = st.decimals(min_value=D("0.0001"), max_value=D("10000"), places=4)
tolerances = st.decimals(min_value=D("0"), max_value=D("0.5"), places=2)
days = st.dates(min_value=date(1999, 1, 1), max_value=date(2101, 12, 31))
frequencies = st.sampled_from(list(Frequency))
aggregations = st.sampled_from(list(Aggregation))

FAST = settings(max_examples=200, deadline=None)


def at_least(low: str | Decimal) -> Target:
    return Target(TargetKind.AT_LEAST, low=D(low))


def at_most(high: str | Decimal) -> Target:
    return Target(TargetKind.AT_MOST, high=D(high))


def between(low: str | Decimal, high: str | Decimal) -> Target:
    return Target(TargetKind.BETWEEN, low=D(low), high=D(high))


def rank(h: Health) -> int:
    """Higher is worse: healthy < warning < unhealthy."""
    return health.HEALTH_RANK[h]


# Windows


@pytest.mark.parametrize(
    ("frequency", "day", "expected"),
    [
        (Frequency.DAILY, date(2024, 2, 29), date(2024, 2, 29)),
        (Frequency.DAILY, date(2024, 12, 31), date(2024, 12, 31)),
        # 1 January 2025 is a Wednesday: its week started on Monday 30 December 2024.
        (Frequency.WEEKLY, date(2025, 1, 1), date(2024, 12, 30)),
        (Frequency.WEEKLY, date(2024, 12, 30), date(2024, 12, 30)),
        (Frequency.WEEKLY, date(2025, 1, 5), date(2024, 12, 30)),  # Sunday
        (Frequency.WEEKLY, date(2024, 3, 3), date(2024, 2, 26)),  # across 29 Feb
        (Frequency.MONTHLY, date(2024, 2, 29), date(2024, 2, 1)),
        (Frequency.MONTHLY, date(2024, 12, 31), date(2024, 12, 1)),
        (Frequency.MONTHLY, date(2025, 1, 1), date(2025, 1, 1)),
        (Frequency.QUARTERLY, date(2024, 2, 29), date(2024, 1, 1)),
        (Frequency.QUARTERLY, date(2025, 3, 31), date(2025, 1, 1)),
        (Frequency.QUARTERLY, date(2025, 4, 1), date(2025, 4, 1)),
        (Frequency.QUARTERLY, date(2025, 6, 30), date(2025, 4, 1)),
        (Frequency.QUARTERLY, date(2025, 9, 15), date(2025, 7, 1)),
        (Frequency.QUARTERLY, date(2024, 12, 31), date(2024, 10, 1)),
    ],
)
def test_it_finds_the_first_day_of_the_window(frequency, day, expected):
    assert health.window_start(frequency, day) == expected


def test_it_accepts_a_frequency_as_its_stored_string():
    assert health.window_start("monthly", date(2025, 5, 17)) == date(2025, 5, 1)
    assert health.next_window("quarterly", date(2025, 10, 1)) == date(2026, 1, 1)


@pytest.mark.parametrize(
    ("frequency", "start", "expected"),
    [
        (Frequency.DAILY, date(2024, 2, 28), date(2024, 2, 29)),  # leap year
        (Frequency.DAILY, date(2024, 2, 29), date(2024, 3, 1)),
        (Frequency.DAILY, date(2023, 2, 28), date(2023, 3, 1)),  # common year
        (Frequency.DAILY, date(2024, 12, 31), date(2025, 1, 1)),
        (Frequency.WEEKLY, date(2024, 12, 30), date(2025, 1, 6)),
        (Frequency.WEEKLY, date(2024, 2, 26), date(2024, 3, 4)),
        (Frequency.MONTHLY, date(2024, 1, 1), date(2024, 2, 1)),
        (Frequency.MONTHLY, date(2024, 2, 1), date(2024, 3, 1)),
        (Frequency.MONTHLY, date(2024, 11, 1), date(2024, 12, 1)),
        (Frequency.MONTHLY, date(2024, 12, 1), date(2025, 1, 1)),
        (Frequency.QUARTERLY, date(2025, 1, 1), date(2025, 4, 1)),
        (Frequency.QUARTERLY, date(2025, 7, 1), date(2025, 10, 1)),
        (Frequency.QUARTERLY, date(2024, 10, 1), date(2025, 1, 1)),
    ],
)
def test_it_finds_the_start_of_the_next_window(frequency, start, expected):
    assert health.next_window(frequency, start) == expected


@pytest.mark.parametrize(
    ("frequency", "today", "count", "expected"),
    [
        (
            Frequency.DAILY,
            date(2024, 3, 1),
            3,
            [date(2024, 2, 28), date(2024, 2, 29), date(2024, 3, 1)],
        ),
        (
            Frequency.DAILY,
            date(2023, 3, 1),
            2,
            [date(2023, 2, 28), date(2023, 3, 1)],
        ),
        (
            Frequency.WEEKLY,
            date(2025, 1, 2),
            3,
            [date(2024, 12, 16), date(2024, 12, 23), date(2024, 12, 30)],
        ),
        (
            Frequency.MONTHLY,
            date(2025, 2, 15),
            3,
            [date(2024, 12, 1), date(2025, 1, 1), date(2025, 2, 1)],
        ),
        (
            Frequency.MONTHLY,
            date(2024, 3, 31),
            2,
            [date(2024, 2, 1), date(2024, 3, 1)],
        ),
        (
            Frequency.QUARTERLY,
            date(2025, 1, 10),
            3,
            [date(2024, 7, 1), date(2024, 10, 1), date(2025, 1, 1)],
        ),
        (Frequency.QUARTERLY, date(2025, 5, 5), 1, [date(2025, 4, 1)]),
    ],
)
def test_it_lists_the_last_windows_oldest_first_ending_with_todays(
    frequency, today, count, expected
):
    assert health.previous_windows(frequency, today, count) == expected


def test_it_lists_twelve_months_back_across_a_year_boundary():
    starts = health.previous_windows(Frequency.MONTHLY, date(2025, 1, 20), 12)
    assert starts[0] == date(2024, 2, 1)
    assert starts[-1] == date(2025, 1, 1)
    assert len(set(starts)) == 12


# Aggregation


@pytest.mark.parametrize(
    ("aggregation", "expected"),
    [
        (Aggregation.LAST, D("2")),
        (Aggregation.SUM, D("6")),
        (Aggregation.MEAN, D("2")),
        (Aggregation.MIN, D("1")),
        (Aggregation.MAX, D("3")),
    ],
)
def test_it_aggregates_a_windows_values(aggregation, expected):
    # In time order: 3, then 1, then 2 (the latest).
    assert health.aggregate(aggregation, [D("3"), D("1"), D("2")]) == expected


def test_it_takes_a_mean_that_is_not_a_whole_number():
    assert health.aggregate("mean", [D("1"), D("2")]) == D("1.5")
    assert health.aggregate("sum", [D("0.1"), D("0.2")]) == D("0.3")


@pytest.mark.parametrize("aggregation", list(Aggregation))
def test_it_has_no_value_for_a_window_without_data(aggregation):
    assert health.aggregate(aggregation, []) is None


@pytest.mark.parametrize("aggregation", list(Aggregation))
def test_it_takes_a_single_value_as_it_is(aggregation):
    assert health.aggregate(aggregation, [D("-4.5")]) == D("-4.5")


# Targets


def test_it_holds_an_at_least_target_at_and_above_its_bound():
    target = at_least("95")
    assert target.holds(D("95"))
    assert target.holds(D("100"))
    assert not target.holds(D("94.9999"))


def test_it_holds_an_at_most_target_at_and_below_its_bound():
    target = at_most("30")
    assert target.holds(D("30"))
    assert target.holds(D("-1"))
    assert not target.holds(D("30.0001"))


def test_it_holds_a_between_target_inside_the_band_including_its_ends():
    target = between("10", "20")
    assert target.holds(D("10"))
    assert target.holds(D("15"))
    assert target.holds(D("20"))
    assert not target.holds(D("9.9999"))
    assert not target.holds(D("20.0001"))


def test_it_knows_whether_a_target_is_set():
    assert not Target(TargetKind.NONE).is_set
    assert at_least("1").is_set


@pytest.mark.parametrize(
    ("target", "unit", "expected"),
    [
        (at_least("95"), "%", "≥ 95%"),
        (at_most("30"), "min", "≤ 30 min"),
        (between("2", "4.5"), "", "2–4.5"),
        (between("2", "4"), "€", "€2–€4"),
        (at_least("1.2345"), "", "≥ 1.23"),  # shown to two places at most
        (at_most("100.0000"), "", "≤ 100"),
        (Target(TargetKind.NONE), "%", "No target"),
    ],
)
def test_it_labels_a_target_as_people_read_it(target, unit, expected):
    assert target.label(unit, "en_US") == expected


# Shortfall and tolerance


@pytest.mark.parametrize(
    ("value", "target", "expected"),
    [
        (D("90"), at_least("95"), D("5")),
        (D("95"), at_least("95"), D("0")),
        (D("100"), at_least("95"), D("0")),
        (D("52"), at_most("30"), D("22")),
        (D("12"), at_most("30"), D("0")),
        (D("5"), between("10", "20"), D("5")),
        (D("25"), between("10", "20"), D("5")),
        (D("15"), between("10", "20"), D("0")),
    ],
)
def test_it_measures_how_far_a_value_misses_its_target(value, target, expected):
    assert health.shortfall(value, target) == expected


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        (at_least("95"), D("9.5")),
        (at_most("30"), D("3")),
        (at_most("-10"), D("1")),  # a share of the bound's size, never negative
        (between("10", "20"), D("1")),  # a share of the band's width
        # A band of zero width: a share of the target again (docs/kpis.md, "Health").
        (between("100", "100"), D("10")),
    ],
)
def test_it_sizes_the_tolerance_band(target, expected):
    assert health.tolerance_band(target, TEN_PERCENT) == expected


# Health


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (D("100"), Health.HEALTHY),
        (D("95"), Health.HEALTHY),
        (D("94.99"), Health.WARNING),
        (D("85.5"), Health.WARNING),  # 95 − 10 % of 95: still a warning
        (D("85.4"), Health.UNHEALTHY),
        (D("0"), Health.UNHEALTHY),
    ],
)
def test_it_rates_an_at_least_95_target_with_10_percent_tolerance(value, expected):
    assert health.health(value, at_least("95"), TEN_PERCENT) is expected


@pytest.mark.parametrize(
    ("minutes", "expected"),
    [
        (D("52"), Health.UNHEALTHY),  # the seed example: 52 minutes against ≤ 30
        (D("32"), Health.WARNING),
        (D("33"), Health.WARNING),  # ≤ 30 + 10 % of 30
        (D("33.01"), Health.UNHEALTHY),
        (D("30"), Health.HEALTHY),
        (D("12"), Health.HEALTHY),
    ],
)
def test_it_rates_average_response_time_at_most_30_minutes(minutes, expected):
    assert health.health(minutes, at_most("30"), TEN_PERCENT) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (D("8.9"), Health.UNHEALTHY),
        (D("9"), Health.WARNING),  # 10 − 10 % of the width (10)
        (D("10"), Health.HEALTHY),
        (D("20"), Health.HEALTHY),
        (D("21"), Health.WARNING),
        (D("21.1"), Health.UNHEALTHY),
    ],
)
def test_it_rates_a_between_target_with_tolerance_on_either_side(value, expected):
    assert health.health(value, between("10", "20"), TEN_PERCENT) is expected


def test_it_uses_ten_percent_tolerance_by_default():
    assert health.health(D("85.5"), at_least("95")) is Health.WARNING
    assert health.health(D("85.4"), at_least("95")) is Health.UNHEALTHY


def test_it_has_no_warning_zone_without_tolerance():
    assert health.health(D("94.9999"), at_least("95"), D("0")) is Health.UNHEALTHY
    assert health.health(D("95"), at_least("95"), D("0")) is Health.HEALTHY


def test_it_is_neutral_without_a_target_and_says_so_without_data():
    assert health.health(D("3"), Target(TargetKind.NONE)) is Health.NO_TARGET
    assert health.health(None, at_least("1")) is Health.NO_DATA
    assert health.health(None, Target(TargetKind.NONE)) is Health.NO_DATA


def test_it_labels_every_health():
    assert set(health.HEALTH_LABELS) == set(Health)
    assert health.HEALTH_LABELS[Health.NO_DATA] == "No data yet"


# Stale


NOW = datetime(2025, 6, 15, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("frequency", "allowed"),
    [
        (Frequency.DAILY, timedelta(days=1 + 1)),
        (Frequency.WEEKLY, timedelta(days=7 + 3)),
        (Frequency.MONTHLY, timedelta(days=31 + 7)),
        (Frequency.QUARTERLY, timedelta(days=92 + 14)),
    ],
)
def test_it_calls_a_kpi_stale_after_its_window_plus_grace(frequency, allowed):
    window_days = health.WINDOW_DAYS[frequency]
    assert not health.is_stale(NOW - allowed, NOW, frequency, window_days)
    assert health.is_stale(
        NOW - allowed - timedelta(seconds=1), NOW, frequency, window_days
    )


def test_it_does_not_call_a_kpi_without_data_stale():
    assert not health.is_stale(None, NOW, Frequency.DAILY, 1)


def test_it_accepts_the_frequency_as_a_string_when_checking_staleness():
    assert health.is_stale(NOW - timedelta(days=11), NOW, "weekly", 7)


# Streak, trend and forecast

U, W, H = Health.UNHEALTHY, Health.WARNING, Health.HEALTHY


@pytest.mark.parametrize(
    ("healths", "expected"),
    [
        ([], 0),
        ([H], 0),
        ([U], 1),
        ([U, H, U, U], 2),
        ([U, U, U], 3),
        ([U, U, W], 0),  # a warning ends the streak
        ([U, Health.NO_DATA, U], 1),
    ],
)
def test_it_counts_consecutive_unhealthy_windows_at_the_end(healths, expected):
    assert health.unhealthy_streak(healths) == expected


@pytest.mark.parametrize(
    ("series", "expected"),
    [
        ([D("1"), D("2"), D("3")], 1.0),
        ([D("10"), D("8"), D("6"), D("4")], -2.0),
        ([D("5"), D("5"), D("5")], 0.0),
        ([None, D("2"), None, D("6")], 2.0),  # per window, gaps kept in place
        ([D("1"), D("3"), D("2")], 0.5),
    ],
)
def test_it_measures_the_trend_per_window(series, expected):
    assert health.slope(series) == pytest.approx(expected)


@pytest.mark.parametrize("series", [[], [D("4")], [None, D("4"), None], [None, None]])
def test_it_has_no_trend_with_fewer_than_two_values(series):
    assert health.slope(series) is None


@pytest.mark.parametrize(
    ("series", "target", "expected"),
    [
        ([D("70"), D("80"), D("90")], at_least("100"), 1.0),
        ([D("60"), D("70"), D("80")], at_least("100"), 2.0),
        ([D("60"), D("50"), D("40")], at_most("30"), 1.0),
        ([D("52"), D("48"), D("44"), D("40")], at_most("30"), 2.5),
        ([D("35"), D("30"), D("25")], between("10", "20"), 1.0),  # toward high
        ([D("1"), D("4"), D("7")], between("10", "20"), 1.0),  # toward low
        ([D("70"), None, D("90")], at_least("100"), 1.0),  # 10 per window
    ],
)
def test_it_forecasts_windows_until_a_target_moving_toward_it_holds(
    series, target, expected
):
    assert health.windows_until_target(series, target) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("series", "target"),
    [
        ([D("90"), D("80"), D("70")], at_least("100")),
        ([D("40"), D("50"), D("60")], at_most("30")),
        ([D("25"), D("30"), D("35")], between("10", "20")),
        ([D("7"), D("4"), D("1")], between("10", "20")),
        ([D("50"), D("50")], at_least("100")),  # flat never gets there
        ([D("50")], at_least("100")),  # too little data
        ([], at_least("100")),
        ([D("1"), D("2")], Target(TargetKind.NONE)),
    ],
)
def test_it_makes_no_forecast_moving_away_flat_or_without_data(series, target):
    assert health.windows_until_target(series, target) is None


@pytest.mark.parametrize(
    ("series", "target"),
    [
        ([D("90"), D("100"), D("110")], at_least("100")),
        ([D("120"), D("110"), D("100")], at_least("100")),  # moving away but holding
        ([D("50"), D("30")], at_most("30")),
        ([D("15")], between("10", "20")),
    ],
)
def test_it_forecasts_zero_windows_when_the_target_already_holds(series, target):
    assert health.windows_until_target(series, target) == 0


def test_it_forecasts_from_a_noisy_upward_trend_that_has_not_arrived():
    # Bug fixed: the fitted line (slope 45) had passed 100 while the last value (90)
    # had not, so a trend heading toward the target was reported as never getting
    # there. The forecast starts from the last value: (100 − 90) / 45.
    series = [D("0"), D("200"), D("90")]
    forecast = health.windows_until_target(series, at_least("100"))
    assert forecast == pytest.approx(10 / 45)


# Properties


@FAST
@given(low=values, value=values, away=distances, tolerance=tolerances)
def test_at_least_health_never_improves_as_the_value_falls(low, value, away, tolerance):
    target = at_least(low)
    before = health.health(value, target, tolerance)
    after = health.health(value - away, target, tolerance)
    assert rank(after) >= rank(before)


@FAST
@given(high=values, value=values, away=distances, tolerance=tolerances)
def test_at_most_health_never_improves_as_the_value_rises(high, value, away, tolerance):
    target = at_most(high)
    before = health.health(value, target, tolerance)
    after = health.health(value + away, target, tolerance)
    assert rank(after) >= rank(before)


@FAST
@given(
    low=values,
    width=distances,
    outside=distances,
    away=distances,
    above=st.booleans(),
    tolerance=tolerances,
)
def test_between_health_never_improves_further_outside_the_band(
    low, width, outside, away, above, tolerance
):
    target = between(low, low + width)
    if above:
        near, far = low + width + outside, low + width + outside + away
    else:
        near, far = low - outside, low - outside - away
    assert rank(health.health(far, target, tolerance)) >= rank(
        health.health(near, target, tolerance)
    )


@FAST
@given(low=values, width=distances, outside=distances, tolerance=tolerances)
def test_between_tolerance_is_the_same_below_the_band_and_above_it(
    low, width, outside, tolerance
):
    target = between(low, low + width)
    below = health.health(low - outside, target, tolerance)
    above = health.health(low + width + outside, target, tolerance)
    assert below is above


@FAST
@given(
    kind=st.sampled_from([TargetKind.AT_LEAST, TargetKind.AT_MOST, TargetKind.BETWEEN]),
    low=values,
    width=distances,
    value=values,
    tolerance=tolerances,
)
def test_health_is_healthy_exactly_when_the_target_holds(
    kind, low, width, value, tolerance
):
    target = Target(kind, low=low, high=low + width)
    assert (health.health(value, target, tolerance) is Health.HEALTHY) == (
        target.holds(value)
    )
    assert health.health(value, target, tolerance) in {H, W, U}


@FAST
@given(low=values, value=values, tolerance=tolerances)
def test_a_larger_tolerance_never_makes_health_worse(low, value, tolerance):
    target = at_least(low)
    assert rank(health.health(value, target, tolerance + D("0.1"))) <= rank(
        health.health(value, target, tolerance)
    )


@FAST
@given(frequency=frequencies, day=days)
def test_a_window_contains_its_day_and_its_start_is_stable(frequency, day):
    start = health.window_start(frequency, day)
    end = health.next_window(frequency, start)
    assert health.window_start(frequency, start) == start
    assert start <= day < end
    # Windows tile the calendar: the next one starts where this one ends.
    assert health.window_start(frequency, end) == end
    assert health.window_start(frequency, end - timedelta(days=1)) == start


@FAST
@given(frequency=frequencies, day=days, count=st.integers(min_value=1, max_value=30))
def test_previous_windows_are_consecutive_and_end_with_todays(frequency, day, count):
    starts = health.previous_windows(frequency, day, count)
    assert len(starts) == count
    assert starts[-1] == health.window_start(frequency, day)
    for earlier, later in itertools.pairwise(starts):
        assert health.next_window(frequency, earlier) == later


@FAST
@given(series=st.lists(values, min_size=1, max_size=40))
def test_min_mean_and_max_are_ordered(series):
    low = health.aggregate(Aggregation.MIN, series)
    mean = health.aggregate(Aggregation.MEAN, series)
    high = health.aggregate(Aggregation.MAX, series)
    assert low is not None and mean is not None and high is not None
    assert low <= mean <= high
    assert health.aggregate(Aggregation.LAST, series) == series[-1]


@FAST
@given(series=st.lists(values, min_size=1, max_size=40))
def test_sum_is_count_times_mean(series):
    total = health.aggregate(Aggregation.SUM, series)
    mean = health.aggregate(Aggregation.MEAN, series)
    assert total is not None and mean is not None
    assert abs(total - mean * len(series)) < D("0.0001")


@FAST
@given(st.lists(st.sampled_from(list(Health)), max_size=30))
def test_the_unhealthy_streak_never_exceeds_the_windows(healths):
    streak = health.unhealthy_streak(healths)
    assert 0 <= streak <= len(healths)
    assert all(h is Health.UNHEALTHY for h in healths[len(healths) - streak :])
    if streak < len(healths):
        assert healths[-streak - 1] is not Health.UNHEALTHY


@FAST
@given(
    start=values,
    step=positive_distances,
    length=st.integers(min_value=2, max_value=12),
    gap=positive_distances,
)
def test_a_steady_climb_toward_an_at_least_target_gets_a_positive_forecast(
    start, step, length, gap
):
    series = [start + step * i for i in range(length)]
    target = at_least(series[-1] + gap)
    forecast = health.windows_until_target(series, target)
    assert forecast is not None
    assert forecast > 0
    assert forecast == pytest.approx(float(gap / step), rel=1e-4)


@FAST
@given(
    series=st.lists(st.one_of(st.none(), values), min_size=2, max_size=12),
    low=values,
)
def test_a_forecast_is_zero_when_holding_positive_when_heading_there_else_none(
    series, low
):
    target = at_least(low)
    present = [v for v in series if v is not None]
    assume(present)
    forecast = health.windows_until_target(series, target)
    rate = health.slope(series)
    if target.holds(present[-1]):
        assert forecast == 0
    elif rate is not None and rate > 0:
        assert forecast is not None and forecast > 0
    else:
        assert forecast is None
