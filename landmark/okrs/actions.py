"""Every write on OKR data. Each action is one transaction: all of it or nothing."""

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from landmark.kpis.actions import current_value, kpi_value_at
from landmark.kpis.models import KPI
from landmark.lib import numbers
from landmark.okrs import scoring
from landmark.okrs.models import (
    CheckIn,
    Initiative,
    KeyResult,
    Kudos,
    Objective,
    ObjectiveKPI,
    Period,
)
from landmark.okrs.signals import checkin_recorded, objective_saved, period_closed
from landmark.orgs.models import Organization, User

MILESTONE_NO_START = (
    "A milestone is done or not done: it has no start value. Leave it empty."
)
MILESTONE_NO_TARGET = (
    "A milestone is done or not done: it has no target value. Leave it empty."
)


def validate_key_result_fields(
    *,
    kind: str,
    start: Decimal | None,
    target: Decimal | None,
    threshold_op: str,
    threshold_low: Decimal | None,
    threshold_high: Decimal | None,
    weight: Decimal,
) -> None:
    """Raise a ValidationError keyed by field when a key result cannot be measured."""
    errors: dict[str, str] = {}
    if weight is not None and weight < 0:
        errors["weight"] = "The weight cannot be negative."
    if kind == KeyResult.Kind.MILESTONE:
        # Done or not done: a start or target value would mean nothing, and a
        # reader would take it for a number the milestone is measured against.
        if start is not None:
            errors["start"] = MILESTONE_NO_START
        if target is not None:
            errors["target"] = MILESTONE_NO_TARGET
    if kind == KeyResult.Kind.METRIC:
        if start is None:
            errors["start"] = "Enter the value you start from (the baseline)."
        if target is None:
            errors["target"] = "Enter the value you aim for."
        if start is not None and target is not None and start == target:
            errors["target"] = str(scoring.SameStartAndTarget())
    elif kind == KeyResult.Kind.THRESHOLD:
        if not threshold_op:
            errors["threshold_op"] = (
                "Choose how the value must stay: at or above, at or below, or between."
            )
        needs_low = threshold_op in {
            KeyResult.ThresholdOp.AT_LEAST,
            KeyResult.ThresholdOp.BETWEEN,
        }
        needs_high = threshold_op in {
            KeyResult.ThresholdOp.AT_MOST,
            KeyResult.ThresholdOp.BETWEEN,
        }
        if needs_low and threshold_low is None:
            errors["threshold_low"] = "Enter the lowest acceptable value."
        if needs_high and threshold_high is None:
            errors["threshold_high"] = "Enter the highest acceptable value."
        if (
            threshold_op == KeyResult.ThresholdOp.BETWEEN
            and threshold_low is not None
            and threshold_high is not None
            and threshold_low > threshold_high
        ):
            errors["threshold_high"] = (
                "The highest value must be at least the lowest value."
            )
    if errors:
        raise ValidationError(errors)


# How long a quarter and a year may be, in days: a quarter of 12 to 14 weeks holds
# calendar quarters (90 to 92 days), 13-week and 4-4-5 quarters (91) and the 14-week
# quarter of a 53-week fiscal year (98); a year is 52 or 53 weeks, or a calendar year.
PERIOD_DAYS = {
    Period.Kind.QUARTER: (84, 98, "A quarter lasts 12 to 14 weeks"),
    Period.Kind.YEAR: (364, 371, "A year lasts 52 or 53 weeks"),
}


