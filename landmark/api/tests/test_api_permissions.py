"""The API section of the permission matrix (landmark/permissions.toml [api]).

One test per operation × viewpoint: a bearer token of that persona (read and write
scope, so only the role decides) calls one operation on Acme's objects. A refused
call leaves Acme's data exactly as it was; an allowed write from Acme really writes.
A meta-test fails when an operation of the OpenAPI schema is missing from the matrix.
"""

import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from landmark.api.api import api
from landmark.api.models import TOKEN_PREFIX, APIToken
from landmark.api.tests.conftest import ApiClient, token_for
from landmark.conftest import shared_rows
from landmark.connectors import actions as connector_actions
from landmark.notify import actions as notify_actions
from landmark.okrs import actions as okr_actions
from landmark.okrs.models import KeyResult, Period
from landmark.orgs.models import Membership, Organization, User
from landmark.tests.test_permissions import (
    MATRIX,
    OBJECTS,
    OUTSIDERS,
    PERSONAS,
    VIEWPOINTS,
    Acme,
    Rows,
    build_acme,
    persona,
    rows_fixture,  # noqa: F401  # the `rows` fixture
    snapshot,
)

OPERATIONS: dict[str, dict[str, str]] = MATRIX["api"]["operations"]
CELLS = [
    pytest.param(op, viewpoint, id=f"{op}-{viewpoint}")
    for op in OPERATIONS
    for viewpoint in VIEWPOINTS
]
OUTCOMES = {"ok", "401", "403", "404", "409", "422"}
# Allowed operations that answer without saving anything.
# (An import without ?dry_run=false is a preview.)
WRITES_NOTHING = {
    "POST /api/v1/kpis/{pk}/connector/test",
    "POST /api/v1/kpis/definitions",
}
# Query strings an operation needs to answer at all ({pk}: the row's object).
QUERIES = {"GET /api/v1/search": "?q=acme", "GET /api/v1/coach": "?period={pk}"}
CONNECTOR = {
    "kind": "csv_url",
    "url": "https://sheets.example.test/signups.csv",
    "time_column": "week",
    "value_column": "signups",
}


def build_api_acme() -> Acme:
    """The matrix's shared rows, two more periods (one planned, one closed), and a
    bearer token (read and write) of each viewpoint's persona."""
    acme = build_acme()
    org, alice = acme.read("org"), acme.read("alice")
    acme.keep(
        "planning_period",
        okr_actions.create_period(
            org=org,
            name="Next year",
            kind=Period.Kind.YEAR,
            start=timezone.localdate().replace(month=1, day=1) + timedelta(days=400),
            end=timezone.localdate().replace(month=1, day=1) + timedelta(days=764),
        ),
    )
    period = okr_actions.create_period(
        org=org,
        name="Last year",
        kind=Period.Kind.YEAR,
        start=timezone.localdate() - timedelta(days=700),
        end=timezone.localdate() - timedelta(days=336),
        state=Period.State.ACTIVE,
    )
    acme.keep(
        "closed_period",
        okr_actions.close_period(period=period, grades=[], author=alice),
    )
    for viewpoint in VIEWPOINTS:
        if viewpoint == "anonymous":
            continue
        if viewpoint == "sso_scoped":
            acme.tokens[viewpoint] = token_on_the_page(acme.browser(viewpoint))
        else:
            acme.tokens[viewpoint] = token_for(acme.read(PERSONAS[viewpoint]))
    return acme


@pytest.fixture(scope="module")
def acme(django_db_setup, django_db_blocker) -> Iterator[Acme]:
    yield from shared_rows(django_db_blocker, build_api_acme)


API_OBJECTS: dict[str, Callable[[Any], Any]] = {
    **OBJECTS,
    "planning_period": lambda rows: rows["planning_period"],
    "closed_period": lambda rows: rows["closed_period"],
}


