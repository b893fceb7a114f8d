"""One rule for measured values (landmark.lib.values), whichever way a value comes in.

The same text is sent through each of the four ways a KPI value arrives, over real
HTTP (Django's test client): the web form, the CSV import, the API's point write and
the batch ingestion. Each must give the same answer: the same value stored, or the
same refusal for the same reason, named by its field or row.
"""

import html
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from landmark.api.tests.conftest import ApiClient, api_client
from landmark.kpis import actions
from landmark.kpis.models import KPI, DataPoint
from landmark.lib import values

D = Decimal

# (text, the value stored, or None and the reason it is refused)
CASES: list[tuple[str, Decimal | None, str]] = [
    ("42", D("42"), ""),
    ("-3.5", D("-3.5"), ""),
    ("0.0001", D("0.0001"), ""),
    (".25", D("0.25"), ""),
    ("+7", D("7"), ""),
    ("5.", D("5"), ""),
    ("007", D("7"), ""),
    ("1.50000", D("1.5"), ""),
    ("-0", D("0"), ""),
    ("999999999999999.9999", D("999999999999999.9999"), ""),
    ("-999999999999999.9999", D("-999999999999999.9999"), ""),
    ("3.14159", None, "'3.14159' has more than 4 decimal places"),
    ("0.00001", None, "'0.00001' has more than 4 decimal places"),
    (
        "1000000000000000",
        None,
        "'1000000000000000' is too large (at most 15 digits before the point)",
    ),
    (
        "9999999999999999.9999",
        None,
        "'9999999999999999.9999' is too large (at most 15 digits before the point)",
    ),
    ("1e3", None, "'1e3' has an exponent; write it out as 1000"),
    ("2.5E-2", None, "'2.5E-2' has an exponent; write it out as 0.025"),
    (
        "1e999999999",
        None,
        "'1e999999999' is too large (at most 15 digits before the point)",
    ),
    ("1e-99999", None, "'1e-99999' has more than 4 decimal places"),
    (
        "1,5",
        None,
        "'1,5' has a decimal comma; write it with a decimal point (1234.5)",
    ),
    ("abc", None, "'abc' is not a number"),
    ("NaN", None, "'NaN' is not a number"),
    ("-Infinity", None, "'-Infinity' is not a number"),
    ("1_000", None, "'1_000' is not a number"),
    ("١٢", None, "'١٢' is not a number"),
    ("0x10", None, "'0x10' is not a number"),
    ("12 500", None, "'12 500' is not a number"),
]
IDS = [text for text, _, _ in CASES]


@pytest.fixture
def kpi(org, alice) -> KPI:
    return actions.create_kpi(
        org=org,
        name="Response time",
        key="response-time",
        frequency=KPI.Frequency.DAILY,
        owner=alice,
    )


def an_hour_ago() -> datetime:
    return (timezone.now() - timedelta(hours=1)).replace(second=0, microsecond=0)


# The four ways in: each answers (stored value or None, the reason shown or "").


