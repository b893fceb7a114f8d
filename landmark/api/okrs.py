"""Periods, objectives, key results, initiatives, check-ins and kudos.

Each route reaches data through okrs.access (another organization's object or a
private objective the caller may not see is a 404; a viewer writing is a 403),
validates with the web's forms (forms_bridge) and writes through okrs.actions.
"""

import copy
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from ninja import Field, Path, Query, Router, Schema, Status
from pydantic import WithJsonSchema

from landmark.api.auth import membership_of
from landmark.api.etags import IF_MATCH, check_if_match, tag
from landmark.api.forms_bridge import bound, bound_patch
from landmark.api.numbers import (
    key_result_numbers,
    objective_numbers,
    with_key_result_numbers,
    with_objective_numbers,
)
from landmark.api.pagination import Cursor, Limit, Page, encode, paginate
from landmark.api.problems import Conflict
from landmark.api.responses import created
from landmark.api.schemas import (
    LEFT_OUT,
    MAX_ID,
    DateIn,
    DateTimeIn,
    DecimalIn,
    DecimalOut,
    Filters,
    Id,
    In,
    Name,
    Patch,
    Text,
)
from landmark.kpis.access import kpis_for_member
from landmark.lib import bounds
from landmark.okrs import actions, scoring
from landmark.okrs.access import (
    get_initiative_for_member,
    get_key_result_for_member,
    get_objective_for_member,
    get_period_for_member,
    key_results_for_member,
    objectives_for_member,
    periods_for_member,
)
from landmark.okrs.forms import (
    CheckInForm,
    InitiativeForm,
    KeyResultForm,
    KudosForm,
    ObjectiveForm,
    PeriodForm,
)
from landmark.okrs.models import (
    CheckIn,
    Initiative,
    KeyResult,
    Kudos,
    Objective,
    ObjectiveKPI,
    Period,
)
from landmark.orgs.access import require_admin, require_write
from landmark.orgs.models import Membership

router = Router(tags=["okrs"])
EMPTIES = "null empties it."

# Periods

PeriodKind = Literal["quarter", "year", "custom"]
PeriodState = Literal["planning", "active", "closed"]


class PeriodOut(Schema):
    id: int
    name: str
    kind: str
    start: date
    end: date
    state: str
    parent_id: int | None
    closed_at: datetime | None
    retrospective: str


class PeriodIn(In):
    name: Annotated[Name, Field(max_length=80)]
    kind: PeriodKind = "quarter"
    start: DateIn
    end: DateIn
    state: Literal["planning", "active"] = "planning"
    parent: Id | None = Field(None, description="The year this period belongs to.")


class PeriodPatch(Patch):
    name: Annotated[Name, Field(max_length=80)] = LEFT_OUT
    kind: PeriodKind = LEFT_OUT
    start: DateIn = LEFT_OUT
    end: DateIn = LEFT_OUT
    parent: Id | None = Field(
        None, description="The year this period belongs to; null: none."
    )


class PeriodFilters(Filters):
    state: PeriodState | None = None
    kind: PeriodKind | None = None
    sort: Literal["start", "-start", "name", "-name", "end", "-end"] = "-start"
    limit: int = Limit
    cursor: str | None = Cursor


class PeriodPage(Page[PeriodOut]):
    pass


@router.get("/periods", response=PeriodPage, summary="List periods")
def list_periods(request: HttpRequest, q: Query[PeriodFilters]) -> dict[str, Any]:
    rows = periods_for_member(membership_of(request))
    if q.state:
        rows = rows.filter(state=q.state)
    if q.kind:
        rows = rows.filter(kind=q.kind)
    return paginate(rows, sort=q.sort, cursor=q.cursor, limit=q.limit)


@router.get("/periods/{pk}", response=PeriodOut, summary="One period")
def get_period(request: HttpRequest, response: HttpResponse, pk: Path[Id]) -> Period:
    return tag(response, PeriodOut, get_period_for_member(membership_of(request), pk))


@router.post("/periods", response={201: PeriodOut}, summary="Create a period (admins)")
def create_period(
    request: HttpRequest, response: HttpResponse, body: PeriodIn
) -> Status[Period]:
    membership = membership_of(request)
    require_admin(membership)
    form = bound(PeriodForm, body.model_dump(), membership=membership)
    period = actions.create_period(org=membership.organization, **form.cleaned_data)
    return created(response, "periods", period)


@router.patch("/periods/{pk}", response=PeriodOut, summary="Change a period (admins)")
def update_period(
    request: HttpRequest,
    response: HttpResponse,
    pk: Path[Id],
    body: PeriodPatch,
    if_match: str | None = IF_MATCH,
) -> Period:
    membership = membership_of(request)
    with transaction.atomic():
        period = check_if_match(
            if_match,
            PeriodOut,
            lambda: get_period_for_member(membership, pk, write=True),
        )
        _, changed = bound_patch(
            PeriodForm,
            body.model_dump(exclude_unset=True),
            instance=period,
            membership=membership,
        )
        if changed:
            actions.update_period(period=period, **changed)
    return tag(response, PeriodOut, get_period_for_member(membership, pk))


