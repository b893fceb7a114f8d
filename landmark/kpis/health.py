"""KPI maths of docs/kpis.md ("A KPI", "Health") as pure functions with no Django
imports.

Windows: a KPI with a frequency (daily, weekly, monthly, quarterly) is read per
window; its value for a window is its aggregation (last, sum, mean, min, max) over the
data points in that window. Health compares a window's value with its target.
"""

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from landmark.lib import numbers


class Frequency(enum.StrEnum):
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"


class Aggregation(enum.StrEnum):
    LAST = "last"
    SUM = "sum"
    MEAN = "mean"
    MIN = "min"
    MAX = "max"


class TargetKind(enum.StrEnum):
    NONE = ""
    AT_LEAST = "at_least"  # value ≥ low
    ABOVE = "above"  # value > low (strict)
    AT_MOST = "at_most"  # value ≤ high
    BELOW = "below"  # value < high (strict)
    BETWEEN = "between"  # low ≤ value ≤ high
    EQUAL = "equal"  # value = low (= high)


# The kinds that use each bound: a lower bound (low), an upper bound (high).
LOW_KINDS = frozenset(
    {TargetKind.AT_LEAST, TargetKind.ABOVE, TargetKind.BETWEEN, TargetKind.EQUAL}
)
HIGH_KINDS = frozenset(
    {TargetKind.AT_MOST, TargetKind.BELOW, TargetKind.BETWEEN, TargetKind.EQUAL}
)
STRICT_KINDS = frozenset({TargetKind.ABOVE, TargetKind.BELOW})


class Health(enum.StrEnum):
    HEALTHY = "healthy"
    WARNING = "warning"
    UNHEALTHY = "unhealthy"
    NO_TARGET = "no_target"
    STALE = "stale"
    NO_DATA = "no_data"


HEALTH_LABELS = {
    Health.HEALTHY: "Healthy",
    Health.WARNING: "Warning",
    Health.UNHEALTHY: "Unhealthy",
    Health.NO_TARGET: "No target",
    Health.STALE: "Stale",
    Health.NO_DATA: "No data yet",
}

# Better first; used to check that health never improves as a value moves away.
HEALTH_RANK = {Health.HEALTHY: 0, Health.WARNING: 1, Health.UNHEALTHY: 2}

# How long after a window ends data may still arrive before the KPI counts as stale.
GRACE = {
    Frequency.DAILY: timedelta(days=1),
    Frequency.WEEKLY: timedelta(days=3),
    Frequency.MONTHLY: timedelta(days=7),
    Frequency.QUARTERLY: timedelta(days=14),
}


