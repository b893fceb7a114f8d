"""Every write on KPIs and their data. Each action is one transaction."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from landmark.kpis import health, windows
from landmark.kpis.current import refresh_current
from landmark.kpis.models import KPI, DataPoint, KPITarget, KPIWindow
from landmark.kpis.signals import values_changed
from landmark.kpis.windows import window_of
from landmark.lib import bounds
from landmark.orgs.models import Membership, Organization, User


def validate_target(kind: str, low: Decimal | None, high: Decimal | None) -> None:
    """A complete target: the bounds its kind uses, in order. An "equal to" target
    holds its one value as both bounds (the forms copy it)."""
    errors: dict[str, str] = {}
    kind = health.TargetKind(kind)
    if kind is health.TargetKind.EQUAL:
        if low is None:
            errors["target_low"] = "Enter the target value."
        elif high is not None and high != low:
            errors["target_high"] = (
                "An “equal to” target has one value: leave the highest healthy "
                "value empty, or use “between” for a range."
            )
    else:
        if kind in health.LOW_KINDS and low is None:
            errors["target_low"] = "Enter the lowest healthy value."
        if kind in health.HIGH_KINDS and high is None:
            errors["target_high"] = "Enter the highest healthy value."
        if (
            kind is health.TargetKind.BETWEEN
            and low is not None
            and high is not None
            and low > high
        ):
            errors["target_high"] = (
                "The highest healthy value must be at least the lowest."
            )
    if errors:
        raise ValidationError(errors)


def one_value(kind: str, low: Decimal | None, high: Decimal | None) -> Decimal | None:
    """The highest healthy value to store: an "equal to" target's one value is both
    its bounds (given once, as the lowest)."""
    if kind == health.TargetKind.EQUAL and high is None:
        return low
    return high


KPI_FIELDS = {
    "name",
    "key",
    "definition",
    "owner",
    "team",
    "unit",
    "category",
    "indicator",
    "frequency",
    "aggregation",
    "target_kind",
    "target_low",
    "target_high",
    "tolerance",
    "is_key",
    "visibility",
    "archived",
}


CHOICE_FIELDS = ("frequency", "aggregation", "target_kind", "indicator", "visibility")


def validate_kpi(kpi: KPI, changed: Iterable[str]) -> None:
    """What every write of a KPI checks, whoever calls it (a form, the API, the demo):
    known choices and lengths, an owner and team of the KPI's own organization, a
    complete target, and no change of target kind under an existing schedule."""
    changed = set(changed)
    errors: dict[str, list[str]] = {}
    try:
        kpi.clean_fields(
            exclude=[f.name for f in KPI._meta.fields if f.name not in changed]
        )
    except ValidationError as error:
        errors.update(error.message_dict)
    if (
        "owner" in changed
        and kpi.owner_id is not None
        and not Membership.objects.filter(
            organization_id=kpi.organization_id, user_id=kpi.owner_id, is_active=True
        ).exists()
    ):
        errors["owner"] = ["Choose an active member of the organization."]
    if (
        "team" in changed
        and kpi.team_id is not None
        and (kpi.team is None or kpi.team.organization_id != kpi.organization_id)
    ):
        errors["team"] = ["Choose a team of the organization."]
    if (
        "target_kind" in changed
        and kpi.pk is not None
        and KPITarget.objects.filter(kpi_id=kpi.pk).exists()
        and KPI.objects.filter(pk=kpi.pk).values_list("target_kind", flat=True).get()
        != kpi.target_kind
    ):
        errors["target_kind"] = [
            "This KPI has targets per window: clear them before changing the kind of target."
        ]
    if errors:
        raise ValidationError(errors)
    validate_target(kpi.target_kind, kpi.target_low, kpi.target_high)


@transaction.atomic
def create_kpi(*, org: Organization, name: str, **fields: Any) -> KPI:
    unknown = set(fields) - KPI_FIELDS
    if unknown:
        raise TypeError(f"Unknown KPI fields: {sorted(unknown)}")
    kpi = KPI(organization=org, name=name, **fields)
    kpi.target_high = one_value(kpi.target_kind, kpi.target_low, kpi.target_high)
    validate_kpi(kpi, ["name", *fields])
    if kpi.key and KPI.objects.filter(organization=org, key=kpi.key).exists():
        raise ValidationError({"key": "Another KPI already uses this key."})
    kpi.save()
    return kpi


def is_more_ambitious(old: health.Target, new: health.Target) -> bool:
    """Raising the bar: at least a higher value, at most a lower one, a narrower band."""
    if old.kind != new.kind or not old.is_set:
        return False
    if new.kind is health.TargetKind.EQUAL:
        return False  # another exact value is a different target, not a higher bar
    if not new.has_high:  # at least, above
        return bool(new.low is not None and old.low is not None and new.low > old.low)
    if not new.has_low:  # at most, below
        return bool(
            new.high is not None and old.high is not None and new.high < old.high
        )
    return new.lowest > old.lowest or new.highest < old.highest


@dataclass
class KPIUpdate:
    kpi: KPI
    raised: bool = False  # the target got more ambitious (loop: "Raise the bar")


@transaction.atomic
def update_kpi(*, kpi: KPI, **fields: Any) -> KPIUpdate:
    unknown = set(fields) - KPI_FIELDS
    if unknown:
        raise TypeError(f"Unknown KPI fields: {sorted(unknown)}")
    before = kpi.target
    for name, value in fields.items():
        setattr(kpi, name, value)
    if (
        kpi.target_kind == health.TargetKind.EQUAL
        and "target_high" not in fields
        and kpi.target_high != kpi.target_low
    ):
        # The one value of "equal to" is both bounds, whichever was sent.
        kpi.target_high = fields["target_high"] = kpi.target_low
    validate_kpi(kpi, fields)
    if (
        kpi.key
        and KPI.objects.filter(organization_id=kpi.organization_id, key=kpi.key)
        .exclude(pk=kpi.pk)
        .exists()
    ):
        raise ValidationError({"key": "Another KPI already uses this key."})
    kpi.save(update_fields=[*fields, "updated_at"])
    refresh_current([kpi.pk])  # the target, tolerance or frequency may have changed
    return KPIUpdate(kpi=kpi, raised=is_more_ambitious(before, kpi.target))


@transaction.atomic
def set_kpi_targets(
    *, kpi: KPI, schedule: Sequence[tuple[date, Decimal | None, Decimal | None]]
) -> None:
    """Replace the KPI's per-window targets (e.g. monthly targets ramping through a year)."""
    starts = [start for start, _, _ in schedule]
    if len(set(starts)) != len(starts):
        raise ValidationError(
            {"schedule": "Two targets are for the same window; keep one per window."}
        )
    schedule = [
        (start, low, one_value(kpi.target_kind, low, high))
        for start, low, high in schedule
    ]
    for start, low, high in schedule:
        if start != health.window_start(kpi.frequency, start):
            raise ValidationError(
                {
                    "schedule": f"{start} is not the first day of a {kpi.get_frequency_display().lower()} window."
                }
            )
        validate_target(kpi.target_kind, low, high)
    KPITarget.objects.filter(kpi=kpi).delete()
    # With a history row for each, as KPITarget.save() would make.
    bulk_create_with_history(
        [
            KPITarget(
                organization_id=kpi.organization_id,
                kpi=kpi,
                window_start=s,
                low=lo,
                high=hi,
            )
            for s, lo, hi in schedule
        ],
        KPITarget,
    )
    refresh_current([kpi.pk])