def body_for(op: str, user: User | None, rows: Rows) -> Any:
    """A valid body for `op`, as Acme's `user` would send it."""
    method, path = op.split(" ", 1)
    if method == "GET":
        return None
    short = path.removeprefix("/api/v1")
    period: Period = rows["period"]
    month = timezone.localdate().replace(day=1)
    bodies: dict[str, Any] = {
        "PATCH /organization": {"time_zone": "Europe/Paris", "on_track_gap": "0.05"},
        "POST /teams": {"name": "Marketing"},
        "PATCH /teams/{pk}": {"name": "Sales and Success"},
        "POST /periods": {
            "name": "FY 2031",
            "kind": "year",
            "start": "2031-01-01",
            "end": "2031-12-31",
        },
        "PATCH /periods/{pk}": {"name": "Renamed quarter"},
        "POST /periods/{pk}/close": {"retrospective": "Done"},
        "POST /objectives": {
            "title": "Own the mid-market",
            "period": period.pk,
            "level": "company",
        },
        "PATCH /objectives/{pk}": {"title": "Renamed objective"},
        "POST /objectives/{pk}/key-results": {
            "title": "Sign ten customers",
            "start": "0",
            "target": "10",
        },
        "PATCH /key-results/{pk}": {"title": "Sign six customers", "target": "6"},
        "POST /key-results/{pk}/check-ins": {"value": "3", "status": "on_track"},
        "POST /key-results/{pk}/initiatives": {"title": "Run a webinar"},
        "PATCH /initiatives/{pk}": {"status": "in_progress"},
        "POST /kpis": {"name": "Median response time", "unit": "min"},
        "PATCH /kpis/{pk}": {"name": "Deals won (signed)"},
        "PUT /kpis/{pk}/targets": {
            "targets": [{"window_start": month.isoformat(), "low": "120"}]
        },
        "POST /kpis/{pk}/points": {
            "value": "70",
            "time": (timezone.now() - timedelta(minutes=1)).isoformat(),
        },
        "POST /points/{pk}/correct": {"value": "55", "note": "typo"},
        "POST /webhooks": {
            "url": "http://127.0.0.1:9/other-hook",
            "events": ["objective.created"],
        },
        "PATCH /webhooks/{pk}": {"events": ["member.joined", "period.closed"]},
        "POST /objectives/{pk}/comments": {"body": "Looks good"},
        "POST /key-results/{pk}/comments": {"body": "Two signed"},
        "POST /kpis/{pk}/comments": {"body": "Why the dip?"},
        "PATCH /comments/{pk}": {"body": "Kick-off on Tuesday"},
    }
    if f"{method} {short}" == "PUT /kpis/{pk}/connector":
        return {**CONNECTOR, "schedule": "weekly", "at_time": "07:30", "weekday": 2}
    if f"{method} {short}" == "POST /kpis/definitions":
        return {
            "format": "landmark-kpi-definitions",
            "version": 1,
            "kpis": [{"key": "imported-kpi", "name": "Imported KPI"}],
        }
    if f"{method} {short}" == "POST /kpis/points/batch":
        kpi = rows["kpi"]
        when = timezone.now() - timedelta(minutes=2)
        return {"points": [{"kpi": kpi.pk, "time": when.isoformat(), "value": "70"}]}
    if f"{method} {short}" == "POST /objectives/{pk}/kudos":
        bob: User = rows["bob"]
        recipient = rows["team_lead"] if user == bob else bob
        return {"recipient": recipient.pk, "message": "Thanks for the push"}
    return bodies.get(f"{method} {short}", {})


def prepare(op: str, obj: Any, rows: Rows) -> None:
    if "/connector" in op and not op.startswith("PUT "):
        # Acme's KPI has a connector (its source is unreachable: a run records the
        # error, which is the write an allowed run makes).
        connector_actions.save_connector(
            kpi=obj,
            membership=Membership.objects.get(
                organization=obj.organization, user=rows["alice"]
            ),
            data=connector_actions.ConnectorInput(
                kind="csv_url",
                settings={
                    k: v for k, v in CONNECTOR.items() if k not in ("kind", "url")
                },
                secrets={"url": CONNECTOR["url"]},
            ),
        )
    if op == "POST /api/v1/key-results/{pk}/keep-as-kpi":
        okr_actions.record_checkin(
            key_result=obj,
            author=rows["bob"],
            status=KeyResult.Status.ON_TRACK,
            value=Decimal("5"),
        )


