"""A KPI's windows and their values: the one place that computes them.

A KPI is read per window of its frequency (a day; a week from Monday; a month; a
quarter), from local midnight to local midnight in the server's time zone. A
window's value is the KPI's aggregation over the window's current points
(docs/kpis.md, "A KPI"): `health.aggregate` is the definition, in Python, over the
values in time order. Each window with points is stored as a KPIWindow (value,
count, latest time), so that pages never read raw points.

Every write of points ends here:

- `refresh` recomputes windows from their points. The database does the arithmetic
  (`from_database`: count, latest time, minimum, maximum and sum of every window in
  one query per 300 windows, and the latest value of `last` windows in one more).
  It is exact on PostgreSQL (numeric). SQLite keeps decimals as floats of 15
  significant digits, which Django reads back as such: its minimum and maximum are
  exactly those values, and a sum is exact as a sum of the values scaled to whole
  numbers while every value stays below 10^11; beyond that, the window's values are
  read and aggregated in Python (`health.aggregate`).
- `combine` gives consecutive windows' value as one (a chart's bucket of windows).
- `advance` moves a stored window on by new and corrected points without reading its
  other points, where the aggregation allows (`last` and `sum` always, `min` and
  `max` when nothing was corrected): the batch ingestion's common case. The other
  windows are refreshed.

kpis/tests/test_windows.py checks that the three agree with `health.aggregate` on
both databases.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any, TypeVar

from django.db import connection
from django.db.models import (
    Aggregate,
    Case,
    Count,
    F,
    FloatField,
    IntegerField,
    Max,
    Min,
    Q,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Abs, Cast, Round
from django.utils import timezone

from landmark.kpis import health
from landmark.kpis.models import KPI, DataPoint, KPIWindow
from landmark.lib import bounds

Slot = tuple[int, date]  # (KPI id, window start)
SLOTS_PER_QUERY = 300  # windows aggregated by one query (a CASE with one arm each)
# Below 10^11 a value with 4 decimals has at most 15 significant digits: SQLite's
# float holds it exactly as Django reads it back, and value × 10,000 rounds to its
# exact integer. Sums of such integers stay exact in a float below 2^53.
SQLITE_EXACT_BELOW = 10**11
FLOAT_EXACT_BELOW = 2**53
T = TypeVar("T")


@dataclass(frozen=True)
class WindowValue:
    value: Decimal
    count: int
    last_time: datetime


@dataclass(frozen=True, slots=True)
class Change:
    """A value written into a window: new, or correcting the value `old`."""

    time: datetime
    value: Decimal
    old: Decimal | None
    row: int = 0  # where it came from (a batch's row), to name it in an error


class WindowTooLarge(Exception):
    """A window's value would reach 10^16 (landmark.lib.bounds); nothing was stored."""

    def __init__(self, slots: Sequence[Slot]) -> None:
        super().__init__(bounds.WINDOW_MESSAGE)
        self.slots = list(slots)


# Which window


def window_of(kpi: KPI, when: datetime) -> date:
    """The start of the KPI's window holding `when` (read in the server's zone)."""
    return health.window_start(kpi.frequency, timezone.localtime(when).date())


def span(frequency: str, start: date) -> tuple[datetime, datetime]:
    """[local midnight of the start, local midnight of the next window), in UTC:
    comparing points' times in UTC then needs no time zone lookup per point."""
    tz = timezone.get_current_timezone()
    end = health.next_window(frequency, start)
    return (
        timezone.make_aware(datetime.combine(start, time.min), tz).astimezone(UTC),
        timezone.make_aware(datetime.combine(end, time.min), tz).astimezone(UTC),
    )


def by_window(
    kpis: Mapping[int, KPI], changes: Iterable[tuple[int, Change]]
) -> dict[Slot, list[Change]]:
    """(KPI id, change) pairs grouped by window, each window's in time order. Sorted
    per KPI first, so a window's span is worked out once, not once per point."""
    grouped: dict[Slot, list[Change]] = {}
    kpi_id, lo, hi = 0, None, None
    current: list[Change] = []
    for point_kpi, change in sorted(changes, key=lambda c: (c[0], c[1].time)):
        if (
            point_kpi != kpi_id
            or lo is None
            or hi is None
            or not lo <= change.time < hi
        ):
            kpi_id = point_kpi
            kpi = kpis[kpi_id]
            start = window_of(kpi, change.time)
            lo, hi = span(kpi.frequency, start)
            current = grouped.setdefault((kpi_id, start), [])
        current.append(change)
    return grouped


# A window's value