def window_start(frequency: Frequency | str, day: date) -> date:
    """The first day of the window that contains `day`."""
    frequency = Frequency(frequency)
    if frequency is Frequency.DAILY:
        return day
    if frequency is Frequency.WEEKLY:
        return day - timedelta(days=day.weekday())
    if frequency is Frequency.MONTHLY:
        return day.replace(day=1)
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def next_window(frequency: Frequency | str, start: date) -> date:
    """The first day of the window after the one starting at `start`."""
    frequency = Frequency(frequency)
    if frequency is Frequency.DAILY:
        return start + timedelta(days=1)
    if frequency is Frequency.WEEKLY:
        return start + timedelta(days=7)
    months = 1 if frequency is Frequency.MONTHLY else 3
    month = start.month - 1 + months
    return date(start.year + month // 12, month % 12 + 1, 1)


def previous_windows(frequency: Frequency | str, today: date, count: int) -> list[date]:
    """The starts of the last `count` windows, oldest first, ending with today's."""
    starts = [window_start(frequency, today)]
    while len(starts) < count:
        starts.append(window_start(frequency, starts[-1] - timedelta(days=1)))
    return starts[::-1]


def aggregate(
    aggregation: Aggregation | str, values: Sequence[Decimal]
) -> Decimal | None:
    """The window's value; `values` are in time order (LAST takes the latest)."""
    if not values:
        return None
    aggregation = Aggregation(aggregation)
    if aggregation is Aggregation.LAST:
        return values[-1]
    if aggregation is Aggregation.SUM:
        return sum(values, Decimal(0))
    if aggregation is Aggregation.MEAN:
        return sum(values, Decimal(0)) / len(values)
    if aggregation is Aggregation.MIN:
        return min(values)
    return max(values)


@dataclass(frozen=True)
class Target:
    kind: TargetKind
    low: Decimal | None = None  # at least / above low; between low and high; equal
    high: Decimal | None = None  # at most / below high; between low and high; equal

    @property
    def is_set(self) -> bool:
        return self.kind is not TargetKind.NONE

    @property
    def has_low(self) -> bool:
        """Whether the kind bounds the value from below."""
        return self.kind in LOW_KINDS

    @property
    def has_high(self) -> bool:
        """Whether the kind bounds the value from above."""
        return self.kind in HIGH_KINDS

    @property
    def is_strict(self) -> bool:
        """Above and below: the bound itself does not hold."""
        return self.kind in STRICT_KINDS

    @property
    def lowest(self) -> Decimal:
        """The lower bound of an "at least", "above", "between" or "equal" target."""
        if self.low is None or not self.has_low:
            raise ValueError(
                f"A target {self.kind.value or 'unset'!r} has no lowest value."
            )
        return self.low

    @property
    def highest(self) -> Decimal:
        """The upper bound of an "at most", "below", "between" or "equal" target."""
        if self.high is None or not self.has_high:
            raise ValueError(
                f"A target {self.kind.value or 'unset'!r} has no highest value."
            )
        return self.high

    def holds(self, value: Decimal) -> bool:
        if self.kind is TargetKind.AT_LEAST:
            return value >= self.lowest
        if self.kind is TargetKind.ABOVE:
            return value > self.lowest
        if self.kind is TargetKind.AT_MOST:
            return value <= self.highest
        if self.kind is TargetKind.BELOW:
            return value < self.highest
        return self.lowest <= value <= self.highest

    def label(self, unit: str, locale: str) -> str:
        """Short, for tiles and tables: ≥ 95%, > 95%, ≤ 2%, < 2%, = 50, 90–110."""
        if self.kind is TargetKind.NONE:
            return "No target"
        if self.kind is TargetKind.BETWEEN:
            return numbers.between(self.low, self.high, unit, locale)
        return numbers.bound(SYMBOLS[self.kind], self.bound, unit, locale)

    def words(self, unit: str, locale: str) -> str:
        """In words, for the KPI page: at least 95%, above 95%, equal to 50, …"""
        if self.kind is TargetKind.NONE:
            return "No target"
        if self.kind is TargetKind.BETWEEN:
            low, high = (numbers.amount(v, unit, locale) for v in (self.low, self.high))
            return f"between {low} and {high}"
        return f"{WORDS[self.kind]} {numbers.amount(self.bound, unit, locale)}"

    @property
    def bound(self) -> Decimal | None:
        """The one bound of a one-sided (or equal) target."""
        if self.kind in {TargetKind.AT_MOST, TargetKind.BELOW}:
            return self.high
        return self.low


SYMBOLS = {
    TargetKind.AT_LEAST: "≥",
    TargetKind.ABOVE: ">",
    TargetKind.AT_MOST: "≤",
    TargetKind.BELOW: "<",
    TargetKind.EQUAL: "=",
}
WORDS = {
    TargetKind.AT_LEAST: "at least",
    TargetKind.ABOVE: "above",
    TargetKind.AT_MOST: "at most",
    TargetKind.BELOW: "below",
    TargetKind.EQUAL: "equal to",
}


def plain(value: Decimal | None) -> str:
    """A value written plainly, as a form field shows it for editing (never for
    reading: landmark.lib.numbers writes values for people)."""
    if value is None:
        return "—"
    text = f"{value.quantize(Decimal('0.01')).normalize():f}"
    return text


def shortfall(value: Decimal, target: Target) -> Decimal:
    """How far the value is short of (or past) the target's bound, 0 within it.

    For a strict target ("above 95") a value right at the bound is 0 away but does not
    hold: `health` tells the two apart with `Target.holds`.
    """
    gaps = [Decimal(0)]
    if target.has_low:
        gaps.append(target.lowest - value)
    if target.has_high:
        gaps.append(value - target.highest)
    return max(gaps)


def tolerance_band(target: Target, tolerance: Decimal) -> Decimal:
    """How far outside the target still counts as a warning.

    A share of the target's bound (at least / above / at most / below X:
    tolerance·|X|); for between A and B, of the band's width (tolerance·(B − A)), on
    either side alike; for a band of zero width (equal to X, or between X and X), of
    the target again (tolerance·|X|), so that an exact target has a warning zone too.
    """
    if target.has_low and target.has_high:
        width = target.highest - target.lowest
        if width > 0:
            return tolerance * width
        return tolerance * abs(target.lowest)
    bound = target.lowest if target.has_low else target.highest
    return tolerance * abs(bound)


def warning_words(target: Target, tolerance: Decimal, unit: str, locale: str) -> str:
    """Where the warning zone lies, for the KPI page: "warning down to 85.5%"."""
    if not target.is_set:
        return ""
    band = tolerance_band(target, tolerance)
    if band <= 0:
        return "no warning zone: any miss is unhealthy"
    if not target.has_high:
        return f"warning down to {numbers.amount(target.lowest - band, unit, locale)}"
    if not target.has_low:
        return f"warning up to {numbers.amount(target.highest + band, unit, locale)}"
    return (
        f"warning from {numbers.amount(target.lowest - band, unit, locale)} "
        f"to {numbers.amount(target.highest + band, unit, locale)}"
    )


def health(
    value: Decimal | None, target: Target, tolerance: Decimal = Decimal("0.10")
) -> Health:
    """Healthy if the target holds; warning if it misses by no more than the
    tolerance band; unhealthy otherwise. No target is neutral.

    The one rule every page, the API, the dashboard's stored health
    (kpis.current) and the alerts use.
    """
    if value is None:
        return Health.NO_DATA
    if not target.is_set:
        return Health.NO_TARGET
    if target.holds(value):
        return Health.HEALTHY
    band = tolerance_band(target, tolerance)
    # A zero band (tolerance 0, or a target of 0 and no width) leaves no warning
    # zone: even a strict target's own bound is then unhealthy.
    if band > 0 and shortfall(value, target) <= band:
        return Health.WARNING
    return Health.UNHEALTHY


def is_stale(
    last_point: datetime | None,
    now: datetime,
    frequency: Frequency | str,
    window_days: int,
) -> bool:
    """No data within the frequency window plus grace: silence is never healthy."""
    if last_point is None:
        return False  # "no data yet" is its own state
    return now - last_point > timedelta(days=window_days) + GRACE[Frequency(frequency)]


WINDOW_DAYS = {
    Frequency.DAILY: 1,
    Frequency.WEEKLY: 7,
    Frequency.MONTHLY: 31,
    Frequency.QUARTERLY: 92,
}


def unhealthy_streak(healths: Sequence[Health]) -> int:
    """Consecutive unhealthy windows at the end (the latest windows)."""
    streak = 0
    for h in reversed(healths):
        if h is not Health.UNHEALTHY:
            break
        streak += 1
    return streak


def slope(values: Sequence[Decimal | None]) -> float | None:
    """Least-squares change per window over the windows that have a value."""
    points = [(i, float(v)) for i, v in enumerate(values) if v is not None]
    if len(points) < 2:
        return None
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    var = sum((x - mean_x) ** 2 for x, _ in points)
    if var == 0:
        return None
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / var


def windows_until_target(
    values: Sequence[Decimal | None], target: Target
) -> float | None:
    """Linear forecast: how many windows after the last one until the target holds.

    0 when it already holds; None when the trend does not lead there (flat or moving
    away) or there is too little data.
    """
    present = [(i, v) for i, v in enumerate(values) if v is not None]
    if not present or not target.is_set:
        return None
    last = present[-1][1]
    if target.holds(last):
        return 0.0
    rate = slope(values)
    if rate is None or rate == 0:
        return None
    if not target.has_high or (target.has_low and last < target.lowest):
        goal = target.lowest
    else:
        goal = target.highest
    # From the last value along the trend. (Not from the fitted line: with noisy data
    # it can already be past the goal while the last value is not, and a trend heading
    # for the target would read as never getting there.)
    steps = (float(goal) - float(last)) / rate
    return steps if steps > 0 else None
