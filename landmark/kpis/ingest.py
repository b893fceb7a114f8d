"""Bulk ingestion of KPI data points: many points for many KPIs in one all-or-nothing
batch, with idempotency keys. The API's `POST /api/v1/kpis/points/batch` is a thin
layer over `ingest_points`.

The rules (docs/api.md, "Sending KPI values"):

- A batch holds 1 to 10,000 points. Each names its KPI by id (`kpi`) or by the stable
  key its owner set (`kpi_key`), within the caller's organization. A KPI the caller
  cannot see (another organization's, a private one) is an "unknown KPI", exactly
  like one that does not exist. An archived KPI takes no new values.
- `time` is ISO 8601 with a time zone (`2025-03-01T09:30:00Z`, `...+02:00`), or a
  plain date (midnight in the server's time zone, like the CSV import), within
  landmark.lib.bounds. A time more than five minutes in the future is refused.
  `value` is read by landmark.lib.values like a value entered anywhere else: at
  most 4 decimal places (nothing is rounded) and 15 digits before the point, as a
  JSON number or a string. `note` is optional, at most 500 characters.
- Every bad row is reported (row, field, reason); if any row is bad nothing is saved.
- Upsert rule: a point at the same KPI and time as a current point is a correction
  (a new version; the old value stays in the history, as in the web app) unless its
  value is identical, in which case nothing changes ("unchanged"). Two points with
  the same KPI and time in one batch reject the batch (the later row is named).
- Idempotency: a batch accepted under a key is remembered with its response for
  `KEY_RETENTION`; sending the same key with the same body answers the same response
  and adds nothing, the same key with another body is a conflict. The key is saved
  in the same transaction as the points: an answer means the points are committed.
  Rejected batches are not remembered (they saved nothing; fix and resend).
"""

import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone

from landmark.kpis import windows
from landmark.kpis.access import kpis_for_member
from landmark.kpis.current import refresh_current
from landmark.kpis.models import KPI, DataPoint, IngestionRequest
from landmark.kpis.signals import values_changed
from landmark.kpis.windows import Change, Slot, WindowValue, chunks
from landmark.lib import bounds, values
from landmark.lib.csv_lines import CSVLine, read_lines
from landmark.orgs.access import require_write
from landmark.orgs.models import Membership, Organization, User

MAX_POINTS = 10_000
MAX_ID = 2**63 - 1
KEY_RE = re.compile(r"[-a-zA-Z0-9_]{1,80}")  # KPI.key is a SlugField
MAX_NOTE = 500
MAX_KEY_LENGTH = 255
FUTURE_SKEW = timedelta(minutes=5)
KEY_RETENTION = timedelta(days=7)
FIELDS = ("kpi", "kpi_key", "time", "value", "note")
# Parameters per statement: far below SQLite's 32,766 and PostgreSQL's 65,535, and
# large enough that a batch of 1,000 points costs the same statements as one of 10.
CHUNK = 5_000


@dataclass(slots=True)
class RawPoint:
    """One point as received, before any check. `row` is how errors name it."""

    row: int
    kpi: Any = None
    kpi_key: Any = None
    time: Any = None
    value: Any = None
    note: Any = None
    unknown: tuple[str, ...] = ()
    broken: str = ""  # what is wrong with the CSV line itself (its quoting)


@dataclass(frozen=True)
class RowProblem:
    row: int
    field: str
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "field": self.field, "reason": self.reason}


class IngestRejected(Exception):
    """The batch was refused; nothing was saved. `errors` lists every bad row."""

    def __init__(self, errors: Sequence[RowProblem], *, too_large: bool = False):
        super().__init__(f"{len(errors)} problem(s) in the batch")
        self.errors = list(errors)
        self.too_large = too_large


class IdempotencyConflict(Exception):
    """The key was already used for a different request."""


@dataclass(frozen=True)
class IngestResult:
    status: int  # 201 when something was written, 200 when every point was unchanged
    body: dict[str, Any]
    replayed: bool = False


@dataclass(slots=True)
class _Point:
    row: int
    kpi_id: int
    kpi: KPI
    time: datetime
    value: Decimal
    note: str


@dataclass
class _Counts:
    created: int = 0
    corrected: int = 0
    unchanged: int = 0
    kpis: set[int] = field(default_factory=set)


