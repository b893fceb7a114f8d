"""Server-rendered SVG charts: progress over time against an expected line.

Only numbers we compute go into the markup; labels are escaped by format_html.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from landmark.lib import numbers


@dataclass(frozen=True)
class Frame:
    start: datetime
    end: datetime
    low: float
    high: float
    width: int = 640
    height: int = 200
    pad: int = 28

    def x(self, when: datetime) -> float:
        span = (self.end - self.start).total_seconds() or 1.0
        share = (when - self.start).total_seconds() / span
        return round(
            self.pad + max(0.0, min(1.0, share)) * (self.width - 2 * self.pad), 1
        )

    def y(self, value: float) -> float:
        span = (self.high - self.low) or 1.0
        share = (value - self.low) / span
        return round(self.height - self.pad - share * (self.height - 2 * self.pad), 1)


def time_chart(
    *,
    frame: Frame,
    series: Sequence[tuple[datetime, float]],
    expected: Sequence[tuple[datetime, float]] = (),
    band: tuple[float, float] | None = None,
    now: datetime | None = None,
    y_labels: Sequence[tuple[float, str]] = (),
    title: str = "",
    value_label: Callable[[float], str] | None = None,
) -> SafeString:
    """A line of values over time, a dashed expected line (through the given
    points), an optional target band. `value_label` writes a point's value for its
    tooltip (landmark.lib.numbers, in the organization's locale)."""
    label = value_label or (lambda v: numbers.number(v, numbers.DEFAULT_LOCALE))
    parts: list[SafeString] = []
    if band is not None:
        top, bottom = frame.y(band[1]), frame.y(band[0])
        parts.append(
            format_html(
                '<rect class="band" x="{}" y="{}" width="{}" height="{}"/>',
                frame.pad,
                top,
                frame.width - 2 * frame.pad,
                max(1.0, bottom - top),
            )
        )
    parts.append(
        format_html_join(
            "",
            '<line class="grid" x1="{}" x2="{}" y1="{}" y2="{}"/>'
            '<text class="axis" x="{}" y="{}" text-anchor="end">{}</text>',
            (
                (
                    frame.pad,
                    frame.width - frame.pad,
                    frame.y(v),
                    frame.y(v),
                    frame.pad - 4,
                    frame.y(v) + 4,
                    label,
                )
                for v, label in y_labels
            ),
        )
    )
    if expected:
        points = " ".join(f"{frame.x(t)},{frame.y(v)}" for t, v in expected)
        parts.append(
            format_html(
                '<polyline class="expected" points="{}"><title>Expected</title></polyline>',
                points,
            )
        )
    if now is not None and frame.start <= now <= frame.end:
        parts.append(
            format_html(
                '<line class="today" x1="{0}" x2="{0}" y1="{1}" y2="{2}"/>',
                frame.x(now),
                frame.pad / 2,
                frame.height - frame.pad,
            )
        )
    if series:
        points = " ".join(f"{frame.x(t)},{frame.y(v)}" for t, v in series)
        parts.append(format_html('<polyline class="actual" points="{}"/>', points))
        parts.append(
            format_html_join(
                "",
                '<circle class="dot" cx="{}" cy="{}" r="3"><title>{}: {}</title></circle>',
                ((frame.x(t), frame.y(v), f"{t:%b %d}", label(v)) for t, v in series),
            )
        )
    parts.append(
        format_html(
            '<text class="axis" x="{}" y="{}">{}</text><text class="axis" x="{}" y="{}" text-anchor="end">{}</text>',
            frame.pad,
            frame.height - 8,
            f"{frame.start:%b %d}",
            frame.width - frame.pad,
            frame.height - 8,
            f"{frame.end:%b %d}",
        )
    )
    return format_html(
        '<svg class="chart" viewBox="0 0 {} {}" role="img" aria-label="{}" preserveAspectRatio="xMidYMid meet">{}</svg>',
        frame.width,
        frame.height,
        title,
        SafeString("".join(parts)),
    )


def sparkline(
    values: Sequence[Decimal | float | None],
    *,
    band: tuple[float | None, float | None] | None = None,
    width: int = 160,
    height: int = 40,
    label: str = "",
) -> SafeString:
    """A tiny line of recent values with the healthy band behind it; gaps stay gaps.

    `band` is (low, high) of the healthy range; None on a side means open-ended.
    """
    numbers = [float(v) for v in values if v is not None]
    if not numbers:
        return format_html(
            '<svg class="spark" viewBox="0 0 {} {}" role="img" aria-label="{}"></svg>',
            width,
            height,
            label,
        )
    bounds = [b for b in (band or (None, None)) if b is not None]
    low, high = min(numbers + bounds), max(numbers + bounds)
    pad = (high - low) * 0.1 or abs(high) * 0.1 or 1.0
    low, high = low - pad, high + pad
    step = width / max(1, len(values) - 1)

    def y(v: float) -> float:
        return round(height - (v - low) / (high - low) * height, 1)

    parts: list[SafeString] = []
    if band is not None:
        top = y(band[1]) if band[1] is not None else 0.0
        bottom = y(band[0]) if band[0] is not None else float(height)
        parts.append(
            format_html(
                '<rect class="band" x="0" y="{}" width="{}" height="{}"/>',
                top,
                width,
                max(1.0, bottom - top),
            )
        )
    segments: list[list[str]] = [[]]
    for i, v in enumerate(values):
        if v is None:
            segments.append([])
        else:
            segments[-1].append(f"{round(i * step, 1)},{y(float(v))}")
    for points in segments:
        if len(points) > 1:
            parts.append(
                format_html('<polyline class="line" points="{}"/>', " ".join(points))
            )
    last_index = max(i for i, v in enumerate(values) if v is not None)
    parts.append(
        format_html(
            '<circle class="last" cx="{}" cy="{}" r="2.5"/>',
            round(last_index * step, 1),
            y(numbers[-1]),
        )
    )
    return format_html(
        '<svg class="spark" viewBox="0 0 {} {}" preserveAspectRatio="none" role="img" '
        'aria-label="{}">{}</svg>',
        width,
        height,
        label,
        SafeString("".join(parts)),
    )