def advance(
    aggregation: str, stored: KPIWindow | None, changes: Sequence[Change]
) -> Decimal | None:
    """The window's new value from its stored row and the changes (in time order),
    or None when only its points can tell (then `refresh` it)."""
    values = [c.value for c in changes]
    if stored is None:
        return health.aggregate(aggregation, values)
    corrected = any(c.old is not None for c in changes)
    if aggregation == KPI.Aggregation.LAST:
        latest = changes[-1]
        return latest.value if latest.time >= stored.last_time else stored.value
    if aggregation == KPI.Aggregation.SUM:
        old = sum((c.old for c in changes if c.old is not None), Decimal(0))
        return stored.value + sum(values, Decimal(0)) - old
    if aggregation == KPI.Aggregation.MIN and not corrected:
        return min(stored.value, *values)
    if aggregation == KPI.Aggregation.MAX and not corrected:
        return max(stored.value, *values)
    return None


def combine(aggregation: str, windows: Sequence[tuple[Decimal, int]]) -> Decimal:
    """Consecutive windows' (value, count) as one value, as `health.aggregate` gives
    over all their points: the mean weighted by each window's count (a chart's
    bucket of windows)."""
    if not windows:
        raise ValueError("Combine at least one window.")
    values = [value for value, _ in windows]
    if aggregation == KPI.Aggregation.MEAN:
        total = sum((value * count for value, count in windows), Decimal(0))
        return total / (sum(count for _, count in windows) or 1)
    if aggregation == KPI.Aggregation.LAST:
        return values[-1]
    result = health.aggregate(aggregation, values)  # sum, min and max of the parts
    if result is None:
        raise ValueError("Combine at least one window.")
    return result


class Total(Aggregate):
    """SQLite's TOTAL(): a sum that never overflows (a float)."""

    function = "TOTAL"
    output_field = FloatField()


def from_database(
    kpis: Mapping[int, KPI], slots: Sequence[Slot]
) -> dict[Slot, WindowValue]:
    """Each window's value, count and latest time from its current points. Windows
    without points are left out."""
    found, left = in_database(kpis, slots)
    for slot, values in _values(kpis, left).items():
        aggregated = health.aggregate(kpis[slot[0]].aggregation, values)
        if aggregated is not None:
            found[slot] = WindowValue(aggregated, len(values), found[slot].last_time)
    return found


def in_database(
    kpis: Mapping[int, KPI], slots: Sequence[Slot]
) -> tuple[dict[Slot, WindowValue], list[Slot]]:
    """The windows computed by the database, and those whose value it cannot give
    exactly (SQLite's large sums; their count and latest time are known)."""
    found: dict[Slot, WindowValue] = {}
    left: list[Slot] = []
    sqlite = connection.vendor == "sqlite"
    for chunk in chunks(slots, SLOTS_PER_QUERY):
        where, case = _slot_case(kpis, chunk)
        scaled = Cast(Round(F("value") * Value(10_000)), IntegerField())
        # Abs before the cast: SQLite's ABS() of the smallest integer (a cast of
        # -10^15 × 10,000 saturates to it) is an "integer overflow" error.
        scaled_abs = Cast(Round(Abs(F("value")) * Value(10_000)), IntegerField())
        sums: dict[str, Any] = (
            {"scaled": Total(scaled), "scaled_abs": Total(scaled_abs)}
            if sqlite
            else {"total": Sum("value")}
        )
        rows = (
            DataPoint.objects.filter(where, is_current=True)
            .annotate(slot=case)
            .order_by()
            .values("slot")
            .annotate(
                n=Count("pk"),
                low=Min("value"),
                high=Max("value"),
                latest=Max("time"),
                **sums,
            )
        )
        last: dict[Slot, datetime] = {}
        for row in rows:
            slot = chunk[row["slot"]]
            aggregation = kpis[slot[0]].aggregation
            value = _value(aggregation, row, sqlite)
            # The value of `last` and of read-back windows is filled in later.
            found[slot] = WindowValue(
                Decimal(0) if value is None else value, row["n"], row["latest"]
            )
            if aggregation == KPI.Aggregation.LAST:
                last[slot] = row["latest"]
            elif value is None:
                left.append(slot)
        for slot, value in _values_at(last).items():
            found[slot] = WindowValue(value, found[slot].count, last[slot])
    return found, left


