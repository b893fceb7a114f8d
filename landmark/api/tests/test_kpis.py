"""KPIs through the API: set-up, values, corrections, targets and the OKR links."""

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from landmark.kpis import actions as kpi_actions
from landmark.kpis.models import KPI, DataPoint, KPITarget
from landmark.okrs import actions as okr_actions
from landmark.okrs.models import KeyResult, Objective


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.content
    return response.json()


def test_a_member_sets_up_a_kpi_and_sends_values(bob_api, sales):
    kpi = ok(
        bob_api.send(
            "POST",
            "/api/v1/kpis",
            {
                "name": "Median response time",
                "team": sales.pk,
                "unit": "min",
                "frequency": "monthly",
                "target_kind": "at_most",
                "target_high": "20",
                "tolerance": "0.1",
            },
        ),
        201,
    )
    assert kpi["tolerance"] == "0.1"
    assert kpi["current_value"] is None
    when = (timezone.now() - timedelta(hours=1)).isoformat()
    point = ok(
        bob_api.send(
            "POST", f"/api/v1/kpis/{kpi['id']}/points", {"value": "31.5", "time": when}
        ),
        201,
    )
    assert point["source"] == "api"
    assert ok(bob_api.get(f"/api/v1/kpis/{kpi['id']}"))["current_value"] == "31.5"

    corrected = ok(
        bob_api.send(
            "POST",
            f"/api/v1/points/{point['id']}/correct",
            {"value": "30", "note": "typo"},
        ),
        201,
    )
    assert corrected["value"] == "30"
    assert DataPoint.objects.get(pk=point["id"]).is_current is False
    again = bob_api.send(
        "POST", f"/api/v1/points/{point['id']}/correct", {"value": "1"}
    )
    assert again.status_code == 409
    current = ok(bob_api.get(f"/api/v1/kpis/{kpi['id']}/points"))["items"]
    assert [p["value"] for p in current] == ["30"]
    history = ok(bob_api.get(f"/api/v1/kpis/{kpi['id']}/points?include_replaced=true"))
    assert len(history["items"]) == 2


def test_values_must_be_exact_and_times_need_an_offset(bob_api, org):
    kpi = kpi_actions.create_kpi(org=org, name="Signups")

    # A JSON number is read exactly, as a string would be: 4 decimal places at most.
    as_number = bob_api.send(
        "POST", f"/api/v1/kpis/{kpi.pk}/points", {"value": 3.14159}
    )
    naive = bob_api.send(
        "POST",
        f"/api/v1/kpis/{kpi.pk}/points",
        {"value": "3", "time": "2024-01-01T10:00:00"},
    )
    future = bob_api.send(
        "POST",
        f"/api/v1/kpis/{kpi.pk}/points",
        {"value": "3", "time": (timezone.now() + timedelta(days=1)).isoformat()},
    )

    assert [r.status_code for r in (as_number, naive, future)] == [422, 422, 422]
    assert not DataPoint.objects.exists()


def test_a_decimal_is_a_string_or_a_json_number_read_exactly(bob_api, org):
    def send(method: str, path: str, json_text: str) -> Any:
        return bob_api.generic(
            method, path, data=json_text, content_type="application/json"
        )

    kpi = ok(
        send(
            "POST",
            "/api/v1/kpis",
            '{"name": "Margin", "target_kind": "between", "target_low": 0.1,'
            ' "target_high": 1234567890.1234, "tolerance": 5E-2}',
        ),
        201,
    )
    point = ok(send("POST", f"/api/v1/kpis/{kpi['id']}/points", '{"value": 7}'), 201)

    assert (kpi["target_low"], kpi["target_high"], kpi["tolerance"]) == (
        "0.1",
        "1234567890.1234",
        "0.05",
    )
    assert point["value"] == "7"
    url = f"/api/v1/kpis/{kpi['id']}"
    refused = [
        send("PATCH", url, '{"target_low": ' + value + "}")
        # Read through a float, the 2nd would be 0.1234 and pass.
        for value in ("true", "0.12340000000000000001", "1e15", '"1e3"', "NaN")
    ]
    assert [r.status_code for r in refused] == [422] * 5
    assert [e["field"] for r in refused for e in r.json()["errors"]] == [
        "target_low"
    ] * 5