# Reading request bodies (pure: no database)


class BodyError(Exception):
    """The body is not a batch at all (not JSON, no `points` list, no CSV header)."""


class NotJSON(BodyError):
    """The JSON body does not parse (the API's 400, as for any body)."""


def request_hash(content_type: str, body: bytes) -> str:
    return hashlib.sha256(content_type.encode() + b"\n" + body).hexdigest()


def points_from_json(body: bytes) -> list[RawPoint]:
    """`{"points": [{"kpi": 1 | "kpi_key": "...", "time": ..., "value": ..., "note": ...}]}`.

    Numbers are read as exact decimals (never through a float). `row` is the index
    in `points`, from 0.
    """
    try:
        data = json.loads(body, parse_float=Decimal)
    except (ValueError, UnicodeDecodeError) as error:
        raise NotJSON(f"The body is not valid JSON: {error}.") from None
    except RecursionError:
        # Python's parser recurses once per level: a batch is 3 levels deep.
        raise BodyError("The JSON is nested too deeply to be a batch.") from None
    if not isinstance(data, dict) or not isinstance(data.get("points"), list):
        raise BodyError('The body must be a JSON object with a "points" list.')
    points: list[RawPoint] = []
    for i, item in enumerate(data["points"]):
        if not isinstance(item, dict):
            points.append(RawPoint(row=i, unknown=("(not an object)",)))
            continue
        points.append(
            RawPoint(
                row=i,
                kpi=item.get("kpi"),
                kpi_key=item.get("kpi_key"),
                time=item.get("time"),
                value=item.get("value"),
                note=item.get("note"),
                unknown=_unknown_fields(item),
            )
        )
    return points


def _unknown_fields(item: dict[str, Any]) -> tuple[str, ...]:
    if len(item) <= 3 and "kpi" in item and "time" in item and "value" in item:
        return ()  # the common case, quickly
    return tuple(sorted(k for k in item if k not in FIELDS))


def points_from_csv(body: bytes) -> list[RawPoint]:
    """CSV with a header naming the columns: `kpi` or `kpi_key`, `time`, `value` and
    optionally `note`, in any order. `row` is the line number (the header is line 1).
    A line whose quoting does not pair up on that line is a row error of its own
    (landmark.lib.csv_lines), never part of another row's note.
    """
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BodyError("The CSV is not UTF-8 text.") from None
    lines = read_lines(text)
    columns = _csv_columns(next(lines, None))
    points: list[RawPoint] = []
    for line, cells, problem in lines:
        if problem:
            points.append(RawPoint(row=line, broken=problem))
            continue
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(columns):
            points.append(RawPoint(row=line, unknown=(f"({len(cells)} columns)",)))
            continue
        named: dict[str, Any] = {
            c: v.strip() for c, v in zip(columns, cells, strict=True)
        }
        for name in ("kpi", "kpi_key"):
            if named.get(name) == "":
                named[name] = None
        points.append(RawPoint(row=line, **named))
    return points


def _csv_columns(header: CSVLine | None) -> list[str]:
    """The columns the header names, or BodyError saying what is wrong with it."""
    if header is not None and header.problem:
        raise BodyError(f"The CSV header line could not be read: {header.problem}.")
    columns = [c.strip().lower() for c in header.cells] if header else []
    if not columns or not set(columns) & {"kpi", "kpi_key"}:
        raise BodyError(
            "The CSV needs a header line naming its columns: kpi or kpi_key, "
            "time, value and optionally note."
        )
    unknown = tuple(c for c in columns if c not in FIELDS)
    if unknown:
        raise BodyError(
            f"Unknown CSV column(s): {', '.join(unknown)}; "
            "use kpi or kpi_key, time, value and note."
        )
    if len(set(columns)) != len(columns):
        raise BodyError("A CSV column is named twice in the header.")
    return columns


# Checking rows