def recompute_windows(kpi: KPI, starts: Iterable[date]) -> None:
    """Aggregate the current points of each window again and store the result
    (kpis.windows: the database does the arithmetic)."""
    try:
        windows.refresh({kpi.pk: kpi}, [(kpi.pk, start) for start in starts])
    except windows.WindowTooLarge:
        raise ValidationError({"value": bounds.WINDOW_MESSAGE}) from None
    refresh_current([kpi.pk])


def lock_kpi(kpi: KPI) -> None:
    """Writes of one KPI's points take turns (the KPI's row lock, as ingestion does):
    each recomputes its windows from every committed point, none from a stale read.
    (SQLite's IMMEDIATE transactions already serialize writers; PostgreSQL needs this.)"""
    KPI.objects.select_for_update().filter(pk=kpi.pk).values_list("pk").first()


@transaction.atomic
def record_data_point(
    *,
    kpi: KPI,
    value: Decimal,
    time: datetime | None = None,
    author: User | None = None,
    source: str = DataPoint.Source.MANUAL,
    note: str = "",
    sync_key_results: bool = True,
) -> DataPoint:
    """Add a value. A second value at the same KPI and time is a correction: it
    becomes the current version and the earlier one is kept, marked replaced. Key
    results tracking the KPI follow it (`values_changed`) unless `sync_key_results`
    is False."""
    when = time or timezone.now()
    if timezone.is_naive(when):
        raise ValidationError({"time": "The time needs a time zone."})
    lock_kpi(kpi)
    previous = (
        DataPoint.objects.select_for_update()
        .filter(
            organization_id=kpi.organization_id, kpi=kpi, time=when, is_current=True
        )
        .first()
    )
    if previous is not None:
        previous.is_current = False
        previous.save(update_fields=["is_current"])
    point = DataPoint.objects.create(
        organization_id=kpi.organization_id,
        kpi=kpi,
        time=when,
        value=value,
        source=source,
        author=author,
        note=note,
    )
    if previous is not None:
        previous.replaced_by = point
        previous.save(update_fields=["replaced_by"])
    recompute_windows(kpi, [window_of(kpi, when)])
    if sync_key_results:
        values_changed.send(sender=KPI, kpis=[kpi], author=author)
    return point


