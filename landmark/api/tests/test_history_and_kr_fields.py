"""The API's side of issue 12 (docs/api.md): admins send check-ins with a past
`checked_in_at`, members may not; key results read and write a `description`; a
milestone refuses start and target values. Every refusal is problem+json and saves
nothing."""

import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from landmark.lib import bounds
from landmark.okrs import actions
from landmark.okrs.models import CheckIn, KeyResult, Period, day_start

D = Decimal


@pytest.fixture
def metric(key_results: list[KeyResult]) -> KeyResult:
    return key_results[0]  # 0 → 5


@pytest.fixture
def milestone(key_results: list[KeyResult]) -> KeyResult:
    return key_results[2]


def past(period: Period, days: int) -> str:
    return (day_start(period.start) + timedelta(days=days, hours=9)).isoformat()


def problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"] == "application/problem+json"
    body: dict[str, Any] = json.loads(response.content)
    return body


def checkins(kr: KeyResult) -> str:
    return f"/api/v1/key-results/{kr.pk}/check-ins"


# Check-ins with a past time


def test_an_admin_sends_a_check_in_with_a_past_time(alice_api, alice, metric, period):
    response = alice_api.send(
        "POST",
        checkins(metric),
        {
            "value": "2",
            "status": "needs_attention",
            "confidence": 6,
            "moved": "From the old spreadsheet",
            "checked_in_at": past(period, 3),
        },
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["source"] == "import"
    assert body["author_id"] == alice.pk
    assert body["created_at"].startswith(past(period, 3)[:19])
    kr = alice_api.send("GET", f"/api/v1/key-results/{metric.pk}").json()
    assert kr["current"] == "2"
    assert kr["last_status"] == "needs_attention"
    assert kr["last_checkin_at"].startswith(past(period, 3)[:19])


def test_a_past_check_in_never_replaces_a_newer_value(alice_api, bob, metric, period):
    actions.record_checkin(key_result=metric, author=bob, status="on_track", value=D(4))

    response = alice_api.send(
        "POST", checkins(metric), {"value": "1", "checked_in_at": past(period, 2)}
    )

    assert response.status_code == 201
    kr = alice_api.send("GET", f"/api/v1/key-results/{metric.pk}").json()
    assert (kr["current"], kr["progress"], kr["checkins_count"]) == ("4", 0.8, 2)
    listed = alice_api.send("GET", f"/api/v1/check-ins?key_result={metric.pk}").json()
    assert [(c["value"], c["source"]) for c in listed["items"]] == [
        ("4", "person"),
        ("1", "import"),
    ]


def test_a_member_may_not_send_a_past_time(bob_api, metric, period):
    response = bob_api.send(
        "POST", checkins(metric), {"value": "1", "checked_in_at": past(period, 2)}
    )

    body = problem(response, 403)
    assert (
        "Only organization admins can send a check-in with a past time"
        in (body["detail"])
    )
    assert not CheckIn.objects.exists()
    # Without it, the member checks in now as always.
    assert bob_api.send("POST", checkins(metric), {"value": "1"}).status_code == 201


def test_a_viewer_and_another_organization_are_refused_as_before(
    viewer_api, charlie_api, metric, period
):
    body = {"value": "1", "checked_in_at": past(period, 2)}

    problem(viewer_api.send("POST", checkins(metric), body), 403)
    problem(charlie_api.send("POST", checkins(metric), body), 404)
    assert not CheckIn.objects.exists()


@pytest.mark.parametrize(
    ("when", "message"),
    [
        (
            lambda p: (timezone.now() + timedelta(hours=1)).isoformat(),
            "This time is in the future",
        ),
        (
            lambda p: (day_start(p.start) - timedelta(hours=1)).isoformat(),
            "starts",
        ),
        (lambda p: "2026-01-01T09:00:00", "The time needs its offset"),
        (lambda p: "1969-12-31T23:00:00Z", bounds.TIME_MESSAGE),
    ],
)
def test_a_time_that_makes_no_sense_is_refused_on_its_field(
    alice_api, metric, period, when, message
):
    response = alice_api.send(
        "POST", checkins(metric), {"value": "1", "checked_in_at": when(period)}
    )

    body = problem(response, 422)
    assert [e["field"] for e in body["errors"]] == ["checked_in_at"]
    assert message in body["errors"][0]["message"]
    assert not CheckIn.objects.exists()


# Key results' description


def test_a_key_result_is_created_read_and_changed_with_its_description(
    alice_api, objective
):
    created = alice_api.send(
        "POST",
        f"/api/v1/objectives/{objective.pk}/key-results",
        {
            "title": "Cut onboarding time",
            "description": "Median days from signature to first login, from the CRM.",
            "start": "30",
            "target": "10",
        },
    )
    assert created.status_code == 201, created.content
    kr = created.json()
    assert kr["description"] == (
        "Median days from signature to first login, from the CRM."
    )
    assert KeyResult.objects.get(pk=kr["id"]).description == kr["description"]

    path = f"/api/v1/key-results/{kr['id']}"
    changed = alice_api.send("PATCH", path, {"description": "From the CRM."})
    assert changed.json()["description"] == "From the CRM."
    emptied = alice_api.send("PATCH", path, {"description": None})
    assert emptied.json()["description"] == ""
    assert alice_api.send("GET", path).json()["description"] == ""


def test_a_description_longer_than_the_bound_is_refused(alice_api, metric):
    too_long = "x" * (bounds.MAX_DESCRIPTION + 1)

    response = alice_api.send(
        "PATCH", f"/api/v1/key-results/{metric.pk}", {"description": too_long}
    )

    body = problem(response, 422)
    assert [e["field"] for e in body["errors"]] == ["description"]
    metric.refresh_from_db()
    assert metric.description == ""
    exact = "y" * bounds.MAX_DESCRIPTION
    ok = alice_api.send(
        "PATCH", f"/api/v1/key-results/{metric.pk}", {"description": exact}
    )
    assert ok.status_code == 200
    metric.refresh_from_db()
    assert metric.description == exact


# A milestone takes no start or target


@pytest.mark.parametrize(
    ("sent", "fields"),
    [
        ({"start": "0"}, ["start"]),
        ({"target": "1"}, ["target"]),
        ({"start": "0", "target": "1"}, ["start", "target"]),
    ],
)
def test_a_new_milestone_with_start_or_target_values_is_refused(
    alice_api, objective, sent, fields
):
    response = alice_api.send(
        "POST",
        f"/api/v1/objectives/{objective.pk}/key-results",
        {"title": "Launch the new pricing", "kind": "milestone", **sent},
    )

    body = problem(response, 422)
    assert sorted(e["field"] for e in body["errors"]) == fields
    assert all(
        "A milestone is done or not done" in e["message"] for e in body["errors"]
    )
    assert not KeyResult.objects.filter(title="Launch the new pricing").exists()


def test_a_milestone_is_not_given_values_later_nor_a_metric_made_one_with_them(
    alice_api, metric, milestone
):
    response = alice_api.send(
        "PATCH", f"/api/v1/key-results/{milestone.pk}", {"target": "3"}
    )
    problem(response, 422)
    milestone.refresh_from_db()
    assert milestone.target is None

    turned = alice_api.send(
        "PATCH", f"/api/v1/key-results/{metric.pk}", {"kind": "milestone"}
    )
    assert sorted(e["field"] for e in problem(turned, 422)["errors"]) == [
        "start",
        "target",
    ]
    metric.refresh_from_db()
    assert (metric.kind, metric.start, metric.target) == ("metric", D(0), D(5))

    emptied = alice_api.send(
        "PATCH",
        f"/api/v1/key-results/{metric.pk}",
        {"kind": "milestone", "start": None, "target": None},
    )
    assert emptied.status_code == 200, emptied.content
    assert (emptied.json()["kind"], emptied.json()["start"]) == ("milestone", None)