def validate_period_fields(*, name: str, kind: str, start: date, end: date) -> None:
    """Raise a ValidationError keyed by field when a period's name, kind and dates
    disagree (the form and the API check the same rule through this function)."""
    errors: dict[str, str] = {}
    if any(unicodedata.category(ch) in {"Cc", "Zl", "Zp"} for ch in name):
        errors["name"] = "Write the name on one line, without line breaks or tabs."
    if end < start:
        errors["end"] = "The period must end on or after its first day."
    elif kind in PERIOD_DAYS:
        low, high, rule = PERIOD_DAYS[Period.Kind(kind)]
        days = (end - start).days + 1
        if not low <= days <= high:
            errors["kind"] = (
                f"{rule}; these dates span {days} day{'s' if days != 1 else ''}. "
                "Correct the dates, or choose Custom for a period of another length."
            )
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def create_period(
    *,
    org: Organization,
    name: str,
    start: date,
    end: date,
    kind: str = Period.Kind.QUARTER,
    state: str = Period.State.PLANNING,
    parent: Period | None = None,
) -> Period:
    validate_period_fields(name=name, kind=kind, start=start, end=end)
    return Period.objects.create(
        organization=org,
        name=name,
        start=start,
        end=end,
        kind=kind,
        state=state,
        parent=parent,
    )


def open_current_quarter(
    sender: Any, *, organization: Organization, today: date, **kwargs: Any
) -> Period:
    """A new organization's first period: the quarter holding `today`, active (on
    orgs.signals.organization_started, connected in apps.py)."""
    quarter = (today.month - 1) // 3
    start = date(today.year, 3 * quarter + 1, 1)
    next_start = (
        date(today.year + 1, 1, 1)
        if quarter == 3
        else date(today.year, 3 * quarter + 4, 1)
    )
    return create_period(
        org=organization,
        name=f"Q{quarter + 1} {today.year}",
        start=start,
        end=next_start - timedelta(days=1),
        state=Period.State.ACTIVE,
    )


@transaction.atomic
def update_period(*, period: Period, **fields: Any) -> Period:
    for name, value in fields.items():
        setattr(period, name, value)
    validate_period_fields(
        name=period.name, kind=period.kind, start=period.start, end=period.end
    )
    period.save(update_fields=list(fields))
    return period


PERIOD_TRANSITIONS = {
    Period.State.PLANNING: {Period.State.ACTIVE},
    Period.State.ACTIVE: {Period.State.PLANNING},
    Period.State.CLOSED: {Period.State.ACTIVE},  # reopening: admins only (see access)
}


@transaction.atomic
def set_period_state(*, period: Period, state: str) -> Period:
    """Start a planned period, move it back to planning, or reopen a closed one.

    Closing goes through close_period (it grades). A conditional UPDATE makes two
    concurrent transitions safe. Reopening clears what closing decided (when it
    closed, the scores, outcomes and overrides: the next close grades again) and
    keeps the retrospective notes, which the close page offers again.
    """
    if state not in PERIOD_TRANSITIONS.get(Period.State(period.state), set()):
        raise ValidationError(
            f"A {period.get_state_display().lower()} period cannot become {state or 'that'}."
        )
    reopening = period.state == Period.State.CLOSED
    changes: dict[str, Any] = {"state": state}
    if reopening:
        changes["closed_at"] = None
    if not Period.objects.filter(pk=period.pk, state=period.state).update(**changes):
        raise ValidationError(
            "Someone else changed this period at the same time; reload and try again."
        )
    if reopening:
        reopen_objectives(period)
    for name, value in changes.items():
        setattr(period, name, value)
    if state == Period.State.ACTIVE and not reopening:
        # Starting a planned period: its key results catch up with their KPIs.
        for kr in KeyResult.objects.filter(
            objective__period=period, kpi__isnull=False
        ).select_related("kpi", "owner", "objective__owner"):
            follow_kpi(kr)
    return period


def reopen_objectives(period: Period) -> None:
    """The period's objectives become active again, ungraded (with history rows, so
    the "as of" view shows the grades until the reopening)."""
    now = timezone.now()
    objectives = list(
        Objective.objects.filter(period=period, state=Objective.State.CLOSED)
    )
    for objective in objectives:
        objective.state = Objective.State.ACTIVE
        objective.score = objective.score_override = None
        objective.override_reason = objective.outcome = ""
        objective.updated_at = now
    bulk_update_with_history(
        objectives,
        Objective,
        [
            "state",
            "score",
            "score_override",
            "override_reason",
            "outcome",
            "updated_at",
        ],
        batch_size=500,
    )
    graded = list(
        KeyResult.objects.filter(objective__in=objectives, score__isnull=False)
    )
    for kr in graded:
        kr.score = None
    bulk_update_with_history(graded, KeyResult, ["score"], batch_size=500)


