"""The dates, times and lengths Landmark accepts as input, in one place.

Web forms, the CSV import, the API (bodies and list filters) and the batch ingestion
all check against these bounds, so a value is accepted or refused the same way
wherever it comes from (docs/api.md, "Bounds"). Outside them Python's dates, the
databases' conversions to UTC and the period arithmetic overflow (year 1 at +14:00,
9999-12-31 at -14:00), and no OKR or KPI needs them:

- dates and times from 1970-01-01 to 2200-12-31, a time's date read as written (in
  its own offset), so converting it to any time zone stays far inside Python's range;
- a period at most 5 years long;
- measured values (KPI values and targets, key results' values) less than 10^15 in
  size, 4 decimal places (read by landmark.lib.values, the one parser of values): columns hold 16 digits before the point, but SQLite keeps
  decimals as floats (15 significant digits), and 9999999999999999.9999 read back
  rounds to 10^16, which its column cannot hold;
- a window's value (a sum of values) less than 10^16, what a key result tracking
  the KPI can hold;
- ids from 1 to 2^53 (JSON-safe, far inside every database's integer range): an id
  in a query string that is not one is no id at all;
- a key result's description at most MAX_DESCRIPTION characters (the web form, the
  API and the model's field say the same).
"""

from datetime import date, datetime
from decimal import Decimal

from django.core.exceptions import ValidationError

# Whole years, so a date is in range exactly when its year is.
EARLIEST_YEAR = 1970
LATEST_YEAR = 2200
EARLIEST = date(EARLIEST_YEAR, 1, 1)
LATEST = date(LATEST_YEAR, 12, 31)
RANGE = f"{EARLIEST.isoformat()} to {LATEST.isoformat()}"
MAX_PERIOD_YEARS = 5

MAX_ID = 2**53
MAX_DESCRIPTION = 10_000  # characters, as an objective's description in the API
VALUE_DIGITS = 15  # before the point
VALUE_PLACES = 4  # after it
LARGEST_VALUE = Decimal(10) ** VALUE_DIGITS
LARGEST_WINDOW = Decimal(10) ** (VALUE_DIGITS + 1)
WINDOW_MESSAGE = (
    "This value would make its window's total reach 10^16, more than Landmark "
    "keeps; send smaller values or use another aggregation."
)

DATE_MESSAGE = f"Enter a date from {RANGE}."
TIME_MESSAGE = f"Enter a time from {RANGE}."


def date_in_range(day: date) -> bool:
    return EARLIEST_YEAR <= day.year <= LATEST_YEAR


def time_in_range(when: datetime) -> bool:
    """The time's own date (as written, in its offset) is in range."""
    return EARLIEST_YEAR <= when.year <= LATEST_YEAR


def check_date(day: date) -> date:
    """The date, or a ValidationError in plain words (a form field's validator)."""
    if not date_in_range(day):
        raise ValidationError(DATE_MESSAGE, code="out_of_range")
    return day


def check_time(when: datetime) -> datetime:
    """The time, or a ValidationError in plain words (a form field's validator)."""
    if not time_in_range(when):
        raise ValidationError(TIME_MESSAGE, code="out_of_range")
    return when


def latest_period_end(start: date) -> date:
    """The last day a period starting on `start` may end on: the day before the
    same date MAX_PERIOD_YEARS later (29 February: before 1 March)."""
    year = start.year + MAX_PERIOD_YEARS
    try:
        anniversary = start.replace(year=year)
    except ValueError:  # 29 February in a year without one
        anniversary = date(year, 3, 1)
    return date.fromordinal(anniversary.toordinal() - 1)


def period_problem(start: date, end: date) -> str:
    """What is wrong with a period from `start` to `end` (both in range), or ""."""
    if end < start:
        return "The period must end on or after its first day."
    latest = latest_period_end(start)
    if end > latest:
        return (
            f"A period lasts at most {MAX_PERIOD_YEARS} years: end it on "
            f"{latest.isoformat()} at the latest."
        )
    return ""


def parse_id(text: str) -> int | None:
    """The id a query string or form field holds (ASCII digits, 1 to MAX_ID), or
    None: int() of thousands of digits is refused by Python, and an integer past
    64 bits by the database driver."""
    if not (text.isascii() and text.isdigit() and len(text) <= len(str(MAX_ID))):
        return None
    value = int(text)
    return value if 1 <= value <= MAX_ID else None


def value_in_range(value: Decimal) -> bool:
    """A finite number less than LARGEST_VALUE in size. copy_abs(), not abs(): abs()
    rounds to the decimal context and raises Overflow for 1e999999999."""
    return value.is_finite() and value.copy_abs() < LARGEST_VALUE


def window_in_range(value: Decimal) -> bool:
    """A window's value (for `sum`, the total of its values) is storable."""
    return value.is_finite() and value.copy_abs() < LARGEST_WINDOW