def transition(request: HttpRequest, pk: int, state: str) -> Period:
    membership = membership_of(request)
    period = get_period_for_member(membership, pk, write=True)
    try:
        actions.set_period_state(period=period, state=state)
    except ValidationError as error:
        raise Conflict(" ".join(error.messages)) from error
    return get_period_for_member(membership, pk)


@router.post(
    "/periods/{pk}/start", response=PeriodOut, summary="Start a planned period (admins)"
)
def start_period(request: HttpRequest, pk: Path[Id]) -> Period:
    return transition(request, pk, Period.State.ACTIVE)


@router.post(
    "/periods/{pk}/plan",
    response=PeriodOut,
    summary="Move an active period back to planning (admins)",
)
def plan_period(request: HttpRequest, pk: Path[Id]) -> Period:
    return transition(request, pk, Period.State.PLANNING)


@router.post(
    "/periods/{pk}/reopen",
    response=PeriodOut,
    summary="Reopen a closed period (admins)",
)
def reopen_period(request: HttpRequest, pk: Path[Id]) -> Period:
    membership = membership_of(request)
    if not get_period_for_member(membership, pk).is_closed:
        raise Conflict("Only a closed period can be reopened.")
    return transition(request, pk, Period.State.ACTIVE)


class GradeIn(In):
    objective: Id
    score_override: DecimalIn | None = Field(
        None, description="0 to 1; needs `override_reason`."
    )
    override_reason: Annotated[Text, Field(max_length=5000)] = ""
    outcome: Literal["", "achieved", "partially_achieved", "missed"] = ""
    retrospective: Annotated[Text, Field(max_length=5000)] = ""
    carry_over: bool = False


class CloseIn(In):
    grades: list[GradeIn] = Field(
        default_factory=list,
        max_length=1000,
        description="Decisions per objective; objectives not listed get the computed grade.",
    )
    retrospective: Annotated[Text, Field(max_length=20000)] = ""
    carry_into: Id | None = Field(
        None, description="Period for carried-over objectives."
    )


@router.post(
    "/periods/{pk}/close",
    response=PeriodOut,
    summary="Grade and close a period (admins)",
)
def close_period(request: HttpRequest, pk: Path[Id], body: CloseIn) -> Period:
    membership = membership_of(request)
    period = get_period_for_member(membership, pk, write=True)
    if period.is_closed:
        raise Conflict("This period is already closed.")
    ids = [g.objective for g in body.grades]
    if len(set(ids)) != len(ids):
        raise ValidationError({"grades": "Grade each objective once."})
    objectives = Objective.objects.for_org(membership.organization).in_period(period)
    found = {o.pk: o for o in objectives.filter(pk__in=ids)}
    if missing := [pk for pk in ids if pk not in found]:
        raise ValidationError({"grades": f"Not objectives of this period: {missing}."})
    errors: dict[str, str] = {}
    grades = []
    for n, g in enumerate(body.grades):
        if g.score_override is not None and not 0 <= g.score_override <= 1:
            errors[f"grades.{n}.score_override"] = "A score goes from 0 to 1."
        if g.score_override is not None and not g.override_reason.strip():
            errors[f"grades.{n}.override_reason"] = (
                "Explain why you override the computed score."
            )
        grades.append(
            actions.Grade(
                objective=found[g.objective],
                score_override=g.score_override,
                override_reason=g.override_reason,
                outcome=g.outcome,
                retrospective=g.retrospective,
                carry_over=g.carry_over,
            )
        )
    carry_into = None
    if body.carry_into is not None:
        carry_into = (
            periods_for_member(membership)
            .exclude(pk=period.pk)
            .exclude(state=Period.State.CLOSED)
            .filter(pk=body.carry_into)
            .first()
        )
        if carry_into is None:
            errors["carry_into"] = "Choose another period that is not closed."
    if errors:
        raise ValidationError(errors)
    actions.close_period(
        period=period,
        grades=grades,
        retrospective=body.retrospective,
        carry_into=carry_into,
        author=membership.user,
    )
    return get_period_for_member(membership, pk)


# Objectives

Level = Literal["company", "team", "personal"]
ObjectiveType = Literal["build", "improve", "innovate"]
Commitment = Literal["committed", "aspirational"]
Visibility = Literal["public", "private"]
ObjectiveState = Literal["draft", "active", "closed"]


Pace = Literal["on_track", "needs_attention", "off_track", "stale"]
KRStatus = Literal["on_track", "needs_attention", "off_track"]