@transaction.atomic
def create_objective(
    *,
    org: Organization,
    period: Period,
    owner: User,
    title: str,
    description: str = "",
    level: str = Objective.Level.TEAM,
    team: Any = None,
    parent: Objective | None = None,
    type: str = Objective.Type.IMPROVE,  # the domain's word: build / improve / innovate
    commitment: str = Objective.Commitment.ASPIRATIONAL,
    visibility: str = Objective.Visibility.PUBLIC,
    state: str = Objective.State.ACTIVE,
    include_children: bool = False,
    carried_from: Objective | None = None,
    kpis: Sequence[KPI] = (),
) -> Objective:
    check_alignment(objective=None, parent=parent, org=org)
    objective = Objective.objects.create(
        organization=org,
        period=period,
        owner=owner,
        title=title,
        description=description,
        level=level,
        team=team,
        parent=parent,
        type=type,
        commitment=commitment,
        visibility=visibility,
        state=state,
        include_children=include_children,
        carried_from=carried_from,
    )
    if kpis:
        set_objective_kpis(objective=objective, kpis=kpis)
    objective_saved.send(
        sender=Objective, objective=objective, created=True, fields=["*"]
    )
    return objective


def check_alignment(
    *, objective: Objective | None, parent: Objective | None, org: Organization
) -> None:
    """An objective cannot be aligned to itself, to a descendant, or across organizations."""
    if parent is None:
        return
    if parent.organization_id != org.pk:
        raise ValidationError({"parent": "That objective does not exist."})
    if objective is None:
        return
    seen = set()
    node: Objective | None = parent
    while node is not None:
        if node.pk == objective.pk:
            raise ValidationError(
                {
                    "parent": "An objective cannot be aligned under itself or one of its own sub-objectives."
                }
            )
        if node.pk in seen:
            break
        seen.add(node.pk)
        node = node.parent


@transaction.atomic
def update_objective(*, objective: Objective, **fields: Any) -> Objective:
    kpis = fields.pop("kpis", None)
    if kpis is not None:
        set_objective_kpis(objective=objective, kpis=kpis)
    if "parent" in fields:
        check_alignment(
            objective=objective, parent=fields["parent"], org=objective.organization
        )
    for name, value in fields.items():
        setattr(objective, name, value)
    objective.save(update_fields=[*fields, "updated_at"])
    objective_saved.send(
        sender=Objective,
        objective=objective,
        created=False,
        fields=sorted([*fields, *(["kpis"] if kpis is not None else [])]),
    )
    return objective


def activate_objective(*, objective: Objective) -> Objective:
    """A draft objective goes live (the one-click Activate); any other state is
    refused, so a closed objective is never reopened this way."""
    if objective.state != Objective.State.DRAFT:
        raise ValidationError(
            {
                "state": f"Only a draft can be activated; this one is {objective.get_state_display().lower()}."
            }
        )
    return update_objective(objective=objective, state=Objective.State.ACTIVE)


