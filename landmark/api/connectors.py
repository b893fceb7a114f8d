"""A KPI's connector through the API: read, set, remove, test (nothing saved), run
now, and its run history. Admins and the KPI's owner only, as on the web
(landmark.connectors.access); another organization's KPI is a 404."""

from datetime import datetime, time
from typing import Annotated, Any, Literal

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest
from ninja import Body, Field, Path, Router, Schema, Status
from pydantic import BeforeValidator

from landmark.api.auth import membership_of
from landmark.api.problems import Conflict
from landmark.api.schemas import Id, In
from landmark.connectors import actions, definitions
from landmark.connectors.access import connector_of, get_kpi_for_connector
from landmark.connectors.models import Connector, ConnectorRun
from landmark.connectors.tasks import execute_run
from landmark.kpis.models import KPI
from landmark.lib.encryption import Unreadable
from landmark.orgs.access import require_admin

router = Router(tags=["connectors"])
# Connectors as code; mounted before the KPIs' router, whose /kpis/{pk} would
# otherwise answer /kpis/definitions.
definitions_router = Router(tags=["connectors"])
RUNS_LISTED = 50

Kind = Literal["sql", "http_json", "csv_url"]
ScheduleKind = Literal["hourly", "daily", "weekly", "cron"]


def parse_clock(value: Any) -> Any:
    if not isinstance(value, str) or len(value) != 5:
        raise ValueError("Send a time of day as a string, HH:MM.")
    return time.fromisoformat(value)


ClockIn = Annotated[time, BeforeValidator(parse_clock)]
Short = Annotated[str, Field(max_length=2000, pattern=r"^[^\x00]*$")]


class ConnectorIn(In):
    """The whole connector (PUT). Secrets (`database_url`, `url`, `headers`) are
    write-only: absent, empty or null keeps the stored ones. A secret may be
    `${ENV_VAR}`."""

    kind: Kind
    query: Annotated[str, Field(max_length=10_000, pattern=r"^[^\x00]*$")] = ""
    url: Short | None = None
    expression: Short = ""
    time_column: Short = ""
    value_column: Short = ""
    database_url: Short | None = None
    headers: dict[Short, Short] | None = None
    schedule: ScheduleKind = "daily"
    at_time: ClockIn = time(6, 0)
    weekday: Annotated[int, Field(ge=0, le=6)] = 0
    cron: Annotated[str, Field(max_length=120, pattern=r"^[^\x00]*$")] = ""
    enabled: bool = True


class ConnectorOut(Schema):
    kpi: int
    kind: Kind
    query: str
    url: str = Field(
        description="Masked: scheme and host only (the path and query may hold a token)."
    )
    expression: str
    time_column: str
    value_column: str
    database_url: str = Field(description="Masked: the password never comes back.")
    header_names: list[str] = Field(description="The headers set; never their values.")
    schedule: ScheduleKind
    at_time: time
    weekday: int
    cron: str
    enabled: bool
    failures: int = Field(description="Failed runs in a row.")
    failing: bool
    next_run_at: datetime | None
    last_run_at: datetime | None


class RunOut(Schema):
    id: int
    trigger: Literal["schedule", "manual"]
    started_at: datetime
    finished_at: datetime | None
    duration_ms: int | None
    rows_read: int
    created: int
    updated: int
    unchanged: int
    error: str


class PreviewRowOut(Schema):
    line: int
    time: str
    value: str


class ProblemRowOut(Schema):
    row: int
    field: str
    reason: str


class PreviewWindowOut(Schema):
    start: str
    value: str
    health: str


class PreviewOut(Schema):
    ok: bool
    error: str
    rows_read: int
    rows: list[PreviewRowOut]
    problems: list[ProblemRowOut]
    windows: list[PreviewWindowOut]
    created: int
    updated: int
    unchanged: int


def connector_out(connector: Connector) -> dict[str, Any]:
    parts: dict[str, Any] = {}
    try:
        parts = connector.secret_parts()
    except Unreadable:
        parts = {}
    headers = parts.get("headers")
    url = parts.get("database_url")
    address = parts.get("url")
    return {
        "kpi": connector.kpi_id,
        "kind": connector.kind,
        **{
            name: str(connector.settings.get(name, ""))
            for name in ("query", "expression", "time_column", "value_column")
        },
        "url": actions.mask_address(address)
        if isinstance(address, str) and address
        else "",
        "database_url": actions.mask_url(url) if isinstance(url, str) and url else "",
        "header_names": sorted(headers) if isinstance(headers, dict) else [],
        "schedule": connector.schedule,
        "at_time": connector.at_time,
        "weekday": connector.weekday,
        "cron": connector.cron,
        "enabled": connector.enabled,
        "failures": connector.failures,
        "failing": actions.is_failing(connector),
        "next_run_at": connector.next_run_at,
        "last_run_at": connector.last_run_at,
    }


def existing(kpi: KPI) -> Connector:
    connector = connector_of(kpi)
    if connector is None:
        raise Http404("This KPI has no connector.")
    return connector


