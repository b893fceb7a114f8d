"""OKRs through the API: the same rules as the web, through the same actions."""

from decimal import Decimal
from typing import Any

from landmark.okrs import actions as okr_actions
from landmark.okrs.models import CheckIn, KeyResult, Objective, ObjectiveKPI, Period


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.content
    return response.json()


def test_a_member_creates_an_objective_with_key_results_and_checks_in(
    bob_api, period, sales, bob
):
    objective = ok(
        bob_api.send(
            "POST",
            "/api/v1/objectives",
            {"title": "Win mid-market", "period": period.pk, "team": sales.pk},
        ),
        201,
    )
    assert objective["owner_id"] == bob.pk
    kr = ok(
        bob_api.send(
            "POST",
            f"/api/v1/objectives/{objective['id']}/key-results",
            {"title": "Sign customers", "start": "0", "target": "10"},
        ),
        201,
    )
    assert kr["progress"] is None or kr["progress"] == 0
    checkin = ok(
        bob_api.send(
            "POST",
            f"/api/v1/key-results/{kr['id']}/check-ins",
            {"value": "4", "status": "needs_attention", "confidence": 6},
        ),
        201,
    )
    assert checkin["value"] == "4"
    kr = ok(bob_api.get(f"/api/v1/key-results/{kr['id']}"))
    assert kr["current"] == "4"
    assert kr["progress"] == 0.4
    assert kr["last_status"] == "needs_attention"


def test_a_team_objective_without_team_is_a_field_error(bob_api, period):
    response = bob_api.send(
        "POST", "/api/v1/objectives", {"title": "Grow", "period": period.pk}
    )

    assert response.status_code == 422
    assert {"field": "team", "message": "A team objective needs its team."} in (
        response.json()["errors"]
    )
    assert not Objective.objects.filter(title="Grow").exists()


def test_a_metric_with_start_equal_to_target_is_refused(bob_api, objective):
    response = bob_api.send(
        "POST",
        f"/api/v1/objectives/{objective.pk}/key-results",
        {"title": "Flat", "start": "5", "target": "5"},
    )

    assert response.status_code == 422
    assert "threshold" in response.json()["detail"]
    assert not KeyResult.objects.filter(title="Flat").exists()


def test_a_viewer_reads_but_cannot_check_in(viewer_api, key_results):
    kr = key_results[0]
    assert viewer_api.get(f"/api/v1/key-results/{kr.pk}").status_code == 200

    response = viewer_api.send(
        "POST", f"/api/v1/key-results/{kr.pk}/check-ins", {"value": "3"}
    )

    assert response.status_code == 403
    assert not CheckIn.objects.exists()


def test_another_organization_sees_none_of_it(charlie_api, key_results, objective):
    assert charlie_api.get(f"/api/v1/objectives/{objective.pk}").status_code == 404
    kr_path = f"/api/v1/key-results/{key_results[0].pk}"
    assert charlie_api.get(kr_path).status_code == 404
    assert (
        charlie_api.send("POST", f"{kr_path}/check-ins", {"value": "1"}).status_code
        == 404
    )
    assert charlie_api.get("/api/v1/key-results").json()["items"] == []


def test_private_objectives_follow_the_web_visibility(
    alice_api, viewer_api, org, period, alice
):
    secret = okr_actions.create_objective(
        org=org,
        period=period,
        owner=alice,
        title="Acquire a competitor",
        level=Objective.Level.COMPANY,
        visibility=Objective.Visibility.PRIVATE,
    )

    assert viewer_api.get(f"/api/v1/objectives/{secret.pk}").status_code == 404
    assert [o["id"] for o in viewer_api.get("/api/v1/objectives").json()["items"]] == []
    assert alice_api.get(f"/api/v1/objectives/{secret.pk}").status_code == 200


def test_a_stale_if_match_is_412_and_saves_nothing(bob_api, objective):
    path = f"/api/v1/objectives/{objective.pk}"
    etag = bob_api.get(path)["ETag"]
    ok(bob_api.send("PATCH", path, {"title": "First edit"}, HTTP_IF_MATCH=etag))

    stale = bob_api.send("PATCH", path, {"title": "Second edit"}, HTTP_IF_MATCH=etag)

    assert stale.status_code == 412
    assert stale["Content-Type"] == "application/problem+json"
    objective.refresh_from_db()
    assert objective.title == "First edit"
    fresh = bob_api.get(path)["ETag"]
    assert fresh != etag
    ok(bob_api.send("PATCH", path, {"title": "Second edit"}, HTTP_IF_MATCH=fresh))


