"""A window's value computed by the database, moved on by new points, or combined
from windows (landmark.kpis.windows) agrees with its definition in Python,
`health.aggregate` over the window's points in time order, on SQLite and PostgreSQL."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from hypothesis import given
from hypothesis import strategies as st

from landmark.kpis import actions, health, windows
from landmark.kpis.models import KPI, DataPoint, KPIWindow

D = Decimal
AGGREGATIONS = [a.value for a in health.Aggregation]
START = datetime(2025, 3, 3, 0, 30, tzinfo=UTC)  # a Monday


def make_kpi(org, aggregation: str, frequency: str = "daily") -> KPI:
    return actions.create_kpi(
        org=org, name="Latency", frequency=frequency, aggregation=aggregation
    )


def add_points(kpi: KPI, values: list[Decimal], start: datetime = START) -> None:
    DataPoint.objects.bulk_create(
        DataPoint(
            organization_id=kpi.organization_id,
            kpi=kpi,
            time=start + timedelta(minutes=7 * i),
            value=value,
        )
        for i, value in enumerate(values)
    )


def by_definition(kpi: KPI, start) -> tuple[Decimal | None, int]:
    """health.aggregate over the window's current values as Django reads them."""
    lo, hi = windows.span(kpi.frequency, start)
    read = list(
        DataPoint.objects.filter(kpi=kpi, is_current=True, time__gte=lo, time__lt=hi)
        .order_by("time")
        .values_list("value", flat=True)
    )
    return health.aggregate(kpi.aggregation, read), len(read)


SIZES = {
    "small": [D("3.25"), D("-1.5"), D("7"), D("0.0001"), D("2.5"), D("-0.75")],
    # Beyond 10^11 SQLite cannot sum its floats exactly: the values are read back.
    "large": [D("123456789012.25"), D("-98765432109.5"), D("234567890123.75")],
    "extreme": [D("999999999999999.9999"), D("-999999999999999.9999"), D("1")],
}


@pytest.mark.parametrize("aggregation", AGGREGATIONS)
@pytest.mark.parametrize("size", list(SIZES))
def test_the_database_gives_each_window_its_value_by_definition(org, aggregation, size):
    kpi = make_kpi(org, aggregation, frequency="weekly")
    add_points(kpi, SIZES[size])
    add_points(kpi, [D("5"), D("6")], start=START + timedelta(days=7))
    first, second = (
        windows.window_of(kpi, START),
        windows.window_of(kpi, START + timedelta(days=7)),
    )
    empty = first - timedelta(days=7)

    found = windows.from_database(
        {kpi.pk: kpi}, [(kpi.pk, first), (kpi.pk, second), (kpi.pk, empty)]
    )

    assert set(found) == {(kpi.pk, first), (kpi.pk, second)}
    for start in (first, second):
        value, count = by_definition(kpi, start)
        window = found[(kpi.pk, start)]
        assert (window.value, window.count) == (value, count)
    assert found[(kpi.pk, second)].last_time == START + timedelta(days=7, minutes=7)


@pytest.mark.parametrize("aggregation", ["sum", "mean"])
def test_sums_the_database_cannot_give_exactly_are_left_to_python(org, aggregation):
    kpi = make_kpi(org, aggregation)
    add_points(kpi, SIZES["large"])
    slot = (kpi.pk, windows.window_of(kpi, START))

    in_db, left = windows.in_database({kpi.pk: kpi}, [slot])

    if connection.vendor == "sqlite":
        assert left == [slot]
    else:
        assert left == [] and in_db[slot].value == by_definition(kpi, slot[1])[0]


@pytest.mark.parametrize("aggregation", AGGREGATIONS)
@pytest.mark.parametrize("corrected", [False, True])
def test_moving_a_stored_window_on_agrees_with_the_database(
    org, aggregation, corrected
):
    kpi = make_kpi(org, aggregation)
    add_points(kpi, [D("4"), D("9.5"), D("-2")])
    slot = (kpi.pk, windows.window_of(kpi, START))
    windows.refresh({kpi.pk: kpi}, [slot])
    stored = KPIWindow.objects.get(kpi=kpi)
    changes = [windows.Change(START + timedelta(hours=2), D("11"), None)]
    if corrected:  # the first point, 4, becomes 1
        old = DataPoint.objects.get(kpi=kpi, time=START)
        old.is_current = False
        old.save(update_fields=["is_current"])
        add_points(kpi, [D("1")])
        changes.insert(0, windows.Change(START, D("1"), D("4")))
    add_points(kpi, [D("11")], start=START + timedelta(hours=2))

    moved = windows.advance(aggregation, stored, changes)

    expected = by_definition(kpi, slot[1])[0]
    # A mean, or a min or max after a correction: only the points can tell.
    movable = aggregation in {"last", "sum"} or (
        aggregation in {"min", "max"} and not corrected
    )
    assert (moved is not None) == movable
    if moved is not None:
        assert moved == expected
    assert windows.from_database({kpi.pk: kpi}, [slot])[slot].value == expected


def test_a_window_left_without_points_is_deleted(org):
    kpi = make_kpi(org, "sum")
    add_points(kpi, [D("1")])
    slot = (kpi.pk, windows.window_of(kpi, START))
    windows.refresh({kpi.pk: kpi}, [slot])
    DataPoint.objects.filter(kpi=kpi).update(is_current=False)

    windows.refresh({kpi.pk: kpi}, [slot])

    assert not KPIWindow.objects.filter(kpi=kpi).exists()


def test_a_window_too_large_to_keep_is_refused_and_nothing_stored(org):
    kpi = make_kpi(org, "sum")
    add_points(kpi, [D("999999999999999")] * 11)
    slot = (kpi.pk, windows.window_of(kpi, START))

    with pytest.raises(windows.WindowTooLarge) as error:
        windows.refresh({kpi.pk: kpi}, [slot])

    assert error.value.slots == [slot]
    assert not KPIWindow.objects.exists()


values = st.decimals(min_value=-(10**6), max_value=10**6, places=4)


@given(
    st.sampled_from(AGGREGATIONS),
    st.lists(st.lists(values, min_size=1, max_size=6), min_size=1, max_size=5),
)
def test_combining_windows_gives_the_value_of_all_their_points(aggregation, parts):
    each = [(health.aggregate(aggregation, p), len(p)) for p in parts]
    combined = windows.combine(
        aggregation, [(value, n) for value, n in each if value is not None]
    )
    every = health.aggregate(aggregation, [v for p in parts for v in p])

    assert every is not None
    assert abs(combined - every) < D("1e-18")


def test_combining_no_window_is_an_error():
    with pytest.raises(ValueError, match="at least one window"):
        windows.combine("sum", [])