class ObjectiveFields(Schema):
    """An objective's own fields: what its ETag covers."""

    id: int
    title: str
    description: str
    period_id: int
    level: str
    team_id: int | None
    owner_id: int
    parent_id: int | None
    type: str
    commitment: str
    visibility: str
    state: str
    include_children: bool
    kpi_ids: list[int] = Field(description="The KPIs this objective works on.")
    score: DecimalOut | None
    score_override: DecimalOut | None
    override_reason: str
    outcome: str
    carried_from_id: int | None
    created_at: datetime
    updated_at: datetime

    # Relations as the caller may see them (objectives_out loads them so): a private
    # objective or KPI they may not see is not named, not even by its id.
    @staticmethod
    def resolve_kpi_ids(obj: Objective) -> list[int]:
        return sorted(link.kpi_id for link in obj.kpi_links.all())

    @staticmethod
    def resolve_parent_id(obj: Objective) -> int | None:
        return shown_id(obj, "parent")

    @staticmethod
    def resolve_carried_from_id(obj: Objective) -> int | None:
        return shown_id(obj, "carried_from")


class ObjectiveOut(ObjectiveFields):
    """An objective with the numbers its page shows, computed when it is read."""

    progress: float | None = Field(
        description="Weighted mean of its key results' progress, each clamped to 0–1 "
        "(with its aligned objectives of the same period as extra members when "
        "`include_children`); null with no key results yet."
    )
    expected_progress: float = Field(
        description="The progress expected by now (0–1): its key results' expected "
        "progress, weighted as `progress` is (the share of the period elapsed with no "
        "key results)."
    )
    period_elapsed: float = Field(description="Share of the period elapsed (0–1).")
    pace: Pace | None = Field(
        description="Computed status: its weakest key result's pace (and its aligned "
        "objectives' when `include_children`); null with none."
    )
    owner_status: KRStatus | None = Field(
        description="What the owners report: the weakest status of its key results' "
        "last check-ins; null before any check-in."
    )
    owner_confidence: int | None = Field(
        description="The lowest confidence (1–10) of its key results' last check-ins."
    )

    @staticmethod
    def resolve_progress(obj: Objective) -> float | None:
        return objective_numbers(obj).progress

    @staticmethod
    def resolve_expected_progress(obj: Objective) -> float:
        return objective_numbers(obj).expected

    @staticmethod
    def resolve_period_elapsed(obj: Objective) -> float:
        return objective_numbers(obj).tau

    @staticmethod
    def resolve_pace(obj: Objective) -> str | None:
        pace = objective_numbers(obj).pace
        return None if pace is None else pace.value

    @staticmethod
    def resolve_owner_status(obj: Objective) -> str | None:
        status = objective_numbers(obj).owner_status
        return None if status is None else status.value

    @staticmethod
    def resolve_owner_confidence(obj: Objective) -> int | None:
        return objective_numbers(obj).owner_confidence


class ObjectiveIn(In):
    title: Annotated[Name, Field(max_length=200)]
    description: Annotated[Text, Field(max_length=10000)] = ""
    period: Id
    level: Level = "team"
    team: Id | None = None
    owner: Id | None = Field(None, description="Defaults to the caller.")
    parent: Id | None = Field(None, description="The objective this one aligns to.")
    type: ObjectiveType = "improve"
    commitment: Commitment = "aspirational"
    visibility: Visibility = "public"
    state: Literal["draft", "active"] = "active"
    include_children: bool = False
    kpis: list[Id] = Field(default_factory=list, max_length=500)


class ObjectivePatch(Patch):
    title: Annotated[Name, Field(max_length=200)] = LEFT_OUT
    description: Annotated[Text, Field(max_length=10000)] | None = Field(
        None, description=EMPTIES
    )
    period: Id = LEFT_OUT
    level: Level = LEFT_OUT
    team: Id | None = Field(
        None, description="null: no team (a team objective needs one)."
    )
    owner: Id = LEFT_OUT
    parent: Id | None = Field(
        None, description="The objective this one aligns to; null: none."
    )
    type: ObjectiveType = LEFT_OUT
    commitment: Commitment = LEFT_OUT
    visibility: Visibility = LEFT_OUT
    state: Literal["draft", "active"] = LEFT_OUT
    include_children: bool = LEFT_OUT
    kpis: list[Id] | None = Field(
        None,
        max_length=500,
        description="Every KPI it works on (the list replaces the links); null or "
        "[]: none.",
    )


class ObjectiveFilters(Filters):
    period: int | None = Field(None, ge=1, le=MAX_ID)
    team: int | None = Field(None, ge=1, le=MAX_ID)
    owner: int | None = Field(None, ge=1, le=MAX_ID)
    parent: int | None = Field(None, ge=1, le=MAX_ID)
    kpi: int | None = Field(None, ge=1, le=MAX_ID, description="Works on this KPI.")
    level: Level | None = None
    state: ObjectiveState | None = None
    status: Pace | None = Field(
        None, description="Computed status (`pace`), as the OKR tree's filter."
    )
    sort: Literal[
        "created_at", "-created_at", "title", "-title", "updated_at", "-updated_at"
    ] = "created_at"
    limit: int = Limit
    cursor: str | None = Cursor


