"""Read a KPI's values from CSV text: `time,value[,note]`, one value per line.

Pure: no database. The view shows the rows and the errors as a preview, and only a
file without any error is handed to `actions.import_data_points` (all or nothing).

- time: an ISO 8601 date (2024-03-31, midnight in `default_tz`) or date and time
  (2024-03-31T14:30, 2024-03-31 14:30:00, with or without an offset such as +02:00
  or Z; without one it is read in `default_tz`), within landmark.lib.bounds.
- value: a number with a decimal point (1234.5), read by landmark.lib.values like a
  value entered anywhere else: at most 4 decimal places (nothing is rounded) and 15
  digits before the point. A decimal comma (1,5) is refused with a message saying
  so, never guessed, since 1,500 could be either.
- note: optional, at most 500 characters.
- An optional header line is recognised when neither its time nor its value reads as
  data. Blank lines are skipped. Columns are separated by commas, or by semicolons
  when the first line has one (spreadsheets set to a decimal comma export that way).
- One value per line: a quoted field must end on its own line, and a closing quote
  ends its field (landmark.lib.csv_lines). A line whose quotes do not pair up is an
  error of that line; the lines after it are read as usual.
"""

from datetime import date, datetime, time, tzinfo
from decimal import Decimal, InvalidOperation

from landmark.kpis.actions import ParsedRow, RowError
from landmark.lib import bounds, values
from landmark.lib.csv_lines import read_lines, split_lines

MAX_ROWS = 10_000
MAX_NOTE = 500


def parse_csv(
    text: str, *, default_tz: tzinfo, now: datetime | None = None
) -> tuple[list[ParsedRow], list[RowError]]:
    """The rows a file holds and every problem found, each with its line number.

    With `now`, a time later than now is an error (a value cannot be measured yet).
    """
    text = text.lstrip("\ufeff")
    first = next((line for line in split_lines(text) if line.strip()), "")
    delimiter = ";" if ";" in first else ","
    rows: list[ParsedRow] = []
    errors: list[RowError] = []
    seen: dict[datetime, int] = {}
    header_checked = False
    for line, cells, problem in read_lines(text, delimiter=delimiter):
        if problem:
            header_checked = True
            errors.append(RowError(line, f"Line {line}: {problem}"))
            continue
        cells = [c.strip() for c in cells]
        if not any(cells):
            continue
        if not header_checked:
            header_checked = True
            if _looks_like_header(cells, default_tz):
                continue
        if len(rows) + len(errors) >= MAX_ROWS:
            errors.append(
                RowError(
                    line,
                    f"The file has more than {MAX_ROWS:,} rows; "
                    "split it into smaller files.",
                )
            )
            break
        row = _parse_row(line, cells, default_tz, now)
        if isinstance(row, RowError):
            errors.append(row)
            continue
        if row.time in seen:
            errors.append(
                RowError(line, f"Line {line}: the same time as line {seen[row.time]}")
            )
            continue
        seen[row.time] = line
        rows.append(row)
    return rows, errors


def _looks_like_header(cells: list[str], default_tz: tzinfo) -> bool:
    if len(cells) < 2:
        return parse_time(cells[0], default_tz) is None
    return parse_time(cells[0], default_tz) is None and not _is_number(cells[1])


def _is_number(text: str) -> bool:
    try:
        return Decimal(text).is_finite()
    except InvalidOperation:
        return False


def _parse_row(
    line: int, cells: list[str], default_tz: tzinfo, now: datetime | None
) -> ParsedRow | RowError:
    if len(cells) < 2 or len(cells) > 3:
        return RowError(
            line,
            f"Line {line}: expected time,value or time,value,note; "
            f"found {len(cells)} column{'s' if len(cells) != 1 else ''}",
        )
    raw_time, raw_value = cells[0], cells[1]
    note = cells[2] if len(cells) == 3 else ""
    when = parse_time(raw_time, default_tz)
    if when is None:
        return RowError(line, f"Line {line}: '{raw_time}' is not a date")
    if not bounds.time_in_range(when):
        return RowError(line, f"Line {line}: '{raw_time}' is outside {bounds.RANGE}")
    if now is not None and when > now:
        return RowError(line, f"Line {line}: '{raw_time}' is in the future")
    try:
        value = values.parse_value(raw_value)
    except values.ValueProblem as problem:
        return RowError(line, f"Line {line}: {problem.reason}")
    if len(note) > MAX_NOTE:
        return RowError(
            line, f"Line {line}: the note is longer than {MAX_NOTE} characters"
        )
    return ParsedRow(line=line, time=when, value=value, note=note)


def parse_time(text: str, default_tz: tzinfo) -> datetime | None:
    """An ISO 8601 date (midnight) or date and time; naive ones in `default_tz`."""
    if not text:
        return None
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            parsed = datetime.combine(day, time.min)
        else:
            parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        # zoneinfo resolves ambiguous and missing local times through `fold`.
        parsed = parsed.replace(tzinfo=default_tz)
    return parsed
