"""Read check-in history from CSV text for one period (docs/okrs.md, "Importing
check-in history"): an organization moving from spreadsheets or another tool keeps
its key results' past values.

A header line names the columns, in any order (case and spaces do not matter):

- key_result: the key result's id, or its exact title, among the period's key
  results (a title two of them share is refused: use the id);
- time: an ISO 8601 date (midnight) or date and time, with or without an offset
  (without one it is read in the server's time zone), as in a KPI's CSV import;
  not in the future and not before the period starts (okrs.actions.
  checkin_time_problem);
- value: the value, read by landmark.lib.values like any value; for a milestone
  `done` or `not done` (also yes/no, true/false, 1/0);
- status (optional): on track, needs attention or off track (or on_track...);
  empty: none recorded;
- confidence (optional): a whole number from 1 to 10;
- note (optional): what moved, at most 5,000 characters.

Every line is checked and every problem reported with its line number; only a file
without any problem is imported (okrs.actions.import_checkins, all or nothing).
"""

from collections.abc import Sequence
from datetime import datetime, tzinfo
from decimal import Decimal

from landmark.kpis.csv_import import parse_time
from landmark.lib import bounds, values
from landmark.lib.csv_lines import read_lines, split_lines
from landmark.okrs.actions import CheckInRow, checkin_time_problem
from landmark.okrs.models import KeyResult, Period

MAX_ROWS = 5_000
MAX_NOTE = 5_000
REQUIRED = ("key_result", "time", "value")
COLUMNS = (*REQUIRED, "status", "confidence", "note")
DONE = {"done", "yes", "true", "1"}
NOT_DONE = {"not done", "no", "false", "0"}
STATUSES = {
    **{v: v for v in KeyResult.Status.values},
    **{label.lower(): v for v, label in KeyResult.Status.choices},
}


class Problem(ValueError):
    """What is wrong with one cell, in words that follow "Line n: "."""


def read_checkins(
    text: str,
    *,
    period: Period,
    key_results: Sequence[KeyResult],
    default_tz: tzinfo,
    now: datetime,
) -> tuple[list[CheckInRow], list[str]]:
    """The rows of the file and every problem found (as "Line n: ..." sentences).

    `key_results` are the period's key results the importer may write to."""
    text = text.lstrip("\ufeff")
    first = next((line for line in split_lines(text) if line.strip()), "")
    delimiter = ";" if ";" in first else ","
    by_id = {kr.pk: kr for kr in key_results}
    by_title: dict[str, list[KeyResult]] = {}
    for kr in key_results:
        by_title.setdefault(kr.title.strip().casefold(), []).append(kr)
    rows: list[CheckInRow] = []
    errors: list[str] = []
    columns: list[str] | None = None
    seen: dict[tuple[int, datetime], int] = {}
    for line, cells, broken in read_lines(text, delimiter=delimiter):
        if broken:
            errors.append(f"Line {line}: {broken}")
            continue
        cells = [c.strip() for c in cells]
        if not any(cells):
            continue
        if columns is None:
            columns = [c.casefold().replace(" ", "_") for c in cells]
            problem = header_problem(columns)
            if problem:
                return [], [f"Line {line}: {problem}"]
            continue
        if len(rows) + len(errors) >= MAX_ROWS:
            errors.append(
                f"Line {line}: the file has more than {MAX_ROWS:,} check-ins; "
                "split it into smaller files."
            )
            break
        if len(cells) > len(columns):
            errors.append(
                f"Line {line}: {len(cells)} cells for {len(columns)} columns; "
                "quote a cell that holds a comma."
            )
            continue
        cell = dict(
            zip(columns, [*cells, *[""] * (len(columns) - len(cells))], strict=True)
        )
        try:
            row = read_row(line, cell, by_id, by_title, period, default_tz, now)
        except Problem as problem:
            errors.append(f"Line {line}: {problem}")
            continue
        slot = (row.key_result.pk, row.at)
        if slot in seen:
            errors.append(
                f"Line {line}: the same key result and time as line {seen[slot]}"
            )
            continue
        seen[slot] = line
        rows.append(row)
    if columns is None:
        errors.append("The file is empty: it needs a header line and check-ins.")
    elif not rows and not errors:
        errors.append("The file has a header line but no check-ins.")
    return rows, errors


