"""The OpenAPI schema is committed (landmark/api/openapi.json): a change to the API
shows up in review, and an unintended one fails here."""

import json

from django.core.management import call_command

from landmark.api.management.commands.api_schema import SNAPSHOT, schema_text


def test_the_schema_matches_the_committed_snapshot():
    committed = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    generated = json.loads(schema_text())

    paths = set(committed["paths"]) | set(generated["paths"])
    changed = sorted(
        p for p in paths if committed["paths"].get(p) != generated["paths"].get(p)
    )
    assert generated == committed, (
        f"The API schema changed (paths: {changed or 'none; components or info'}). "
        "If this is intended, run `landmark manage api_schema --write` and commit "
        "landmark/api/openapi.json."
    )


def test_the_command_prints_the_schema(capsys):
    call_command("api_schema")

    printed = json.loads(capsys.readouterr().out)
    assert printed["info"]["title"] == "Landmark API"
    assert "/api/v1/objectives" in printed["paths"]
