"""Measured values (KPI values and targets, key results' values): one rule, one parser.

Every way a value comes in reads it here: the web forms (`lib.forms.ValueField`), the
CSV import, the API's bodies (`api.schemas.DecimalIn`) and the batch ingestion, so a
value is accepted or refused the same way, for the same reason, and stored the same,
wherever it comes from (docs/kpis.md, "Values"; docs/api.md, "Bounds").

The rule: a value is a number Landmark stores exactly, written plainly.

- Digits 0 to 9, an optional sign and an optional decimal point: `42`, `-3.5`, `.25`,
  `+7`. No exponent (`1e3`), no thousands separator, no decimal comma (`1,5` could be
  one and a half or fifteen hundred: never guessed).
- At most 4 decimal places, and fewer than 16 digits before the point: less than
  10^15 in size (landmark.lib.bounds). Zeros that change nothing do not count
  (`007`, `1.50000`). Nothing is rounded: `3.14159` is refused, not stored as 3.1416.
- Finite: no `NaN`, no `Infinity`.

Text is read as it is: a form field and a CSV cell drop the spaces around every
field before it reaches the parser, JSON strings are not trimmed. A JSON number (the
batch endpoint takes one) is held to the same bounds by its value.

`PATTERN` says the same of text as a regular expression (the API publishes it in
its OpenAPI schema); `parse_value` is the one implementation, and words what is
wrong in plain terms for the caller to put beside the field or row.
"""

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from landmark.lib import bounds

DIGITS, PLACES = bounds.VALUE_DIGITS, bounds.VALUE_PLACES
QUANTUM = Decimal(1).scaleb(-PLACES)  # 0.0001
# Leading zeros and zeros past the 4th decimal place are allowed: they change nothing.
PATTERN = (
    rf"^[+-]?(0*[0-9]{{1,{DIGITS}}}(\.[0-9]{{0,{PLACES}}}0*)?|\.[0-9]{{1,{PLACES}}}0*)$"
)
_PLAIN = re.compile(PATTERN)
EXAMPLE = "1234.5"
SHOWN = 40  # characters of the input quoted in a message

MISSING = "the value is missing"
NOT_TEXT = "must be a number or a string holding one"


class ValueProblem(ValueError):
    """The input is not a value Landmark takes; `reason` says why, in words that
    follow the field's or row's name ("'3.14159' has more than 4 decimal places")."""

    def __init__(self, reason: str, code: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code

    @property
    def sentence(self) -> str:
        """The reason as a sentence of its own (a form's field error)."""
        return self.reason[:1].upper() + self.reason[1:] + "."


def parse_value(raw: Any) -> Decimal:
    """The value (as written plainly: 1.50000 is 1.5, never -0), or ValueProblem.

    `raw` is text as received, or a number that is already one (a JSON number, or a
    Decimal an API body or a form already holds).
    """
    if raw is None or raw == "":
        raise ValueProblem(MISSING, "missing")
    if isinstance(raw, str):
        if _PLAIN.fullmatch(raw):
            return _stored(Decimal(raw))
        raise _problem_with(raw)
    if isinstance(raw, bool) or not isinstance(raw, int | Decimal):
        raise ValueProblem(NOT_TEXT, "type")
    value = Decimal(raw)
    problem = _bounds_problem(value, str(raw))
    if problem is not None:
        raise problem
    return _stored(value)


def is_value(raw: Any) -> bool:
    try:
        parse_value(raw)
    except ValueProblem:
        return False
    return True


def _stored(value: Decimal) -> Decimal:
    """The value as written plainly: exact (the pattern or the bounds allowed no
    digit past the 4th place), without trailing zeros or an exponent, never -0."""
    exact = value.quantize(QUANTUM)
    if exact.is_zero():
        return Decimal(0)
    if exact == exact.to_integral_value():
        return exact.quantize(Decimal(1))
    return exact.normalize()


def _bounds_problem(value: Decimal, text: str) -> ValueProblem | None:
    shown = _shown(text)
    if not value.is_finite():
        return ValueProblem(f"{shown} is not a number", "invalid")
    if not bounds.value_in_range(value):
        return ValueProblem(
            f"{shown} is too large (at most {DIGITS} digits before the point)",
            "max_whole_digits",
        )
    if value != value.quantize(QUANTUM):  # exact: in range, at most 19 digits
        return ValueProblem(
            f"{shown} has more than {PLACES} decimal places", "max_decimal_places"
        )
    return None


def _problem_with(text: str) -> ValueProblem:
    """Why text that is not a plain number is refused: the most useful reason."""
    shown = _shown(text)
    if "," in text:
        return ValueProblem(
            f"{shown} has a decimal comma; write it with a decimal point ({EXAMPLE})",
            "decimal_comma",
        )
    if text != text.strip():
        if is_value(text.strip()):
            return ValueProblem(
                f"{shown} has spaces around the number; send it without them",
                "spaces",
            )
        return ValueProblem(f"{shown} is not a number", "invalid")
    # Python's Decimal also reads other scripts' digits and underscores: neither
    # is a plain number here.
    if not text.isascii() or "_" in text:
        return ValueProblem(f"{shown} is not a number", "invalid")
    try:
        value = Decimal(text)
    except InvalidOperation:
        return ValueProblem(f"{shown} is not a number", "invalid")
    problem = _bounds_problem(value, text)
    if problem is not None:
        return problem
    # Finite, in range, at most 4 places: only the exponent is left.
    return ValueProblem(
        f"{shown} has an exponent; write it out as {value.quantize(QUANTUM).normalize():f}",
        "exponent",
    )


def _shown(text: str) -> str:
    return f"'{text[:SHOWN]}'"
