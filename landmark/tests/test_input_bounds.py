"""No 500s from input: each case an outside probe found, reproduced through HTTP, now
a clear 422 (API) or an error next to the field (web), with nothing saved. The
bounds are landmark.lib.bounds: dates and times from 1970 to 2200, a period at most
5 years long. landmark/tests/test_extreme_input.py throws hypothesis at the rest."""

import base64
import json
import re
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import pytest
from django.urls import reverse
from django.utils import timezone

from landmark.api.tests.conftest import api_client
from landmark.kpis import actions as kpi_actions
from landmark.kpis.models import KPI, DataPoint, KPITarget
from landmark.okrs.models import CheckIn, KeyResult, Period

RANGE_TIME = "Enter a time from 1970-01-01 to 2200-12-31."
RANGE_DATE = "Enter a date from 1970-01-01 to 2200-12-31."
YEAR_1_EAST = "0001-01-01T00:00:00+14:00"
YEAR_9999_WEST = "9999-12-31T23:59:59-14:00"
# The far east: a naive year-1 time read here is before year 1 in UTC.
KIRITIMATI = "Pacific/Kiritimati"


@pytest.fixture
def kpi(org, alice) -> KPI:
    return kpi_actions.create_kpi(
        org=org,
        name="Signups",
        key="signups",
        owner=alice,
        frequency=KPI.Frequency.DAILY,
        target_kind=KPI.TargetKind.AT_LEAST,
        target_low=Decimal(10),
    )


@pytest.fixture
def api(alice, org) -> Any:
    client = api_client(alice)
    client.raise_request_exception = False  # a 500 is an answer to assert on
    return client


@pytest.fixture
def web(alice_client) -> Any:
    alice_client.raise_request_exception = False
    return alice_client


def problem(response: Any, status: int = 422) -> dict[str, Any]:
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"] == "application/problem+json"
    body: dict[str, Any] = json.loads(response.content)
    return body


def field_errors(response: Any) -> list[tuple[str, str, str]]:
    return [
        (e["field"], e.get("in", ""), e["message"]) for e in problem(response)["errors"]
    ]


def field_error(response: Any, field: str) -> str:
    assert response.status_code == 200, response.status_code
    page = response.content.decode()
    start = page.find(f'id="field-{field}"')
    assert start != -1, f"no field {field}"
    end = page.find('<div class="field', start + 1)
    block = page[start : end if end != -1 else len(page)]
    return " ".join(re.findall(r'<p class="error field-error">(.*?)</p>', block, re.S))


# A data point at year 1, +14:00


def test_the_api_refuses_a_point_at_year_1_with_a_422(api, kpi):
    response = api.send(
        "POST", f"/api/v1/kpis/{kpi.pk}/points", {"value": "1", "time": YEAR_1_EAST}
    )

    assert field_errors(response) == [("time", "body", f"Value error, {RANGE_TIME}")]
    assert not DataPoint.objects.exists()


@pytest.mark.parametrize("time", [YEAR_1_EAST, YEAR_9999_WEST, "1969-12-31T23:59:59Z"])
def test_the_batch_endpoint_refuses_a_point_out_of_range_as_a_row_error(api, kpi, time):
    json_body = {"points": [{"kpi": kpi.pk, "time": time, "value": "1"}]}
    csv_body = f"kpi,time,value\n{kpi.pk},{time},1\n"

    from_json = api.send("POST", "/api/v1/kpis/points/batch", json_body)
    from_csv = api.generic(
        "POST", "/api/v1/kpis/points/batch", csv_body, content_type="text/csv"
    )

    reason = f"'{time}' is outside 1970-01-01 to 2200-12-31"
    errors = [(e["row"], e["field"], e["reason"]) for e in problem(from_json)["errors"]]
    assert errors == [(0, "time", reason)]
    errors = [(e["row"], e["field"], e["reason"]) for e in problem(from_csv)["errors"]]
    assert errors == [(2, "time", reason)]
    assert not DataPoint.objects.exists()


def test_the_value_form_refuses_year_1_next_to_the_field(web, kpi, settings):
    settings.TIME_ZONE = KIRITIMATI

    response = web.post(
        reverse("kpi_point_add", args=[kpi.pk]),
        {"value": "1", "time": "0001-01-01T00:00"},
        HTTP_HX_REQUEST="true",
    )

    assert field_error(response, "time") == RANGE_TIME
    assert not DataPoint.objects.exists()


