"""What the API answers besides its bodies: the headers it sends, and their
declarations in the OpenAPI schema (api.document_responses adds them)."""

from typing import Any, TypeVar

from django.http import HttpResponse
from django.urls import reverse
from ninja import Status

T = TypeVar("T")


def created(response: HttpResponse, collection: str, obj: T) -> Status[T]:
    """201 Created, with the new object's URL in `Location` (e.g. collection
    "objectives": /api/v1/objectives/7)."""
    root = reverse("api:openapi-json").removesuffix("openapi.json")
    response["Location"] = f"{root}{collection}/{obj.pk}"  # type: ignore[attr-defined]  # a model instance
    return Status(201, obj)


# Creations that answer no Location: check-ins and kudos have no URL of their own,
# and a batch of points is not one object.
WITHOUT_LOCATION = {"create_checkin", "create_kudos", "points_batch"}

HEADERS: dict[str, dict[str, Any]] = {
    "ETag": {
        "description": "The object's version as the API shows it (its own fields, "
        "not the numbers computed when it is read); send it back in `If-Match`.",
        "required": True,
        "schema": {"type": "string"},
    },
    "Location": {
        "description": "The URL of the object created.",
        "required": True,
        "schema": {"type": "string"},
    },
    "Retry-After": {
        "description": "Seconds until the token may call again.",
        "required": True,
        "schema": {"type": "integer", "minimum": 1},
    },
    "WWW-Authenticate": {
        "description": 'Bearer realm="landmark".',
        "required": True,
        "schema": {"type": "string"},
    },
    "Idempotent-Replayed": {
        "description": "`true` when the answer is the one first given to the same "
        "Idempotency-Key, replayed; absent otherwise.",
        "required": False,
        "schema": {"type": "string", "enum": ["true"]},
    },
}


def header_refs(*names: str) -> dict[str, Any]:
    return {name: {"$ref": f"#/components/headers/{name}"} for name in names}
