"""The OKR maths of docs/okrs.md ("How progress is computed", "Status", "Closing a
period"), as pure functions with no Django imports.

Notation: s = start, t = target, c = current, τ (tau) = share of a key result's window
elapsed: from when it began to be tracked (never before its period starts) to its due
date or the period's end.
Progress values are floats (ratios shown to people as percentages); inputs may be
Decimals, which are converted exactly enough for a ratio.
"""

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

Number = Decimal | float | int


class Pace(enum.StrEnum):
    ON_TRACK = "on_track"
    NEEDS_ATTENTION = "needs_attention"
    OFF_TRACK = "off_track"
    STALE = "stale"


# Worst first: an objective's status is its weakest key result's.
PACE_ORDER = [Pace.STALE, Pace.OFF_TRACK, Pace.NEEDS_ATTENTION, Pace.ON_TRACK]

PACE_LABELS = {
    Pace.ON_TRACK: "On track",
    Pace.NEEDS_ATTENTION: "Needs attention",
    Pace.OFF_TRACK: "Off track",
    Pace.STALE: "Stale",
}


class ThresholdOp(enum.StrEnum):
    AT_LEAST = "at_least"
    AT_MOST = "at_most"
    BETWEEN = "between"


class Band(enum.StrEnum):
    RED = "red"
    YELLOW = "yellow"
    GREEN = "green"


class SameStartAndTarget(ValueError):
    """A metric key result whose start equals its target cannot measure progress."""

    def __init__(self) -> None:
        super().__init__(
            "The start and the target are the same, so progress cannot be measured. "
            "To keep a value where it is, use a threshold key result instead."
        )


@dataclass(frozen=True)
class PaceThresholds:
    on_track_gap: float = 0.10
    off_track_gap: float = 0.25


def clamp(x: float, low: float = 0.0, high: float = 1.0) -> float:
    return max(low, min(high, x))


def metric_progress_raw(start: Number, target: Number, current: Number) -> float:
    """p_raw = (c − s) / (t − s): signed, so moving the wrong way is negative.

    Covers increasing and decreasing key results with one formula; shown honestly
    (below 0 or above 1), clamped only in roll-ups.
    """
    s, t, c = Decimal(start), Decimal(target), Decimal(current)
    if s == t:
        raise SameStartAndTarget()
    ratio = (c - s) / (t - s)
    # At the start of a decreasing key result the ratio is Decimal("-0"): no progress
    # is 0, never "-0".
    return float(ratio) if ratio else 0.0


def metric_progress(start: Number, target: Number, current: Number) -> float:
    """p = clamp(p_raw, 0, 1): the value used in roll-ups."""
    return clamp(metric_progress_raw(start, target, current))


def threshold_holds(
    op: ThresholdOp | str, value: Number, low: Number | None, high: Number | None = None
) -> bool:
    """Whether a value satisfies a threshold (at least low / at most high / between)."""
    v = Decimal(value)
    op = ThresholdOp(op)
    if op is ThresholdOp.AT_LEAST:
        return v >= Decimal(_bound(low, "low", op))
    if op is ThresholdOp.AT_MOST:
        return v <= Decimal(_bound(high, "high", op))
    return Decimal(_bound(low, "low", op)) <= v <= Decimal(_bound(high, "high", op))


def _bound(value: Number | None, name: str, op: ThresholdOp) -> Number:
    if value is None:
        raise ValueError(f"A threshold '{op.value}' needs its {name} bound.")
    return value


def threshold_progress(
    op: ThresholdOp | str, value: Number | None, low: Number | None, high: Number | None
) -> float:
    if value is None:
        return 0.0
    return 1.0 if threshold_holds(op, value, low, high) else 0.0


def milestone_progress(done: bool) -> float:
    return 1.0 if done else 0.0


def weighted_mean(items: Iterable[tuple[float, Number]]) -> float | None:
    """Weighted mean of (progress, weight) pairs; None when there is nothing to average.

    Weights must be ≥ 0; when every weight is 0 the plain mean is used, so a set of
    key results is never silently reported as 0 %.
    """
    pairs = [(float(p), float(w)) for p, w in items]
    if not pairs:
        return None
    if any(w < 0 for _, w in pairs):
        raise ValueError("Weights cannot be negative.")
    total = sum(w for _, w in pairs)
    if total == 0:
        return sum(p for p, _ in pairs) / len(pairs)
    return sum(p * w for p, w in pairs) / total