def shown_id(obj: Any, relation: str) -> int | None:
    """The id of a related objective or KPI loaded through the access helpers (None
    when the caller may not see it). Refuses to read a relation loaded otherwise."""
    descriptor = getattr(type(obj), relation)
    if getattr(obj, descriptor.field.attname) is None:
        return None
    if not descriptor.is_cached(obj):
        raise RuntimeError(
            f"{type(obj).__name__}.{relation} must be loaded through okrs.access "
            "(shown_parent, shown_kpi) before the API shows it."
        )
    related = getattr(obj, relation)
    return None if related is None else int(related.pk)


def objectives_out(membership: Membership) -> QuerySet[Objective]:
    """Objectives with what ObjectiveOut reads (numbered by numbered_objectives)."""
    visible = objectives_for_member(membership).only("pk")
    return (
        objectives_for_member(membership)
        .select_related("period")
        .prefetch_related(
            Prefetch(
                "kpi_links",
                queryset=ObjectiveKPI.objects.filter(
                    kpi__in=kpis_for_member(membership).values("pk")
                ).only("objective_id", "kpi_id"),
            ),
            Prefetch("parent", queryset=visible),
            Prefetch("carried_from", queryset=visible),
            "key_results",
        )
    )


def numbered_objectives(
    membership: Membership, objectives: Iterable[Objective]
) -> list[Objective]:
    return with_objective_numbers(membership, list(objectives))


def objective_out(membership: Membership, pk: int) -> Objective:
    return numbered_objectives(membership, [objectives_out(membership).get(pk=pk)])[0]


class ObjectivePage(Page[ObjectiveOut]):
    pass


@router.get("/objectives", response=ObjectivePage, summary="List objectives")
def list_objectives(request: HttpRequest, q: Query[ObjectiveFilters]) -> dict[str, Any]:
    membership = membership_of(request)
    rows = objectives_out(membership)
    for name in ("period", "team", "owner", "level", "state"):
        if (value := getattr(q, name)) is not None:
            rows = rows.filter(**{name: value})
    # Filtering by an objective or KPI the caller may not see matches nothing.
    if q.parent is not None:
        rows = rows.filter(
            parent__in=objectives_for_member(membership).filter(pk=q.parent)
        )
    if q.kpi is not None:
        rows = rows.filter(
            pk__in=ObjectiveKPI.objects.filter(
                kpi__in=kpis_for_member(membership).filter(pk=q.kpi)
            ).values("objective_id")
        )
    if q.status is not None:
        return objectives_with_status(membership, rows, q)
    page = paginate(rows, sort=q.sort, cursor=q.cursor, limit=q.limit)
    page["items"] = numbered_objectives(membership, page["items"])
    return page


# Objectives read (and numbered) at a time while looking for a status.
STATUS_SCAN = 500


def objectives_with_status(
    membership: Membership, rows: QuerySet[Objective], q: ObjectiveFilters
) -> dict[str, Any]:
    """A page of the objectives whose computed status is `q.status`. The status is
    computed, not stored: the rows are read in the list's order, STATUS_SCAN at a
    time (a fixed number of queries each), until the page is full."""
    found: list[Objective] = []
    cursor = q.cursor
    while len(found) <= q.limit:
        scanned = paginate(rows, sort=q.sort, cursor=cursor, limit=STATUS_SCAN)
        for objective in numbered_objectives(membership, scanned["items"]):
            if objective_numbers(objective).pace == q.status:
                found.append(objective)
        cursor = scanned["next_cursor"]
        if cursor is None:
            break
    next_cursor = None
    if len(found) > q.limit:
        found = found[: q.limit]
        last = found[-1]
        next_cursor = encode(getattr(last, q.sort.lstrip("-")), last.pk)
    return {"items": found, "next_cursor": next_cursor}


@router.get("/objectives/{pk}", response=ObjectiveOut, summary="One objective")
def get_objective(
    request: HttpRequest, response: HttpResponse, pk: Path[Id]
) -> Objective:
    membership = membership_of(request)
    get_objective_for_member(membership, pk)
    return tag(response, ObjectiveFields, objective_out(membership, pk))


@router.post("/objectives", response={201: ObjectiveOut}, summary="Create an objective")
def create_objective(
    request: HttpRequest, response: HttpResponse, body: ObjectiveIn
) -> Status[Objective]:
    membership = membership_of(request)
    require_write(membership)
    values = body.model_dump()
    values["owner"] = values["owner"] or membership.user_id
    form = bound(ObjectiveForm, values, membership=membership)
    objective = actions.create_objective(
        org=membership.organization, **form.cleaned_data
    )
    return created(response, "objectives", objective_out(membership, objective.pk))


@router.patch(
    "/objectives/{pk}",
    response=ObjectiveOut,
    summary="Change, align or link an objective",
)
def update_objective(
    request: HttpRequest,
    response: HttpResponse,
    pk: Path[Id],
    body: ObjectivePatch,
    if_match: str | None = IF_MATCH,
) -> Objective:
    membership = membership_of(request)
    with transaction.atomic():
        objective = check_if_match(
            if_match,
            ObjectiveFields,
            lambda: get_objective_for_member(membership, pk, write=True),
            shown=lambda _: objectives_out(membership).get(pk=pk),
        )
        _, changed = bound_patch(
            ObjectiveForm,
            body.model_dump(exclude_unset=True),
            instance=objective,
            membership=membership,
        )
        if changed:
            actions.update_objective(objective=objective, **changed)
    return tag(response, ObjectiveFields, objective_out(membership, pk))


