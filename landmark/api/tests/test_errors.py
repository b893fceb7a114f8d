"""Every error is application/problem+json with type, title, status and detail."""

import json
from typing import Any

from django.contrib.staticfiles import finders
from django.test import Client


def body(response: Any) -> Any:
    assert response["Content-Type"] == "application/problem+json"
    return json.loads(response.content)


def test_invalid_input_lists_the_fields(alice_api):
    response = alice_api.send("POST", "/api/v1/teams", {"name": 5, "colour": "red"})

    assert response.status_code == 422
    fields = {e["field"] for e in body(response)["errors"]}
    assert fields == {"name", "colour"}


def test_a_business_rule_is_a_field_error(alice_api, sales):
    response = alice_api.send("POST", "/api/v1/teams", {"name": "sales"})

    assert response.status_code == 422
    assert body(response)["errors"] == [
        {"field": "name", "message": "There is already a team with this name."}
    ]


def test_malformed_json_is_a_problem(alice_api):
    response = alice_api.generic(
        "POST", "/api/v1/teams", "{not json", content_type="application/json"
    )

    assert response.status_code in {400, 422}
    assert body(response)["status"] == response.status_code


def test_an_unsupported_method_is_405_with_allow(alice_api):
    response = alice_api.send("DELETE", "/api/v1/teams")

    assert response.status_code == 405
    assert set(response["Allow"].replace(" ", "").split(",")) == {"GET", "POST"}
    assert body(response)["type"] == "urn:landmark:problem:method-not-allowed"


def test_an_unknown_path_is_a_404_problem(alice_api):
    response = alice_api.get("/api/v1/no/such/thing")

    assert response.status_code == 404
    assert "/api/v1/no/such/thing" in body(response)["detail"]


def test_the_docs_page_loads_only_local_assets(db):
    page = Client().get("/api/v1/docs").content.decode()

    assert "/static/ninja/swagger-ui-bundle.js" in page
    assert "http://" not in page and "https://" not in page
    assert finders.find("ninja/swagger-ui-bundle.js")
    assert finders.find("ninja/swagger-ui.css")


def test_the_schema_is_openapi_3_1_and_documents_problems(db):
    schema = Client().get("/api/v1/openapi.json").json()

    assert schema["openapi"].startswith("3.1")
    responses = schema["paths"]["/api/v1/teams"]["post"]["responses"]
    for status in ("401", "403", "422", "429"):
        assert "application/problem+json" in responses[status]["content"]
