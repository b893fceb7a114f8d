"""GET /api/v1/coach?period=: the coach page's findings as JSON (docs/api.md#coach),
for the caller as the page shows them: private items only for who may open them,
fixes only for who may write, another organization's period not found."""

from decimal import Decimal

from landmark.api.models import APIToken
from landmark.api.tests.conftest import api_client
from landmark.kpis import actions as kpi_actions
from landmark.kpis.models import KPI
from landmark.loop import coach
from landmark.loop.tests.makers import six_key_results, unhealthy_kpi
from landmark.okrs.models import Objective
from landmark.orgs.models import Membership

D = Decimal
URL = "/api/v1/coach"


def group(body, rule_id: str):
    return next(g for g in body["groups"] if g["rule"] and g["rule"]["id"] == rule_id)


def test_it_answers_the_findings_with_their_rule_item_and_fix(
    org, period, bob, sales, bob_api
):
    objective = six_key_results(org, period, bob, sales)
    kpi = unhealthy_kpi(org, team=sales)
    response = bob_api.send("GET", f"{URL}?period={period.pk}")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["period"], body["by"], body["groups_more"]) == (period.pk, "rule", 0)
    counts = group(body, "kr-count")
    assert counts["rule"]["severity"] == "warning"
    assert counts["rule"]["quote"] == "you’ll typically set three to five indicators"
    assert (counts["total"], counts["more"]) == (1, 0)
    assert counts["findings"] == [
        {
            "rule": "kr-count",
            "severity": "warning",
            "message": "It has 6 key results; aim for 2 to 5.",
            "kind": "objective",
            "id": objective.pk,
            "title": "Delight our customers",
            "url": f"/objectives/{objective.pk}/",
            "team": "Sales",
            "fix": {
                "label": "Open the objective",
                "url": f"/objectives/{objective.pk}/",
                "method": "GET",
                "period": None,
            },
        }
    ]
    (unhealthy,) = group(body, "kpi-unhealthy-no-okr")["findings"]
    assert (unhealthy["kind"], unhealthy["id"]) == ("kpi", kpi.pk)
    assert unhealthy["fix"] == {
        "label": "Fix with an OKR",
        "url": f"/kpis/{kpi.pk}/fix-with-okr/",
        "method": "POST",
        "period": period.pk,
    }
    assert body["total"] == sum(g["total"] for g in body["groups"])


def test_it_answers_what_the_coach_page_shows(org, period, bob, sales, bob_api):
    """The same report as the page (loop/coach.period_report), grouped either way."""
    six_key_results(org, period, bob, sales)
    six_key_results(org, period, bob, None, title="Grow 10 times")
    unhealthy_kpi(org)
    membership = Membership.objects.get(organization=org, user=bob)
    for by in ("rule", "team"):
        body = bob_api.send("GET", f"{URL}?period={period.pk}&by={by}").json()
        report = coach.period_report(membership, period, by=by)
        assert [g["name"] for g in body["groups"]] == [g.name for g in report.groups]
        assert [[f["title"] for f in g["findings"]] for g in body["groups"]] == [
            [f.title for f in g.findings] for g in report.groups
        ]
        assert (body["total"], body["warnings"]) == (report.total, report.warnings)
    by_team = bob_api.send("GET", f"{URL}?period={period.pk}&by=team").json()
    assert [g["name"] for g in by_team["groups"]] == ["Sales", "No team"]
    assert by_team["groups"][0]["rule"] is None


def test_a_viewer_reads_the_findings_without_the_fixes(
    org, period, bob, sales, viewer_api
):
    six_key_results(org, period, bob, sales)
    body = viewer_api.send("GET", f"{URL}?period={period.pk}").json()
    (finding,) = group(body, "kr-count")["findings"]
    assert finding["message"] == "It has 6 key results; aim for 2 to 5."
    assert finding["fix"] is None


def test_a_private_objective_or_kpi_shows_only_to_who_may_open_it(
    org, period, alice, bob, sales, alice_api, bob_api
):
    six_key_results(
        org,
        period,
        alice,
        None,
        title="Quietly reorganize sales",
        visibility=Objective.Visibility.PRIVATE,
    )
    kpi = unhealthy_kpi(org)
    kpi_actions.update_kpi(kpi=kpi, owner=alice, visibility=KPI.Visibility.PRIVATE)

    def titles(client) -> tuple[set[str], int]:
        body = client.send("GET", f"{URL}?period={period.pk}").json()
        found = {f["title"] for g in body["groups"] for f in g["findings"]}
        return found, body["total"]

    bobs, bobs_total = titles(bob_api)
    alices, alices_total = titles(alice_api)
    assert "Quietly reorganize sales" not in bobs
    assert "Average reply time" not in bobs
    assert {"Quietly reorganize sales", "Average reply time"} <= alices
    assert alices_total > bobs_total


def test_another_organizations_period_is_not_found(
    org, period, other_period, bob_api, charlie_api
):
    response = bob_api.send("GET", f"{URL}?period={other_period.pk}")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert charlie_api.send("GET", f"{URL}?period={other_period.pk}").status_code == 200
    assert charlie_api.send("GET", f"{URL}?period={period.pk}").status_code == 404


def test_a_missing_or_bad_period_is_a_problem(bob_api):
    for query in ("", "?period=abc", "?period=0", "?period=1&by=owner"):
        response = bob_api.send("GET", f"{URL}{query}")
        assert response.status_code == 422, query
        assert response["Content-Type"] == "application/problem+json"
        fields = {e["field"] for e in response.json()["errors"]}
        assert fields == ({"by"} if "by=" in query else {"period"}), query


def test_it_needs_a_token_and_a_read_only_one_will_do(client, period, bob):
    response = client.get(f"{URL}?period={period.pk}")
    assert response.status_code == 401
    read_only = api_client(bob, scope=APIToken.Scope.READ)
    assert read_only.send("GET", f"{URL}?period={period.pk}").status_code == 200
