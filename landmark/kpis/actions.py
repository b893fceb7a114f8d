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

from landmark.kpis import health
from landmark.kpis.current import refresh_current
from landmark.kpis.models import KPI, DataPoint, KPITarget, KPIWindow
from landmark.lib import bounds
from landmark.orgs.models import Organization, User


def validate_target(kind: str, low: Decimal | None, high: Decimal | None) -> None:
    errors: dict[str, str] = {}
    if kind in {KPI.TargetKind.AT_LEAST, KPI.TargetKind.BETWEEN} and low is None:
        errors["target_low"] = "Enter the lowest healthy value."
    if kind in {KPI.TargetKind.AT_MOST, KPI.TargetKind.BETWEEN} and high is None:
        errors["target_high"] = "Enter the highest healthy value."
    if (
        kind == KPI.TargetKind.BETWEEN
        and low is not None
        and high is not None
        and low > high
    ):
        errors["target_high"] = "The highest healthy value must be at least the lowest."
    if errors:
        raise ValidationError(errors)


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
    if "owner" in changed and kpi.owner_id is not None:
        from landmark.orgs.models import Membership

        if not Membership.objects.filter(
            organization_id=kpi.organization_id, user_id=kpi.owner_id, is_active=True
        ).exists():
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
    validate_kpi(kpi, ["name", *fields])
    if kpi.key and KPI.objects.filter(organization=org, key=kpi.key).exists():
        raise ValidationError({"key": "Another KPI already uses this key."})
    kpi.save()
    return kpi


def is_more_ambitious(old: health.Target, new: health.Target) -> bool:
    """Raising the bar: at least a higher value, at most a lower one, a narrower band."""
    if old.kind != new.kind or not old.is_set:
        return False
    if new.kind is health.TargetKind.AT_LEAST:
        return bool(new.low is not None and old.low is not None and new.low > old.low)
    if new.kind is health.TargetKind.AT_MOST:
        return bool(
            new.high is not None and old.high is not None and new.high < old.high
        )
    assert (
        old.low is not None
        and old.high is not None
        and new.low is not None
        and new.high is not None
    )
    return new.low > old.low or new.high < old.high


@dataclass
class KPIUpdate:
    kpi: KPI
    raised_without_okr: bool  # the target got more ambitious with no OKR working on it
    raised: bool = False  # the target got more ambitious (whatever works on it)


@transaction.atomic
def update_kpi(*, kpi: KPI, **fields: Any) -> KPIUpdate:
    unknown = set(fields) - KPI_FIELDS
    if unknown:
        raise TypeError(f"Unknown KPI fields: {sorted(unknown)}")
    before = kpi.target
    for name, value in fields.items():
        setattr(kpi, name, value)
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
    raised = is_more_ambitious(before, kpi.target)
    return KPIUpdate(
        kpi=kpi,
        raised_without_okr=raised and not okrs_working_on(kpi).exists(),
        raised=raised,
    )


def okrs_working_on(kpi: KPI) -> Any:
    """Objectives of open periods that work on this KPI or have a KR tracking it."""
    from django.db.models import Q

    from landmark.okrs.models import Objective, Period

    return (
        Objective.objects.filter(
            Q(kpi_links__kpi=kpi) | Q(key_results__kpi=kpi),
            organization_id=kpi.organization_id,
        )
        .exclude(period__state=Period.State.CLOSED)
        .exclude(state=Objective.State.CLOSED)
        .distinct()
    )


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


def window_of(kpi: KPI, when: datetime) -> date:
    return health.window_start(kpi.frequency, timezone.localtime(when).date())