def test_the_csv_import_refuses_year_1_as_a_row_error(web, kpi, settings):
    settings.TIME_ZONE = KIRITIMATI
    text = f"time,value\n{YEAR_1_EAST},1\n0001-01-01T00:00,2\n2024-01-01,3\n"

    response = web.post(reverse("kpi_import", args=[kpi.pk]), {"content": text})

    assert response.status_code == 200
    page = response.content.decode()
    assert "Nothing was imported." in page
    assert f"<li>Line 2: &#x27;{YEAR_1_EAST}&#x27; is outside 1970-01-01" in page
    assert "<li>Line 3: &#x27;0001-01-01T00:00&#x27; is outside 1970-01-01" in page

    confirmed = web.post(
        reverse("kpi_import", args=[kpi.pk]), {"content": text, "confirm": "1"}
    )
    assert confirmed.status_code == 200
    assert not DataPoint.objects.exists()


# List filters at the ends of what Python's dates hold


@pytest.mark.parametrize("name", ["since", "until"])
@pytest.mark.parametrize("value", [YEAR_9999_WEST, YEAR_1_EAST, "0001-01-01T00:00Z"])
def test_list_filters_out_of_range_are_a_422_naming_the_filter(api, kpi, name, value):
    for path in (f"/api/v1/kpis/{kpi.pk}/points", "/api/v1/check-ins"):
        response = api.get(f"{path}?{name}={quote(value)}")

        assert field_errors(response) == [(name, "query", f"Value error, {RANGE_TIME}")]


@pytest.mark.parametrize(
    "query", ["since=1970-01-01T00:00:00%2B14:00", "until=2200-12-31T23:59:59-14:00"]
)
def test_list_filters_at_the_ends_of_the_range_are_accepted(api, kpi, query):
    kpi_actions.record_data_point(
        kpi=kpi, value=Decimal(1), time=timezone.now() - timedelta(hours=1)
    )

    response = api.get(f"/api/v1/kpis/{kpi.pk}/points?{query}")

    assert response.status_code == 200
    assert len(response.json()["items"]) == 1


def test_a_forged_cursor_at_year_1_is_refused_as_invalid(api, kpi):
    raw = json.dumps([YEAR_1_EAST, 1]).encode()
    cursor = base64.urlsafe_b64encode(raw).decode().rstrip("=")

    response = api.get(f"/api/v1/kpis/{kpi.pk}/points?sort=time&cursor={cursor}")

    assert field_errors(response) == [
        ("cursor", "", "This cursor is not valid; start from page 1.")
    ]


# Periods: from 0001-01-01 to 9999-12-31 was accepted, then its pages answered 500


def test_the_api_refuses_a_period_over_the_whole_calendar(api):
    body = {"name": "Forever", "kind": "custom", "start": "0001-01-01"}

    response = api.send("POST", "/api/v1/periods", {**body, "end": "9999-12-31"})

    assert field_errors(response) == [
        ("start", "body", f"Value error, {RANGE_DATE}"),
        ("end", "body", f"Value error, {RANGE_DATE}"),
    ]
    assert not Period.objects.exists()


def test_a_period_lasts_at_most_five_years(api):
    five = {"name": "Plan", "kind": "custom", "start": "2026-01-01"}

    longer = api.send("POST", "/api/v1/periods", {**five, "end": "2031-01-01"})
    exactly = api.send("POST", "/api/v1/periods", {**five, "end": "2030-12-31"})

    assert field_errors(longer) == [
        (
            "end",
            "",
            "A period lasts at most 5 years: end it on 2030-12-31 at the latest.",
        )
    ]
    assert exactly.status_code == 201
    assert list(Period.objects.values_list("end", flat=True)) == [date(2030, 12, 31)]


def test_patching_a_period_beyond_five_years_is_refused(api, period):
    response = api.send("PATCH", f"/api/v1/periods/{period.pk}", {"end": "2200-01-01"})

    assert [f for f, _, _ in field_errors(response)] == ["end"]
    period_before = (period.start, period.end)
    period.refresh_from_db()
    assert (period.start, period.end) == period_before