def parse_time(raw: Any, latest: datetime) -> datetime | str:
    """An aware datetime no later than `latest`, or what is wrong in plain words."""
    if not isinstance(raw, str) or not raw:
        return "missing: give an ISO 8601 time such as 2025-03-01T09:30:00Z"
    try:
        if len(raw) == 10:
            when = datetime.combine(date.fromisoformat(raw), time.min)
            when = timezone.make_aware(when, timezone.get_current_timezone())
        else:
            when = datetime.fromisoformat(raw)
    except ValueError:
        return f"'{raw[:40]}' is not an ISO 8601 date or time"
    if when.tzinfo is None or when.utcoffset() is None:
        return f"'{raw[:40]}' has no time zone; add Z or an offset such as +02:00"
    if not bounds.time_in_range(when):
        return f"'{raw[:40]}' is outside {bounds.RANGE}"
    if when > latest:
        return f"'{raw[:40]}' is in the future"
    return when


def _kpi_ref(point: RawPoint) -> tuple[int | None, str | None, str | None]:
    """(id, key, problem) of the KPI a point names."""
    has_id = point.kpi is not None and point.kpi != ""
    has_key = point.kpi_key is not None and point.kpi_key != ""
    if has_id and has_key:
        return None, None, "give either kpi or kpi_key, not both"
    if not has_id and not has_key:
        return None, None, "missing: give kpi (the KPI's id) or kpi_key (its key)"
    if has_key:
        if not isinstance(point.kpi_key, str):
            return None, None, "kpi_key must be a string"
        return None, point.kpi_key, None
    raw = point.kpi
    if isinstance(raw, str) and raw.isascii() and raw.isdigit() and len(raw) < 20:
        raw = int(raw)
    if isinstance(raw, bool) or not isinstance(raw, int) or not 0 < raw <= MAX_ID:
        return None, None, "kpi must be a KPI's id (a positive whole number)"
    return raw, None, None


def check_points(
    membership: Membership, points: Sequence[RawPoint], *, now: datetime
) -> tuple[list[_Point], list[RowProblem]]:
    """Every row checked, in one query for the KPIs whatever the batch size."""
    errors: list[RowProblem] = []
    refs = _references(points, errors)
    by_id, by_key = _load_kpis(membership, refs)
    good: list[_Point] = []
    seen: dict[tuple[int, datetime], int] = {}
    latest = now + FUTURE_SKEW
    for point, kpi_id, key in refs:
        kpi = _kpi_of(point.row, kpi_id, key, by_id, by_key, errors)
        checked = _check_fields(point, latest, errors)
        if kpi is None or checked is None:
            continue
        when, value, note = checked
        first = seen.setdefault((kpi.id, when), point.row)
        if first != point.row:
            errors.append(
                RowProblem(
                    point.row,
                    "time",
                    f"the same KPI and time as row {first}; send one value per time",
                )
            )
            continue
        good.append(_Point(point.row, kpi.id, kpi, when, value, note))
    errors.sort(key=lambda e: e.row)
    return good, errors


Reference = tuple[RawPoint, int | None, str | None]  # the point, its KPI's id or key


def _references(
    points: Sequence[RawPoint], errors: list[RowProblem]
) -> list[Reference]:
    """The points whose lines could be read, with the KPI each names (id or key); a
    problem with the line or the KPI reference goes to `errors`."""
    refs: list[Reference] = []
    for point in points:
        if point.broken:
            errors.append(RowProblem(point.row, "(quoting)", point.broken))
            continue
        if point.unknown:
            errors.append(RowProblem(point.row, point.unknown[0], _unknown(point)))
            continue
        # The common case, quickly: an id as a JSON number.
        if type(point.kpi) is int and 0 < point.kpi <= MAX_ID and point.kpi_key is None:
            refs.append((point, point.kpi, None))
            continue
        kpi_id, key, problem = _kpi_ref(point)
        if problem:
            field_name = "kpi_key" if point.kpi is None else "kpi"
            errors.append(RowProblem(point.row, field_name, problem))
        refs.append((point, kpi_id, key))
    return refs


def _kpi_of(
    row: int,
    kpi_id: int | None,
    key: str | None,
    by_id: Mapping[int, KPI],
    by_key: Mapping[str, KPI],
    errors: list[RowProblem],
) -> KPI | None:
    """The KPI a row names, if the caller may push values to it."""
    if kpi_id is None and key is None:
        return None  # its reference was already reported
    kpi = by_id.get(kpi_id) if kpi_id is not None else by_key.get(key or "")
    name = "kpi" if kpi_id is not None else "kpi_key"
    if kpi is None:
        errors.append(RowProblem(row, name, "unknown KPI"))
    elif kpi.archived:
        errors.append(RowProblem(row, name, "the KPI is archived; it takes no values"))
        return None
    return kpi