def recompute_windows(kpi: KPI, starts: Iterable[date]) -> None:
    """Aggregate the current points of each window again and store the result."""
    for start in sorted(set(starts)):
        end = health.next_window(kpi.frequency, start)
        tz = timezone.get_current_timezone()
        lo = timezone.make_aware(datetime.combine(start, datetime.min.time()), tz)
        hi = timezone.make_aware(datetime.combine(end, datetime.min.time()), tz)
        rows = list(
            DataPoint.objects.filter(
                organization_id=kpi.organization_id,
                kpi=kpi,
                is_current=True,
                time__gte=lo,
                time__lt=hi,
            )
            .order_by("time", "pk")
            .values_list("time", "value")
        )
        if not rows:
            KPIWindow.objects.filter(kpi=kpi, start=start).delete()
            continue
        value = health.aggregate(kpi.aggregation, [v for _, v in rows])
        assert value is not None
        if not bounds.window_in_range(value):
            raise ValidationError({"value": bounds.WINDOW_MESSAGE})
        KPIWindow.objects.update_or_create(
            kpi=kpi,
            start=start,
            defaults={
                "organization_id": kpi.organization_id,
                "value": value,
                "count": len(rows),
                "last_time": rows[-1][0],
            },
        )
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
    becomes the current version and the earlier one is kept, marked replaced."""
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
        sync_tracking_key_results(kpi=kpi, author=author)
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
    sync_tracking_key_results(kpi=kpi, author=author)
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


# The note of the check-ins a tracked KPI makes on its key results.
TRACKED_KPI_NOTE = "Updated from the KPI it tracks."


def sync_tracking_key_results(*, kpi: KPI, author: User | None) -> None:
    """Key results that track this KPI follow its current value (with a check-in, so
    their history shows the change)."""
    from landmark.okrs.actions import record_checkin
    from landmark.okrs.models import KeyResult, Objective, Period

    value = current_value(kpi)
    if value is None:
        return
    # At the key result's own precision: a mean over a window may have more decimals,
    # and comparing unrounded would record the same value again on every sync.
    places = KeyResult._meta.get_field("current").decimal_places
    value = value.quantize(Decimal(1).scaleb(-places))
    tracking = (
        KeyResult.objects.filter(
            organization_id=kpi.organization_id,
            kpi=kpi,
            objective__period__state=Period.State.ACTIVE,
        )
        .exclude(objective__state=Objective.State.CLOSED)
        .exclude(kind=KeyResult.Kind.MILESTONE)
    )
    for kr in tracking.select_related("owner", "objective"):
        if kr.current == value:
            continue
        record_checkin(
            key_result=kr,
            author=author or kr.owner or kr.objective.owner,
            status=kr.last_status or KeyResult.Status.ON_TRACK,
            value=value,
            confidence=kr.last_confidence,
            # Never the KPI's name: the key result may be seen by people who may not
            # see the KPI (the key result's page links the KPI for those who may).
            moved=TRACKED_KPI_NOTE,
        )


@transaction.atomic
def fix_with_okr(*, kpi: KPI, period: Any, owner: User) -> Any:
    """From an unhealthy KPI, draft an objective with a KR "bring KPI from current to
    target", both linked to the KPI (seed article 002's support-response example)."""
    from landmark.okrs.actions import create_key_result, create_objective
    from landmark.okrs.models import Objective, ObjectiveKPI, Period

    if period.state == Period.State.CLOSED:
        raise ValidationError({"period": "Choose a period that is not closed."})
    # The KR aims for the target of the window the period ends in: with a ramping
    # schedule, that is where the KPI must be by then, not its base target.
    end_window = health.window_start(kpi.frequency, period.end)
    schedule = {t.window_start: t for t in kpi.targets.filter(window_start=end_window)}
    target = kpi.target_for(end_window, schedule)
    if not target.is_set:
        raise ValidationError(
            "Give the KPI a target first: the key result aims for it."
        )
    current = current_value(kpi)
    if current is None:
        raise ValidationError(
            "Enter a value for the KPI first: the key result starts from it."
        )
    if target.holds(current):
        raise ValidationError("The KPI is already at its target.")
    if target.kind is health.TargetKind.AT_MOST or (
        target.kind is health.TargetKind.BETWEEN
        and target.high is not None
        and current > target.high
    ):
        goal = target.high
    else:
        goal = target.low
    assert goal is not None
    if goal == current:
        raise ValidationError("The KPI is already at its target.")
    objective = create_objective(
        org=kpi.organization,
        period=period,
        owner=owner,
        title=f"Bring {kpi.name} back to healthy",
        description=f"Drafted from the KPI “{kpi.name}”, currently {health.plain(current)}{kpi.unit_suffix} "
        f"against a target of {target.label(kpi.unit)}. Find out what caused it and add key results.",
        level=Objective.Level.TEAM if kpi.team_id else Objective.Level.COMPANY,
        team=kpi.team,
        type=Objective.Type.IMPROVE,
        state=Objective.State.DRAFT,
        # Its title names the KPI: a private KPI's draft is private too (seen by the
        # KPI's team, the admins and the drafter, who may see the KPI).
        visibility=Objective.Visibility.PRIVATE
        if kpi.visibility == KPI.Visibility.PRIVATE
        else Objective.Visibility.PUBLIC,
    )
    ObjectiveKPI.objects.create(
        organization_id=kpi.organization_id, objective=objective, kpi=kpi
    )
    kr = create_key_result(
        objective=objective,
        title=f"Bring {kpi.name} from {health.plain(current)} to {health.plain(goal)}{kpi.unit_suffix}",
        owner=kpi.owner or owner,
        unit=kpi.unit,
        start=current,
        target=goal,
    )
    kr.kpi = kpi
    kr.save(update_fields=["kpi"])
    return objective