def test_the_period_form_refuses_dates_out_of_range_next_to_each_field(web):
    data = {"name": "Forever", "kind": "custom", "state": "planning"}

    response = web.post(
        reverse("period_create"), {**data, "start": "0001-01-01", "end": "9999-12-31"}
    )

    assert field_error(response, "start") == RANGE_DATE
    assert field_error(response, "end") == RANGE_DATE
    too_long = web.post(
        reverse("period_create"), {**data, "start": "2026-01-01", "end": "2040-01-01"}
    )
    assert field_error(too_long, "end") == (
        "A period lasts at most 5 years: end it on 2030-12-31 at the latest."
    )
    assert not Period.objects.exists()


# Other dates: due dates, targets per window, the as-of page


def test_a_due_date_out_of_range_is_refused_by_the_api_and_the_form(
    api, web, key_results
):
    metric = key_results[0]

    response = api.send(
        "PATCH", f"/api/v1/key-results/{metric.pk}", {"due_date": "9999-12-31"}
    )
    assert field_errors(response) == [
        ("due_date", "body", f"Value error, {RANGE_DATE}")
    ]
    form = {
        "title": metric.title,
        "kind": metric.kind,
        "owner": "",
        "unit": metric.unit,
        "start": metric.start,
        "target": metric.target,
        "threshold_op": "",
        "threshold_low": "",
        "threshold_high": "",
        "weight": metric.weight,
        "due_date": "0001-01-01",
    }
    page = web.post(reverse("key_result_edit", args=[metric.pk]), form)
    assert field_error(page, "due_date") == RANGE_DATE
    assert KeyResult.objects.get(pk=metric.pk).due_date is None


def test_targets_per_window_out_of_range_are_refused(api, web, kpi):
    response = api.send(
        "PUT",
        f"/api/v1/kpis/{kpi.pk}/targets",
        {"targets": [{"window_start": "0001-01-01", "low": "5"}]},
    )
    assert [(f, m) for f, _, m in field_errors(response)] == [
        ("targets.0.window_start", f"Value error, {RANGE_DATE}")
    ]

    page = web.post(
        reverse("kpi_targets", args=[kpi.pk]), {"schedule": "0001-01-01 5\n"}
    )
    assert page.status_code == 200
    assert f"Line 1: 0001-01-01: {RANGE_DATE}" in page.content.decode()
    assert not KPITarget.objects.exists()


def test_the_as_of_page_explains_a_date_out_of_range(web, objective, settings):
    settings.TIME_ZONE = KIRITIMATI

    response = web.get(
        reverse("objective_as_of", args=[objective.pk]) + "?date=0001-01-01"
    )

    assert response.status_code == 200
    assert RANGE_DATE in response.content.decode()


# JSON nested 1,000 deep (RecursionError)


def test_deep_json_to_the_batch_endpoint_is_a_422(api):
    deep = '{"points": ' + "[" * 1000 + "]" * 1000 + "}"

    response = api.generic(
        "POST", "/api/v1/kpis/points/batch", deep, content_type="application/json"
    )

    assert problem(response)["detail"] == (
        "The JSON is nested too deeply to be a batch."
    )


def test_deep_json_to_any_other_endpoint_is_a_400(api, period, key_results):
    deep = "[" * 100_000 + "]" * 100_000
    body = '{"value": ' + deep + ', "status": "on_track"}'

    response = api.generic(
        "POST",
        f"/api/v1/key-results/{key_results[0].pk}/check-ins",
        body,
        content_type="application/json",
    )

    assert problem(response, 400)["detail"] == "Cannot parse request body"
    assert not CheckIn.objects.exists()


# Measured values: 15 digits before the point; a window's total below 10^16

LARGEST = "999999999999999.9999"


def test_the_largest_value_is_stored_and_shown_on_every_database(api, web, kpi):
    # 9999999999999999.9999 was accepted, then SQLite read it back as 10^16, which
    # its column cannot hold: the KPI's pages answered 500.
    when = (timezone.now() - timedelta(hours=1)).isoformat()

    stored = api.send(
        "POST", f"/api/v1/kpis/{kpi.pk}/points", {"value": LARGEST, "time": when}
    )
    refused = api.send(
        "POST",
        f"/api/v1/kpis/{kpi.pk}/points",
        {"value": "9999999999999999.9999", "time": when},
    )

    assert stored.status_code == 201
    assert [f for f, _, _ in field_errors(refused)] == ["value"]
    assert web.get(reverse("kpi", args=[kpi.pk])).status_code == 200
    assert web.get(reverse("kpi_dashboard")).status_code == 200
    assert api.get(f"/api/v1/kpis/{kpi.pk}/points").status_code == 200