def _value(aggregation: str, row: dict[str, Any], sqlite: bool) -> Decimal | None:
    """The window's value from its aggregated row, or None when it is not exact."""
    if aggregation == KPI.Aggregation.MIN:
        return Decimal(row["low"])
    if aggregation == KPI.Aggregation.MAX:
        return Decimal(row["high"])
    if aggregation == KPI.Aggregation.LAST:
        return None
    if not sqlite:
        total = Decimal(row["total"])
    elif (
        max(abs(row["low"]), abs(row["high"])) < SQLITE_EXACT_BELOW
        and row["scaled_abs"] < FLOAT_EXACT_BELOW
    ):
        total = Decimal(int(row["scaled"])).scaleb(-4)
    else:
        return None
    return total if aggregation == KPI.Aggregation.SUM else total / row["n"]


def _slot_case(kpis: Mapping[int, KPI], chunk: Sequence[Slot]) -> tuple[Q, Case]:
    """A filter for the windows' points and a CASE telling which window each is in."""
    where = Q()
    whens = []
    for i, (kpi_id, start) in enumerate(chunk):
        lo, hi = span(kpis[kpi_id].frequency, start)
        # With the organization, each window is a range of the (organization, kpi,
        # time) index.
        interval = Q(
            organization_id=kpis[kpi_id].organization_id,
            kpi_id=kpi_id,
            time__gte=lo,
            time__lt=hi,
        )
        where |= interval
        whens.append(When(interval, then=Value(i)))
    return where, Case(*whens, output_field=IntegerField())


def _values_at(latest: Mapping[Slot, datetime]) -> dict[Slot, Decimal]:
    """The value of each window's latest current point (for `last` windows)."""
    if not latest:
        return {}
    where = Q()
    for (kpi_id, _), when in latest.items():
        where |= Q(kpi_id=kpi_id, time=when)
    wanted = {(slot[0], when): slot for slot, when in latest.items()}
    found: dict[Slot, Decimal] = {}
    for kpi_id, when, value in DataPoint.objects.filter(
        where, is_current=True
    ).values_list("kpi_id", "time", "value"):
        found[wanted[(kpi_id, when)]] = value
    return found


def _values(
    kpis: Mapping[int, KPI], slots: Sequence[Slot]
) -> dict[Slot, list[Decimal]]:
    """The current values of each window, in time order."""
    found: dict[Slot, list[Decimal]] = {slot: [] for slot in slots}
    for chunk in chunks(slots, SLOTS_PER_QUERY):
        where, case = _slot_case(kpis, chunk)
        rows = (
            DataPoint.objects.filter(where, is_current=True)
            .annotate(slot=case)
            .order_by("time", "pk")
            .values_list("slot", "value")
        )
        for i, value in rows:
            found[chunk[i]].append(value)
    return found


# Storing


def refresh(kpis: Mapping[int, KPI], slots: Iterable[Slot]) -> None:
    """Recompute these windows from their points and store them: windows left
    without points are deleted. Raises WindowTooLarge (nothing stored)."""
    slots = sorted(set(slots))
    computed = from_database(kpis, slots)
    store(kpis, computed)
    empty = [slot for slot in slots if slot not in computed]
    for kpi_id in sorted({kpi_id for kpi_id, _ in empty}):
        KPIWindow.objects.filter(
            kpi_id=kpi_id, start__in=[s for k, s in empty if k == kpi_id]
        ).delete()


def store(kpis: Mapping[int, KPI], computed: Mapping[Slot, WindowValue]) -> None:
    """Upsert the windows (one statement per 1,000 or so), or raise WindowTooLarge
    naming every window whose value Landmark cannot keep, storing none."""
    too_large = [s for s, w in computed.items() if not bounds.window_in_range(w.value)]
    if too_large:
        raise WindowTooLarge(too_large)
    KPIWindow.objects.bulk_create(
        [
            KPIWindow(
                organization_id=kpis[kpi_id].organization_id,
                kpi_id=kpi_id,
                start=start,
                value=window.value,
                count=window.count,
                last_time=window.last_time,
            )
            for (kpi_id, start), window in computed.items()
        ],
        update_conflicts=True,
        unique_fields=["kpi", "start"],
        update_fields=["value", "count", "last_time"],
    )


def stored(slots: Iterable[Slot]) -> dict[Slot, KPIWindow]:
    """The stored rows of these windows (those that exist)."""
    slots = set(slots)
    kpi_ids = sorted({kpi_id for kpi_id, _ in slots})
    starts = sorted({start for _, start in slots})
    found: dict[Slot, KPIWindow] = {}
    for chunk in chunks(starts, 5_000):
        for window in KPIWindow.objects.filter(
            kpi_id__in=kpi_ids, start__in=chunk
        ).only("kpi_id", "start", "value", "count", "last_time"):
            slot = (window.kpi_id, window.start)
            if slot in slots:
                found[slot] = window
    return found


def chunks(items: Sequence[T], size: int) -> Iterable[Sequence[T]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
