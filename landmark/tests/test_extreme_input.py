"""No 5xx from input, whatever it is: hypothesis throws extreme dates and times
(year 1 to 9999, offsets up to ±23:59), decimals (huge, tiny, NaN, Infinity, many
digits, exponents, JSON floats), wrong types, deep nesting and large sizes at every
API write and list filter and at the main web forms and list pages, in far-east and
far-west server time zones, and expects an answer: 2xx, or a 4xx that explains.

Each request starts from a valid one and changes one or two of its fields (or, for
a body, the whole of it), so an extreme value reaches the code behind the checks it
passes. The operations come from the live OpenAPI schema: a new API operation with
a body or query parameters fails `test_every_api_operation_with_input_is_covered`
until it has a valid request here. Complements test_schemathesis.py, which checks
the responses against the schema with values the schema generates.
"""

import itertools
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone as dj_timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from landmark.api.api import api as landmark_api
from landmark.api.tests.conftest import api_client
from landmark.comments import actions as comment_actions
from landmark.conftest import login
from landmark.hooks import actions as hook_actions
from landmark.kpis import actions as kpi_actions
from landmark.kpis.models import KPI
from landmark.lib import values
from landmark.okrs import actions as okr_actions
from landmark.okrs.models import KeyResult, Objective, Period
from landmark.orgs import actions as org_actions
from landmark.orgs.models import User