# Key results

KRKind = Literal["metric", "threshold", "milestone"]
ThresholdOp = Literal["", "at_least", "at_most", "between"]


class KeyResultFields(Schema):
    """A key result's own fields: what its ETag covers."""

    id: int
    objective_id: int
    title: str
    description: str
    kind: str
    unit: str
    start: DecimalOut | None
    target: DecimalOut | None
    threshold_op: str
    threshold_low: DecimalOut | None
    threshold_high: DecimalOut | None
    current: DecimalOut | None
    done: bool
    progress: float | None = Field(
        description="Honest progress (may be below 0 or above 1); null before data."
    )
    weight: DecimalOut
    owner_id: int | None
    start_date: date | None = Field(
        description="The day measuring starts; null: when it was added. Expected "
        "progress runs from the later of this and the period's start."
    )
    due_date: date | None
    kpi_id: int | None
    last_checkin_at: datetime | None
    last_status: str
    last_confidence: int | None
    checkins_count: int
    checkins_held: int
    score: DecimalOut | None
    created_at: datetime

    @staticmethod
    def resolve_progress(obj: KeyResult) -> float | None:
        return obj.progress_raw()

    @staticmethod
    def resolve_kpi_id(obj: KeyResult) -> int | None:
        return shown_id(obj, "kpi")


class KeyResultOut(KeyResultFields):
    """A key result with the numbers its objective's page shows."""

    progress_clamped: float = Field(
        description="`progress` clamped to 0–1: what the objective's progress "
        "averages (0 before data)."
    )
    expected_progress: float = Field(
        description="Share of its time elapsed (0–1), from when it began to be "
        "tracked to its due date or the period's end: the progress expected by now "
        "(docs/okrs.md)."
    )
    expected_value: DecimalOut | None = Field(
        description="Where a metric key result would be by now, moving evenly from "
        "start to target; null for thresholds and milestones."
    )
    pace: Pace = Field(
        description="Computed status from progress against time; `stale` when `stale`."
    )
    stale: bool = Field(
        description="No check-in within the organization's check-in cadence plus "
        "grace, in an active period: silence is never on track."
    )

    @staticmethod
    def resolve_progress_clamped(obj: KeyResult) -> float:
        return key_result_numbers(obj).progress

    @staticmethod
    def resolve_expected_progress(obj: KeyResult) -> float:
        return key_result_numbers(obj).tau

    @staticmethod
    def resolve_expected_value(obj: KeyResult) -> Decimal | None:
        return key_result_numbers(obj).expected

    @staticmethod
    def resolve_pace(obj: KeyResult) -> str:
        return key_result_numbers(obj).pace.value

    @staticmethod
    def resolve_stale(obj: KeyResult) -> bool:
        return key_result_numbers(obj).pace is scoring.Pace.STALE


KR_DESCRIPTION = Annotated[Text, Field(max_length=bounds.MAX_DESCRIPTION)]
NO_MILESTONE_VALUES = "A milestone (done or not done) takes none."


class KeyResultIn(In):
    title: Annotated[Name, Field(max_length=200)]
    description: KR_DESCRIPTION = Field(
        "", description="What it measures and how (where the number comes from)."
    )
    kind: KRKind = "metric"
    owner: Id | None = Field(None, description="Defaults to the objective's owner.")
    unit: Annotated[Text, Field(max_length=20)] = ""
    start: DecimalIn | None = Field(None, description=NO_MILESTONE_VALUES)
    target: DecimalIn | None = Field(None, description=NO_MILESTONE_VALUES)
    threshold_op: ThresholdOp = ""
    threshold_low: DecimalIn | None = None
    threshold_high: DecimalIn | None = None
    weight: DecimalIn = Field(
        default=Decimal("1"), description="How much it counts (≥ 0)."
    )
    start_date: DateIn | None = Field(
        None, description="The day measuring starts, within the period (default: now)."
    )
    due_date: DateIn | None = None
    kpi: Id | None = Field(None, description="Track this KPI.")


class KeyResultPatch(Patch):
    title: Annotated[Name, Field(max_length=200)] = LEFT_OUT
    description: KR_DESCRIPTION | None = Field(None, description=EMPTIES)
    kind: KRKind = LEFT_OUT
    owner: Id | None = Field(None, description="null: no owner.")
    unit: Annotated[Text, Field(max_length=20)] | None = Field(
        None, description=EMPTIES
    )
    start: DecimalIn | None = Field(
        None,
        description="null empties it (a metric needs its start and target; a "
        "milestone takes none).",
    )
    target: DecimalIn | None = Field(
        None,
        description="null empties it (a metric needs its start and target; a "
        "milestone takes none).",
    )
    threshold_op: ThresholdOp | None = Field(None, description='null: as "".')
    threshold_low: DecimalIn | None = Field(None, description=EMPTIES)
    threshold_high: DecimalIn | None = Field(None, description=EMPTIES)
    weight: DecimalIn = LEFT_OUT
    start_date: DateIn | None = Field(
        None, description="null: measured from when it was added."
    )
    due_date: DateIn | None = Field(None, description="null: the period's end.")
    kpi: Id | None = Field(None, description="null: tracks no KPI.")


