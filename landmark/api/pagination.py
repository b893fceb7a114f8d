"""Sorting and cursor pagination shared by every list.

A list answers `{items, next_cursor}`. The cursor is opaque to clients: the sort
value and primary key of the last row, so the next page is a keyset query (`WHERE
(sort, id) > (value, id)`) that costs the same on page 1 and page 10,000 and never
skips or repeats a row when others are added meanwhile.
"""

import base64
import binascii
import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Generic, TypeVar

from django.core.exceptions import ValidationError
from django.db.models import Model, Q, QuerySet
from django.utils.timezone import is_naive
from ninja import Schema
from pydantic import Field

from landmark.api.schemas import MAX_ID
from landmark.lib import bounds

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
Row = TypeVar("Row", bound=Model)
Item = TypeVar("Item", bound=Schema)

Limit = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="Rows per page.")
Cursor = Field(
    None,
    max_length=500,
    description="`next_cursor` of the previous page; omit for the first page.",
)


class Page(Schema, Generic[Item]):
    """A page of a list: `{items, next_cursor}`. Each list names its own
    (`class KPIPage(Page[KPIOut])`): that name is the schema's in the OpenAPI."""

    items: list[Item]
    next_cursor: str | None = None


def encode(value: Any, pk: int) -> str:
    if isinstance(value, datetime | date):
        value = value.isoformat()
    elif isinstance(value, Decimal):
        value = str(value)
    raw = json.dumps([value, pk], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str, field: Any) -> tuple[Any, int]:
    bad = ValidationError({"cursor": "This cursor is not valid; start from page 1."})
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value, pk = json.loads(raw)
        if not isinstance(pk, int) or isinstance(pk, bool) or not 1 <= pk <= MAX_ID:
            raise bad
        value = field.to_python(value)
        # Sort fields are never null; times in cursors always carry their offset,
        # and dates and times are within what Landmark accepts (a forged cursor
        # at year 1 would overflow in the database's conversion to UTC).
        if value is None or (isinstance(value, datetime) and is_naive(value)):
            raise bad
        if isinstance(value, str) and "\x00" in value:
            raise bad  # PostgreSQL text cannot hold it: no row sorts after it
        if isinstance(value, datetime) and not bounds.time_in_range(value):
            raise bad
        if isinstance(value, date) and not bounds.date_in_range(value):
            raise bad
        return value, pk
    except (ValueError, TypeError, binascii.Error, ValidationError) as error:
        raise bad from error


def paginate(
    rows: QuerySet[Row], *, sort: str, cursor: str | None, limit: int
) -> dict[str, Any]:
    """One page of `rows` ordered by `sort` ("field" or "-field", a non-null model
    field) then by primary key, starting after `cursor`."""
    page, next_cursor = _page(rows, sort, cursor, limit)
    return {"items": page, "next_cursor": next_cursor}


def after(attname: str, descending: bool, value: Any, pk: int) -> Q:
    """The rows after (value, pk) in the keyset order."""
    op = "lt" if descending else "gt"
    return Q(**{f"{attname}__{op}": value}) | Q(**{attname: value, f"pk__{op}": pk})


def ordering(attname: str, descending: bool) -> list[str]:
    return [f"-{attname}", "-pk"] if descending else [attname, "pk"]


def _page(
    rows: QuerySet[Any],
    sort: str,
    cursor: str | None,
    limit: int,
) -> tuple[list[Any], str | None]:
    name = sort.lstrip("-")
    descending = sort.startswith("-")
    field = rows.model._meta.get_field(name)
    attname = getattr(field, "attname", name)
    if cursor:
        rows = rows.filter(after(attname, descending, *decode(cursor, field)))
    page = list(rows.order_by(*ordering(attname, descending))[: limit + 1])
    next_cursor = None
    if len(page) > limit:
        page = page[:limit]
        last = page[-1]
        next_cursor = encode(getattr(last, attname), last.pk)
    return page, next_cursor
