"""Building blocks of the API's input and output schemas.

Inputs are strict (a number is not a string, a string is not a date) and refuse
unknown fields, so what the OpenAPI schema says is exactly what is accepted. Dates
and times (in bodies and list filters) are within landmark.lib.bounds. Decimal
values travel as strings ("12.5"): exact, never floats.
"""

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from ninja import Schema
from pydantic import (
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
)

from landmark.lib import bounds, values

MAX_ID = bounds.MAX_ID  # JSON-safe, and far inside every database's integer range
Id = Annotated[int, Field(ge=1, le=MAX_ID)]

# Text without NUL characters (PostgreSQL refuses them); names need a visible character.
NO_NUL = r"^[^\x00]*$"
VISIBLE = r"^[^\x00]*[^\s\x00][^\x00]*$"


# Text of any length up to the `Field(max_length=...)` that each use adds, e.g.
# `Annotated[Name, Field(max_length=120)]`.
Text = Annotated[str, Field(pattern=NO_NUL)]
Name = Annotated[str, Field(min_length=1, pattern=VISIBLE)]


DECIMAL_PATTERN = values.PATTERN


def to_decimal(value: Any) -> Any:
    """A string ("12.5") or a JSON number, which api.JSONParser reads exactly (12.5
    is Decimal("12.5"), never a float): read by landmark.lib.values like a form's, a
    CSV's or a batch's value."""
    try:
        return values.parse_value(value)
    except values.ValueProblem as problem:
        raise ValueError(problem.reason) from None


LARGEST = float(bounds.LARGEST_VALUE)
# What DecimalIn accepts, said so that generated clients send what is accepted.
DECIMAL_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {"type": "string", "pattern": DECIMAL_PATTERN, "examples": [values.EXAMPLE]},
        {
            "type": "number",
            "exclusiveMinimum": -LARGEST,
            "exclusiveMaximum": LARGEST,
        },
    ],
    "description": f"An exact decimal, at most {values.DIGITS} digits before the "
    f'point and {values.PLACES} after: best a string ("{values.EXAMPLE}"); a JSON '
    "number is read exactly.",
}

# A measured value, read by landmark.lib.values like a form's or a CSV's: up to 15
# digits before the point and 4 after, as a string or a number.
DecimalIn = Annotated[
    Decimal, BeforeValidator(to_decimal), WithJsonSchema(DECIMAL_SCHEMA)
]


def plain_decimal(value: Decimal) -> str:
    """12.5000 → "12.5", 100.0000 → "100": exact, without trailing zeros."""
    return f"{value.normalize():f}"


DecimalOut = Annotated[Decimal, PlainSerializer(plain_decimal, return_type=str)]


def parse_date(value: Any) -> Any:
    if not isinstance(value, str):
        raise ValueError("Send a date as a string, YYYY-MM-DD.")
    day = date.fromisoformat(value)
    if not bounds.date_in_range(day):
        raise ValueError(bounds.DATE_MESSAGE)
    return day


def parse_datetime(value: Any) -> Any:
    if not isinstance(value, str):
        raise ValueError("Send a time as an ISO 8601 string with its offset.")
    when = datetime.fromisoformat(value)
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(
            "The time needs its offset, e.g. 2025-01-31T09:00:00+01:00 or ...Z."
        )
    if not bounds.time_in_range(when):
        raise ValueError(bounds.TIME_MESSAGE)
    return when


DateIn = Annotated[date, BeforeValidator(parse_date)]
DateTimeIn = Annotated[datetime, BeforeValidator(parse_datetime)]


class In(Schema):
    """A request body: strict types, unknown fields refused."""

    model_config = ConfigDict(strict=True, extra="forbid")


# The default of a PATCH field that may be left out but not sent as null.
LEFT_OUT: Any = None


def null_defaults_left_out(schema: dict[str, Any]) -> None:
    """A field that refuses null has no default in the schema (LEFT_OUT is how the
    server tells a field left out, not a value a client may send)."""
    for field in schema.get("properties", {}).values():
        nullable = any(f.get("type") == "null" for f in field.get("anyOf", []))
        if "default" in field and field["default"] is None and not nullable:
            del field["default"]


class Patch(In):
    """A PATCH body: a field left out is left as it is. Fields that can be empty take
    null to empty them (their description says so); the others refuse null."""

    model_config = ConfigDict(
        strict=True, extra="forbid", json_schema_extra=null_defaults_left_out
    )


class Filters(Schema):
    """Query parameters of a list (strings by nature, so not strict)."""

    model_config = ConfigDict(extra="forbid")