@transaction.atomic
def create_key_result(
    *,
    objective: Objective,
    title: str,
    kind: str = KeyResult.Kind.METRIC,
    description: str = "",
    owner: User | None = None,
    unit: str = "",
    start: Decimal | None = None,
    target: Decimal | None = None,
    threshold_op: str = "",
    threshold_low: Decimal | None = None,
    threshold_high: Decimal | None = None,
    weight: Decimal = Decimal("1"),
    due_date: date | None = None,
    start_date: date | None = None,
    kpi: KPI | None = None,
) -> KeyResult:
    if kpi is not None:
        check_kpi(kpi, objective.organization_id)
        if kind == KeyResult.Kind.METRIC and start is None:
            # A KR tracking a KPI starts from the KPI's value when the period starts
            # (docs/kpis.md, "Where KPIs and OKRs meet").
            start = kpi_value_at(kpi, objective.period.start)
    validate_key_result_fields(
        kind=kind,
        start=start,
        target=target,
        threshold_op=threshold_op,
        threshold_low=threshold_low,
        threshold_high=threshold_high,
        weight=weight,
    )
    position = objective.key_results.count()
    kr = KeyResult.objects.create(
        organization_id=objective.organization_id,
        objective=objective,
        title=title,
        description=description,
        kind=kind,
        owner=owner or objective.owner,
        unit=unit,
        start=start,
        target=target,
        threshold_op=threshold_op,
        threshold_low=threshold_low,
        threshold_high=threshold_high,
        weight=weight,
        due_date=due_date,
        start_date=start_date,
        position=position,
        kpi=kpi,
    )
    if kpi is not None:
        follow_kpi(kr)
    return kr


def check_kpi(kpi: KPI, organization_id: int) -> None:
    if kpi.organization_id != organization_id:
        raise ValidationError({"kpi": "That KPI does not exist."})


# The note of the check-ins a tracked KPI makes on its key results.
TRACKED_KPI_NOTE = "Updated from the KPI it tracks."


def follow_kpi(key_result: KeyResult) -> None:
    """A key result that starts tracking a KPI takes the KPI's current value at once,
    whatever its period's state, as a check-in from the KPI (afterwards it follows
    each new value while its period is active: sync_tracking_key_results)."""
    kpi = key_result.kpi
    if kpi is None or key_result.kind == KeyResult.Kind.MILESTONE:
        return
    value = current_value(kpi)
    if value is None:
        return
    # At the key result's own precision: a window's mean may have more decimals.
    places = KeyResult._meta.get_field("current").decimal_places
    value = value.quantize(Decimal(1).scaleb(-places))
    if key_result.current == value:
        return
    record_checkin(
        key_result=key_result,
        author=key_result.owner or key_result.objective.owner,
        value=value,
        source=CheckIn.Source.KPI,
        moved=TRACKED_KPI_NOTE,
    )


def sync_tracking_key_results(*, kpi: KPI, author: User | None) -> None:
    """Key results that track this KPI follow its current value while their period is
    active (with a check-in from the KPI, so their history shows the change without
    speaking for their owner)."""
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
            value=value,
            source=CheckIn.Source.KPI,
            # Never the KPI's name: the key result may be seen by people who may not
            # see the KPI (the key result's page links the KPI for those who may).
            moved=TRACKED_KPI_NOTE,
        )


@transaction.atomic
def set_objective_kpis(*, objective: Objective, kpis: Sequence[KPI]) -> None:
    """The KPIs an objective works on (docs/kpis.md, "Where KPIs and OKRs meet")."""
    for kpi in kpis:
        check_kpi(kpi, objective.organization_id)
    wanted = {k.pk for k in kpis}
    ObjectiveKPI.objects.filter(objective=objective).exclude(kpi_id__in=wanted).delete()
    have = set(
        ObjectiveKPI.objects.filter(objective=objective).values_list(
            "kpi_id", flat=True
        )
    )
    ObjectiveKPI.objects.bulk_create(
        ObjectiveKPI(
            organization_id=objective.organization_id, objective=objective, kpi_id=pk
        )
        for pk in wanted - have
    )


KR_MEASURE_FIELDS = (
    "kind",
    "start",
    "target",
    "threshold_op",
    "threshold_low",
    "threshold_high",
    "weight",
)


@transaction.atomic
def update_key_result(*, key_result: KeyResult, **fields: Any) -> KeyResult:
    merged = {
        name: fields.get(name, getattr(key_result, name)) for name in KR_MEASURE_FIELDS
    }
    validate_key_result_fields(**merged)
    if fields.get("kpi") is not None:
        check_kpi(fields["kpi"], key_result.organization_id)
    for name, value in fields.items():
        setattr(key_result, name, value)
    key_result.save(update_fields=list(fields))
    if "kpi" in fields:
        follow_kpi(key_result)
    return key_result


