"""PATCH /api/v1/organization for the coach's settings (docs/coach.md): the same
checks as Settings → Organization (one form), problem+json for bad input."""

import pytest

from landmark.orgs.models import Organization

URL = "/api/v1/organization"


def fresh(org: Organization) -> Organization:
    return Organization.objects.get(pk=org.pk)


def test_the_api_reads_and_changes_the_coach_settings(alice_api, org):
    body = alice_api.send("GET", URL).json()
    assert body["coach_rules_off"] == []
    assert (body["coach_min_key_results"], body["coach_max_key_results"]) == (2, 5)
    assert (body["coach_max_team_objectives"], body["coach_max_key_kpis"]) == (5, 5)

    response = alice_api.send(
        "PATCH",
        URL,
        {"coach_rules_off": ["kr-stale"], "coach_max_team_objectives": 7},
    )
    assert response.status_code == 200, response.content
    assert response.json()["coach_rules_off"] == ["kr-stale"]
    assert response.json()["coach_max_team_objectives"] == 7
    org = fresh(org)
    assert (org.coach_rules_off, org.coach_max_team_objectives) == ("kr-stale", 7)


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"coach_rules_off": ["kr-count", "nope"]}, "coach_rules_off", "nope"),
        ({"coach_rules_off": "kr-count"}, "coach_rules_off", ""),
        ({"coach_min_key_results": 0}, "coach_min_key_results", "greater than"),
        ({"coach_max_key_kpis": 101}, "coach_max_key_kpis", "less than"),
        (
            {"coach_min_key_results": 6},
            "coach_max_key_results",
            "Must be at least the fewest key results per objective (6).",
        ),
    ],
)
def test_bad_coach_settings_are_problems_and_nothing_is_saved(
    alice_api, org, body, field, message
):
    before = Organization.objects.filter(pk=org.pk).values().get()
    response = alice_api.send("PATCH", URL, body)
    assert response.status_code == 422, response.content
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert any(
        e["field"] == field and message in e["message"] for e in problem["errors"]
    ), problem
    assert Organization.objects.filter(pk=org.pk).values().get() == before


def test_only_admins_change_the_coach_settings(bob_api, org):
    response = bob_api.send("PATCH", URL, {"coach_max_key_results": 9})
    assert response.status_code == 403
    assert fresh(org).coach_max_key_results == 5