def input_of(body: ConnectorIn) -> actions.ConnectorInput:
    secrets: dict[str, Any] = {}
    if body.database_url:
        secrets["database_url"] = body.database_url
    if body.url and body.url.strip():
        secrets["url"] = body.url.strip()
    if body.headers:
        secrets["headers"] = dict(body.headers)
    return actions.ConnectorInput(
        kind=body.kind,
        settings={
            "query": body.query,
            "expression": body.expression,
            "time_column": body.time_column,
            "value_column": body.value_column,
        },
        secrets=secrets,
        schedule=body.schedule,
        at_time=body.at_time,
        weekday=body.weekday,
        cron=body.cron,
        enabled=body.enabled,
    )


@router.get(
    "/kpis/{pk}/connector", response=ConnectorOut, summary="The KPI's connector"
)
def get_connector(request: HttpRequest, pk: Path[Id]) -> dict[str, Any]:
    kpi = get_kpi_for_connector(membership_of(request), pk)
    return connector_out(existing(kpi))


@router.put(
    "/kpis/{pk}/connector", response=ConnectorOut, summary="Set the KPI's connector"
)
def put_connector(
    request: HttpRequest, pk: Path[Id], body: ConnectorIn
) -> dict[str, Any]:
    membership = membership_of(request)
    kpi = get_kpi_for_connector(membership, pk)
    try:
        connector = actions.save_connector(
            kpi=kpi, membership=membership, data=input_of(body)
        )
    except actions.ConnectorInvalid as invalid:
        raise ValidationError(
            {name: [message] for name, message in invalid.errors.items()}
        ) from None
    return connector_out(connector)


@router.delete(
    "/kpis/{pk}/connector", response={204: None}, summary="Remove the KPI's connector"
)
def delete_connector(request: HttpRequest, pk: Path[Id]) -> Status[None]:
    kpi = get_kpi_for_connector(membership_of(request), pk)
    actions.delete_connector(connector=existing(kpi))
    return Status(204, None)


@router.post(
    "/kpis/{pk}/connector/test",
    response=PreviewOut,
    summary="Test the connector: the rows it would import, saving nothing",
)
def test_connector(request: HttpRequest, pk: Path[Id]) -> dict[str, Any]:
    membership = membership_of(request)
    kpi = get_kpi_for_connector(membership, pk)
    preview = actions.preview_connector(connector=existing(kpi), membership=membership)
    return preview.as_dict()


@router.post(
    "/kpis/{pk}/connector/run",
    response={202: RunOut},
    summary="Run the connector now",
)
def run_connector(request: HttpRequest, pk: Path[Id]) -> Status[ConnectorRun]:
    kpi = get_kpi_for_connector(membership_of(request), pk)
    connector = existing(kpi)
    run = actions.start_run(connector, trigger=ConnectorRun.Trigger.MANUAL)
    if run is None:
        raise Conflict("A run of this connector is already under way.")
    execute_run(run.pk)
    run.refresh_from_db()
    return Status(202, run)


@router.get(
    "/kpis/{pk}/connector/runs",
    response=list[RunOut],
    summary=f"The connector's latest runs (at most {RUNS_LISTED}), newest first",
)
def list_runs(request: HttpRequest, pk: Path[Id]) -> list[ConnectorRun]:
    kpi = get_kpi_for_connector(membership_of(request), pk)
    return list(ConnectorRun.objects.filter(connector=existing(kpi))[:RUNS_LISTED])


# Connectors as code (landmark.connectors.definitions, docs/connectors.md)


class DefinitionsImportOut(Schema):
    dry_run: bool = Field(description="True: nothing was saved (a preview).")
    created: list[str] = Field(description="Keys of the KPIs created (or to create).")
    updated: list[str] = Field(description="Keys of the KPIs updated (or to update).")
    connectors: list[str] = Field(
        description="Keys of the KPIs whose connector is set."
    )


@definitions_router.get(
    "/kpis/definitions",
    response=dict[str, Any],
    summary="Export the KPI definitions and their connectors (admins)",
    description="A versioned JSON document; connector secrets only as `${ENV_VAR}` "
    "references (an inline secret is withheld: null, and named in `withheld`).",
)
def export_definitions(request: HttpRequest) -> dict[str, Any]:
    membership = membership_of(request)
    require_admin(membership)
    return definitions.export_definitions(membership.organization)


@definitions_router.post(
    "/kpis/definitions",
    response=DefinitionsImportOut,
    summary="Import KPI definitions and their connectors (admins; all or nothing)",
    description="Matched by KPI key: created or updated. `dry_run=true` (the "
    "default) previews and saves nothing. Problems come back as a 422 with each "
    "item's JSON path in `errors[].field`.",
)
def import_definitions(
    request: HttpRequest, body: Body[dict[str, Any]], dry_run: bool = True
) -> definitions.ImportResult:
    membership = membership_of(request)
    require_admin(membership)
    try:
        return definitions.import_definitions(
            membership=membership, document=body, dry_run=dry_run
        )
    except definitions.DefinitionsInvalid as invalid:
        raise ValidationError(
            {e["path"] or "__all__": [e["message"]] for e in invalid.errors}
        ) from None