class KeyResultFilters(Filters):
    objective: int | None = Field(None, ge=1, le=MAX_ID)
    owner: int | None = Field(None, ge=1, le=MAX_ID)
    kpi: int | None = Field(None, ge=1, le=MAX_ID)
    kind: KRKind | None = None
    sort: Literal[
        "created_at", "-created_at", "title", "-title", "position", "-position"
    ] = "created_at"
    limit: int = Limit
    cursor: str | None = Cursor


class KeyResultPage(Page[KeyResultOut]):
    pass


@router.get("/key-results", response=KeyResultPage, summary="List key results")
def list_key_results(
    request: HttpRequest, q: Query[KeyResultFilters]
) -> dict[str, Any]:
    membership = membership_of(request)
    rows = key_results_for_member(membership)
    for name in ("objective", "owner", "kind"):
        if (value := getattr(q, name)) is not None:
            rows = rows.filter(**{name: value})
    if q.kpi is not None:  # a KPI the caller may not see matches nothing
        rows = rows.filter(kpi__in=kpis_for_member(membership).filter(pk=q.kpi))
    rows = rows.select_related("objective__period")
    page = paginate(rows, sort=q.sort, cursor=q.cursor, limit=q.limit)
    page["items"] = with_key_result_numbers(membership, page["items"])
    return page


def key_result_out(membership: Membership, pk: int) -> KeyResult:
    """A key result as the API shows it, numbered."""
    kr = get_key_result_for_member(membership, pk)
    return with_key_result_numbers(membership, [kr])[0]


@router.get("/key-results/{pk}", response=KeyResultOut, summary="One key result")
def get_key_result(
    request: HttpRequest, response: HttpResponse, pk: Path[Id]
) -> KeyResult:
    return tag(response, KeyResultFields, key_result_out(membership_of(request), pk))


@router.post(
    "/objectives/{pk}/key-results",
    response={201: KeyResultOut},
    summary="Add a key result",
)
def create_key_result(
    request: HttpRequest, response: HttpResponse, pk: Path[Id], body: KeyResultIn
) -> Status[KeyResult]:
    membership = membership_of(request)
    objective = get_objective_for_member(membership, pk, write=True)
    values = body.model_dump()
    values["owner"] = values["owner"] or objective.owner_id
    form = bound(
        KeyResultForm,
        values,
        membership=membership,
        objective=objective,
        clear_unused=False,
    )
    data = {k: v for k, v in form.cleaned_data.items() if v is not None and v != ""}
    kr = actions.create_key_result(objective=objective, **data)
    return created(response, "key-results", key_result_out(membership, kr.pk))


@router.patch("/key-results/{pk}", response=KeyResultOut, summary="Change a key result")
def update_key_result(
    request: HttpRequest,
    response: HttpResponse,
    pk: Path[Id],
    body: KeyResultPatch,
    if_match: str | None = IF_MATCH,
) -> KeyResult:
    membership = membership_of(request)
    with transaction.atomic():
        kr = check_if_match(
            if_match,
            KeyResultFields,
            lambda: get_key_result_for_member(membership, pk, write=True),
        )
        _, changed = bound_patch(
            KeyResultForm,
            body.model_dump(exclude_unset=True),
            instance=copy.copy(kr),
            membership=membership,
            objective=kr.objective,
            clear_unused=False,
        )
        if changed:
            actions.update_key_result(key_result=kr, **changed)
    return tag(response, KeyResultFields, key_result_out(membership, pk))


# Check-ins (append-only)


class CheckInOut(Schema):
    id: int
    key_result_id: int
    author_id: int
    source: Literal["person", "kpi", "import"] = Field(
        description="`person`: someone's check-in; `kpi`: the tracked KPI's new value "
        "(no status, no confidence); `import`: history an admin sent with a past "
        "`checked_in_at` (its `author` is the admin)."
    )
    value: DecimalOut | None
    done: bool | None
    status: str = Field(
        description="The person's status; empty from a KPI (and in imported "
        "history without one)."
    )
    confidence: int | None
    moved: str
    blocks: str
    created_at: datetime = Field(
        description="When the check-in was: its `checked_in_at` when imported."
    )


class CheckInIn(In):
    value: DecimalIn | None = Field(
        None, description="For metric and threshold key results."
    )
    done: bool | None = Field(None, description="For milestones.")
    status: KRStatus = "on_track"
    confidence: int | None = Field(None, ge=1, le=10)
    moved: Annotated[Text, Field(max_length=5000)] = ""
    blocks: Annotated[Text, Field(max_length=5000)] = ""
    checked_in_at: DateTimeIn | None = Field(
        None,
        description="Admins only: when it was, to import history (ISO 8601 with "
        "an offset), from the period's first day until now. The check-in is marked "
        "`import`; one older than the key result's latest check-in leaves its "
        "current value as it is. Left out: now.",
    )