def _check_fields(
    point: RawPoint, latest: datetime, errors: list[RowProblem]
) -> tuple[datetime, Decimal, str] | None:
    """The point's time, value and note, or None with every problem in `errors`."""
    row = point.row
    found = len(errors)
    value = Decimal(0)
    when = _quick_time(point.time, latest)
    if when is None:
        parsed = parse_time(point.time, latest)
        if isinstance(parsed, str):
            errors.append(RowProblem(row, "time", parsed))
        else:
            when = parsed
    try:
        value = values.parse_value(point.value)
    except values.ValueProblem as problem:
        errors.append(RowProblem(row, "value", problem.reason))
    note_problem = _note_problem(point.note)
    if note_problem:
        errors.append(RowProblem(row, "note", note_problem))
    if len(errors) > found or when is None:
        return None
    return when, value, point.note or ""


def _note_problem(note: Any) -> str:
    if note is None:
        return ""
    if not isinstance(note, str):
        return "must be a string"
    if len(note) > MAX_NOTE:
        return f"longer than {MAX_NOTE} characters"
    if "\x00" in note:
        return "must not contain NUL characters"
    return ""


def _quick_time(raw: Any, latest: datetime) -> datetime | None:
    """The time when it is a valid ISO 8601 date and time with an offset, not in the
    future; None sends the row to `parse_time` for the exact problem."""
    if type(raw) is not str or len(raw) <= 10:
        return None
    try:
        when = datetime.fromisoformat(raw)
    except ValueError:
        return None
    if when.tzinfo is None or not bounds.time_in_range(when) or when > latest:
        return None
    return when


def _unknown(point: RawPoint) -> str:
    name = point.unknown[0]
    if name == "(not an object)":
        return "each point must be an object with kpi or kpi_key, time and value"
    if name.endswith(" columns)"):
        return "this line does not have as many columns as the header"
    return f"unknown field; use {', '.join(FIELDS)}"


def _load_kpis(
    membership: Membership, refs: Iterable[tuple[RawPoint, int | None, str | None]]
) -> tuple[dict[int, KPI], dict[str, KPI]]:
    """The KPIs the rows name that the caller can see, by id and by key."""
    ids = {kpi_id for _, kpi_id, _ in refs if kpi_id is not None}
    # Only a slug can be a KPI's key: anything else is unknown without asking.
    keys = {key for _, _, key in refs if key is not None and KEY_RE.fullmatch(key)}
    if not ids and not keys:
        return {}, {}
    found = kpis_for_member(membership).filter(Q(pk__in=ids) | Q(key__in=keys))
    by_id: dict[int, KPI] = {}
    by_key: dict[str, KPI] = {}
    for kpi in found.only(
        "id", "organization_id", "name", "key", "frequency", "aggregation", "archived"
    ):
        if kpi.id in ids:
            by_id[kpi.id] = kpi
        if kpi.key in keys:
            by_key[kpi.key] = kpi
    return by_id, by_key


# Saving


def ingest_points(
    membership: Membership,
    points: Sequence[RawPoint],
    *,
    idempotency_key: str | None = None,
    body_hash: str = "",
    token_id: int | None = None,
    source: str = DataPoint.Source.API,
    now: datetime | None = None,
) -> IngestResult:
    """Check the whole batch, then save it in one transaction, or save nothing.

    Raises PermissionDenied for a read-only member, IngestRejected with every bad row,
    IdempotencyConflict when the key was used for another body.
    """
    require_write(membership)
    org = membership.organization
    if idempotency_key is not None:
        stored = _stored_response(org, idempotency_key, body_hash)
        if stored is not None:
            return stored
    _check_size(points)
    now = now or timezone.now()
    good, errors = check_points(membership, points, now=now)
    if errors:
        raise IngestRejected(errors)
    for attempt in range(3):
        try:
            return _save_once(
                membership, good, idempotency_key, body_hash, token_id, source, now
            )
        except IntegrityError:
            # Another request committed the same key, or a point at the same KPI and
            # time, while this one was checking: answer as if it came second.
            if idempotency_key is not None:
                stored = _stored_response(org, idempotency_key, body_hash)
                if stored is not None:
                    return stored
            if attempt == 2:
                raise
    raise RuntimeError("unreachable: the third attempt returns or raises")