# A time sent as "now" by a client whose clock runs a little ahead is not refused
# (the same allowance as KPI values sent to the API: landmark.kpis.ingest).
FUTURE_SKEW = timedelta(minutes=5)


def checkin_time_problem(period: Period, at: datetime, *, now: datetime) -> str:
    """Why a check-in cannot have happened at `at` (imported history), or "".

    Not in the future (a check-in records what happened), and not before its key
    result's period starts (the period is what the key result measures; the value
    before it is the key result's start value). Between the two any time is taken,
    whenever the key result itself was added to Landmark: history comes from before
    the move (docs/okrs.md, "Importing check-in history")."""
    if at > now + FUTURE_SKEW:
        return "This time is in the future: a check-in records what already happened."
    if at < period.starts_at:
        return (
            f"This time is before {period.name} starts ({period.start.isoformat()}): "
            "a check-in belongs to its key result's period."
        )
    return ""


def new_checkin(
    *,
    key_result: KeyResult,
    author: User,
    status: str = "",
    value: Decimal | None = None,
    done: bool | None = None,
    confidence: int | None = None,
    moved: str = "",
    blocks: str = "",
    at: datetime | None = None,
    source: str = CheckIn.Source.PERSON,
) -> CheckIn:
    """A check-in as it will be saved (not saved yet), or a ValidationError keyed by
    field: the rules of record_checkin, which import_checkins applies row by row."""
    from_kpi = source == CheckIn.Source.KPI
    imported = source == CheckIn.Source.IMPORT
    if imported:
        if at is None:
            raise ValidationError({"checked_in_at": "Say when the check-in was."})
        problem = checkin_time_problem(
            key_result.objective.period, at, now=timezone.now()
        )
        if problem:
            raise ValidationError({"checked_in_at": problem})
    if from_kpi:
        status, confidence = "", None
    elif imported and status == "":
        pass  # history kept without a status: the spreadsheet had none
    elif status not in KeyResult.Status.values:
        raise ValidationError({"status": "Say how it is going: choose a status."})
    if key_result.kind == KeyResult.Kind.MILESTONE:
        if done is None:
            raise ValidationError({"done": "Say whether the milestone is done."})
        value = None
    elif value is None:
        raise ValidationError({"value": "Enter the current value."})
    if confidence is not None and not 1 <= confidence <= 10:
        raise ValidationError(
            {"confidence": "Confidence goes from 1 (very unsure) to 10 (certain)."}
        )
    return CheckIn(
        organization_id=key_result.organization_id,
        key_result=key_result,
        author=author,
        value=value,
        done=done,
        status=status,
        confidence=confidence,
        moved=moved,
        blocks=blocks,
        created_at=at or timezone.now(),
        source=source,
    )


def holds(key_result: KeyResult, checkin: CheckIn) -> bool:
    """A threshold key result's check-in within its limits (the "held" count)."""
    return (
        key_result.kind == KeyResult.Kind.THRESHOLD
        and checkin.value is not None
        and scoring.threshold_holds(
            key_result.threshold_op,
            checkin.value,
            key_result.threshold_low,
            key_result.threshold_high,
        )
    )


def count_checkins(key_result: KeyResult, checkins: Sequence[CheckIn]) -> None:
    """Count saved check-ins of one key result, and let the latest of them by time
    set its current value (status and confidence too, unless from the KPI) when it
    is at least as recent as the key result's own latest check-in. A back-dated
    check-in (imports, demo history) counts, but never replaces a newer value."""
    newest = checkins[-1]
    counters: dict[str, Any] = {
        "checkins_count": F("checkins_count") + len(checkins),
        "checkins_held": F("checkins_held")
        + sum(1 for c in checkins if holds(key_result, c)),
    }
    at = newest.created_at
    latest: dict[str, Any] = {"last_checkin_at": at}
    if not newest.from_kpi:
        latest.update(last_status=newest.status, last_confidence=newest.confidence)
    if key_result.kind == KeyResult.Kind.MILESTONE:
        latest["done"] = bool(newest.done)
    else:
        latest["current"] = newest.value
    is_latest = Q(last_checkin_at__isnull=True) | Q(last_checkin_at__lte=at)
    rows = KeyResult.objects.filter(is_latest, pk=key_result.pk)
    if not rows.update(**latest, **counters):
        KeyResult.objects.filter(pk=key_result.pk).update(**counters)