class CheckInFilters(Filters):
    key_result: int | None = Field(None, ge=1, le=MAX_ID)
    objective: int | None = Field(None, ge=1, le=MAX_ID)
    author: int | None = Field(None, ge=1, le=MAX_ID)
    since: DateTimeIn | None = None
    until: DateTimeIn | None = None
    sort: Literal["created_at", "-created_at"] = "-created_at"
    limit: int = Limit
    cursor: str | None = Cursor


class CheckInPage(Page[CheckInOut]):
    pass


@router.get("/check-ins", response=CheckInPage, summary="List check-ins")
def list_checkins(request: HttpRequest, q: Query[CheckInFilters]) -> dict[str, Any]:
    membership = membership_of(request)
    # Visibility checked row by row (two lookups by primary key) while the newest
    # check-ins are read in index order: `objective__in` made the database collect
    # the organization's every check-in and sort them for each page.
    shown_objective = objectives_for_member(membership).filter(
        pk=OuterRef("objective_id")
    )
    shown_key_result = KeyResult.objects.filter(pk=OuterRef("key_result_id")).filter(
        Exists(shown_objective)
    )
    rows = CheckIn.objects.filter(organization=membership.organization).filter(
        Exists(shown_key_result)
    )
    if q.key_result is not None:
        rows = rows.filter(key_result_id=q.key_result)
    if q.objective is not None:
        rows = rows.filter(key_result__objective_id=q.objective)
    if q.author is not None:
        rows = rows.filter(author_id=q.author)
    if q.since is not None:
        rows = rows.filter(created_at__gte=q.since)
    if q.until is not None:
        rows = rows.filter(created_at__lt=q.until)
    return paginate(rows, sort=q.sort, cursor=q.cursor, limit=q.limit)


@router.post(
    "/key-results/{pk}/check-ins",
    response={201: CheckInOut},
    summary="Check in on a key result",
)
def create_checkin(
    request: HttpRequest, pk: Path[Id], body: CheckInIn
) -> Status[CheckIn]:
    membership = membership_of(request)
    kr = get_key_result_for_member(membership, pk, write=True)
    values: dict[str, Any] = body.model_dump()
    at = values.pop("checked_in_at")
    if at is not None and not membership.is_admin:
        raise PermissionDenied(
            "Only organization admins can send a check-in with a past time "
            "(checked_in_at): leave it out to check in now."
        )
    if values["done"] is not None:
        values["done"] = "yes" if values["done"] else "no"
    form = bound(CheckInForm, values, key_result=kr)
    data = form.cleaned_data
    checkin = actions.record_checkin(
        at=at,
        source=CheckIn.Source.PERSON if at is None else CheckIn.Source.IMPORT,
        key_result=kr,
        author=membership.user,
        status=data["status"],
        value=data.get("value"),
        done=data.get("done"),
        confidence=data.get("confidence"),
        moved=data.get("moved", ""),
        blocks=data.get("blocks", ""),
    )
    return Status(201, checkin)


# Initiatives

InitiativeStatus = Literal["not_started", "in_progress", "done", "blocked"]


class InitiativeOut(Schema):
    id: int
    key_result_id: int
    title: str
    status: str
    url: str
    owner_id: int | None
    created_at: datetime


# A link: an absolute URI (ASCII; a host in another script in its punycode), which
# the web's form then checks as it checks the web's (http, https, ftp or ftps), or ""
# for none. Said as a URI reference that is "" or absolute: JSON Schema's "uri"
# excludes "", and fuzzers read an anyOf of "uri" and "" as excluding it too.
URI_PATTERN = r"^[A-Za-z][A-Za-z0-9+.\-]*://[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+$"
LINK_PATTERN = f"^$|{URI_PATTERN}"
LINK_SCHEMA: dict[str, Any] = {
    "type": "string",
    "format": "uri-reference",
    "maxLength": 200,
    "pattern": LINK_PATTERN,
}
LINK_CHECK = Field(max_length=200, pattern=LINK_PATTERN)
Link = Annotated[
    str,
    LINK_CHECK,
    WithJsonSchema(
        {
            **LINK_SCHEMA,
            "description": 'An absolute link (http, https, ftp or ftps), or "" for '
            "none.",
        }
    ),
]
# Flat (not an anyOf of Link and null), as generators and fuzzers read best.
LinkOrNull = Annotated[
    Annotated[str, LINK_CHECK] | None,
    WithJsonSchema(
        {
            "anyOf": [LINK_SCHEMA, {"type": "null"}],
            "description": 'An absolute link (http, https, ftp or ftps); "" or null: '
            "none.",
        }
    ),
]


class InitiativeIn(In):
    title: Annotated[Name, Field(max_length=200)]
    status: InitiativeStatus = "not_started"
    url: Link = ""
    owner: Id | None = None