def _check_size(points: Sequence[RawPoint]) -> None:
    if len(points) > MAX_POINTS:
        raise IngestRejected(
            [
                RowProblem(
                    0,
                    "points",
                    f"{len(points):,} points; a batch holds at most {MAX_POINTS:,}",
                )
            ],
            too_large=True,
        )
    if not points:
        raise IngestRejected([RowProblem(0, "points", "the batch has no points")])


@transaction.atomic
def _save_once(
    membership: Membership,
    good: list[_Point],
    idempotency_key: str | None,
    body_hash: str,
    token_id: int | None,
    source: str,
    now: datetime,
) -> IngestResult:
    org = membership.organization
    counts = _save(org, membership.user, good, source=source, now=now)
    result = IngestResult(
        status=201 if counts.created or counts.corrected else 200,
        body={
            "points": len(good),
            "created": counts.created,
            "corrected": counts.corrected,
            "unchanged": counts.unchanged,
        },
    )
    if idempotency_key is not None:
        _remember(
            org, membership.user, idempotency_key, body_hash, token_id, result, now
        )
    return result


def _stored_response(
    org: Organization, key: str, body_hash: str
) -> IngestResult | None:
    stored = (
        IngestionRequest.objects.filter(
            organization=org, key=key, created_at__gte=timezone.now() - KEY_RETENTION
        )
        .only("request_hash", "status", "response")
        .first()
    )
    if stored is None:
        return None
    if stored.request_hash != body_hash:
        raise IdempotencyConflict(
            "This Idempotency-Key was already used for a different request; "
            "use a new key for new data."
        )
    return IngestResult(status=stored.status, body=stored.response, replayed=True)


def _remember(
    org: Organization,
    user: User,
    key: str,
    body_hash: str,
    token_id: int | None,
    result: IngestResult,
    now: datetime,
) -> None:
    # An expired key may be reused: drop the organization's expired keys first.
    IngestionRequest.objects.filter(
        organization=org, created_at__lt=now - KEY_RETENTION
    ).delete()
    IngestionRequest.objects.create(
        organization=org,
        key=key,
        request_hash=body_hash,
        user=user,
        token_id=token_id,
        status=result.status,
        response=result.body,
        created_at=now,
    )


