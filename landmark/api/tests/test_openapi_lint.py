"""The served schema passes a strict lint: a valid OpenAPI 3.1 document
(openapi-spec-validator), and the rules of Redocly's `recommended` set checked here
one by one (Redocly itself is an npm package; the suite runs offline), with a few
of Landmark's own: what generated clients need to work."""

import json
import re
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import validate

from landmark.api.management.commands.api_schema import schema_text

METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
PROBLEM = {"$ref": "#/components/schemas/Problem"}


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return json.loads(schema_text())


def operations(schema: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def walk(node: Any, where: str = "#") -> Iterator[tuple[str, Any]]:
    yield where, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from walk(value, f"{where}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from walk(value, f"{where}/{i}")


def test_it_is_a_valid_openapi_3_1_document(schema):
    assert schema["openapi"].startswith("3.1")
    validate(schema)


def test_operation_ids_are_unique_short_and_url_safe(schema):
    ids = [operation["operationId"] for _, _, operation in operations(schema)]

    assert [i for i, n in Counter(ids).items() if n > 1] == []
    assert [i for i in ids if not re.fullmatch(r"[a-z][a-z_]{2,29}", i)] == []


def test_every_operation_has_a_summary_a_declared_tag_and_security(schema):
    declared = {tag["name"]: tag for tag in schema["tags"]}
    used = set()
    for path, method, operation in operations(schema):
        assert operation.get("summary"), (method, path)
        assert len(operation["tags"]) == 1, (method, path)
        assert operation["tags"][0] in declared, (method, path)
        used.add(operation["tags"][0])
        assert operation.get("security"), (method, path)
    assert used == set(declared)
    assert all(tag.get("description") for tag in declared.values())
    for scheme in {
        name
        for _, _, operation in operations(schema)
        for requirement in operation["security"]
        for name in requirement
    }:
        assert scheme in schema["components"]["securitySchemes"]


def test_every_operation_says_its_success_and_its_problems(schema):
    for path, method, operation in operations(schema):
        responses = operation["responses"]
        assert any(code.startswith("2") for code in responses), (method, path)
        refusals = [code for code in responses if code.startswith("4")]
        assert {"401", "414", "422", "429"} <= set(refusals), (method, path)
        for code in refusals:
            content = responses[code]["content"]
            assert content == {"application/problem+json": {"schema": PROBLEM}}, (
                method,
                path,
                code,
            )
        assert "Retry-After" in responses["429"]["headers"]
        if "requestBody" in operation:
            assert {"400", "413"} <= set(refusals), (method, path)


def test_paths_are_clean_and_their_parameters_declared(schema):
    for path, method, operation in operations(schema):
        assert not path.endswith("/"), path
        assert "?" not in path, path
        declared = {
            p["name"] for p in operation.get("parameters", []) if p["in"] == "path"
        }
        assert declared == set(re.findall(r"{(\w+)}", path)), (method, path)
        names = [(p["in"], p["name"]) for p in operation.get("parameters", [])]
        assert len(names) == len(set(names)), (method, path)
    assert schema["servers"] == [{"url": "/", "description": "This Landmark server."}]


def test_info_has_a_license_and_every_component_is_used(schema):
    assert schema["info"]["license"]["identifier"] == "AGPL-3.0-or-later"
    text = json.dumps({k: v for k, v in schema.items() if k != "components"})
    components = json.dumps(schema["components"])
    for kind in ("schemas", "headers"):
        for name in schema["components"][kind]:
            ref = f'"#/components/{kind}/{name}"'
            assert ref in text or ref in components, name


def test_only_standard_keywords_and_valid_examples(schema):
    for where, node in walk(schema):
        if not isinstance(node, dict):
            continue
        # pydantic's decimal_places / max_digits mean nothing to a client.
        assert not {"decimal_places", "max_digits"} & set(node), where
        if "examples" in node and "type" in node:
            for example in node["examples"]:
                OAS31Validator(node).validate(example)
        if "pattern" in node:
            re.compile(node["pattern"])


def test_patch_fields_are_nullable_only_where_null_empties_them(schema):
    for path, method, operation in operations(schema):
        if method != "patch":
            continue
        ref = operation["requestBody"]["content"]["application/json"]["schema"]
        body = schema["components"]["schemas"][ref["$ref"].rsplit("/", 1)[1]]
        for name, field in body["properties"].items():
            nullable = {"type": "null"} in field.get("anyOf", [])
            assert "default" not in field or nullable, (path, name)
            if nullable:
                assert "null" in field.get("description", ""), (path, name)
