"""ETags on single objects and If-Match on writes (optimistic concurrency).

The ETag is a hash of the object as the API shows it, so any change a client could
see changes it. If-Match is optional; when sent, it must match or the write is
refused with 412 and nothing is saved.
"""

import hashlib
import json
from typing import Any, TypeVar

from django.http import HttpResponse
from ninja import Schema
from ninja.params.functions import Header

from landmark.api.problems import PreconditionFailed


def etag_of(out: type[Schema], obj: Any) -> str:
    data = out.model_validate(obj).model_dump(mode="json")
    digest = hashlib.sha256(
        json.dumps(data, sort_keys=True, separators=(",", ":")).encode()
    ).hexdigest()
    return f'"{digest[:32]}"'


def check_if_match(if_match: str | None, out: type[Schema], obj: Any) -> None:
    """Raise PreconditionFailed when If-Match is given and names another version."""
    if if_match is None or not if_match.strip():
        return
    wanted = {tag.strip().removeprefix("W/") for tag in if_match.split(",")}
    if "*" in wanted:
        return
    if etag_of(out, obj) not in wanted:
        raise PreconditionFailed()


T = TypeVar("T")

# The If-Match request header of every write on a single object (optional).
IF_MATCH: Any = Header(
    None,
    alias="If-Match",
    description="The ETag you read; the write fails with 412 if the object changed since.",
)


def tag(response: HttpResponse, out: type[Schema], obj: T) -> T:
    """Set the ETag header on the response ninja is building; return the object."""
    response["ETag"] = etag_of(out, obj)
    return obj
