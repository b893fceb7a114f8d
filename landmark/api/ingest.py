"""Bulk KPI ingestion: `POST /api/v1/kpis/points/batch` (docs/api.md, "Sending KPI
values"). The body is read here (JSON or CSV, up to 10,000 points) and handed to
`landmark.kpis.ingest.ingest_points`, which checks every row and saves all or nothing.
"""

import json
import re
from typing import Any, cast

from django.http import HttpRequest, HttpResponse
from ninja import Router, Schema

from landmark.api.auth import API_AUTH, membership_of, token_of
from landmark.api.problems import problem
from landmark.api.responses import header_refs
from landmark.api.schemas import MAX_ID, NO_NUL
from landmark.kpis import ingest
from landmark.lib import values

router = Router(tags=["kpis"])

# 10,000 points with long notes fit; Django's DATA_UPLOAD_MAX_MEMORY_SIZE does not
# apply since the body is read here, with this limit instead.
MAX_BODY_BYTES = 8 * 1024 * 1024
KEY_PATTERN = re.compile(r"[\x21-\x7e]{1,255}")
CSV_TYPES = {"text/csv", "application/csv"}


class PointsSaved(Schema):
    points: int
    created: int
    corrected: int
    unchanged: int


POINT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "One value: of the KPI `kpi` or `kpi_key` names (exactly one).",
    "properties": {
        "kpi": {
            "anyOf": [
                {"type": "integer", "minimum": 1, "maximum": MAX_ID},
                {"type": "string", "pattern": "^[0-9]{0,19}$"},
                {"type": "null"},
            ],
            "description": 'The KPI\'s id (digits in a string are read as one; "" or '
            "null: not given).",
        },
        "kpi_key": {
            "anyOf": [{"type": "string"}, {"type": "null"}],
            "description": 'The KPI\'s key, instead of its id ("" or null: not given).',
        },
        "time": {
            "type": "string",
            "description": "ISO 8601 with a time zone, or a date (midnight).",
            "examples": ["2025-03-01T09:30:00Z"],
        },
        "value": {
            "oneOf": [
                {"type": "string", "pattern": values.PATTERN},
                {"type": "number"},
            ],
            "description": "At most 15 digits before the point and 4 after it, "
            "written out (no exponent in a string); nothing is rounded. A JSON "
            "number is read exactly.",
            "examples": ["42.5"],
        },
        "note": {
            "anyOf": [
                {"type": "string", "maxLength": ingest.MAX_NOTE, "pattern": NO_NUL},
                {"type": "null"},
            ]
        },
    },
    "required": ["time", "value"],
    "oneOf": [
        {
            "required": ["kpi"],
            "properties": {
                "kpi": {
                    "anyOf": [{"type": "integer"}, {"type": "string", "minLength": 1}]
                }
            },
        },
        {
            "required": ["kpi_key"],
            "properties": {"kpi_key": {"type": "string", "minLength": 1}},
        },
    ],
    "additionalProperties": False,
}

OPENAPI_EXTRA: dict[str, Any] = {
    "parameters": [
        {
            "name": "Idempotency-Key",
            "in": "header",
            "required": False,
            "schema": {"type": "string", "maxLength": ingest.MAX_KEY_LENGTH},
            "description": "Send the same key again to retry safely: an accepted "
            "batch is answered again and adds nothing.",
        }
    ],
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "points": {
                            "type": "array",
                            "items": POINT_SCHEMA,
                            "minItems": 1,
                            "maxItems": ingest.MAX_POINTS,
                        }
                    },
                    "required": ["points"],
                }
            },
            "text/csv": {
                "schema": {
                    "type": "string",
                    "description": "A header line (kpi or kpi_key, time, value, "
                    "note) then one point per line.",
                }
            },
        },
    },
    "responses": {
        "200": {
            "description": "Every point was already there, unchanged.",
            "headers": header_refs("Idempotent-Replayed"),
        },
        "201": {
            "description": "Points were written.",
            "headers": header_refs("Idempotent-Replayed"),
        },
        "400": {"description": "The body is not JSON (or not UTF-8)."},
        "409": {
            "description": "The Idempotency-Key was used with another body.",
        },
        "413": {"description": "More than 10,000 points, or a body over 8 MB."},
        "415": {"description": "The body is neither JSON nor CSV."},
        "422": {"description": "Rows refused; `errors` lists every one (`row`)."},
    },
}


@router.post(
    "/kpis/points/batch",
    auth=API_AUTH,
    response={200: PointsSaved, 201: PointsSaved},
    url_name="kpi-points-batch",
    summary="Send many KPI values at once",
    description="Up to 10,000 points for one or many KPIs, all or nothing. A point "
    "at the time of a current value corrects it (identical values are left "
    "unchanged). Answers only after the points are committed.",
    openapi_extra=OPENAPI_EXTRA,
)
def points_batch(request: HttpRequest) -> HttpResponse:
    membership = membership_of(request)
    key = request.headers.get("Idempotency-Key")
    if key is not None and not KEY_PATTERN.fullmatch(key):
        return problem(
            422,
            "The Idempotency-Key header must be 1 to 255 visible ASCII characters.",
            errors=[
                {"field": "Idempotency-Key", "in": "header", "message": "Invalid key."}
            ],
        )
    content_type = request.content_type or ""
    if content_type != "application/json" and content_type not in CSV_TYPES:
        return problem(
            415, "Send the points as application/json or as text/csv with a header."
        )
    body = read_body(request)
    if body is None:
        return problem(413, "The body is larger than 8 MB; send smaller batches.")
    try:
        if content_type in CSV_TYPES:
            points = ingest.points_from_csv(body)
        else:
            points = ingest.points_from_json(body)
    except ingest.NotJSON as error:
        return problem(400, str(error))
    except ingest.BodyError as error:
        return problem(422, str(error), errors=[])
    token = token_of(request)
    try:
        result = ingest.ingest_points(
            membership,
            points,
            idempotency_key=key,
            body_hash=ingest.request_hash(content_type, body),
            token_id=token.pk if token is not None else None,
        )
    except ingest.IdempotencyConflict as error:
        return problem(409, str(error))
    except ingest.IngestRejected as rejected:
        return rejection(rejected)
    response = HttpResponse(
        json.dumps(result.body), status=result.status, content_type="application/json"
    )
    if result.replayed:
        response["Idempotent-Replayed"] = "true"
    return response


def read_body(request: HttpRequest) -> bytes | None:
    """The raw body, or None when it is over MAX_BODY_BYTES."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > MAX_BODY_BYTES:
        return None
    body = request.read(MAX_BODY_BYTES + 1)
    return None if len(body) > MAX_BODY_BYTES else body


def rejection(rejected: ingest.IngestRejected) -> HttpResponse:
    errors = [
        {**e.as_dict(), "message": e.reason, "in": "body"} for e in rejected.errors
    ]
    # `row` is a number: the problem's field errors are strings elsewhere.
    listed = cast("list[dict[str, str]]", errors)
    if rejected.too_large:
        return problem(413, rejected.errors[0].reason.capitalize() + ".", errors=listed)
    count = len({e.row for e in rejected.errors})
    return problem(
        422,
        f"{count} point{'s' if count != 1 else ''} could not be saved, so none was: "
        "fix every row listed in errors and send the batch again.",
        errors=listed,
    )
