"""ETags on single objects and If-Match on writes (optimistic concurrency).

The ETag is a hash of the object as the API shows it, so any change a client could
see changes it. If-Match is optional; when sent, it must match or the write is
refused with 412 and nothing is saved.

The check holds under concurrency: it runs inside the write's transaction, after the
object's row is locked, so of several writes sent with the same ETag exactly one
is applied and the others see the new version and get 412. On PostgreSQL the lock
is `SELECT ... FOR UPDATE`; SQLite has no row locks, but every transaction there
starts with BEGIN IMMEDIATE (settings.py: `transaction_mode`), which takes the
database's write lock before the first read.
"""

import hashlib
import json
from collections.abc import Callable
from typing import Any, TypeVar

from django.db import transaction
from django.db.models import Model
from django.http import HttpResponse
from ninja import Schema
from ninja.params.functions import Header

from landmark.api.problems import PreconditionFailed

M = TypeVar("M", bound=Model)


def etag_of(out: type[Schema], obj: Any) -> str:
    data = out.model_validate(obj).model_dump(mode="json")
    digest = hashlib.sha256(
        json.dumps(data, sort_keys=True, separators=(",", ":")).encode()
    ).hexdigest()
    return f'"{digest[:32]}"'


def check_if_match(
    if_match: str | None,
    out: type[Schema],
    read: Callable[[], M],
    *,
    shown: Callable[[M], Any] | None = None,
) -> M:
    """The object `read()` returns (through the access helpers: 404, 403), its row
    locked until the write's transaction ends and read again after the lock, so it
    is what is committed now; PreconditionFailed when If-Match is given and names
    another version of what the API shows (`shown(obj)`, or the object itself).

    Call it inside the `transaction.atomic()` block that also writes, before the
    write: the lock is what makes concurrent writes with the same ETag take turns,
    and the write goes on the object it returns.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("check_if_match must run inside the write's transaction.")
    obj = read()
    manager = type(obj)._default_manager
    list(manager.select_for_update().filter(pk=obj.pk).values_list("pk"))
    obj = read()
    if if_match is None or not if_match.strip():
        return obj
    wanted = {tag.strip().removeprefix("W/") for tag in if_match.split(",")}
    if "*" in wanted:
        return obj
    if etag_of(out, shown(obj) if shown is not None else obj) not in wanted:
        raise PreconditionFailed()
    return obj


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