def test_patch_aligns_an_objective_and_links_kpis(
    bob_api, objective, org, period, alice
):
    from landmark.kpis import actions as kpi_actions

    company = okr_actions.create_objective(
        org=org, period=period, owner=alice, title="Grow", level="company"
    )
    kpi = kpi_actions.create_kpi(org=org, name="Revenue")

    body = ok(
        bob_api.send(
            "PATCH",
            f"/api/v1/objectives/{objective.pk}",
            {"parent": company.pk, "kpis": [kpi.pk]},
        )
    )

    assert body["parent_id"] == company.pk
    assert body["kpi_ids"] == [kpi.pk]
    assert ObjectiveKPI.objects.filter(objective=objective, kpi=kpi).exists()
    cycle = bob_api.send(
        "PATCH", f"/api/v1/objectives/{company.pk}", {"parent": objective.pk}
    )
    assert cycle.status_code == 422


def test_an_admin_closes_a_period_with_grades(
    alice_api, objective, key_results, period
):
    response = alice_api.send(
        "POST",
        f"/api/v1/periods/{period.pk}/close",
        {
            "grades": [
                {
                    "objective": objective.pk,
                    "score_override": "0.5",
                    "override_reason": "Market shrank",
                }
            ],
            "retrospective": "Learned a lot",
        },
    )

    assert ok(response)["state"] == "closed"
    objective.refresh_from_db()
    assert objective.score_override == Decimal("0.5")
    again = alice_api.send("POST", f"/api/v1/periods/{period.pk}/close", {})
    assert again.status_code == 409
    reopened = ok(alice_api.send("POST", f"/api/v1/periods/{period.pk}/reopen"))
    assert reopened["state"] == "active"


def test_a_member_cannot_close_a_period(bob_api, period):
    response = bob_api.send("POST", f"/api/v1/periods/{period.pk}/close", {})

    assert response.status_code == 403
    period.refresh_from_db()
    assert period.state == Period.State.ACTIVE


def test_an_override_needs_a_reason(alice_api, objective, period):
    response = alice_api.send(
        "POST",
        f"/api/v1/periods/{period.pk}/close",
        {"grades": [{"objective": objective.pk, "score_override": "0.5"}]},
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "grades.0.override_reason"
    period.refresh_from_db()
    assert period.state == Period.State.ACTIVE


def test_initiatives_and_kudos(bob_api, key_results, objective, viewer, org):
    from landmark.orgs.models import TeamMember

    kr = key_results[0]
    made = ok(
        bob_api.send(
            "POST",
            f"/api/v1/key-results/{kr.pk}/initiatives",
            {"title": "Webinar", "url": "https://example.com/t/1"},
        ),
        201,
    )
    changed = ok(
        bob_api.send("PATCH", f"/api/v1/initiatives/{made['id']}", {"status": "done"})
    )
    assert changed["status"] == "done"
    TeamMember.objects.create(organization=org, team=objective.team, user=viewer)
    kudos = ok(
        bob_api.send(
            "POST",
            f"/api/v1/objectives/{objective.pk}/kudos",
            {"recipient": viewer.pk, "message": "Thanks!"},
        ),
        201,
    )
    assert kudos["recipient_id"] == viewer.pk
    assert [k["id"] for k in bob_api.get("/api/v1/kudos").json()["items"]] == [
        kudos["id"]
    ]


def test_cursor_pagination_walks_every_row_once(alice_api, org, period, alice):
    for n in range(7):
        okr_actions.create_objective(
            org=org, period=period, owner=alice, title=f"Goal {n}", level="company"
        )
    seen, cursor = [], None
    while True:
        query = "?limit=3&sort=-title" + (f"&cursor={cursor}" if cursor else "")
        page = ok(alice_api.get("/api/v1/objectives" + query))
        seen += [o["title"] for o in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert seen == [f"Goal {n}" for n in reversed(range(7))]
    bad = alice_api.get("/api/v1/objectives?cursor=nonsense")
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "cursor"