class InitiativePatch(Patch):
    title: Annotated[Name, Field(max_length=200)] = LEFT_OUT
    status: InitiativeStatus = LEFT_OUT
    url: LinkOrNull = None
    owner: Id | None = Field(None, description="null: no owner.")


class InitiativeFilters(Filters):
    key_result: int | None = Field(None, ge=1, le=MAX_ID)
    owner: int | None = Field(None, ge=1, le=MAX_ID)
    status: InitiativeStatus | None = None
    sort: Literal["created_at", "-created_at", "title", "-title"] = "created_at"
    limit: int = Limit
    cursor: str | None = Cursor


class InitiativePage(Page[InitiativeOut]):
    pass


@router.get("/initiatives", response=InitiativePage, summary="List initiatives")
def list_initiatives(
    request: HttpRequest, q: Query[InitiativeFilters]
) -> dict[str, Any]:
    membership = membership_of(request)
    rows = Initiative.objects.filter(
        organization=membership.organization,
        key_result__objective__in=objectives_for_member(membership).values("pk"),
    )
    for name in ("key_result", "owner", "status"):
        if (value := getattr(q, name)) is not None:
            rows = rows.filter(**{name: value})
    return paginate(rows, sort=q.sort, cursor=q.cursor, limit=q.limit)


@router.get("/initiatives/{pk}", response=InitiativeOut, summary="One initiative")
def get_initiative(
    request: HttpRequest, response: HttpResponse, pk: Path[Id]
) -> Initiative:
    return tag(
        response, InitiativeOut, get_initiative_for_member(membership_of(request), pk)
    )


@router.post(
    "/key-results/{pk}/initiatives",
    response={201: InitiativeOut},
    summary="Add an initiative",
)
def create_initiative(
    request: HttpRequest, response: HttpResponse, pk: Path[Id], body: InitiativeIn
) -> Status[Initiative]:
    membership = membership_of(request)
    kr = get_key_result_for_member(membership, pk, write=True)
    form = bound(InitiativeForm, body.model_dump(), membership=membership)
    initiative = actions.create_initiative(key_result=kr, **form.cleaned_data)
    return created(response, "initiatives", initiative)


@router.patch(
    "/initiatives/{pk}", response=InitiativeOut, summary="Change an initiative"
)
def update_initiative(
    request: HttpRequest,
    response: HttpResponse,
    pk: Path[Id],
    body: InitiativePatch,
    if_match: str | None = IF_MATCH,
) -> Initiative:
    membership = membership_of(request)
    with transaction.atomic():
        initiative = check_if_match(
            if_match,
            InitiativeOut,
            lambda: get_initiative_for_member(membership, pk, write=True),
        )
        _, changed = bound_patch(
            InitiativeForm,
            body.model_dump(exclude_unset=True),
            instance=initiative,
            membership=membership,
        )
        if changed:
            actions.update_initiative(initiative=initiative, **changed)
    return tag(response, InitiativeOut, get_initiative_for_member(membership, pk))


# Kudos


class KudosOut(Schema):
    id: int
    sender_id: int
    recipient_id: int
    message: str
    objective_id: int | None
    key_result_id: int | None
    created_at: datetime


class KudosIn(In):
    recipient: Id = Field(
        description="Someone behind the objective (owner, KR owner, team)."
    )
    message: Annotated[Name, Field(max_length=500)]


class KudosFilters(Filters):
    objective: int | None = Field(None, ge=1, le=MAX_ID)
    recipient: int | None = Field(None, ge=1, le=MAX_ID)
    sender: int | None = Field(None, ge=1, le=MAX_ID)
    sort: Literal["created_at", "-created_at"] = "-created_at"
    limit: int = Limit
    cursor: str | None = Cursor


class KudosPage(Page[KudosOut]):
    pass


@router.get("/kudos", response=KudosPage, summary="List kudos")
def list_kudos(request: HttpRequest, q: Query[KudosFilters]) -> dict[str, Any]:
    membership = membership_of(request)
    visible = objectives_for_member(membership).values("pk")
    rows = Kudos.objects.filter(organization=membership.organization).filter(
        Q(objective__isnull=True) | Q(objective__in=visible),
        Q(key_result__isnull=True) | Q(key_result__objective__in=visible),
    )
    for name in ("objective", "recipient", "sender"):
        if (value := getattr(q, name)) is not None:
            rows = rows.filter(**{name: value})
    return paginate(rows, sort=q.sort, cursor=q.cursor, limit=q.limit)


@router.post(
    "/objectives/{pk}/kudos",
    response={201: KudosOut},
    summary="Give kudos on an objective",
)
def create_kudos(request: HttpRequest, pk: Path[Id], body: KudosIn) -> Status[Kudos]:
    membership = membership_of(request)
    objective = get_objective_for_member(membership, pk)
    require_write(membership)
    form = bound(
        KudosForm, body.model_dump(), membership=membership, objective=objective
    )
    kudos = actions.give_kudos(
        sender=membership.user,
        org=membership.organization,
        objective=objective,
        **form.cleaned_data,
    )
    return Status(201, kudos)