def through_the_form(client: Client, kpi: KPI, text: str) -> str:
    response = client.post(
        reverse("kpi_point_add", args=[kpi.pk]),
        {
            "value": text,
            "time": timezone.localtime(an_hour_ago()).strftime("%Y-%m-%dT%H:%M"),
        },
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    page = response.content.decode()
    start = page.find('id="field-value"')
    if start == -1:
        return ""
    block = page[start : page.find('<div class="field', start + 1)]
    shown = re.findall(r'<p class="error field-error">(.*?)</p>', block, re.S)
    return html.unescape(" ".join(shown))


def through_the_csv_import(client: Client, kpi: KPI, text: str) -> str:
    when = timezone.localtime(an_hour_ago()).strftime("%Y-%m-%dT%H:%M")
    cell = f'"{text}"' if "," in text else text
    response = client.post(
        reverse("kpi_import", args=[kpi.pk]),
        {"content": f"time,value\n{when},{cell}\n", "confirm": "1"},
    )
    if response.status_code == 302:
        return ""
    assert response.status_code == 200
    page = response.content.decode()
    shown = re.findall(r'<ul class="row-errors"><li>(.*?)</li>', page, re.S)
    return html.unescape(" ".join(shown))


def through_the_api(api: ApiClient, kpi: KPI, text: str) -> str:
    response = api.send(
        "POST",
        f"/api/v1/kpis/{kpi.pk}/points",
        {"value": text, "time": an_hour_ago().isoformat()},
    )
    if response.status_code == 201:
        return ""
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert [e["field"] for e in errors] == ["value"]
    return str(errors[0]["message"])


def through_the_batch(api: ApiClient, kpi: KPI, text: str) -> str:
    point = {"kpi": kpi.pk, "time": an_hour_ago().isoformat(), "value": text}
    response = api.send("POST", "/api/v1/kpis/points/batch", {"points": [point]})
    if response.status_code == 201:
        return ""
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert [(e["row"], e["field"]) for e in errors] == [(0, "value")]
    return str(errors[0]["reason"])


# How each way words a refusal: the parser's reason, named by field or row.
WAYS: dict[str, tuple[Callable[..., str], Callable[[str], str]]] = {
    "form": (through_the_form, lambda reason: reason + "."),
    "csv import": (through_the_csv_import, lambda reason: f"Line 2: {reason}"),
    "api point": (through_the_api, lambda reason: f"Value error, {reason}"),
    "batch": (through_the_batch, lambda reason: reason),
}


def stored(kpi: KPI) -> list[Decimal]:
    return list(DataPoint.objects.filter(kpi=kpi).values_list("value", flat=True))


@pytest.mark.parametrize(("text", "value", "reason"), CASES, ids=IDS)
def test_every_way_in_gives_the_same_answer_for_the_same_text(
    alice, alice_client, kpi, text, value, reason
):
    api = api_client(alice)
    clients: dict[str, Any] = {
        "form": alice_client,
        "csv import": alice_client,
        "api point": api,
        "batch": api,
    }
    answers = {}
    for way, (send, worded) in WAYS.items():
        DataPoint.objects.filter(kpi=kpi).delete()
        shown = send(clients[way], kpi, text)
        answers[way] = (stored(kpi), shown)
        if value is None:
            assert answers[way] == ([], worded(reason)), way
    # The same value stored whichever way it came, and it is the value sent where
    # the database holds it exactly (SQLite keeps 15 significant digits).
    assert len({str(points) for points, _ in answers.values()}) == 1, answers
    if value is not None and (
        connection.vendor != "sqlite" or len(value.as_tuple().digits) <= 15
    ):
        assert answers["form"] == ([value], ""), answers


def test_a_value_the_ways_in_accept_is_the_value_the_parser_returns():
    for text, value, reason in CASES:
        if value is None:
            with pytest.raises(values.ValueProblem) as problem:
                values.parse_value(text)
            assert problem.value.reason == reason
        else:
            assert values.parse_value(text) == value


def test_spaces_around_a_value_are_dropped_by_forms_and_csv_not_in_json(
    alice, alice_client, kpi
):
    api = api_client(alice)

    assert through_the_form(alice_client, kpi, " 12.5 ") == ""
    assert stored(kpi) == [D("12.5")]
    assert through_the_batch(api, kpi, " 12.5 ") == (
        "' 12.5 ' has spaces around the number; send it without them"
    )
    assert through_the_api(api, kpi, " 12.5") == (
        "Value error, ' 12.5' has spaces around the number; send it without them"
    )


def test_a_json_number_is_held_to_the_same_bounds_by_its_value(alice, kpi):
    api = api_client(alice)
    when = an_hour_ago().isoformat()

    def batch(raw: str) -> Any:
        body = f'{{"points": [{{"kpi": {kpi.pk}, "time": "{when}", "value": {raw}}}]}}'
        return api.generic(
            "POST", "/api/v1/kpis/points/batch", body, content_type="application/json"
        )

    assert batch("1.50000").status_code == 201
    assert stored(kpi) == [D("1.5")]
    refused = batch("3.14159").json()["errors"]
    assert [e["reason"] for e in refused] == [
        "'3.14159' has more than 4 decimal places"
    ]
    refused = batch("1e16").json()["errors"]
    assert [e["reason"] for e in refused] == [
        "'1E+16' is too large (at most 15 digits before the point)"
    ]