@transaction.atomic
def record_checkin(
    *,
    key_result: KeyResult,
    author: User,
    status: str = "",
    value: Decimal | None = None,
    done: bool | None = None,
    confidence: int | None = None,
    moved: str = "",
    blocks: str = "",
    at: datetime | None = None,
    source: str = CheckIn.Source.PERSON,
) -> CheckIn:
    """Append a check-in and move the key result's current value with it.

    A person's check-in says how they see it (status, confidence). One from the
    tracked KPI (source KPI) brings a value only: it has no status or confidence
    and leaves the owner's last word (last_status, last_confidence) as it was.

    An imported one (source IMPORT) is history at a past time `at`, within the key
    result's period and not in the future (checkin_time_problem). Whatever its
    source, a check-in older than the key result's latest one is kept in the
    history but leaves the current value, status and confidence as they are."""
    checkin = new_checkin(
        key_result=key_result,
        author=author,
        status=status,
        value=value,
        done=done,
        confidence=confidence,
        moved=moved,
        blocks=blocks,
        at=at,
        source=source,
    )
    checkin.save()
    count_checkins(key_result, [checkin])
    key_result.refresh_from_db()
    checkin_recorded.send(sender=CheckIn, checkin=checkin)
    return checkin


@dataclass(frozen=True)
class CheckInRow:
    """One check-in of imported history, read and checked (okrs.checkin_import)."""

    line: int
    key_result: KeyResult
    at: datetime
    value: Decimal | None
    done: bool | None
    status: str
    confidence: int | None
    note: str


@transaction.atomic
def import_checkins(*, rows: Sequence[CheckInRow], author: User) -> int:
    """Every row becomes an imported check-in at its time, or none does (one
    transaction), each checked by the rules of record_checkin. Each key result's
    current value, status and confidence end as its latest check-in's, imported or
    not. Saved in bulk (with their history rows): thousands take seconds."""
    checkins: dict[int, list[CheckIn]] = {}
    seen: set[tuple[int, datetime]] = set()
    for row in sorted(rows, key=lambda r: (r.at, r.line)):
        slot = (row.key_result.pk, row.at)
        if slot in seen:
            raise ValidationError(
                f"Line {row.line}: a second check-in on the same key result at the "
                "same time; keep one."
            )
        seen.add(slot)
        try:
            checkin = new_checkin(
                key_result=row.key_result,
                author=author,
                status=row.status,
                value=row.value,
                done=row.done,
                confidence=row.confidence,
                moved=row.note,
                at=row.at,
                source=CheckIn.Source.IMPORT,
            )
        except ValidationError as error:
            raise ValidationError(
                f"Line {row.line}: {' '.join(error.messages)}"
            ) from None
        checkins.setdefault(row.key_result.pk, []).append(checkin)
    every = [c for group in checkins.values() for c in group]
    bulk_create_with_history(every, CheckIn, batch_size=500, default_user=author)
    for group in checkins.values():
        count_checkins(group[0].key_result, group)
    return len(every)


@transaction.atomic
def create_initiative(
    *,
    key_result: KeyResult,
    title: str,
    status: str = Initiative.Status.NOT_STARTED,
    url: str = "",
    owner: User | None = None,
) -> Initiative:
    return Initiative.objects.create(
        organization_id=key_result.organization_id,
        key_result=key_result,
        title=title,
        status=status,
        url=url,
        owner=owner,
    )


@transaction.atomic
def update_initiative(*, initiative: Initiative, **fields: Any) -> Initiative:
    for name, value in fields.items():
        setattr(initiative, name, value)
    initiative.save(update_fields=list(fields))
    return initiative