def token_on_the_page(browser: Client) -> str:
    """A read-and-write token made on the API tokens page, as a person would."""
    made = browser.post(
        reverse("api_tokens"), {"name": "mine", "scope": "read_write", "expires": "90"}
    )
    assert made.status_code == 302, made.content.decode()[:1000]
    page = browser.get(reverse("api_tokens")).content.decode()
    token = re.search(r'data-testid="new-token">([^<]+)<', page)
    assert token and token[1].startswith(TOKEN_PREFIX), page
    return token[1]


def api_client_of(acme: Acme, viewpoint: str) -> ApiClient:
    """The viewpoint's bearer token (anonymous: none); the SSO-scoped one was made on
    the API tokens page of the session that Other Co's SSO started."""
    return ApiClient(acme.tokens.get(viewpoint))


def acme_data(org: Organization) -> dict[str, Any]:
    """Acme's rows, less the API tokens themselves (each call counts on its token)."""
    data = snapshot(org)
    data.pop(APIToken.__name__, None)
    return data


def outcome_of(status: int) -> str:
    return "ok" if 200 <= status < 300 else str(status)


@pytest.mark.parametrize(("op", "viewpoint"), CELLS)
def test_the_api_answers_as_the_matrix_says(rows, op, viewpoint):
    row = OPERATIONS[op]
    expected = row[viewpoint]
    org: Organization = rows["org"]
    obj = API_OBJECTS[row["object"]](rows)
    prepare(op, obj, rows)
    user = persona(rows, viewpoint)
    if op == "DELETE /api/v1/kpis/{pk}/watch" and user is not None:
        # Something to stop: the caller watches the KPI (outsiders too, as if they
        # had before leaving: they still reach nothing of Acme's).
        notify_actions.set_watching(kpi=obj, user=user, watching=True)
    client = api_client_of(rows.acme, viewpoint)
    method, path = op.split(" ", 1)
    if obj is not None:
        path = path.replace("{pk}", str(obj.pk))
    path += QUERIES.get(op, "").replace("{pk}", str(obj.pk) if obj else "")
    body = body_for(op, user, rows)
    before = acme_data(org)

    response = client.send(method, path, body)

    got = outcome_of(response.status_code)
    assert got == expected, (
        f"{op} as {viewpoint}: expected {expected}, got {got}: "
        f"{response.content.decode()[:500]}"
    )
    if got != "ok":
        assert response["Content-Type"] == "application/problem+json"
    if method == "GET":
        return
    after = acme_data(org)
    if expected != "ok" or viewpoint in OUTSIDERS or op in WRITES_NOTHING:
        assert after == before, f"{viewpoint} changed Acme's data through {op}"
    else:
        assert after != before, f"{op} as {viewpoint} saved nothing"


def schema_operations() -> set[str]:
    schema = api.get_openapi_schema(path_prefix="/api/v1/")
    return {
        f"{method.upper()} {path}"
        for path, item in schema["paths"].items()
        for method in item
    }


def test_every_api_operation_is_in_the_matrix():
    missing = schema_operations() - set(OPERATIONS)

    assert not missing, (
        f"API operations missing from [api.operations] in landmark/permissions.toml: "
        f"{sorted(missing)}. Add each with its outcome for every viewpoint."
    )


def test_the_matrix_lists_only_operations_that_exist():
    assert sorted(set(OPERATIONS) - schema_operations()) == []


def test_every_api_cell_is_filled_by_the_rules():
    for op, row in OPERATIONS.items():
        assert row["object"] in API_OBJECTS, op
        assert set(row) - {"object"} == set(VIEWPOINTS), op
        assert set(row[v] for v in VIEWPOINTS) <= OUTCOMES, op
        assert row["anonymous"] == "401", op
        # A pending invitation or another organization's SSO session: an outsider.
        assert row["invitee"] == row["sso_scoped"] == row["other_member"], op
        if row["object"] != "none":
            assert row["other_member"] == row["other_admin"] == "404", op
        if not op.startswith("GET "):
            assert row["viewer"] == "403", op
