"""KPIs, their targets per window, data points, and where KPIs meet OKRs (Fix with
an OKR, Keep as a KPI, the OKRs working on a KPI).

Routes reach KPIs through kpis.access (private KPIs follow the web's visibility),
validate with the web's forms and write through kpis.actions.
"""

import copy
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Field, Path, Query, Router, Schema, Status

from landmark.api.auth import membership_of
from landmark.api.etags import IF_MATCH, check_if_match, tag
from landmark.api.forms_bridge import bound, bound_patch
from landmark.api.numbers import kpi_numbers, with_kpi_numbers
from landmark.api.okrs import (
    ObjectiveOut,
    numbered_objectives,
    objective_out,
    objectives_out,
)
from landmark.api.pagination import Cursor, Limit, Page, paginate
from landmark.api.problems import Conflict
from landmark.api.responses import created
from landmark.api.schemas import (
    LEFT_OUT,
    MAX_ID,
    NO_NUL,
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
from landmark.kpis import actions
from landmark.kpis.access import (
    get_kpi_for_member,
    get_point_for_member,
    kpis_for_member,
)
from landmark.kpis.forms import KPIForm
from landmark.kpis.models import KPI, DataPoint, KPIQuerySet, KPITarget
from landmark.loop import actions as loop_actions
from landmark.notify import actions as notify_actions
from landmark.okrs.access import (
    get_key_result_for_member,
    get_period_for_member,
    period_for_new_work,
)
from landmark.orgs.access import require_write
from landmark.orgs.models import Membership

router = Router(tags=["kpis"])
EMPTIES = "null empties it."

Indicator = Literal["lead", "lag"]
Frequency = Literal["daily", "weekly", "monthly", "quarterly"]
Aggregation = Literal["last", "sum", "mean", "min", "max"]
TargetKind = Literal["", "at_least", "above", "at_most", "below", "between", "equal"]
Visibility = Literal["public", "private"]
HUNDRED = Decimal(100)


TARGET_KINDS = (
    "at_least (value ≥ low), above (value > low), at_most (value ≤ high), below "
    "(value < high), between (low ≤ value ≤ high), equal (value = low; high is set "
    'to the same value); "": no target.'
)

Health = Literal["healthy", "warning", "unhealthy", "no_target", "stale", "no_data"]


class KPIFields(Schema):
    """A KPI's own fields: what its ETag covers."""

    id: int
    name: str
    key: str
    definition: str
    owner_id: int | None
    team_id: int | None
    unit: str
    category: str
    indicator: str
    frequency: str
    aggregation: str
    target_kind: str = Field(description=TARGET_KINDS)
    target_low: DecimalOut | None
    target_high: DecimalOut | None
    tolerance: DecimalOut = Field(
        description="Warning tolerance as a share (0.10 = 10 %)."
    )
    is_key: bool
    visibility: str
    archived: bool
    # Stored on the KPI by kpis.current.refresh_current whenever a point, target or
    # the KPI changes: the latest window's value, as the dashboards read it.
    current_value: DecimalOut | None = Field(
        description="The value of the latest window with data."
    )
    created_at: datetime
    updated_at: datetime


class KPIOut(KPIFields):
    """A KPI with the numbers its page and dashboard tile show, read from its
    windows (the last 12) when it is read."""

    current_window_start: date | None = Field(
        description="The first day of the window `current_value` is the value of."
    )
    health: Health = Field(
        description="The current window's value against its target: `warning` within "
        "the tolerance; `stale` with no data within its window plus grace."
    )
    current_target_low: DecimalOut | None = Field(
        description="The current window's target (its own from the targets per "
        "window, else the KPI's): at least / above / between this; an `equal` "
        "target's value."
    )
    current_target_high: DecimalOut | None = Field(
        description="The current window's target: at most / below / between this; "
        "an `equal` target's value again."
    )
    unhealthy_streak: int = Field(
        description="Consecutive unhealthy windows, up to the latest with data."
    )
    trend: float | None = Field(
        description="Change per window (least-squares slope over the last 12 windows "
        "with data); null with fewer than two."
    )
    forecast_windows: float | None = Field(
        description="On this trend, windows after the latest until the target holds: "
        "0 when it holds; null without a target or when the trend does not lead there."
    )

    @staticmethod
    def resolve_current_window_start(obj: KPI) -> date | None:
        return kpi_numbers(obj).current_start

    @staticmethod
    def resolve_health(obj: KPI) -> str:
        return kpi_numbers(obj).health.value

    @staticmethod
    def resolve_current_target_low(obj: KPI) -> Decimal | None:
        return kpi_numbers(obj).current_target.low

    @staticmethod
    def resolve_current_target_high(obj: KPI) -> Decimal | None:
        return kpi_numbers(obj).current_target.high

    @staticmethod
    def resolve_unhealthy_streak(obj: KPI) -> int:
        return kpi_numbers(obj).streak

    @staticmethod
    def resolve_trend(obj: KPI) -> float | None:
        return kpi_numbers(obj).trend

    @staticmethod
    def resolve_forecast_windows(obj: KPI) -> float | None:
        return kpi_numbers(obj).forecast


class KPIIn(In):
    name: Annotated[Name, Field(max_length=120)]
    key: Annotated[Text, Field(max_length=80)] = ""
    definition: Annotated[Text, Field(max_length=10000)] = ""
    owner: Id | None = None
    team: Id | None = None
    unit: Annotated[Text, Field(max_length=20)] = ""
    category: Annotated[Text, Field(max_length=60)] = ""
    indicator: Indicator = "lag"
    frequency: Frequency = "monthly"
    aggregation: Aggregation = "last"
    target_kind: TargetKind = Field(default="", description=TARGET_KINDS)
    target_low: DecimalIn | None = Field(
        default=None, description="at_least, above, between; the value of equal."
    )
    target_high: DecimalIn | None = Field(
        default=None,
        description="at_most, below, between; for equal, left out or the same value.",
    )
    tolerance: DecimalIn = Field(
        default=Decimal("0.1"), description="Share, 0 to 9.99."
    )
    is_key: bool = False
    visibility: Visibility = "public"


class KPIPatch(Patch):
    name: Annotated[Name, Field(max_length=120)] = LEFT_OUT
    key: Annotated[Text, Field(max_length=80)] | None = Field(None, description=EMPTIES)
    definition: Annotated[Text, Field(max_length=10000)] | None = Field(
        None, description=EMPTIES
    )
    owner: Id | None = Field(None, description="null: no owner.")
    team: Id | None = Field(None, description="null: company-wide.")
    unit: Annotated[Text, Field(max_length=20)] | None = Field(
        None, description=EMPTIES
    )
    category: Annotated[Text, Field(max_length=60)] | None = Field(
        None, description=EMPTIES
    )
    indicator: Indicator = LEFT_OUT
    frequency: Frequency = LEFT_OUT
    aggregation: Aggregation = LEFT_OUT
    target_kind: TargetKind | None = Field(
        None, description=f'{TARGET_KINDS} null: no target (as "").'
    )
    target_low: DecimalIn | None = Field(None, description=EMPTIES)
    target_high: DecimalIn | None = Field(None, description=EMPTIES)
    tolerance: DecimalIn = LEFT_OUT
    is_key: bool = LEFT_OUT
    visibility: Visibility = LEFT_OUT
    archived: bool = LEFT_OUT


class KPIFilters(Filters):
    team: int | None = Field(None, ge=1, le=MAX_ID)
    owner: int | None = Field(None, ge=1, le=MAX_ID)
    category: str | None = Field(None, max_length=60, pattern=NO_NUL)
    is_key: bool | None = None
    archived: bool | None = Field(
        False, description="Archived KPIs are left out unless asked."
    )
    health: Health | None = Field(
        None, description="Current health, as the dashboard's filter."
    )
    sort: Literal[
        "name", "-name", "created_at", "-created_at", "updated_at", "-updated_at"
    ] = "name"
    limit: int = Limit
    cursor: str | None = Cursor


def kpis_out(membership: Membership) -> KPIQuerySet:
    return kpis_for_member(membership)


def kpi_out(membership: Membership, pk: int) -> KPI:
    """A KPI as the API shows it, numbered."""
    return with_kpi_numbers([kpis_out(membership).get(pk=pk)])[0]


def form_values(values: dict[str, Any]) -> dict[str, Any]:
    """The KPI form reads the tolerance in percent; the API speaks shares."""
    if values.get("tolerance") is not None:
        values["tolerance"] = Decimal(values["tolerance"]) * HUNDRED
    return values


class KPIPage(Page[KPIOut]):
    pass


@router.get("/kpis", response=KPIPage, summary="List KPIs")
def list_kpis(request: HttpRequest, q: Query[KPIFilters]) -> dict[str, Any]:
    sent = {
        name: value
        for name in ("team", "owner", "category", "is_key", "archived")
        if (value := getattr(q, name)) is not None
    }
    now = timezone.now()
    rows = kpis_out(membership_of(request)).filter(**sent)
    if q.health is not None:
        # The health stored with each KPI's latest window (kpis.current), stale read
        # now: the dashboard's filter, and what load_kpi_views shows.
        rows = rows.with_health(now).filter(health=q.health)  # type: ignore[misc]  # with_health annotates `health`
    page = paginate(rows, sort=q.sort, cursor=q.cursor, limit=q.limit)
    page["items"] = with_kpi_numbers(page["items"], now)
    return page


@router.get("/kpis/{pk}", response=KPIOut, summary="One KPI")
def get_kpi(request: HttpRequest, response: HttpResponse, pk: Path[Id]) -> KPI:
    membership = membership_of(request)
    get_kpi_for_member(membership, pk)
    return tag(response, KPIFields, kpi_out(membership, pk))


@router.post("/kpis", response={201: KPIOut}, summary="Create a KPI")
def create_kpi(
    request: HttpRequest, response: HttpResponse, body: KPIIn
) -> Status[KPI]:
    membership = membership_of(request)
    require_write(membership)
    form = bound(KPIForm, form_values(body.model_dump()), membership=membership)
    kpi = actions.create_kpi(org=membership.organization, **form.cleaned_data)
    return created(response, "kpis", kpi_out(membership, kpi.pk))


def change_kpi(membership: Membership, kpi: KPI, sent: dict[str, Any]) -> None:
    form, fields = bound_patch(
        KPIForm, form_values(sent), instance=copy.copy(kpi), membership=membership
    )
    if "target_kind" in fields:
        # As the web's edit view: the bounds go with their kind (a bound the kind
        # does not use is dropped; "equal to" holds its value as both).
        fields = {
            **fields,
            "target_low": form.cleaned_data["target_low"],
            "target_high": form.cleaned_data["target_high"],
        }
    if fields:
        actions.update_kpi(kpi=kpi, **fields)


@router.patch("/kpis/{pk}", response=KPIOut, summary="Change a KPI")
def update_kpi(
    request: HttpRequest,
    response: HttpResponse,
    pk: Path[Id],
    body: KPIPatch,
    if_match: str | None = IF_MATCH,
) -> KPI:
    membership = membership_of(request)
    with transaction.atomic():
        kpi = check_if_match(
            if_match,
            KPIFields,
            lambda: get_kpi_for_member(membership, pk, write=True),
            shown=lambda _: kpis_out(membership).get(pk=pk),
        )
        change_kpi(membership, kpi, body.model_dump(exclude_unset=True))
    return tag(response, KPIFields, kpi_out(membership, pk))


@router.post(
    "/kpis/{pk}/archive", response=KPIOut, summary="Archive a KPI (its data is kept)"
)
def archive_kpi(request: HttpRequest, pk: Path[Id]) -> KPI:
    membership = membership_of(request)
    kpi = get_kpi_for_member(membership, pk, write=True)
    actions.update_kpi(kpi=kpi, archived=True)
    return kpi_out(membership, pk)


@router.post(
    "/kpis/{pk}/unarchive", response=KPIOut, summary="Bring an archived KPI back"
)
def unarchive_kpi(request: HttpRequest, pk: Path[Id]) -> KPI:
    membership = membership_of(request)
    kpi = get_kpi_for_member(membership, pk, write=True)
    actions.update_kpi(kpi=kpi, archived=False)
    return kpi_out(membership, pk)


# Watching (KPI alerts: docs/notifications.md)


class WatchOut(Schema):
    watching: bool = Field(
        description="Whether you are told when this KPI turns unhealthy, goes stale "
        "or recovers (its owner always is)."
    )


@router.get("/kpis/{pk}/watch", response=WatchOut, summary="Whether you watch a KPI")
def get_watch(request: HttpRequest, pk: Path[Id]) -> dict[str, bool]:
    membership = membership_of(request)
    kpi = get_kpi_for_member(membership, pk)
    return {"watching": notify_actions.is_watching(kpi=kpi, user=membership.user)}


@router.put(
    "/kpis/{pk}/watch",
    response=WatchOut,
    summary="Watch a KPI: be told of its health changes",
)
def put_watch(request: HttpRequest, pk: Path[Id]) -> dict[str, bool]:
    membership = membership_of(request)
    kpi = get_kpi_for_member(membership, pk, write=True)
    watching = notify_actions.set_watching(kpi=kpi, user=membership.user, watching=True)
    return {"watching": watching}


@router.delete("/kpis/{pk}/watch", response=WatchOut, summary="Stop watching a KPI")
def delete_watch(request: HttpRequest, pk: Path[Id]) -> dict[str, bool]:
    membership = membership_of(request)
    kpi = get_kpi_for_member(membership, pk, write=True)
    watching = notify_actions.set_watching(
        kpi=kpi, user=membership.user, watching=False
    )
    return {"watching": watching}


# Targets per window


class WindowTarget(Schema):
    window_start: date
    low: DecimalOut | None
    high: DecimalOut | None


class WindowTargetIn(In):
    window_start: DateIn = Field(
        description="The first day of a window of the KPI's frequency."
    )
    low: DecimalIn | None = None
    high: DecimalIn | None = None


class TargetsIn(In):
    targets: list[WindowTargetIn] = Field(max_length=1000)


class TargetsOut(Schema):
    targets: list[WindowTarget]


def targets_of(kpi: KPI) -> dict[str, Any]:
    rows = KPITarget.objects.filter(organization_id=kpi.organization_id, kpi=kpi)
    return {"targets": list(rows)}


@router.get(
    "/kpis/{pk}/targets", response=TargetsOut, summary="The KPI's targets per window"
)
def get_targets(request: HttpRequest, pk: Path[Id]) -> dict[str, Any]:
    return targets_of(get_kpi_for_member(membership_of(request), pk))


@router.put(
    "/kpis/{pk}/targets",
    response=TargetsOut,
    summary="Replace the KPI's targets per window",
)
def put_targets(request: HttpRequest, pk: Path[Id], body: TargetsIn) -> dict[str, Any]:
    kpi = get_kpi_for_member(membership_of(request), pk, write=True)
    schedule = [(t.window_start, t.low, t.high) for t in body.targets]
    actions.set_kpi_targets(kpi=kpi, schedule=schedule)
    return targets_of(kpi)


# Data points


class PointOut(Schema):
    id: int
    kpi_id: int
    time: datetime
    value: DecimalOut
    source: str
    author_id: int | None
    note: str
    is_current: bool
    replaced_by_id: int | None
    created_at: datetime


class PointIn(In):
    value: DecimalIn
    time: DateTimeIn | None = Field(
        None,
        description="With its offset; defaults to now. A second value at the same time is a correction.",
    )
    note: Annotated[Text, Field(max_length=500)] = ""


class CorrectionIn(In):
    value: DecimalIn
    note: Annotated[Text, Field(max_length=500)] = ""


class PointFilters(Filters):
    since: DateTimeIn | None = None
    until: DateTimeIn | None = None
    include_replaced: bool = Field(
        False, description="Also the versions that corrections replaced."
    )
    sort: Literal["time", "-time", "created_at", "-created_at"] = "-time"
    limit: int = Limit
    cursor: str | None = Cursor


class PointPage(Page[PointOut]):
    pass


@router.get("/kpis/{pk}/points", response=PointPage, summary="The KPI's data points")
def list_points(
    request: HttpRequest, pk: Path[Id], q: Query[PointFilters]
) -> dict[str, Any]:
    kpi = get_kpi_for_member(membership_of(request), pk)
    rows = DataPoint.objects.filter(organization_id=kpi.organization_id, kpi=kpi)
    if not q.include_replaced:
        rows = rows.filter(is_current=True)
    if q.since is not None:
        rows = rows.filter(time__gte=q.since)
    if q.until is not None:
        rows = rows.filter(time__lt=q.until)
    return paginate(rows, sort=q.sort, cursor=q.cursor, limit=q.limit)


@router.get("/points/{pk}", response=PointOut, summary="One data point")
def get_point(request: HttpRequest, response: HttpResponse, pk: Path[Id]) -> DataPoint:
    return tag(response, PointOut, get_point_for_member(membership_of(request), pk))


@router.post("/kpis/{pk}/points", response={201: PointOut}, summary="Add a value")
def create_point(
    request: HttpRequest, response: HttpResponse, pk: Path[Id], body: PointIn
) -> Status[DataPoint]:
    membership = membership_of(request)
    kpi = get_kpi_for_member(membership, pk, write=True)
    when = body.time or timezone.now()  # DateTimeIn: with its offset, in range
    if when > timezone.now():
        raise ValidationError(
            {"time": "This time is in the future; enter a past time."}
        )
    point = actions.record_data_point(
        kpi=kpi,
        value=body.value,
        time=when,
        note=body.note,
        author=membership.user,
        source=DataPoint.Source.API,
    )
    return created(response, "points", point)


@router.post(
    "/points/{pk}/correct",
    response={201: PointOut},
    summary="Correct a value (a new version)",
)
def correct_point(
    request: HttpRequest, response: HttpResponse, pk: Path[Id], body: CorrectionIn
) -> Status[DataPoint]:
    membership = membership_of(request)
    point = get_point_for_member(membership, pk, write=True)
    if not point.is_current:
        raise Conflict("This value was already corrected; correct the current one.")
    new = actions.correct_data_point(
        point=point, value=body.value, note=body.note, author=membership.user
    )
    return created(response, "points", new)


# Where KPIs meet OKRs


@router.get(
    "/kpis/{pk}/okrs",
    response=list[ObjectiveOut],
    summary="Open OKRs working on the KPI",
)
def kpi_okrs(request: HttpRequest, pk: Path[Id]) -> Any:
    membership = membership_of(request)
    kpi = get_kpi_for_member(membership, pk)
    working = loop_actions.okrs_working_on(kpi).values("pk")
    rows = objectives_out(membership).filter(pk__in=working).order_by("pk")[:500]
    return numbered_objectives(membership, rows)


class FixIn(In):
    period: Id | None = Field(
        None,
        description="Defaults to the current period, or the next one when fewer "
        "than 3 weeks of the current one remain.",
    )


@router.post(
    "/kpis/{pk}/fix-with-okr",
    response={201: ObjectiveOut},
    summary="Fix with an OKR: draft an objective for an unhealthy KPI",
)
def fix_with_okr(
    request: HttpRequest, response: HttpResponse, pk: Path[Id], body: FixIn
) -> Status[Any]:
    membership = membership_of(request)
    kpi = get_kpi_for_member(membership, pk, write=True)
    period = (
        get_period_for_member(membership, body.period)
        if body.period is not None
        else period_for_new_work(membership)
    )
    if period is None:
        raise Conflict("Create a period first: the objective needs one.")
    try:
        objective = loop_actions.fix_with_okr(
            kpi=kpi, period=period, owner=membership.user
        )
    except ValidationError as error:
        if hasattr(error, "error_dict"):
            raise
        raise Conflict(" ".join(error.messages)) from error
    return created(response, "objectives", objective_out(membership, objective.pk))


class KeepIn(In):
    frequency: Frequency = "weekly"


@router.post(
    "/key-results/{pk}/keep-as-kpi",
    response={201: KPIOut},
    summary="Keep a reached key result as a KPI",
)
def keep_as_kpi(
    request: HttpRequest, response: HttpResponse, pk: Path[Id], body: KeepIn
) -> Status[KPI]:
    membership = membership_of(request)
    kr = get_key_result_for_member(membership, pk)
    require_write(membership)
    try:
        kpi = loop_actions.keep_as_kpi(
            key_result=kr, author=membership.user, frequency=body.frequency
        )
    except ValidationError as error:
        if hasattr(error, "error_dict"):
            raise
        raise Conflict(" ".join(error.messages)) from error
    return created(response, "kpis", kpi_out(membership, kpi.pk))