def _save(
    org: Organization, author: User, points: list[_Point], *, source: str, now: datetime
) -> _Counts:
    counts = _Counts()
    # Writers to the same KPI take turns (PostgreSQL row locks; SQLite has one writer
    # anyway): windows are updated from their stored rows, which must not change
    # under this transaction.
    list(
        KPI.objects.select_for_update()
        .filter(pk__in=sorted({p.kpi_id for p in points}))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    existing = _current_points(org, points)
    new: list[_Point] = []
    replaced: list[int] = []
    changes: list[tuple[int, Change]] = []
    for p in points:
        old = existing.get((p.kpi_id, p.time))
        if old is not None and old[1] == p.value:
            counts.unchanged += 1
            continue
        if old is None:
            counts.created += 1
        else:
            counts.corrected += 1
            replaced.append(old[0])
        new.append(p)
        changes.append(
            (p.kpi_id, Change(p.time, p.value, None if old is None else old[1], p.row))
        )
    if not new:
        return counts
    for chunk in chunks(replaced, CHUNK):
        DataPoint.objects.filter(pk__in=chunk).update(is_current=False)
    _insert(org, author, new, source=source, now=now)
    for chunk in chunks(replaced, CHUNK):
        DataPoint.objects.filter(pk__in=chunk).update(
            replaced_by=Subquery(
                DataPoint.objects.filter(
                    kpi=OuterRef("kpi"), time=OuterRef("time"), is_current=True
                ).values("pk")[:1]
            )
        )
    kpis = {p.kpi_id: p.kpi for p in new}
    refresh_windows(kpis, windows.by_window(kpis, changes))
    refresh_current(kpis)  # the latest window and health dashboards read
    values_changed.send(sender=KPI, kpis=list(kpis.values()), author=author)
    return counts


def _current_points(
    org: Organization, points: Sequence[_Point]
) -> dict[tuple[int, datetime], tuple[int, Decimal]]:
    """The current points at the batch's KPIs and times: (pk, value) by (KPI id,
    time)."""
    kpi_ids = sorted({p.kpi_id for p in points})
    times = list({p.time for p in points})
    found: dict[tuple[int, datetime], tuple[int, Decimal]] = {}
    for chunk in chunks(times, CHUNK):
        for pk, kpi_id, when, value in DataPoint.objects.filter(
            organization=org, is_current=True, kpi_id__in=kpi_ids, time__in=chunk
        ).values_list("pk", "kpi_id", "time", "value"):
            found[(kpi_id, when)] = (pk, value)
    return found


def _insert(
    org: Organization,
    author: User,
    points: Sequence[_Point],
    *,
    source: str,
    now: datetime,
) -> None:
    """One INSERT statement run for every row (executemany), each value adapted for
    the database by Django's backend: building ten thousand model instances for
    bulk_create, or preparing each value through its field, would take longer than
    the rest of the batch (the values are already checked, aware and exact)."""
    meta = DataPoint._meta
    ops = connection.ops
    names = ["organization", "kpi", "time", "value", "source", "author", "note"]
    names += ["is_current", "created_at"]
    fields = {f.name: f for f in meta.concrete_fields}
    columns = ", ".join(ops.quote_name(str(fields[n].column)) for n in names)
    sql = (
        f"INSERT INTO {ops.quote_name(meta.db_table)} ({columns}) "  # noqa: S608  # names from the model, values as parameters
        f"VALUES ({', '.join(['%s'] * len(names))})"
    )
    value_field = DataPoint._meta.get_field("value")
    digits = getattr(value_field, "max_digits", None)
    places = getattr(value_field, "decimal_places", None)
    adapt_time, adapt_value = (
        ops.adapt_datetimefield_value,
        ops.adapt_decimalfield_value,
    )
    created = adapt_time(now)
    with connection.cursor() as cursor:
        cursor.executemany(
            sql,
            [
                (
                    org.pk,
                    p.kpi_id,
                    adapt_time(p.time),
                    adapt_value(p.value, digits, places),
                    source,
                    author.pk,
                    p.note,
                    True,
                    created,
                )
                for p in points
            ],
        )


def refresh_windows(
    kpis: Mapping[int, KPI], changes: Mapping[Slot, Sequence[Change]]
) -> None:
    """Bring every touched window's stored value up to date in a constant number of
    statements: moved on from its stored row where the aggregation allows
    (windows.advance), recomputed by the database otherwise (windows.refresh's
    rules). Points are only added or corrected here, never removed, so a window's
    count and latest time follow from its stored row and the changes."""
    stored = windows.stored(changes)
    results: dict[Slot, WindowValue] = {}
    recompute: list[Slot] = []
    for slot, window_changes in changes.items():
        old = stored.get(slot)
        value = windows.advance(kpis[slot[0]].aggregation, old, window_changes)
        if value is None:
            recompute.append(slot)
            continue
        count = sum(1 for c in window_changes if c.old is None)
        last_time = window_changes[-1].time
        if old is not None:
            count += old.count
            last_time = max(old.last_time, last_time)
        results[slot] = WindowValue(value, count, last_time)
    results.update(windows.from_database(kpis, recompute))
    try:
        windows.store(kpis, results)
    except windows.WindowTooLarge as error:
        raise IngestRejected(
            sorted(
                (
                    RowProblem(changes[slot][-1].row, "value", bounds.WINDOW_MESSAGE)
                    for slot in error.slots
                ),
                key=lambda p: p.row,
            )
        ) from None


def prune_ingestion_requests(*, now: datetime | None = None) -> int:
    """Forget idempotency keys older than KEY_RETENTION, in every organization."""
    cutoff = (now or timezone.now()) - KEY_RETENTION
    deleted, _ = IngestionRequest.objects.filter(created_at__lt=cutoff).delete()
    return deleted