def objective_progress(
    kr_progress: Sequence[tuple[float, Number]],
    child_progress: Sequence[float] = (),
) -> float | None:
    """Weighted mean of the clamped KR progress, optionally with aligned children.

    Children, when the objective opts in, count as members of weight 1.
    Returns None for "no key results yet" (never 0 %).
    """
    items: list[tuple[float, Number]] = [(clamp(p), w) for p, w in kr_progress]
    items += [(clamp(p), 1) for p in child_progress]
    return weighted_mean(items)


def objective_expected(
    kr_tau: Sequence[tuple[float, Number]],
    child_expected: Sequence[float] = (),
) -> float | None:
    """An objective's expected progress by now: the weighted mean of its KRs' τ, with
    the same weights (and the same included children) as objective_progress, so
    pace compares like with like. None without key results or children."""
    return objective_progress(kr_tau, child_expected)


def mean(values: Iterable[float | None]) -> float | None:
    """Mean of the values that exist (team, period and organization summaries)."""
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None


def time_share(now: datetime, start: datetime, end: datetime) -> float:
    """τ = clamp((now − start) / (end − start), 0, 1)."""
    span = (end - start).total_seconds()
    if span <= 0:
        return 1.0 if now >= end else 0.0
    return clamp((now - start).total_seconds() / span)


def expected_value(start: Number, target: Number, tau: float) -> Decimal:
    """s + (t − s)·τ: where a metric should be by now if it moved evenly."""
    s, t = Decimal(start), Decimal(target)
    return s + (t - s) * Decimal(str(tau))


def pace(
    progress: float, tau: float, thresholds: PaceThresholds = PaceThresholds()
) -> Pace:
    """Computed pace from d = p − τ (p is the clamped progress)."""
    if progress >= 1:
        return Pace.ON_TRACK
    # Rounded so that float noise cannot cross a boundary: 0.3 − 0.4 is exactly
    # −0.10 (on track), not −0.10000000000000003.
    d = round(progress - tau, 9)
    if d >= -thresholds.on_track_gap:
        return Pace.ON_TRACK
    if d >= -thresholds.off_track_gap:
        return Pace.NEEDS_ATTENTION
    return Pace.OFF_TRACK


def is_stale(
    last_checkin: datetime | None,
    since: datetime,
    now: datetime,
    cadence_days: int,
    grace_days: int,
) -> bool:
    """No check-in within the cadence plus grace: silence is never green.

    `since` is when the clock started (the period start, or the KR's creation) so a
    brand-new key result is not stale on its first day.
    """
    reference = last_checkin or since
    return now - reference > timedelta(days=cadence_days + grace_days)


def weakest(statuses: Iterable[Pace]) -> Pace | None:
    """An objective's status is its weakest key result's."""
    found = list(statuses)
    if not found:
        return None
    return min(found, key=PACE_ORDER.index)


def round_score(progress: float) -> Decimal:
    """A key result's score at grading: p to 2 decimals."""
    return Decimal(str(clamp(progress))).quantize(
        Decimal("0.01"), rounding=ROUND_HALF_UP
    )


def objective_score(kr_scores: Sequence[tuple[Decimal, Number]]) -> Decimal | None:
    """Weighted mean of the KR scores, computed in decimals so that 0.395 rounds to 0.40."""
    pairs = [(Decimal(s), Decimal(str(w))) for s, w in kr_scores]
    if not pairs:
        return None
    if any(w < 0 for _, w in pairs):
        raise ValueError("Weights cannot be negative.")
    total = sum((w for _, w in pairs), Decimal(0))
    if total == 0:
        value = sum((s for s, _ in pairs), Decimal(0)) / len(pairs)
    else:
        value = sum((s * w for s, w in pairs), Decimal(0)) / total
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def band(score: Number) -> Band:
    """< 0.4 red, 0.4–0.69 yellow, ≥ 0.7 green."""
    s = Decimal(str(score))
    if s < Decimal("0.4"):
        return Band.RED
    if s < Decimal("0.7"):
        return Band.YELLOW
    return Band.GREEN


def is_achieved(score: Number, committed: bool) -> bool:
    """Committed objectives are achieved at 1.0, aspirational ones at ≥ 0.7."""
    s = Decimal(str(score))
    return s >= Decimal("1.0") if committed else s >= Decimal("0.7")