def test_the_value_forms_take_at_most_15_digits_before_the_point(web, kpi):
    response = web.post(
        reverse("kpi_point_add", args=[kpi.pk]),
        {"value": "9999999999999999.9999", "time": "2026-01-01T10:00"},
        HTTP_HX_REQUEST="true",
    )

    assert field_error(response, "value") == (
        "&#x27;9999999999999999.9999&#x27; is too large "
        "(at most 15 digits before the point)."
    )
    assert not DataPoint.objects.exists()


@pytest.fixture
def total(org) -> KPI:
    return kpi_actions.create_kpi(
        org=org, name="Revenue", key="revenue", aggregation=KPI.Aggregation.SUM
    )


def test_a_value_that_would_make_a_windows_total_too_large_is_refused(api, total):
    base = timezone.now().replace(hour=0, minute=0) - timedelta(days=1)
    ten = [
        {"kpi": total.pk, "time": (base + timedelta(minutes=i)).isoformat()}
        for i in range(11)
    ]
    points = [{**p, "value": "999999999999999"} for p in ten]

    accepted = api.send("POST", "/api/v1/kpis/points/batch", {"points": points[:10]})
    batch = api.send("POST", "/api/v1/kpis/points/batch", {"points": points[10:]})
    single = api.send(
        "POST",
        f"/api/v1/kpis/{total.pk}/points",
        {"value": "999999999999999", "time": points[10]["time"]},
    )

    assert accepted.status_code == 201
    message = (
        "This value would make its window's total reach 10^16, more than Landmark "
        "keeps; send smaller values or use another aggregation."
    )
    assert [(e["row"], e["field"], e["reason"]) for e in problem(batch)["errors"]] == [
        (0, "value", message)
    ]
    assert field_errors(single) == [("value", "", message)]
    assert DataPoint.objects.filter(kpi=total).count() == 10


@pytest.mark.parametrize("value", ["sNaN", "NaN", "-Infinity"])
def test_an_edit_form_refuses_nan_next_to_the_field(web, kpi, key_results, value):
    # has_changed() compared Decimal("sNaN") with the initial value: a 500.
    metric = key_results[0]
    kpi_form = {
        "name": kpi.name,
        "indicator": "lag",
        "frequency": "daily",
        "aggregation": "last",
        "target_kind": "at_least",
        "target_low": value,
        "tolerance": value,
        "visibility": "public",
    }

    kpi_page = web.post(reverse("kpi_edit", args=[kpi.pk]), kpi_form)
    kr_page = web.post(
        reverse("key_result_edit", args=[metric.pk]),
        {"title": metric.title, "kind": "metric", "start": value, "target": "5"},
    )

    # Measured values are read by landmark.lib.values; the tolerance is a share.
    shown = value.replace("'", "&#x27;")
    assert (
        field_error(kpi_page, "target_low") == f"&#x27;{shown}&#x27; is not a number."
    )
    assert field_error(kpi_page, "tolerance") == "Enter a number."
    assert field_error(kr_page, "start") == f"&#x27;{shown}&#x27; is not a number."
    kpi.refresh_from_db()
    assert kpi.target_low == Decimal(10)


# NUL characters, which PostgreSQL text cannot hold


def test_a_nul_in_a_filter_or_cursor_is_refused_not_sent_to_the_database(api, web, kpi):
    raw = json.dumps(["a\x00b", 1]).encode()
    cursor = base64.urlsafe_b64encode(raw).decode().rstrip("=")

    by_category = api.get("/api/v1/kpis?category=a%00b")
    by_cursor = api.get(f"/api/v1/kpis?sort=name&cursor={cursor}")
    dashboard = web.get(reverse("kpi_dashboard") + "?category=a%00b")

    assert [f for f, _, _ in field_errors(by_category)] == ["category"]
    assert [f for f, _, _ in field_errors(by_cursor)] == ["cursor"]
    assert dashboard.status_code == 200


def test_a_list_filter_time_without_its_offset_is_refused(api, kpi):
    # It was read in the server's time zone, with a RuntimeWarning.
    response = api.get(f"/api/v1/kpis/{kpi.pk}/points?since=2026-01-01T00:00:00")

    assert field_errors(response) == [
        (
            "since",
            "query",
            "Value error, The time needs its offset, e.g. 2025-01-31T09:00:00+01:00 "
            "or ...Z.",
        )
    ]
