"""Print the API's OpenAPI schema, or write it to the committed snapshot.

landmark manage api_schema --write   # refresh landmark/api/openapi.json
"""

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

SNAPSHOT = Path(__file__).resolve().parents[2] / "openapi.json"


def schema_text() -> str:
    from landmark.api.api import api

    schema = api.get_openapi_schema(path_prefix="/api/v1/")
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


class Command(BaseCommand):
    help = "Print the OpenAPI schema of /api/v1/ (with --write: update the snapshot)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--write",
            action="store_true",
            help=f"Write it to {SNAPSHOT.name}, the snapshot the tests compare with.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        text = schema_text()
        if options["write"]:
            SNAPSHOT.write_text(text, encoding="utf-8")
            self.stdout.write(f"Wrote {SNAPSHOT}")
        else:
            self.stdout.write(text, ending="")