@transaction.atomic
def correct_data_point(
    *, point: DataPoint, value: Decimal, author: User | None, note: str = ""
) -> DataPoint:
    lock_kpi(point.kpi)
    point.refresh_from_db(fields=["is_current", "replaced_by"])  # as of the lock
    if not point.is_current:
        raise ValidationError(
            {"value": "This value was already corrected; correct the current one."}
        )
    return record_data_point(
        kpi=point.kpi,
        value=value,
        time=point.time,
        author=author,
        source=point.source,
        note=note or f"Correction of {point.value}",
    )


@dataclass
class RowError:
    line: int
    message: str


@dataclass
class ParsedRow:
    line: int
    time: datetime
    value: Decimal
    note: str


@transaction.atomic
def import_data_points(
    *,
    kpi: KPI,
    rows: Sequence[ParsedRow],
    author: User | None,
    source: str = DataPoint.Source.IMPORT,
) -> int:
    """All or nothing: every row becomes a point (same time = correction), windows are
    recomputed once per window touched."""
    lock_kpi(kpi)
    times = [r.time for r in rows]
    if len(set(times)) != len(times):
        raise ValidationError("Two rows have the same time; keep one value per time.")
    existing = {
        p.time: p
        for p in DataPoint.objects.select_for_update().filter(
            organization_id=kpi.organization_id,
            kpi=kpi,
            is_current=True,
            time__in=times,
        )
    }
    DataPoint.objects.filter(pk__in=[p.pk for p in existing.values()]).update(
        is_current=False
    )
    created = DataPoint.objects.bulk_create(
        DataPoint(
            organization_id=kpi.organization_id,
            kpi=kpi,
            time=r.time,
            value=r.value,
            source=source,
            author=author,
            note=r.note,
        )
        for r in rows
    )
    if existing and not all(p.pk for p in created):
        # Backends without RETURNING ids on bulk insert: look the new rows up.
        created = list(
            DataPoint.objects.filter(kpi=kpi, is_current=True, time__in=list(existing))
        )
    by_time = {p.time: p for p in created}
    for when, old in existing.items():
        if when in by_time:
            DataPoint.objects.filter(pk=old.pk).update(replaced_by=by_time[when])
    recompute_windows(kpi, [window_of(kpi, t) for t in times])
    values_changed.send(sender=KPI, kpis=[kpi], author=author)
    return len(created)


def kpi_value_at(kpi: KPI, day: date) -> Decimal | None:
    """The KPI's value in force on a day: its window containing the day, else the
    latest window before it."""
    window = (
        KPIWindow.objects.filter(
            kpi=kpi, start__lte=health.window_start(kpi.frequency, day)
        )
        .order_by("-start")
        .first()
    )
    return window.value if window else None


def current_value(kpi: KPI) -> Decimal | None:
    window = KPIWindow.objects.filter(kpi=kpi).order_by("-start").first()
    return window.value if window else None
