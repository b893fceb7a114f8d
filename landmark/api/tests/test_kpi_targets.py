"""Strict and exact KPI targets through the API (docs/api.md, "KPI targets"): written,
read back, judged by the same rule as the web, and refused with the field's message."""

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from landmark.kpis import actions as kpi_actions
from landmark.kpis.models import KPI, KPITarget
from landmark.kpis.read import load_kpi_views


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.content
    return response.json()


def an_hour_ago() -> str:
    return (timezone.now() - timedelta(hours=1)).isoformat()


def test_an_exact_target_round_trips_and_warns_just_off_its_value(bob_api):
    kpi = ok(
        bob_api.send(
            "POST",
            "/api/v1/kpis",
            {
                "name": "Utilisation",
                "unit": "%",
                "target_kind": "equal",
                "target_low": "90",
            },
        ),
        201,
    )
    assert (kpi["target_kind"], kpi["target_low"], kpi["target_high"]) == (
        "equal",
        "90",
        "90",
    )
    url = f"/api/v1/kpis/{kpi['id']}"
    ok(
        bob_api.send(
            "POST", f"{url}/points", {"value": "90.07", "time": an_hour_ago()}
        ),
        201,
    )

    read = ok(bob_api.get(url))
    assert read["health"] == "warning"
    assert (read["current_target_low"], read["current_target_high"]) == ("90", "90")
    listed = ok(bob_api.get("/api/v1/kpis?health=warning"))["items"]
    assert [k["id"] for k in listed] == [kpi["id"]]
    # The web's number for the same KPI.
    assert (
        load_kpi_views([KPI.objects.get(pk=kpi["id"])])[kpi["id"]].health == "warning"
    )

    # Further than 10 % of 90 away: unhealthy.
    ok(
        bob_api.send(
            "POST", f"{url}/points", {"value": "99.01", "time": an_hour_ago()}
        ),
        201,
    )
    assert ok(bob_api.get(url))["health"] == "unhealthy"


@pytest.mark.parametrize(
    ("kind", "bound", "health"),
    [
        ("at_least", "target_low", "healthy"),
        ("above", "target_low", "warning"),
        ("at_most", "target_high", "healthy"),
        ("below", "target_high", "warning"),
    ],
)
def test_strict_and_inclusive_targets_right_at_their_bound(
    bob_api, kind, bound, health
):
    kpi = ok(
        bob_api.send(
            "POST",
            "/api/v1/kpis",
            {"name": "CSAT", "unit": "%", "target_kind": kind, bound: "95"},
        ),
        201,
    )
    url = f"/api/v1/kpis/{kpi['id']}"
    ok(
        bob_api.send("POST", f"{url}/points", {"value": "95", "time": an_hour_ago()}),
        201,
    )
    read = ok(bob_api.get(url))
    assert (read["target_kind"], read[bound], read["health"]) == (kind, "95", health)


def test_changing_the_kind_recomputes_health_and_drops_the_unused_bound(bob_api, org):
    kpi = kpi_actions.create_kpi(
        org=org,
        name="Tickets",
        target_kind="between",
        target_low=Decimal("90"),
        target_high=Decimal("110"),
    )
    kpi_actions.record_data_point(kpi=kpi, value=Decimal("100"))
    url = f"/api/v1/kpis/{kpi.pk}"
    assert ok(bob_api.get(url))["health"] == "healthy"

    # To "equal to 95": the old highest value (110) is not kept.
    equal = ok(bob_api.send("PATCH", url, {"target_kind": "equal", "target_low": "95"}))
    assert (equal["target_low"], equal["target_high"], equal["health"]) == (
        "95",
        "95",
        "warning",
    )
    # To "below 100": 100 itself misses.
    below = ok(
        bob_api.send("PATCH", url, {"target_kind": "below", "target_high": "100"})
    )
    assert (below["target_low"], below["target_high"], below["health"]) == (
        None,
        "100",
        "warning",
    )
    kpi.refresh_from_db()
    assert (kpi.target_kind, kpi.target_low, kpi.target_high) == (
        "below",
        None,
        Decimal("100"),
    )
    assert kpi.current_health == "warning"
    # Only the tolerance: 0 leaves no warning zone.
    assert ok(bob_api.send("PATCH", url, {"tolerance": "0"}))["health"] == "unhealthy"


def test_a_missing_value_or_an_unknown_kind_is_a_422_on_its_field(bob_api, org):
    missing = bob_api.send(
        "POST", "/api/v1/kpis", {"name": "NPS", "target_kind": "equal"}
    )
    unknown = bob_api.send(
        "POST",
        "/api/v1/kpis",
        {"name": "NPS", "target_kind": "greater_than", "target_low": "50"},
    )
    strict = bob_api.send(
        "POST", "/api/v1/kpis", {"name": "Churn", "target_kind": "below"}
    )
    assert [r.status_code for r in (missing, unknown, strict)] == [422, 422, 422]
    assert missing["Content-Type"].startswith("application/problem+json")
    assert [(e["field"], e["message"]) for e in missing.json()["errors"]] == [
        ("target_low", "Enter the target value.")
    ]
    assert [e["field"] for e in unknown.json()["errors"]] == ["target_kind"]
    assert [(e["field"], e["message"]) for e in strict.json()["errors"]] == [
        ("target_high", "Enter the highest healthy value.")
    ]
    assert not KPI.objects.filter(organization=org).exists()


def test_targets_per_window_of_an_exact_target_hold_one_value(bob_api, org):
    kpi = kpi_actions.create_kpi(
        org=org, name="NPS", target_kind="equal", target_low=Decimal("50")
    )
    month = timezone.localdate().replace(day=1).isoformat()
    body = ok(
        bob_api.send(
            "PUT",
            f"/api/v1/kpis/{kpi.pk}/targets",
            {"targets": [{"window_start": month, "low": "52"}]},
        )
    )
    assert body["targets"] == [{"window_start": month, "low": "52", "high": "52"}]
    two = bob_api.send(
        "PUT",
        f"/api/v1/kpis/{kpi.pk}/targets",
        {"targets": [{"window_start": month, "low": "52", "high": "60"}]},
    )
    assert two.status_code == 422
    assert "has one value" in two.json()["errors"][0]["message"]
    assert KPITarget.objects.get().high == Decimal("52")