def header_problem(columns: list[str]) -> str:
    unknown = [c for c in columns if c not in COLUMNS]
    if unknown:
        return (
            f"unknown column {', '.join(repr(c) for c in unknown)}; the columns are "
            f"{', '.join(COLUMNS)} (the first line names them)"
        )
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        return (
            f"the header line lacks {', '.join(missing)}; it names the columns "
            f"{', '.join(REQUIRED)} and optionally status, confidence, note"
        )
    twice = sorted({c for c in columns if columns.count(c) > 1})
    if twice:
        return f"the column {', '.join(twice)} is named twice"
    return ""


def read_row(
    line: int,
    cell: dict[str, str],
    by_id: dict[int, KeyResult],
    by_title: dict[str, list[KeyResult]],
    period: Period,
    default_tz: tzinfo,
    now: datetime,
) -> CheckInRow:
    kr = key_result_of(cell["key_result"], by_id, by_title, period)
    at = time_of(cell["time"], period, default_tz, now)
    value: Decimal | None = None
    done: bool | None = None
    if kr.kind == KeyResult.Kind.MILESTONE:
        done = done_of(cell["value"])
    else:
        try:
            value = values.parse_value(cell["value"])
        except values.ValueProblem as problem:
            raise Problem(problem.reason) from None
    note = cell.get("note", "")
    if len(note) > MAX_NOTE:
        raise Problem(f"the note is longer than {MAX_NOTE:,} characters")
    if "\x00" in note:
        raise Problem("the note holds a NUL character")
    return CheckInRow(
        line=line,
        key_result=kr,
        at=at,
        value=value,
        done=done,
        status=status_of(cell.get("status", "")),
        confidence=confidence_of(cell.get("confidence", "")),
        note=note,
    )


def key_result_of(
    raw: str,
    by_id: dict[int, KeyResult],
    by_title: dict[str, list[KeyResult]],
    period: Period,
) -> KeyResult:
    if not raw:
        raise Problem("the key result is missing (its id or title)")
    pk = bounds.parse_id(raw)
    if pk is not None and pk in by_id:
        return by_id[pk]
    found = by_title.get(raw.casefold(), [])
    if len(found) == 1:
        return found[0]
    shown = f"'{raw[:80]}'"
    if found:
        ids = ", ".join(str(kr.pk) for kr in found)
        raise Problem(
            f"{len(found)} key results of {period.name} are titled {shown} "
            f"(ids {ids}); name it by its id"
        )
    missing = "no key result" if pk is None else "no key result with this id"
    raise Problem(f"{shown}: {missing} in {period.name}")


def time_of(raw: str, period: Period, default_tz: tzinfo, now: datetime) -> datetime:
    when = parse_time(raw, default_tz)
    if when is None:
        raise Problem(f"'{raw[:40]}' is not a date or time (2024-03-31T14:30)")
    if not bounds.time_in_range(when):
        raise Problem(f"'{raw[:40]}' is outside {bounds.RANGE}")
    problem = checkin_time_problem(period, when, now=now)
    if problem:
        raise Problem(f"'{raw[:40]}': {problem[:1].lower()}{problem[1:]}")
    return when


def done_of(raw: str) -> bool:
    word = " ".join(raw.casefold().split())
    if word in DONE:
        return True
    if word in NOT_DONE:
        return False
    raise Problem(
        f"'{raw[:40]}' does not say whether the milestone is done: write done or "
        "not done"
    )


def status_of(raw: str) -> str:
    if not raw:
        return ""
    status = STATUSES.get(" ".join(raw.casefold().split()))
    if status is None:
        raise Problem(
            f"'{raw[:40]}' is not a status: write on track, needs attention or "
            "off track (or leave it empty)"
        )
    return status


def confidence_of(raw: str) -> int | None:
    if not raw:
        return None
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 3 and 1 <= int(raw) <= 10):
        raise Problem(
            f"'{raw[:40]}' is not a confidence: a whole number from 1 (very "
            "unsure) to 10 (certain)"
        )
    return int(raw)