@transaction.atomic
def give_kudos(
    *,
    sender: User,
    recipient: User,
    message: str,
    org: Organization,
    objective: Objective | None = None,
    key_result: KeyResult | None = None,
) -> Kudos:
    if sender.pk == recipient.pk:
        raise ValidationError({"recipient": "Kudos are for someone else."})
    return Kudos.objects.create(
        organization=org,
        sender=sender,
        recipient=recipient,
        message=message,
        objective=objective,
        key_result=key_result,
    )


@dataclass
class Grade:
    """One objective's grading decisions at period close."""

    objective: Objective
    score_override: Decimal | None = None
    override_reason: str = ""
    outcome: str = ""
    retrospective: str = ""
    carry_over: bool = False


def computed_outcome(score: Decimal | None, committed: bool) -> str:
    if score is None:
        return Objective.Outcome.MISSED
    if scoring.is_achieved(score, committed):
        return Objective.Outcome.ACHIEVED
    if score >= Decimal("0.4"):
        return Objective.Outcome.PARTIAL
    return Objective.Outcome.MISSED


@transaction.atomic
def close_period(
    *,
    period: Period,
    grades: Sequence[Grade],
    retrospective: str = "",
    carry_into: Period | None = None,
    author: User,
) -> Period:
    """Grade every objective of the period, carry over what was asked, close it.

    KR score = clamped progress to 2 decimals; objective score = weighted mean. An
    override keeps both numbers. The period moves to closed with a conditional update,
    so two people closing it at once cannot both succeed.
    """
    updated = (
        Period.objects.filter(pk=period.pk)
        .exclude(state=Period.State.CLOSED)
        .update(
            state=Period.State.CLOSED,
            closed_at=timezone.now(),
            retrospective=retrospective,
        )
    )
    if updated != 1:
        raise ValidationError("This period is already closed.")
    if any(g.carry_over for g in grades) and carry_into is None:
        raise ValidationError(
            {"carry_into": "Choose the period to carry objectives over into."}
        )
    graded = {g.objective.pk for g in grades}
    if any(g.objective.period_id != period.pk for g in grades):
        raise ValidationError(
            "Only objectives of the period being closed can be graded with it."
        )
    # Every objective of the period is graded; those without decisions get the defaults.
    grades = [
        *grades,
        *(
            Grade(objective=o)
            for o in Objective.objects.filter(period=period).exclude(pk__in=graded)
        ),
    ]
    if carry_into is not None and carry_into.pk == period.pk:
        raise ValidationError(
            {
                "carry_into": "Objectives cannot be carried over into the period being closed."
            }
        )
    for grade in grades:
        objective = grade.objective
        if grade.score_override is not None and not grade.override_reason.strip():
            raise ValidationError(
                {
                    "override_reason": f"Explain why the score of “{objective.title}” is overridden."
                }
            )
        krs = list(objective.key_results.all())
        for kr in krs:
            kr.score = scoring.round_score(kr.progress())
            kr.save(update_fields=["score"])
        objective.score = scoring.objective_score(
            [(kr.score, kr.weight) for kr in krs if kr.score is not None]
        )
        objective.score_override = grade.score_override
        objective.override_reason = grade.override_reason.strip()
        final = objective.final_score
        objective.outcome = (
            Objective.Outcome.CARRIED_OVER
            if grade.carry_over
            else grade.outcome or computed_outcome(final, objective.is_committed)
        )
        objective.retrospective = grade.retrospective
        objective.state = Objective.State.CLOSED
        objective.save(
            update_fields=[
                "score",
                "score_override",
                "override_reason",
                "outcome",
                "retrospective",
                "state",
                "updated_at",
            ]
        )
        if grade.carry_over and carry_into is not None:
            carry_over_objective(objective=objective, into=carry_into, author=author)
    period.refresh_from_db()
    period_closed.send(sender=Period, period=period)
    return period


