"""The schema says what the server enforces: each PATCH field takes null exactly
when the schema says it may (and null then empties it), a body that is not JSON is
the documented 400, one too large the documented 413, a link is a URI, and every
creation that says so answers the new object's Location."""

import json
from decimal import Decimal
from typing import Any

import pytest

from landmark.api.management.commands.api_schema import schema_text
from landmark.comments import actions as comment_actions
from landmark.hooks import actions as hook_actions
from landmark.kpis import actions as kpi_actions
from landmark.okrs import actions as okr_actions

PROBLEM = "application/problem+json"


@pytest.fixture
def patchable(org, period, objective, key_results, sales, alice) -> dict[str, str]:
    """A URL per PATCH operation, of an object the owner may change."""
    kpi = kpi_actions.create_kpi(
        org=org, name="NPS", target_kind="at_least", target_low=Decimal(30)
    )
    initiative = okr_actions.create_initiative(
        key_result=key_results[0], title="Call", url="https://crm.example/1"
    )
    webhook, _ = hook_actions.create_webhook(
        org=org, url="http://127.0.0.1:9/hook", events=["period.closed"]
    )
    comment = comment_actions.post_comment(
        target=comment_actions.Target(objective=objective),
        author=alice,
        body="Kick-off on Monday.",
    )
    return {
        "/api/v1/organization": "/api/v1/organization",
        "/api/v1/comments/{pk}": f"/api/v1/comments/{comment.pk}",
        "/api/v1/webhooks/{pk}": f"/api/v1/webhooks/{webhook.pk}",
        "/api/v1/periods/{pk}": f"/api/v1/periods/{period.pk}",
        "/api/v1/objectives/{pk}": f"/api/v1/objectives/{objective.pk}",
        # The milestone: a metric needs its start and target, a threshold its bound.
        "/api/v1/key-results/{pk}": f"/api/v1/key-results/{key_results[2].pk}",
        "/api/v1/initiatives/{pk}": f"/api/v1/initiatives/{initiative.pk}",
        "/api/v1/kpis/{pk}": f"/api/v1/kpis/{kpi.pk}",
        "/api/v1/teams/{pk}": f"/api/v1/teams/{sales.pk}",
    }


def patch_bodies(schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
    bodies = {}
    for path, item in schema["paths"].items():
        if "patch" in item:
            content = item["patch"]["requestBody"]["content"]["application/json"]
            name = content["schema"]["$ref"].rsplit("/", 1)[1]
            bodies[path] = schema["components"]["schemas"][name]["properties"]
    return bodies


def test_a_patch_field_takes_null_exactly_when_the_schema_says_so(alice_api, patchable):
    schema = json.loads(schema_text())
    bodies = patch_bodies(schema)
    assert set(bodies) == set(patchable)
    checked = {True: 0, False: 0}
    for path, fields in bodies.items():
        url = patchable[path]
        for name, field in fields.items():
            nullable = {"type": "null"} in field.get("anyOf", [])
            response = alice_api.send("PATCH", url, {name: None})
            if name == "team" and path == "/api/v1/objectives/{pk}":
                # Null empties it, and a team objective needs its team.
                assert response.status_code == 422
                assert response.json()["errors"][0]["field"] == "team"
                continue
            assert response.status_code == (200 if nullable else 422), (path, name)
            checked[nullable] += 1
            if not nullable:
                assert response["Content-Type"] == PROBLEM
                assert [e["field"] for e in response.json()["errors"]] == [name]
    assert checked[True] >= 20 and checked[False] >= 20, checked


def test_null_empties_a_field_that_can_be_empty(alice_api, patchable, org):
    kpi = alice_api.get(patchable["/api/v1/kpis/{pk}"]).json()
    emptied = alice_api.send(
        "PATCH", patchable["/api/v1/kpis/{pk}"], {"definition": None, "unit": None}
    ).json()
    initiative = alice_api.send(
        "PATCH", patchable["/api/v1/initiatives/{pk}"], {"url": None}
    ).json()

    assert kpi["name"] == emptied["name"] == "NPS"
    assert (emptied["definition"], emptied["unit"], initiative["url"]) == ("", "", "")


@pytest.mark.parametrize(
    "body", [b"not json", b"\xff\xfe", b'{"name": "x"', b"[" * 100_000]
)
def test_a_body_that_is_not_json_is_the_documented_400(alice_api, body):
    response = alice_api.generic(
        "POST", "/api/v1/kpis", data=body, content_type="application/json"
    )

    assert response.status_code == 400
    assert response["Content-Type"] == PROBLEM
    assert response.json()["type"] == "urn:landmark:problem:bad-request"


def test_a_body_over_django_s_limit_is_the_documented_413(alice_api, settings):
    body = json.dumps({"name": "x", "definition": "y" * 3_000_000})

    response = alice_api.generic(
        "POST", "/api/v1/kpis", data=body, content_type="application/json"
    )

    assert response.status_code == 413
    assert response["Content-Type"] == PROBLEM
    assert "2.5 MB" in response.json()["detail"]


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("https://jira.example/browse/OKR-7?focus=1#top", 201),
        ("ftp://files.example/plan.pdf", 201),
        ("", 201),
        ("jira.example/browse/OKR-7", 422),  # no scheme: not a URI
        ("https://jira.example/a b", 422),
        ("javascript://alert(1)", 422),  # a URI, but not a link the web takes
        ("https://bücher.example", 422),  # a host in punycode is a URI
    ],
)
def test_an_initiative_s_link_is_a_uri(alice_api, key_results, url, status):
    response = alice_api.send(
        "POST",
        f"/api/v1/key-results/{key_results[0].pk}/initiatives",
        {"title": "Follow up", "url": url},
    )

    assert response.status_code == status, response.content
    if status == 201:
        assert response.json()["url"] == url


def test_a_creation_answers_where_the_new_object_is(
    alice_api, period, objective, key_results, org
):
    kpi = kpi_actions.create_kpi(org=org, name="Leads")
    created = {
        "/api/v1/periods": {
            "name": "Next",
            "kind": "custom",
            "start": "2030-01-01",
            "end": "2030-03-31",
        },
        "/api/v1/objectives": {
            "title": "Grow",
            "period": period.pk,
            "level": "company",
        },
        f"/api/v1/objectives/{objective.pk}/key-results": {
            "title": "Ship",
            "kind": "milestone",
        },
        f"/api/v1/key-results/{key_results[0].pk}/initiatives": {"title": "Do"},
        "/api/v1/kpis": {"name": "Churn"},
        f"/api/v1/kpis/{kpi.pk}/points": {"value": "3"},
        "/api/v1/teams": {"name": "Ops"},
    }
    for url, body in created.items():
        response = alice_api.send("POST", url, body)
        assert response.status_code == 201, (url, response.content)
        again = alice_api.get(response["Location"])
        assert again.status_code == 200, url
        assert again.json()["id"] == response.json()["id"]
    checkin = alice_api.send(
        "POST", f"/api/v1/key-results/{key_results[0].pk}/check-ins", {"value": "1"}
    )
    assert checkin.status_code == 201
    assert "Location" not in checkin
