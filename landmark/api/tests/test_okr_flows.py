"""The API agrees with the pages on the first week's flows: periods that make
sense, a reopened period without its close time, progress null before data."""

from decimal import Decimal
from typing import Any

from landmark.okrs import actions
from landmark.okrs.models import KeyResult, Period

D = Decimal
PROBLEM = "application/problem+json"


def problem_fields(response: Any) -> dict[str, str]:
    assert response.status_code == 422, response.content
    assert response["Content-Type"] == PROBLEM
    return {e["field"]: e["message"] for e in response.json()["errors"]}


# Periods


def test_it_refuses_a_quarter_that_lasts_a_year(alice_api, org):
    response = alice_api.send(
        "POST",
        "/api/v1/periods",
        {"name": "Q1", "kind": "quarter", "start": "2031-01-01", "end": "2031-12-31"},
    )

    assert "A quarter lasts 12 to 14 weeks" in problem_fields(response)["kind"]
    assert not Period.objects.filter(organization=org, name="Q1").exists()


def test_it_refuses_the_reported_quarter(alice_api, org):
    response = alice_api.send(
        "POST",
        "/api/v1/periods",
        {
            "name": "Q3\nof the ages",
            "kind": "quarter",
            "start": "0009-01-01",
            "end": "2112-12-31",
        },
    )

    assert response.status_code == 422
    assert response["Content-Type"] == PROBLEM
    assert not Period.objects.filter(organization=org).exists()


def test_it_refuses_a_name_with_a_line_break(alice_api, org):
    response = alice_api.send(
        "POST",
        "/api/v1/periods",
        {"name": "Q3\n2031", "start": "2031-07-01", "end": "2031-09-30"},
    )

    assert "on one line" in problem_fields(response)["name"]
    assert not Period.objects.filter(organization=org).exists()


def test_a_patch_is_checked_against_the_periods_other_values(alice_api, period):
    response = alice_api.send("PATCH", f"/api/v1/periods/{period.pk}", {"kind": "year"})

    assert "A year lasts 52 or 53 weeks" in problem_fields(response)["kind"]
    renamed = alice_api.send(
        "PATCH", f"/api/v1/periods/{period.pk}", {"name": "This\nquarter"}
    )
    assert "on one line" in problem_fields(renamed)["name"]
    period.refresh_from_db()
    assert (period.kind, "\n" in period.name) == (Period.Kind.QUARTER, False)


def test_a_reopened_period_has_no_close_time(alice_api, period, objective, alice):
    actions.close_period(period=period, grades=[], author=alice)
    closed = alice_api.send("GET", f"/api/v1/periods/{period.pk}").json()
    assert closed["closed_at"] is not None

    reopened = alice_api.send("POST", f"/api/v1/periods/{period.pk}/reopen")

    assert reopened.status_code == 200
    assert (reopened.json()["state"], reopened.json()["closed_at"]) == ("active", None)
    objective_out = alice_api.send("GET", f"/api/v1/objectives/{objective.pk}").json()
    assert (objective_out["score"], objective_out["outcome"]) == (None, "")


# Progress before data


def test_a_key_result_without_data_has_null_progress(bob_api, objective, bob):
    up = actions.create_key_result(
        objective=objective, title="Grow", start=D(10), target=D(20)
    )
    down = actions.create_key_result(
        objective=objective, title="Cut tickets", start=D(1200), target=D(1000)
    )
    threshold = actions.create_key_result(
        objective=objective,
        title="Hold CSAT",
        kind=KeyResult.Kind.THRESHOLD,
        threshold_op="at_least",
        threshold_low=D(95),
    )

    def progress(kr: KeyResult) -> Any:
        return bob_api.send("GET", f"/api/v1/key-results/{kr.pk}").json()["progress"]

    assert [progress(kr) for kr in (up, down, threshold)] == [None, None, None]
    actions.record_checkin(
        key_result=down, author=bob, value=D(1200), status="on_track"
    )
    # Checked in at its start: no progress, 0 and never -0.
    assert repr(progress(down)) == "0.0"