def test_targets_per_window_are_replaced_whole(bob_api, org):
    kpi = kpi_actions.create_kpi(
        org=org, name="Revenue", target_kind="at_least", target_low=Decimal("100")
    )
    month = timezone.localdate().replace(day=1)

    body = ok(
        bob_api.send(
            "PUT",
            f"/api/v1/kpis/{kpi.pk}/targets",
            {"targets": [{"window_start": month.isoformat(), "low": "120"}]},
        )
    )

    assert body["targets"] == [
        {"window_start": month.isoformat(), "low": "120", "high": None}
    ]
    wrong = bob_api.send(
        "PUT",
        f"/api/v1/kpis/{kpi.pk}/targets",
        {"targets": [{"window_start": month.replace(day=2).isoformat(), "low": "1"}]},
    )
    assert wrong.status_code == 422
    assert KPITarget.objects.get().low == Decimal("120")


def test_fix_with_an_okr_and_the_okrs_working_on_a_kpi(bob_api, org, period, alice):
    kpi = kpi_actions.create_kpi(
        org=org, name="Deals", target_kind="at_least", target_low=Decimal("100")
    )
    kpi_actions.record_data_point(
        kpi=kpi, value=Decimal("50"), time=timezone.now() - timedelta(minutes=5)
    )

    objective = ok(bob_api.send("POST", f"/api/v1/kpis/{kpi.pk}/fix-with-okr", {}), 201)

    assert objective["state"] == "draft"
    assert objective["kpi_ids"] == [kpi.pk]
    working = ok(bob_api.get(f"/api/v1/kpis/{kpi.pk}/okrs"))
    assert [o["id"] for o in working] == [objective["id"]]
    healthy = kpi_actions.create_kpi(org=org, name="Fine")
    refused = bob_api.send("POST", f"/api/v1/kpis/{healthy.pk}/fix-with-okr", {})
    assert refused.status_code == 409
    assert Objective.objects.count() == 1


def test_keep_a_reached_key_result_as_a_kpi(bob_api, key_results, bob):
    kr = key_results[0]
    unreached = bob_api.send("POST", f"/api/v1/key-results/{kr.pk}/keep-as-kpi", {})
    assert unreached.status_code == 409
    okr_actions.record_checkin(
        key_result=kr, author=bob, status="on_track", value=Decimal("5")
    )

    kpi = ok(bob_api.send("POST", f"/api/v1/key-results/{kr.pk}/keep-as-kpi", {}), 201)

    assert kpi["target_kind"] == "at_least"
    assert kpi["target_low"] == "5"
    assert KeyResult.objects.get(pk=kr.pk).kpi_id == kpi["id"]


def test_archive_and_private_kpis(alice_api, viewer_api, org, alice):
    private = kpi_actions.create_kpi(
        org=org, name="Runway", owner=alice, visibility=KPI.Visibility.PRIVATE
    )
    assert viewer_api.get(f"/api/v1/kpis/{private.pk}").status_code == 404

    archived = ok(alice_api.send("POST", f"/api/v1/kpis/{private.pk}/archive"))

    assert archived["archived"] is True
    assert ok(alice_api.get("/api/v1/kpis"))["items"] == []
    listed = ok(alice_api.get("/api/v1/kpis?archived=true"))["items"]
    assert [k["id"] for k in listed] == [private.pk]


def test_a_viewer_cannot_write_kpis(viewer_api, org):
    kpi = kpi_actions.create_kpi(org=org, name="Signups")

    assert viewer_api.send("POST", "/api/v1/kpis", {"name": "X"}).status_code == 403
    assert (
        viewer_api.send(
            "POST", f"/api/v1/kpis/{kpi.pk}/points", {"value": "1"}
        ).status_code
        == 403
    )
    assert (
        viewer_api.send("PATCH", f"/api/v1/kpis/{kpi.pk}", {"name": "Y"}).status_code
        == 403
    )
    assert KPI.objects.get().name == "Signups"