@transaction.atomic
def carry_over_objective(
    *, objective: Objective, into: Period, author: User
) -> Objective:
    """Copy an objective into another period with everything that still makes sense
    there (docs/okrs.md, "Carrying over"):

    - its key results, each still tracking its KPI; a metric one not yet reached
      restarts from where it ended (its current value becomes the new start), so the
      new period measures new progress only, and a title Fix with an OKR wrote
      ("Bring X from 52 min to 30 min") names the new start;
    - the KPIs it works on;
    - its alignment: to the parent's own copy in that period, else to the parent
      itself while the parent's period is open and runs during that period, else
      none; copies of its aligned children made before it align to its copy;
    - its initiatives that are not done.

    Carrying the same objective into the same period twice (closing again after a
    reopening) returns the first copy.
    """
    if into.is_closed:
        raise ValidationError(
            {"carry_into": "Objectives cannot be carried into a closed period."}
        )
    existing = Objective.objects.filter(carried_from=objective, period=into).first()
    if existing is not None:
        return existing
    copy = create_objective(
        org=objective.organization,
        period=into,
        owner=objective.owner,
        title=objective.title,
        description=objective.description,
        level=objective.level,
        team=objective.team,
        parent=carried_parent(objective, into),
        type=objective.type,
        commitment=objective.commitment,
        visibility=objective.visibility,
        state=Objective.State.DRAFT
        if into.state == Period.State.PLANNING
        else Objective.State.ACTIVE,
        include_children=objective.include_children,
        carried_from=objective,
        kpis=list(KPI.objects.filter(objective_links__objective=objective)),
    )
    for child in Objective.objects.filter(
        period=into, parent__isnull=True, carried_from__parent=objective
    ):
        child.parent = copy
        child.save(update_fields=["parent", "updated_at"])
    for kr in objective.key_results.select_related("kpi").prefetch_related(
        "initiatives"
    ):
        carry_over_key_result(kr, copy)
    return copy


def carried_parent(objective: Objective, into: Period) -> Objective | None:
    """Where a copy of `objective` in `into` aligns (see carry_over_objective)."""
    parent = objective.parent
    if parent is None:
        return None
    parents_copy = Objective.objects.filter(carried_from=parent, period=into).first()
    if parents_copy is not None:
        return parents_copy
    runs = parent.period
    if not runs.is_closed and runs.start <= into.end and into.start <= runs.end:
        return parent
    return None


def carry_over_key_result(kr: KeyResult, objective: Objective) -> KeyResult:
    start, title = kr.start, kr.title
    locale = objective.organization.locale
    progress = kr.progress_raw()
    if kr.kind == KeyResult.Kind.METRIC and progress is not None and progress < 1:
        start = kr.current
        if (
            kr.kpi is not None
            and kr.start is not None
            and kr.target is not None
            and kr.current is not None
            and title == kpi_key_result_title(kr.kpi, kr.start, kr.target, locale)
        ):
            title = kpi_key_result_title(kr.kpi, kr.current, kr.target, locale)
    period = objective.period
    due = kr.due_date
    copy = create_key_result(
        objective=objective,
        title=title,
        description=kr.description,
        kind=kr.kind,
        owner=kr.owner,
        unit=kr.unit,
        start=start,
        target=kr.target,
        threshold_op=kr.threshold_op,
        threshold_low=kr.threshold_low,
        threshold_high=kr.threshold_high,
        weight=kr.weight,
        due_date=due if due is not None and period.start <= due <= period.end else None,
        kpi=kr.kpi,
    )
    for initiative in kr.initiatives.all():
        if initiative.status != Initiative.Status.DONE:
            create_initiative(
                key_result=copy,
                title=initiative.title,
                status=initiative.status,
                url=initiative.url,
                owner=initiative.owner,
            )
    return copy


def kpi_key_result_title(kpi: KPI, start: Decimal, target: Decimal, locale: str) -> str:
    """The title of the key result Fix with an OKR drafts for a KPI."""
    return (
        f"Bring {kpi.name} from {numbers.amount(start, kpi.unit, locale)} "
        f"to {numbers.amount(target, kpi.unit, locale)}"
    )