# The same 20 examples per operation in every run (as schemathesis' config), so CI
# is reproducible; LANDMARK_EXTREME_EXAMPLES=500 explores further, with new ones.
EXPLORE = os.environ.get("LANDMARK_EXTREME_EXAMPLES")
HYPOTHESIS = settings(
    max_examples=int(EXPLORE or 20),
    derandomize=not EXPLORE,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
# The server's time zone decides how a time without an offset is read: the two
# ends of the world, where year 1 and year 9999 leave Python's range in UTC.
TIME_ZONES = ["Pacific/Kiritimati", "Etc/GMT+12", "UTC"]
NAMES = itertools.count(1)


# Values


class Raw(str):
    """JSON text sent as it is, in place of a value (nesting json.dumps cannot
    write, or numbers Python would write differently)."""


EDGE_DATES = [
    "0001-01-01",
    "9999-12-31",
    "1969-12-31",
    "1970-01-01",
    "2200-12-31",
    "2200-12-30",
    "2201-01-01",
    "2024-02-29",
    "2023-02-29",
    "0000-01-01",
    "10000-01-01",
    "2024-13-01",
    "20240101",
    " 2024-01-01",
    "",
]
EDGE_TIMES = [
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59-14:00",
    "0001-01-01T00:00:00+23:59",
    "9999-12-31T23:59:59.999999-23:59",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59Z",
    "1970-01-01T00:00:00+14:00",
    "1970-01-01T00:00:00+23:59",
    "1970-01-01T00:00:00Z",
    "2200-12-31T23:59:59-14:00",
    "2200-12-31T23:59:59.999999-23:59",
    "0001-01-01",
    "9999-12-31",
    "0001-01-01T00:00",
    "9999-12-31T23:59",
    "2024-01-01T25:00:00Z",
    "2024-01-01T00:00:00+24:00",
    "2024-01-01T00:00:00.1234567Z",
]
EDGE_DECIMALS = [
    # The largest and smallest values stored, accepted everywhere.
    "9999999999999999.9999",
    "-9999999999999999.9999",
    "0.0001",
    "-0.0001",
    "0",
    # Everything else.
    "NaN",
    "-NaN",
    "sNaN",
    "Infinity",
    "-Infinity",
    "inf",
    "1e999999999",
    "-1E+999999999",
    "1e-999999999",
    "0E+1000000",
    "9" * 16,
    "9" * 17,
    "9" * 400,
    "0." + "0" * 400 + "1",
    "-0",
    "1_000",
    "١٢٣",
    "1e3",
    "0x10",
    "1,5",
    " 1",
    "",
]
EDGE_TEXT = ["", " ", "\x00", "a\x00b", "\ud800", "x" * 100_000, "é" * 5_000, "\n" * 50]

# Years at the ends of Python's range and of Landmark's, and anything between.
EXTREME_YEARS = [1, 2, 1969, 1970, 2200, 2201, 9998, 9999]
years = st.one_of(st.sampled_from(EXTREME_YEARS), st.integers(1, 9999))
offsets = st.one_of(
    st.sampled_from([14, -14, 23, -23, 0]).map(lambda h: timedelta(hours=h)),
    st.timedeltas(
        min_value=-timedelta(hours=23, minutes=59),
        max_value=timedelta(hours=23, minutes=59),
    ),
).map(timezone)
calendar_dates = st.builds(
    lambda y, m, d: date(y, m, d), years, st.integers(1, 12), st.integers(1, 28)
)
datetimes = st.builds(
    lambda day, h, m, s: datetime(day.year, day.month, day.day, h, m, s),
    calendar_dates,
    st.integers(0, 23),
    st.integers(0, 59),
    st.integers(0, 59),
)
dates = st.one_of(st.sampled_from(EDGE_DATES), calendar_dates.map(date.isoformat))
times = st.one_of(
    st.sampled_from(EDGE_TIMES),
    st.builds(lambda d, tz: d.replace(tzinfo=tz).isoformat(), datetimes, offsets),
    st.builds(lambda d, tz: d.replace(tzinfo=tz).isoformat(), datetimes, offsets),
    datetimes.map(lambda d: d.isoformat()),
    # As a browser's datetime-local field sends it.
    datetimes.map(lambda d: d.strftime("%Y-%m-%dT%H:%M") if d.year >= 1000 else ""),
)
decimal_texts = st.one_of(
    st.sampled_from(EDGE_DECIMALS),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
)
decimals = st.one_of(
    decimal_texts,
    decimal_texts,
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([Raw("1e400"), Raw("-1e400"), Raw("1" * 500), Raw("NaN")]),
    st.integers(),
)
integers = st.one_of(
    st.integers(),
    st.sampled_from([0, -1, 2**31, 2**53, 2**53 + 1, 2**63, 2**64, 10**100]),
    st.sampled_from([Raw("1" * 5000), Raw("1.0"), Raw("1e2")]),
)
texts = st.one_of(st.text(max_size=40), st.sampled_from(EDGE_TEXT))
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
nested = st.one_of(st.sampled_from([1000, 5000]), st.integers(1, 3000)).flatmap(
    lambda n: st.sampled_from(
        [Raw("[" * n + "]" * n), Raw('{"a":' * n + "1" + "}" * n)]
    )
)
large = st.sampled_from(
    [Raw("[" + ",".join(["0"] * 100_000) + "]"), Raw(json.dumps("x" * 1_000_000))]
)
anything = st.one_of(json_values, nested, large, texts)

BY_KIND: dict[str, st.SearchStrategy[Any]] = {
    "date": dates,
    "datetime": times,
    "decimal": decimals,
    "integer": integers,
    "string": texts,
    "boolean": st.one_of(st.booleans(), st.sampled_from(["true", "1", 1, "yes"])),
    "array": st.one_of(st.lists(integers, max_size=3), large),
    "anything": anything,
}


def value_of(kind: str) -> st.SearchStrategy[Any]:
    """Mostly extreme values of the field's kind, sometimes anything at all."""
    typed = BY_KIND.get(kind, anything)
    return st.one_of(typed, typed, typed, anything)


def as_query(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value) if not isinstance(value, Raw) else str(value)


def encode(body: Any) -> str:
    """JSON text of `body` with every Raw value written as it is."""
    raws: list[str] = []

    def swap(value: Any) -> Any:
        if isinstance(value, Raw):
            raws.append(value)
            return f"@@raw{len(raws) - 1}@@"
        if isinstance(value, dict):
            return {k: swap(v) for k, v in value.items()}
        if isinstance(value, list):
            return [swap(v) for v in value]
        return value

    text = json.dumps(swap(body))
    for i, raw in enumerate(raws):
        text = text.replace(f'"@@raw{i}@@"', raw, 1)
    return text


# The schema's fields and their kinds


SCHEMA = landmark_api.get_openapi_schema()
DECIMAL_PATTERN = values.PATTERN
TIME_NAMES = {"time", "since", "until"}


def resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = SCHEMA["components"]["schemas"][name]
    return schema


def flatten(schema: dict[str, Any]) -> list[dict[str, Any]]:
    schema = resolve(schema)
    parts = [schema]
    for key in ("anyOf", "oneOf", "allOf"):
        for sub in schema.get(key, []):
            parts += flatten(sub)
    return parts


def kind_of(name: str, schema: dict[str, Any]) -> str:
    parts = flatten(schema)
    formats = {p.get("format") for p in parts}
    types = {p.get("type") for p in parts}
    if name in TIME_NAMES or "date-time" in formats:
        return "datetime"
    if "date" in formats:
        return "date"
    if any(p.get("pattern") == DECIMAL_PATTERN for p in parts) or "number" in types:
        return "decimal"
    for kind in ("integer", "boolean", "array", "string"):
        if kind in types:
            return kind
    return "anything"


def item_schema(schema: dict[str, Any]) -> dict[str, Any] | None:
    """The object schema of an array's items, if the array holds objects."""
    for part in flatten(schema):
        if part.get("type") == "array" and "items" in part:
            items = resolve(part["items"])
            if "properties" in items:
                return items
    return None


def operations_with_input() -> set[tuple[str, str]]:
    found = set()
    for path, item in SCHEMA["paths"].items():
        for method, operation in item.items():
            params = [p for p in operation.get("parameters", []) if p["in"] == "query"]
            if params or "requestBody" in operation:
                found.add((method.upper(), path.removeprefix("/api/v1")))
    return found


# The world every request starts from


@dataclass(repr=False)
class World:
    alice: User
    bob: User
    period: Period
    next_period: Period
    objective: Objective
    metric: KeyResult
    kpi: KPI
    ids: dict[str, int] = field(default_factory=dict)
    closing: tuple[int, int] = (0, 0)  # a fresh period to close, and its objective

    def fresh_point(self) -> int:
        when = dj_timezone.now() - timedelta(minutes=next(NAMES))
        point = kpi_actions.record_data_point(
            kpi=self.kpi, value=Decimal(1), time=when, author=self.alice
        )
        return point.pk

    def fresh_active_period(self) -> tuple[int, int]:
        """An active period with one objective, to close: (period, objective)."""
        n = next(NAMES)
        period = okr_actions.create_period(
            org=self.period.organization,
            name=f"Closing {n}",
            kind=Period.Kind.CUSTOM,
            start=date(2026, 1, 1),
            end=date(2026, 12, 31),
            state=Period.State.ACTIVE,
        )
        objective = okr_actions.create_objective(
            org=self.period.organization,
            period=period,
            owner=self.bob,
            title=f"To close {n}",
            level=Objective.Level.COMPANY,
        )
        return period.pk, objective.pk


@pytest.fixture
def world(alice, org, bob, period, settings, monkeypatch) -> World:
    # A connector may read from this machine's loopback (the operator's allow-list).
    settings.CONNECTOR_ALLOWED_HOSTS = ["127.0.0.1"]
    monkeypatch.setenv("LM_EXTREME_SOURCE_URL", "http://127.0.0.1:9/signups.json")
    next_period = okr_actions.create_period(
        org=org,
        name="Next",
        kind=Period.Kind.CUSTOM,
        start=period.end + timedelta(days=1),
        end=period.end + timedelta(days=90),
    )
    objective = okr_actions.create_objective(
        org=org,
        period=period,
        owner=bob,
        title="Objective",
        level=Objective.Level.COMPANY,
    )
    metric = okr_actions.create_key_result(
        objective=objective, title="Metric", start=Decimal(0), target=Decimal(10)
    )
    kpi = kpi_actions.create_kpi(
        org=org,
        name="Signups",
        key="signups",
        owner=alice,
        frequency=KPI.Frequency.DAILY,
        target_kind=KPI.TargetKind.AT_LEAST,
        target_low=Decimal(10),
    )
    kpi_actions.record_data_point(
        kpi=kpi,
        value=Decimal(3),
        time=dj_timezone.now() - timedelta(days=1),
        author=alice,
    )
    team = org_actions.create_team(org=org, name="Team")
    initiative = okr_actions.create_initiative(key_result=metric, title="Initiative")
    webhook, _ = hook_actions.create_webhook(
        org=org, url="http://127.0.0.1:9/hook", events=["checkin.recorded"]
    )
    world = World(alice, bob, period, next_period, objective, metric, kpi)
    world.ids = {
        "period": period.pk,
        "next_period": next_period.pk,
        "objective": objective.pk,
        "metric": metric.pk,
        "kpi": kpi.pk,
        "team": team.pk,
        "initiative": initiative.pk,
        "bob": bob.pk,
        "webhook": webhook.pk,
    }
    return world


def name() -> str:
    return f"Name {next(NAMES)}"


def recent() -> str:
    return (dj_timezone.now() - timedelta(hours=1)).isoformat()


def close_request(w: World) -> tuple[str, Any]:
    period, objective = w.fresh_active_period()
    grade = {
        "objective": objective,
        "score_override": "0.5",
        "override_reason": "Half done",
        "outcome": "partially_achieved",
        "carry_over": True,
    }
    body = {"retrospective": "Done", "carry_into": w.next_period.pk, "grades": [grade]}
    return f"/periods/{period}/close", body


def fresh_comment(w: World) -> int:
    """A comment of Alice's (the client's) on the objective, to edit."""
    return comment_actions.post_comment(
        target=comment_actions.Target(objective=w.objective),
        author=w.alice,
        body=name(),
    ).pk


# A valid request per API operation with input: (path, body) from the world.
Request = Callable[[World], tuple[str, Any]]

API: dict[tuple[str, str], Request] = {
    ("GET", "/check-ins"): lambda w: ("/check-ins", None),
    ("GET", "/initiatives"): lambda w: ("/initiatives", None),
    ("GET", "/key-results"): lambda w: ("/key-results", None),
    ("GET", "/kpis"): lambda w: ("/kpis", None),
    ("GET", "/kpis/{pk}/points"): lambda w: (f"/kpis/{w.kpi.pk}/points", None),
    ("GET", "/kudos"): lambda w: ("/kudos", None),
    ("GET", "/objectives/{pk}/comments"): lambda w: (
        f"/objectives/{w.objective.pk}/comments",
        None,
    ),
    ("GET", "/key-results/{pk}/comments"): lambda w: (
        f"/key-results/{w.metric.pk}/comments",
        None,
    ),
    ("GET", "/kpis/{pk}/comments"): lambda w: (f"/kpis/{w.kpi.pk}/comments", None),
    ("POST", "/objectives/{pk}/comments"): lambda w: (
        f"/objectives/{w.objective.pk}/comments",
        {"body": f"{name()}\nwith @bob"},
    ),
    ("POST", "/key-results/{pk}/comments"): lambda w: (
        f"/key-results/{w.metric.pk}/comments",
        {"body": name()},
    ),
    ("POST", "/kpis/{pk}/comments"): lambda w: (
        f"/kpis/{w.kpi.pk}/comments",
        {"body": name()},
    ),
    ("PATCH", "/comments/{pk}"): lambda w: (
        f"/comments/{fresh_comment(w)}",
        {"body": name()},
    ),
    ("GET", "/members"): lambda w: ("/members", None),
    ("GET", "/objectives"): lambda w: ("/objectives", None),
    ("GET", "/periods"): lambda w: ("/periods", None),
    ("GET", "/teams"): lambda w: ("/teams", None),
    ("GET", "/search"): lambda w: ("/search?q=grow", None),
    ("GET", "/coach"): lambda w: (f"/coach?period={w.period.pk}&by=team", None),
    ("PATCH", "/initiatives/{pk}"): lambda w: (
        f"/initiatives/{w.ids['initiative']}",
        {"title": name()},
    ),
    ("PATCH", "/key-results/{pk}"): lambda w: (
        f"/key-results/{w.metric.pk}",
        {"title": name()},
    ),
    ("POST", "/key-results/{pk}/check-ins"): lambda w: (
        f"/key-results/{w.metric.pk}/check-ins",
        {"value": "3", "status": "on_track", "confidence": 7},
    ),
    ("POST", "/key-results/{pk}/initiatives"): lambda w: (
        f"/key-results/{w.metric.pk}/initiatives",
        {"title": name()},
    ),
    ("POST", "/key-results/{pk}/keep-as-kpi"): lambda w: (
        f"/key-results/{w.metric.pk}/keep-as-kpi",
        {"frequency": "weekly"},
    ),
    ("POST", "/kpis"): lambda w: ("/kpis", {"name": name(), "target_low": "5"}),
    ("POST", "/kpis/points/batch"): lambda w: (
        "/kpis/points/batch",
        {"points": [{"kpi": w.kpi.pk, "time": recent(), "value": "1", "note": ""}]},
    ),
    ("PATCH", "/kpis/{pk}"): lambda w: (f"/kpis/{w.kpi.pk}", {"name": name()}),
    ("POST", "/kpis/{pk}/fix-with-okr"): lambda w: (
        f"/kpis/{w.kpi.pk}/fix-with-okr",
        {"period": w.period.pk},
    ),
    ("POST", "/kpis/{pk}/points"): lambda w: (
        f"/kpis/{w.kpi.pk}/points",
        {"value": "1", "time": recent(), "note": ""},
    ),
    ("PUT", "/kpis/{pk}/targets"): lambda w: (
        f"/kpis/{w.kpi.pk}/targets",
        {"targets": [{"window_start": "2026-01-01", "low": "5", "high": None}]},
    ),
    ("POST", "/objectives"): lambda w: (
        "/objectives",
        {"title": name(), "period": w.period.pk, "level": "company"},
    ),
    ("PATCH", "/objectives/{pk}"): lambda w: (
        f"/objectives/{w.objective.pk}",
        {"title": name()},
    ),
    ("POST", "/objectives/{pk}/key-results"): lambda w: (
        f"/objectives/{w.objective.pk}/key-results",
        {"title": name(), "kind": "metric", "start": "0", "target": "10"},
    ),
    ("POST", "/objectives/{pk}/kudos"): lambda w: (
        f"/objectives/{w.objective.pk}/kudos",
        {"recipient": w.bob.pk, "message": name()},
    ),
    ("POST", "/periods"): lambda w: (
        "/periods",
        {
            "name": name(),
            "kind": "custom",
            "start": "2027-01-01",
            "end": "2027-03-31",
        },
    ),
    ("PATCH", "/periods/{pk}"): lambda w: (
        f"/periods/{w.next_period.pk}",
        {"name": name()},
    ),
    ("POST", "/periods/{pk}/close"): lambda w: close_request(w),
    ("POST", "/points/{pk}/correct"): lambda w: (
        f"/points/{w.fresh_point()}/correct",
        {"value": "2", "note": ""},
    ),
    ("POST", "/teams"): lambda w: ("/teams", {"name": name(), "kind": "team"}),
    ("GET", "/webhooks"): lambda w: ("/webhooks", None),
    ("POST", "/webhooks"): lambda w: (
        "/webhooks",
        {"url": "http://127.0.0.1:9/hook", "events": ["objective.created"]},
    ),
    ("PATCH", "/webhooks/{pk}"): lambda w: (
        f"/webhooks/{w.ids['webhook']}",
        {"description": name()},
    ),
    ("GET", "/webhooks/{pk}/deliveries"): lambda w: (
        f"/webhooks/{w.ids['webhook']}/deliveries",
        None,
    ),
    ("PUT", "/kpis/{pk}/connector"): lambda w: (
        f"/kpis/{w.kpi.pk}/connector",
        {
            "kind": "http_json",
            "url": "http://127.0.0.1:9/signups.json",
            "expression": "value",
            "schedule": "daily",
            "at_time": "06:00",
        },
    ),
    ("POST", "/kpis/definitions"): lambda w: (
        "/kpis/definitions",
        {
            "format": "landmark-kpi-definitions",
            "version": 1,
            "kpis": [
                {
                    "key": "imported",
                    "name": name(),
                    "target_kind": "at_least",
                    "target_low": "5",
                    "tolerance": "0.1",
                    "targets": [{"window_start": "2026-01-01", "low": "5"}],
                    "connector": {
                        "kind": "http_json",
                        # A source's URL travels in a file only as a reference.
                        "url": "${LM_EXTREME_SOURCE_URL}",
                        "expression": "value",
                        "schedule": "daily",
                        "at_time": "06:00",
                    },
                }
            ],
        },
    ),
    ("PATCH", "/teams/{pk}"): lambda w: (
        f"/teams/{w.ids['team']}",
        {"name": name()},
    ),
    ("PATCH", "/organization"): lambda w: (
        "/organization",
        {
            "time_zone": "Pacific/Kiritimati",
            "week_start": "sunday",
            "on_track_gap": "0.05",
            "off_track_gap": "0.30",
            "checkin_cadence_days": 14,
            "locale": "de_DE",
        },
    ),
}


# After a write the API accepted, the web pages that show what it wrote: a value
# accepted once must not make a page fail later (a period from year 1 to 9999 did).
def period_pages(pk: int) -> list[str]:
    return [
        reverse("tree") + f"?period={pk}",
        reverse("period_close", args=[pk]),
        reverse("periods"),
        reverse("focus"),
        reverse("strategy_map"),
    ]


def kpi_pages(w: World) -> list[str]:
    return [reverse("kpi", args=[w.kpi.pk]), reverse("kpi_dashboard")]


def objective_pages(pk: int) -> list[str]:
    return [reverse("objective", args=[pk]), reverse("focus")]


def settings_pages(w: World) -> list[str]:
    """Where the organization's settings show: statuses, "this week", reminders, the
    coach's findings."""
    return [
        reverse("organization_settings"),
        reverse("coach") + f"?period={w.period.pk}",
        reverse("tree") + f"?period={w.period.pk}",
        reverse("reminder_settings"),
        *objective_pages(w.objective.pk),
    ]


THEN: dict[tuple[str, str], Callable[[World, Any], list[str]]] = {
    ("PATCH", "/organization"): lambda w, out: settings_pages(w),
    ("POST", "/objectives/{pk}/comments"): lambda w, out: objective_pages(
        w.objective.pk
    ),
    ("POST", "/key-results/{pk}/comments"): lambda w, out: objective_pages(
        w.objective.pk
    ),
    ("PATCH", "/comments/{pk}"): lambda w, out: objective_pages(w.objective.pk),
    ("POST", "/kpis/{pk}/comments"): lambda w, out: kpi_pages(w),
    ("POST", "/periods"): lambda w, out: period_pages(out["id"]),
    ("PATCH", "/periods/{pk}"): lambda w, out: period_pages(out["id"]),
    ("POST", "/kpis/{pk}/points"): lambda w, out: kpi_pages(w),
    ("POST", "/kpis/points/batch"): lambda w, out: kpi_pages(w),
    ("PUT", "/kpis/{pk}/targets"): lambda w, out: kpi_pages(w),
    ("POST", "/points/{pk}/correct"): lambda w, out: kpi_pages(w),
    ("PATCH", "/kpis/{pk}"): lambda w, out: kpi_pages(w),
    ("POST", "/kpis"): lambda w, out: [reverse("kpi", args=[out["id"]])],
    ("POST", "/objectives"): lambda w, out: objective_pages(out["id"]),
    ("PATCH", "/objectives/{pk}"): lambda w, out: objective_pages(out["id"]),
    ("PATCH", "/key-results/{pk}"): lambda w, out: objective_pages(w.objective.pk),
    ("POST", "/objectives/{pk}/key-results"): lambda w, out: objective_pages(
        w.objective.pk
    ),
    ("POST", "/key-results/{pk}/check-ins"): lambda w, out: objective_pages(
        w.objective.pk
    ),
}


def test_every_api_operation_with_input_is_covered():
    missing = operations_with_input() - set(API)
    assert not missing, (
        f"Give {sorted(missing)} a valid request in API (test_extreme_input.py), "
        "so extreme input is thrown at it too."
    )
    assert set(API) <= operations_with_input()


def test_each_base_request_is_valid(world):
    """Every request starts valid, so the extreme value is the only thing wrong."""
    client = api_client(world.alice)
    for (method, _), request in API.items():
        path, body = request(world)
        response = client.generic(
            method,
            f"/api/v1{path}",
            "" if body is None else encode(body),
            content_type="application/json",
        )
        if path.endswith("/keep-as-kpi") or path.endswith("/fix-with-okr"):
            # Valid, but the objects' state decides (the KR is not reached, the KPI
            # is not unhealthy): a 409 that names why.
            assert response.status_code in (201, 409), (path, response.content)
        else:
            assert response.status_code < 300, (method, path, response.content)


def operation_schema(method: str, template: str) -> dict[str, Any]:
    operation: dict[str, Any] = SCHEMA["paths"]["/api/v1" + template][method.lower()]
    return operation


def body_fields(operation: dict[str, Any]) -> dict[str, dict[str, Any]]:
    content = operation.get("requestBody", {}).get("content", {})
    schema = content.get("application/json", {}).get("schema")
    if schema is None:
        return {}
    return dict(resolve(schema).get("properties", {}))


INTERESTING = {"date", "datetime", "decimal"}


def pick(fields: dict[str, dict[str, Any]]) -> st.SearchStrategy[str]:
    """A field's name; dates, times and decimals three times as often."""
    interesting = sorted(n for n, f in fields.items() if kind_of(n, f) in INTERESTING)
    every = st.sampled_from(sorted(fields))
    if not interesting:
        return every
    return st.one_of(every, *[st.sampled_from(interesting)] * 3)


@st.composite
def api_request(draw: st.DrawFn, method: str, template: str, world: World) -> Any:
    """(path with query, body text) of a valid request with one or two fields
    changed to extreme values, or its whole body replaced."""
    path, body = API[(method, template)](world)
    operation = operation_schema(method, template)
    query: dict[str, str] = {}
    params = {
        p["name"]: p["schema"]
        for p in operation.get("parameters", [])
        if p["in"] == "query"
    }
    fields = body_fields(operation)
    if body is not None and draw(st.integers(0, 5)) == 0:
        whole = draw(st.one_of(nested, nested, large, json_values, texts))
        return path, encode(whole)
    for _ in range(draw(st.integers(1, 2))):
        if params and (body is None or draw(st.booleans())):
            name = draw(pick(params))
            query[name] = as_query(draw(value_of(kind_of(name, params[name]))))
            continue
        if not fields:
            continue
        name = draw(pick(fields))
        items = item_schema(fields[name])
        value = body.get(name)
        if (
            items is not None
            and isinstance(value, list)
            and value
            and isinstance(value[0], dict)
        ):
            sub = draw(pick(items["properties"]))
            schema = items["properties"][sub]
            body[name][0][sub] = draw(value_of(kind_of(sub, schema)))
        else:
            body[name] = draw(value_of(kind_of(name, fields[name])))
    if query:
        # As a client may send them: a lone surrogate as the bytes of its UTF-8 form.
        # A drawn parameter replaces the valid request's own (search's `q`).
        path, _, valid = path.partition("?")
        query = dict(parse_qsl(valid)) | query
        path += "?" + urlencode(query, errors="surrogatepass")
    return path, None if body is None else encode(body)


def csv_cell(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


@st.composite
def csv_text(draw: st.DrawFn, header: str, row: Callable[[Any, Any, Any], str]) -> str:
    """CSV lines of extreme times, values and notes, with quotes that may not pair."""
    lines = [header] if header else []
    for _ in range(draw(st.integers(1, 4))):
        cells = row(
            draw(times), csv_cell(draw(decimal_texts)), draw(st.text(max_size=20))
        )
        quote = draw(st.sampled_from(["", '"', '""', '"x"y', ",", ";"]))
        lines.append(cells + quote if draw(st.booleans()) else cells)
    return "\n".join(lines) + draw(st.sampled_from(["", "\n", "\r\n", '"']))


@pytest.mark.parametrize(("method", "template"), sorted(API))
def test_no_api_request_answers_a_server_error(world, method, template):
    client = api_client(world.alice)
    browser = login(world.alice)

    @HYPOTHESIS
    @given(data=st.data(), zone=st.sampled_from(TIME_ZONES))
    def run(data: st.DataObject, zone: str) -> None:
        with override_settings(TIME_ZONE=zone):
            path, body = data.draw(api_request(method, template, world))
            content_type = "application/json"
            if template == "/kpis/points/batch" and data.draw(st.booleans()):
                content_type = "text/csv"
                body = data.draw(
                    csv_text(
                        "kpi,time,value,note",
                        lambda t, v, n: f"{world.kpi.pk},{t},{v},{n}",
                    )
                )
            response = client.generic(
                method,
                f"/api/v1{path}",
                # A lone surrogate goes as the bytes of its UTF-8 form (invalid).
                b"" if body is None else body.encode("utf-8", "surrogatepass"),
                content_type=content_type,
            )
            assert response.status_code < 500, (method, path, response.content[:500])
            if response.status_code >= 400:
                assert response["Content-Type"] == "application/problem+json"
            elif (method, template) in THEN:
                for url in THEN[(method, template)](world, response.json()):
                    assert browser.get(url).status_code == 200, (path, body, url)

    run()


# The main web forms and list pages


@dataclass
class WebForm:
    """A valid POST (or GET) of a page, and the kind of each field to vary."""

    url: Callable[[World], str]
    data: Callable[[World], dict[str, Any]]
    kinds: dict[str, str]
    method: str = "post"
    then: Callable[[World], list[str]] = lambda w: []  # pages to render after it


def kr_data(w: World) -> dict[str, Any]:
    return {
        "title": name(),
        "kind": "metric",
        "owner": "",
        "unit": "",
        "start": "0",
        "target": "10",
        "threshold_op": "",
        "threshold_low": "",
        "threshold_high": "",
        "weight": "1",
        "due_date": "",
    }


def kpi_data(w: World) -> dict[str, Any]:
    return {
        "name": name(),
        "indicator": "lag",
        "frequency": "daily",
        "aggregation": "last",
        "target_kind": "between",
        "target_low": "1",
        "target_high": "5",
        "tolerance": "10",
        "visibility": "public",
        "key": "",
    }


PERIOD = {"start": "date", "end": "date", "name": "string", "kind": "string"}
KR = {
    "start": "decimal",
    "target": "decimal",
    "weight": "decimal",
    "threshold_low": "decimal",
    "due_date": "date",
}
KPI_FIELDS = {
    "target_low": "decimal",
    "target_high": "decimal",
    "tolerance": "decimal",
    "name": "string",
}

WEB: dict[str, WebForm] = {
    "organization_settings": WebForm(
        lambda w: reverse("organization_settings"),
        lambda w: {
            "name": name(),
            "time_zone": "Etc/GMT+12",
            "week_start": "3",
            "on_track_gap": "0.05",
            "off_track_gap": "0.30",
            "checkin_cadence_days": "14",
            "checkin_grace_days": "2",
            "locale": "fr",
            "coach_rules_off": ["kr-count", "kr-stale"],
            "coach_min_key_results": "3",
            "coach_max_key_results": "6",
            "coach_max_team_objectives": "7",
            "coach_max_key_kpis": "4",
        },
        {
            "name": "string",
            "time_zone": "string",
            "week_start": "integer",
            "on_track_gap": "decimal",
            "off_track_gap": "decimal",
            "checkin_cadence_days": "integer",
            "checkin_grace_days": "integer",
            "locale": "string",
            "coach_rules_off": "string",
            "coach_min_key_results": "integer",
            "coach_max_key_results": "integer",
            "coach_max_team_objectives": "integer",
            "coach_max_key_kpis": "integer",
        },
        then=settings_pages,
    ),
    "period_create": WebForm(
        lambda w: reverse("period_create"),
        lambda w: {
            "name": name(),
            "kind": "custom",
            "start": "2027-01-01",
            "end": "2027-03-31",
            "state": "planning",
        },
        PERIOD,
        then=lambda w: period_pages(Period.objects.order_by("-pk")[0].pk),
    ),
    "period_edit": WebForm(
        lambda w: reverse("period_edit", args=[w.next_period.pk]),
        lambda w: {
            "name": name(),
            "kind": "custom",
            "start": "2027-01-01",
            "end": "2027-03-31",
        },
        PERIOD,
        then=lambda w: period_pages(w.next_period.pk),
    ),
    "key_result_create": WebForm(
        lambda w: reverse("key_result_create", args=[w.objective.pk]),
        kr_data,
        KR,
        then=lambda w: objective_pages(w.objective.pk),
    ),
    "key_result_edit": WebForm(
        lambda w: reverse("key_result_edit", args=[w.metric.pk]),
        kr_data,
        KR,
        then=lambda w: objective_pages(w.objective.pk),
    ),
    "key_result_checkin": WebForm(
        lambda w: reverse("key_result_checkin", args=[w.metric.pk]),
        lambda w: {"value": "3", "status": "on_track", "confidence": "7"},
        {"value": "decimal", "confidence": "integer"},
        then=lambda w: objective_pages(w.objective.pk),
    ),
    "comment_objective": WebForm(
        lambda w: reverse("comment_objective", args=[w.objective.pk]),
        lambda w: {"body": name(), "on": str(w.metric.pk)},
        {"body": "string", "on": "integer"},
        then=lambda w: objective_pages(w.objective.pk),
    ),
    "comment_kpi": WebForm(
        lambda w: reverse("comment_kpi", args=[w.kpi.pk]),
        lambda w: {"body": f"{name()} @bob"},
        {"body": "string"},
        then=kpi_pages,
    ),
    "comment_edit": WebForm(
        lambda w: reverse("comment_edit", args=[fresh_comment(w)]),
        lambda w: {"body": name()},
        {"body": "string"},
        then=lambda w: objective_pages(w.objective.pk),
    ),
    "kpi_create": WebForm(
        lambda w: reverse("kpi_create"),
        kpi_data,
        KPI_FIELDS,
        then=lambda w: [reverse("kpi_dashboard")],
    ),
    "kpi_edit": WebForm(
        lambda w: reverse("kpi_edit", args=[w.kpi.pk]),
        kpi_data,
        KPI_FIELDS,
        then=kpi_pages,
    ),
    "kpi_point_add": WebForm(
        lambda w: reverse("kpi_point_add", args=[w.kpi.pk]),
        lambda w: {"value": "1", "time": "2026-01-01T10:00", "note": ""},
        {"value": "decimal", "time": "datetime", "note": "string"},
        then=kpi_pages,
    ),
    "kpi_point_correct": WebForm(
        lambda w: reverse("kpi_point_correct", args=[w.fresh_point()]),
        lambda w: {"value": "2", "note": ""},
        {"value": "decimal", "note": "string"},
        then=kpi_pages,
    ),
    "kpi_targets": WebForm(
        lambda w: reverse("kpi_targets", args=[w.kpi.pk]),
        lambda w: {"schedule": "2026-01-01 1 5\n"},
        {"schedule": "schedule"},
        then=kpi_pages,
    ),
    "kpi_import": WebForm(
        lambda w: reverse("kpi_import", args=[w.kpi.pk]),
        lambda w: {"content": "time,value\n2026-01-01,1\n", "confirm": "1"},
        {"content": "csv"},
        then=kpi_pages,
    ),
    "period_close": WebForm(
        lambda w: reverse("period_close", args=[w.closing[0]]),
        lambda w: {
            "grade-TOTAL_FORMS": "1",
            "grade-INITIAL_FORMS": "1",
            "grade-0-objective": str(w.closing[1]),
            "grade-0-score_override": "0.5",
            "grade-0-override_reason": "Half done",
            "grade-0-outcome": "",
            "retrospective": "Done",
            "carry_into": str(w.next_period.pk),
            "confirm_early": "on",
        },
        {
            "grade-0-score_override": "decimal",
            "grade-0-objective": "integer",
            "grade-TOTAL_FORMS": "integer",
            "carry_into": "integer",
            "retrospective": "string",
        },
        then=lambda w: period_pages(w.closing[0]),
    ),
    "objective_as_of": WebForm(
        lambda w: reverse("objective_as_of", args=[w.objective.pk]),
        lambda w: {"date": "2026-01-01"},
        {"date": "date"},
        method="get",
    ),
    "tree": WebForm(
        lambda w: reverse("tree"),
        lambda w: {"period": w.period.pk},
        {
            "period": "integer",
            "team": "integer",
            "owner": "integer",
            "status": "string",
        },
        method="get",
    ),
    "kpi_dashboard": WebForm(
        lambda w: reverse("kpi_dashboard"),
        lambda w: {},
        {
            "team": "integer",
            "category": "string",
            "health": "string",
            "page": "integer",
        },
        method="get",
    ),
    "search": WebForm(
        lambda w: reverse("search"),
        lambda w: {"q": "grow"},
        {"q": "string"},
        method="get",
    ),
    "kpi": WebForm(
        lambda w: reverse("kpi", args=[w.kpi.pk]),
        lambda w: {},
        {"before": "before", "wpage": "integer"},
        method="get",
    ),
}

# Field kinds of the web forms beyond the API's.
schedule_lines = st.lists(
    st.builds(
        lambda d, a, b: f"{d} {csv_cell(a)} {csv_cell(b)}",
        dates,
        decimal_texts,
        decimal_texts,
    ),
    min_size=1,
    max_size=3,
).map("\n".join)
before_cursors = st.one_of(
    st.builds(lambda m, pk: f"{m}.{pk}", st.integers(), st.integers(min_value=0)),
    texts,
)
WEB_KINDS: dict[str, st.SearchStrategy[Any]] = {
    "schedule": st.one_of(schedule_lines, texts),
    "csv": st.one_of(
        csv_text("time,value,note", lambda t, v, n: f"{t},{v},{n}"), texts
    ),
    "before": before_cursors,
}


def sendable(text: str) -> str:
    """A browser sends UTF-8: a lone surrogate arrives as U+FFFD at most."""
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def form_value(kind: str) -> st.SearchStrategy[str]:
    strategy = WEB_KINDS[kind] if kind in WEB_KINDS else BY_KIND.get(kind, anything)
    return st.one_of(strategy, strategy, texts).map(as_query).map(sendable)


def test_each_web_base_request_is_accepted(world):
    """As for the API: every form starts valid (saved: a redirect, or htmx's
    refreshed fragment without an error)."""
    client = login(world.alice)
    for page, form in WEB.items():
        world.closing = world.fresh_active_period()
        url, values = form.url(world), form.data(world)
        if form.method == "get":
            response = client.get(url, values)
        else:
            response = client.post(url, values, HTTP_HX_REQUEST="true")
        body = response.content.decode()
        assert response.status_code in (200, 302), (page, response.status_code)
        assert "field-error" not in body and "Nothing was" not in body, page


@pytest.mark.parametrize("page", sorted(WEB))
def test_no_web_form_or_list_answers_a_server_error(world, page):
    form = WEB[page]
    client: Client = login(world.alice)

    @HYPOTHESIS
    @given(data=st.data(), zone=st.sampled_from(TIME_ZONES))
    def run(data: st.DataObject, zone: str) -> None:
        with override_settings(TIME_ZONE=zone):
            world.closing = world.fresh_active_period()
            url, values = form.url(world), form.data(world)
            for _ in range(data.draw(st.integers(1, 2))):
                name = data.draw(st.sampled_from(sorted(form.kinds)))
                values[name] = data.draw(form_value(form.kinds[name]))
            if form.method == "get":
                response = client.get(url, values)
            else:
                response = client.post(url, values, HTTP_HX_REQUEST="true")
            assert response.status_code < 500, (page, values)
            for then in form.then(world):
                assert client.get(then).status_code == 200, (page, values, then)

    run()