@transaction.atomic
def keep_as_kpi(
    *, key_result: Any, author: User, frequency: str = KPI.Frequency.WEEKLY
) -> KPI:
    """From a reached KR, create a KPI with the matching target and the KR's check-in
    history as its first data points; the KR then tracks the new KPI."""
    from landmark.okrs.models import KeyResult

    if key_result.kind == KeyResult.Kind.MILESTONE:
        raise ValidationError(
            "A milestone is done once; it cannot become a KPI to watch."
        )
    if key_result.progress() < 1:
        raise ValidationError(
            "Only a key result that has been reached can become a KPI."
        )
    if key_result.kind == KeyResult.Kind.METRIC:
        increasing = key_result.target > key_result.start
        kind = KPI.TargetKind.AT_LEAST if increasing else KPI.TargetKind.AT_MOST
        low = key_result.target if increasing else None
        high = None if increasing else key_result.target
    else:
        kind, low, high = (
            key_result.threshold_op,
            key_result.threshold_low,
            key_result.threshold_high,
        )
    objective = key_result.objective
    # A private objective's key result stays private as a KPI: same team, owned by
    # whoever keeps it (who may see the objective; the key result's owner may not),
    # and its definition names the objective only when the objective is public.
    private = objective.visibility == objective.Visibility.PRIVATE
    source = f"“{key_result.title}”" + ("" if private else f" of “{objective.title}”")
    kpi = create_kpi(
        org=objective.organization,
        name=key_result.title[:120],
        definition=f"Kept as a KPI from the key result {source}.",
        visibility=KPI.Visibility.PRIVATE if private else KPI.Visibility.PUBLIC,
        owner=author if private else key_result.owner or author,
        team=objective.team,
        unit=key_result.unit,
        frequency=frequency,
        target_kind=kind,
        target_low=low,
        target_high=high,
    )
    checkins = key_result.checkins.exclude(value__isnull=True).order_by(
        "created_at", "pk"
    )
    rows: dict[datetime, ParsedRow] = {}
    for n, c in enumerate(checkins, start=1):
        rows[c.created_at] = ParsedRow(
            line=n, time=c.created_at, value=c.value, note=c.moved[:500]
        )
    if rows:
        import_data_points(
            kpi=kpi,
            rows=list(rows.values()),
            author=author,
            source=DataPoint.Source.IMPORT,
        )
    key_result.kpi = kpi
    key_result.save(update_fields=["kpi"])
    return kpi
