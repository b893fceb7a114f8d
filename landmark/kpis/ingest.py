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
  `value` is an exact number with at most 4 decimal places and less than 10^15 in
  size (landmark.lib.bounds; nothing is rounded). `note` is optional, at most 500
  characters.
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
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from django.db import IntegrityError, connection, transaction
from django.db.models import (
    Aggregate,
    Case,
    Count,
    F,
    FloatField,
    IntegerField,
    Max,
    Min,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Abs, Cast, Round
from django.utils import timezone

from landmark.kpis import health
from landmark.kpis.access import kpis_for_member
from landmark.kpis.current import refresh_current
from landmark.kpis.models import KPI, DataPoint, IngestionRequest, KPIWindow
from landmark.kpis.signals import values_changed
from landmark.lib import bounds
from landmark.lib.csv_lines import read_lines
from landmark.orgs.access import require_write
from landmark.orgs.models import Membership, Organization, User

MAX_POINTS = 10_000
MAX_ID = 2**63 - 1
KEY_RE = re.compile(r"[-a-zA-Z0-9_]{1,80}")  # KPI.key is a SlugField
MAX_NOTE = 500
MAX_KEY_LENGTH = 255
PLACES = Decimal("0.0001")
FUTURE_SKEW = timedelta(minutes=5)
KEY_RETENTION = timedelta(days=7)
FIELDS = ("kpi", "kpi_key", "time", "value", "note")
# Parameters per statement: far below SQLite's 32,766 and PostgreSQL's 65,535, and
# large enough that a batch of 1,000 points costs the same statements as one of 10.
CHUNK = 5_000
INTERVALS_PER_QUERY = 300
T = TypeVar("T")


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
    db_time: Any = None  # the time as the database driver takes it


@dataclass
class _Counts:
    created: int = 0
    corrected: int = 0
    unchanged: int = 0
    kpis: set[int] = field(default_factory=set)


# Reading request bodies (pure: no database)


class BodyError(Exception):
    """The body is not a batch at all (not JSON, no `points` list, no CSV header)."""


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
        raise BodyError(f"The body is not valid JSON: {error}.") from None
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
    header = next(lines, None)
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
        values: dict[str, Any] = {
            c: v.strip() for c, v in zip(columns, cells, strict=True)
        }
        for name in ("kpi", "kpi_key"):
            if values.get(name) == "":
                values[name] = None
        points.append(RawPoint(row=line, **values))
    return points


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


def parse_value(raw: Any) -> Decimal | str:
    if raw is None or raw == "":
        return "missing: give a number"
    if isinstance(raw, bool) or not isinstance(
        raw, (int, str, Decimal)
    ):  # a tuple: faster
        return "must be a number or a string holding one"
    if isinstance(raw, str) and "," in raw:
        return f"'{raw[:40]}' has a decimal comma; write it with a decimal point"
    try:
        value = Decimal(raw)
    except InvalidOperation:
        return f"'{str(raw)[:40]}' is not a number"
    if not value.is_finite():
        return f"'{str(raw)[:40]}' is not a number"
    if not bounds.value_in_range(value):
        return (
            f"'{str(raw)[:40]}' is too large "
            f"(at most {bounds.VALUE_DIGITS} digits before the point)"
        )
    exact = value.quantize(PLACES)
    if exact != value:
        return f"'{str(raw)[:40]}' has more than 4 decimal places"
    return exact


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
    """Every row checked, in one query for the KPIs whatever the batch size.

    This runs for every point of every batch: the common case (an id or key, an ISO
    time with an offset, a plain number) takes a short path, anything else the
    helpers above, which also word the problems.
    """
    errors: list[RowProblem] = []
    refs: list[tuple[RawPoint, int | None, str | None]] = []
    for point in points:
        if point.broken:
            errors.append(RowProblem(point.row, "(quoting)", point.broken))
            continue
        if point.unknown:
            errors.append(RowProblem(point.row, point.unknown[0], _unknown(point)))
            continue
        if type(point.kpi) is int and 0 < point.kpi <= MAX_ID and point.kpi_key is None:
            refs.append((point, point.kpi, None))
            continue
        kpi_id, key, problem = _kpi_ref(point)
        if problem:
            field_name = "kpi_key" if point.kpi is None else "kpi"
            errors.append(RowProblem(point.row, field_name, problem))
        refs.append((point, kpi_id, key))
    by_id, by_key = _load_kpis(membership, refs)
    good: list[_Point] = []
    seen: dict[tuple[int, datetime], int] = {}
    latest = now + FUTURE_SKEW
    for point, kpi_id, key in refs:
        row = point.row
        ok = True
        kpi = None
        if kpi_id is not None or key is not None:
            kpi = by_id.get(kpi_id) if kpi_id is not None else by_key.get(key or "")
            name = "kpi" if kpi_id is not None else "kpi_key"
            if kpi is None:
                errors.append(RowProblem(row, name, "unknown KPI"))
            elif kpi.archived:
                errors.append(
                    RowProblem(row, name, "the KPI is archived; it takes no values")
                )
                kpi = None
        when = _quick_time(point.time, latest)
        if when is None:
            problem_or_time = parse_time(point.time, latest)
            if isinstance(problem_or_time, str):
                errors.append(RowProblem(row, "time", problem_or_time))
                ok = False
            else:
                when = problem_or_time
        value = parse_value(point.value)
        if isinstance(value, str):
            errors.append(RowProblem(row, "value", value))
            ok = False
        note = point.note
        if note is None:
            note = ""
        elif not isinstance(note, str):
            errors.append(RowProblem(row, "note", "must be a string"))
            ok = False
        elif len(note) > MAX_NOTE:
            errors.append(RowProblem(row, "note", f"longer than {MAX_NOTE} characters"))
            ok = False
        elif "\x00" in note:
            errors.append(RowProblem(row, "note", "must not contain NUL characters"))
            ok = False
        if kpi is None or not ok or when is None or isinstance(value, str):
            continue
        first = seen.setdefault((kpi.id, when), row)
        if first != row:
            errors.append(
                RowProblem(
                    row,
                    "time",
                    f"the same KPI and time as row {first}; send one value per time",
                )
            )
            continue
        good.append(_Point(row, kpi.id, kpi, when, value, str(note)))
    errors.sort(key=lambda e: e.row)
    return good, errors


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
    now = now or timezone.now()
    good, errors = check_points(membership, points, now=now)
    if errors:
        raise IngestRejected(errors)
    for attempt in range(3):
        try:
            with transaction.atomic():
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
                        org,
                        membership.user,
                        idempotency_key,
                        body_hash,
                        token_id,
                        result,
                        now,
                    )
            return result
        except IntegrityError:
            # Another request committed the same key, or a point at the same KPI and
            # time, while this one was checking: answer as if it came second.
            if idempotency_key is not None:
                stored = _stored_response(org, idempotency_key, body_hash)
                if stored is not None:
                    return stored
            if attempt == 2:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


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
    adapt_time = _time_adapter()
    for p in points:
        p.db_time = adapt_time(p.time)
    existing = _current_points(org, points)
    new: list[_Point] = []
    replaced: list[int] = []
    changes: list[tuple[_Point, Decimal | None]] = []
    for p in points:
        old = existing.get((p.kpi_id, p.db_time))
        if old is None:
            counts.created += 1
            new.append(p)
            changes.append((p, None))
        elif old[1] == p.value:
            counts.unchanged += 1
        else:
            counts.corrected += 1
            replaced.append(old[0])
            new.append(p)
            changes.append((p, old[1]))
    if not new:
        return counts
    for chunk in _chunks(replaced, CHUNK):
        DataPoint.objects.filter(pk__in=chunk).update(is_current=False)
    _insert(org, author, new, source=source, now=now)
    for chunk in _chunks(replaced, CHUNK):
        DataPoint.objects.filter(pk__in=chunk).update(
            replaced_by=Subquery(
                DataPoint.objects.filter(
                    kpi=OuterRef("kpi"), time=OuterRef("time"), is_current=True
                ).values("pk")[:1]
            )
        )
    kpis = {p.kpi_id: p.kpi for p in new}
    refresh_windows(kpis, by_window(changes))
    refresh_current(kpis)  # the latest window and health dashboards read (lead's)
    values_changed.send(sender=KPI, kpis=list(kpis.values()), author=author)
    return counts


def _current_points(
    org: Organization, points: Sequence[_Point]
) -> dict[tuple[int, Any], tuple[int, Decimal]]:
    """The current points at the batch's KPIs and times: (pk, value) by (KPI id, time
    as the database stores it). Plain SQL with the times already adapted: Django
    would adapt each of thousands of parameters again."""
    meta = DataPoint._meta
    quote = connection.ops.quote_name
    column = {f.name: quote(str(f.column)) for f in meta.concrete_fields}
    kpi_ids = sorted({p.kpi_id for p in points})
    times = list({p.db_time for p in points})
    wanted = {(p.kpi_id, p.db_time) for p in points}
    to_decimal = _decimal_reader()
    found: dict[tuple[int, Any], tuple[int, Decimal]] = {}
    for chunk in _chunks(times, CHUNK):
        sql = (
            f"SELECT {column['id']}, {column['kpi']}, {column['time']}, "  # noqa: S608  # names from the model, values as parameters
            f"{column['value']} FROM {quote(meta.db_table)} "
            f"WHERE {column['organization']} = %s AND {column['is_current']} "
            f"AND {column['kpi']} IN ({', '.join(['%s'] * len(kpi_ids))}) "
            f"AND {column['time']} IN ({', '.join(['%s'] * len(chunk))})"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [org.pk, *kpi_ids, *chunk])
            rows = cursor.fetchall()
        for pk, kpi_id, when, value in rows:
            if isinstance(when, datetime) and when.tzinfo is None:
                when = str(when)  # SQLite's driver parsed the stored UTC text
            if (kpi_id, when) in wanted:
                found[(kpi_id, when)] = (pk, to_decimal(value))
    return found


def _insert(
    org: Organization,
    author: User,
    points: Sequence[_Point],
    *,
    source: str,
    now: datetime,
) -> None:
    """One INSERT statement run for every row (executemany): no model instances, and
    the same statement count for ten points as for ten thousand."""
    meta = DataPoint._meta
    names = (
        "organization",
        "kpi",
        "time",
        "value",
        "source",
        "author",
        "note",
        "is_current",
        "created_at",
    )
    quote = connection.ops.quote_name
    column = {f.name: str(f.column) for f in meta.concrete_fields}
    columns = ", ".join(quote(column[n]) for n in names)
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({columns}) "  # noqa: S608  # names from the model, values as parameters
        f"VALUES ({', '.join(['%s'] * len(names))})"
    )
    adapt_time = _time_adapter()
    value_field = meta.get_field("value")
    digits = getattr(value_field, "max_digits", None)
    places = getattr(value_field, "decimal_places", None)
    adapt_value = connection.ops.adapt_decimalfield_value
    org_id, author_id, created = org.pk, author.pk, adapt_time(now)
    with connection.cursor() as cursor:
        cursor.executemany(
            sql,
            [
                (
                    org_id,
                    p.kpi_id,
                    p.db_time,
                    adapt_value(p.value, digits, places),
                    source,
                    author_id,
                    p.note,
                    True,
                    created,
                )
                for p in points
            ],
        )


def _time_adapter() -> Callable[[datetime], Any]:
    """What the database driver takes for a DateTimeField value. On SQLite that is
    the UTC time as text, exactly as `adapt_datetimefield_value` writes it, without
    its per-call checks (a tenth of a batch's time otherwise)."""
    if connection.vendor == "sqlite" and connection.timezone == UTC:
        return lambda when: str(when.astimezone(UTC).replace(tzinfo=None))
    return connection.ops.adapt_datetimefield_value


def window_of(kpi: KPI, when: datetime) -> date:
    return health.window_start(kpi.frequency, timezone.localtime(when).date())


def _bounds(kpi: KPI, start: date) -> tuple[datetime, datetime]:
    """[local midnight of the start, local midnight of the next window)."""
    tz = timezone.get_current_timezone()
    end = health.next_window(kpi.frequency, start)
    # In UTC: comparing with times in UTC then skips a time zone lookup per point.
    return (
        timezone.make_aware(datetime.combine(start, time.min), tz).astimezone(UTC),
        timezone.make_aware(datetime.combine(end, time.min), tz).astimezone(UTC),
    )


@dataclass(slots=True)
class _Change:
    """A value written into a window: new, or correcting `old`."""

    time: datetime
    value: Decimal
    old: Decimal | None
    row: int = 0  # the point's row in the batch


Slot = tuple[int, date]  # (KPI id, window start)


def by_window(
    changes: Sequence[tuple[_Point, Decimal | None]],
) -> dict[Slot, list[_Change]]:
    """The changes grouped by window, each window's in time order. Points are sorted
    per KPI so a window's bounds are computed once, not once per point."""
    grouped: dict[Slot, list[_Change]] = defaultdict(list)
    ordered = sorted(changes, key=lambda c: (c[0].kpi_id, c[0].time))
    kpi_id, lo, hi, slot = 0, None, None, None
    for point, old in ordered:
        if (
            point.kpi_id != kpi_id
            or lo is None
            or hi is None
            or not lo <= point.time < hi
        ):
            kpi_id = point.kpi_id
            start = window_of(point.kpi, point.time)
            lo, hi = _bounds(point.kpi, start)
            slot = (kpi_id, start)
        assert slot is not None
        grouped[slot].append(_Change(point.time, point.value, old, point.row))
    return grouped


def refresh_windows(
    kpis: Mapping[int, KPI], changes: Mapping[Slot, Sequence[_Change]]
) -> None:
    """Bring every touched window's stored value up to date with the rules of
    `actions.recompute_windows`, in a constant number of statements.

    Points are only ever added or corrected here, never removed, so a window's count
    and last time follow from its stored row and the changes. So does its value for
    `last` and `sum` always, and for `min` and `max` when nothing was corrected; a
    window that had no points is just the new values. The other windows (`mean`,
    corrected `min`/`max`) are aggregated by the database, exactly (`_aggregated`),
    and only when it cannot be exact their values are read back.
    """
    stored = _stored_windows(changes)
    results: dict[Slot, tuple[Decimal, int, datetime]] = {}
    reread: list[Slot] = []
    for slot, window_changes in changes.items():
        aggregation = kpis[slot[0]].aggregation
        old = stored.get(slot)
        value = _combine(aggregation, old, window_changes)
        created = sum(1 for c in window_changes if c.old is None)
        count = (old.count if old else 0) + created
        latest = max(c.time for c in window_changes)
        last_time = max(old.last_time, latest) if old else latest
        if value is None:
            reread.append(slot)
            results[slot] = (Decimal(0), count, last_time)
        else:
            results[slot] = (value, count, last_time)
    in_db = _aggregated(kpis, reread)
    for slot, (value, count) in in_db.items():
        results[slot] = (value, count, results[slot][2])
    left = [slot for slot in reread if slot not in in_db]
    for slot, values in _current_values(kpis, left).items():
        aggregated = health.aggregate(kpis[slot[0]].aggregation, values)
        assert aggregated is not None
        results[slot] = (aggregated, len(values), results[slot][2])
    too_large = [
        RowProblem(changes[slot][-1].row, "value", bounds.WINDOW_MESSAGE)
        for slot, (value, _, _) in results.items()
        if not bounds.window_in_range(value)
    ]
    if too_large:
        raise IngestRejected(sorted(too_large, key=lambda p: p.row))
    KPIWindow.objects.bulk_create(
        [
            KPIWindow(
                organization_id=kpis[kpi_id].organization_id,
                kpi_id=kpi_id,
                start=start,
                value=value,
                count=count,
                last_time=last_time,
            )
            for (kpi_id, start), (value, count, last_time) in results.items()
        ],
        update_conflicts=True,
        unique_fields=["kpi", "start"],
        update_fields=["value", "count", "last_time"],
    )


def _combine(
    aggregation: str, old: KPIWindow | None, changes: Sequence[_Change]
) -> Decimal | None:
    """The window's new value from its stored row and the changes (in time order),
    or None when only its points can tell."""
    values = [c.value for c in changes]
    if old is None:
        return health.aggregate(aggregation, values)
    corrected = any(c.old is not None for c in changes)
    if aggregation == KPI.Aggregation.LAST:
        latest = changes[-1]
        return latest.value if latest.time >= old.last_time else old.value
    if aggregation == KPI.Aggregation.SUM:
        return (
            old.value
            + sum(values, Decimal(0))
            - sum((c.old for c in changes if c.old is not None), Decimal(0))
        )
    if aggregation == KPI.Aggregation.MIN and not corrected:
        return min(old.value, *values)
    if aggregation == KPI.Aggregation.MAX and not corrected:
        return max(old.value, *values)
    return None


def _stored_windows(changes: Mapping[Slot, Sequence[_Change]]) -> dict[Slot, KPIWindow]:
    kpi_ids = sorted({kpi_id for kpi_id, _ in changes})
    starts = sorted({start for _, start in changes})
    found: dict[Slot, KPIWindow] = {}
    for chunk in _chunks(starts, CHUNK):
        for window in KPIWindow.objects.filter(
            kpi_id__in=kpi_ids, start__in=chunk
        ).only("kpi_id", "start", "value", "count", "last_time"):
            slot = (window.kpi_id, window.start)
            if slot in changes:
                found[slot] = window
    return found


class Total(Aggregate):
    """SQLite's TOTAL(): a sum that never overflows (a float)."""

    function = "TOTAL"
    output_field = FloatField()


# Below 1e11 a value with 4 decimals has at most 15 significant digits: SQLite's float
# holds it exactly as Django reads it back, and value * 10,000 rounds to its exact
# integer. Sums of such integers stay exact in a float below 2**53.
SQLITE_EXACT_BELOW = 10**11
FLOAT_EXACT_BELOW = 2**53


def _slot_case(kpis: Mapping[int, KPI], chunk: Sequence[Slot]) -> tuple[Q, Case]:
    """A filter for the windows' points and a CASE telling which window each is in."""
    where = Q()
    whens = []
    for i, (kpi_id, start) in enumerate(chunk):
        lo, hi = _bounds(kpis[kpi_id], start)
        # With the organization, each interval is a range of the
        # (organization, kpi, time) index.
        interval = Q(
            organization_id=kpis[kpi_id].organization_id,
            kpi_id=kpi_id,
            time__gte=lo,
            time__lt=hi,
        )
        where |= interval
        whens.append(When(interval, then=Value(i)))
    return where, Case(*whens, output_field=IntegerField())


def _aggregated(
    kpis: Mapping[int, KPI], slots: Sequence[Slot]
) -> dict[Slot, tuple[Decimal, int]]:
    """(value, count) of `mean`, `min` and `max` windows computed by the database,
    for the windows where that is exact: always on PostgreSQL (numeric), on SQLite
    while values stay below SQLITE_EXACT_BELOW (a sum of scaled integers)."""
    found: dict[Slot, tuple[Decimal, int]] = {}
    sqlite = connection.vendor == "sqlite"
    for chunk in _chunks(slots, INTERVALS_PER_QUERY):
        where, case = _slot_case(kpis, chunk)
        scaled = Cast(Round(F("value") * Value(10_000)), IntegerField())
        sums: dict[str, Any] = (
            {"scaled": Total(scaled), "scaled_abs": Total(Abs(scaled))}
            if sqlite
            else {"exact": Sum("value")}
        )
        rows = (
            DataPoint.objects.filter(where, is_current=True)
            .annotate(slot=case)
            .order_by()
            .values("slot")
            .annotate(n=Count("pk"), low=Min("value"), high=Max("value"), **sums)
        )
        for row in rows:
            slot = chunk[row["slot"]]
            aggregation = kpis[slot[0]].aggregation
            count = row["n"]
            if aggregation == KPI.Aggregation.MIN:
                found[slot] = (row["low"], count)
            elif aggregation == KPI.Aggregation.MAX:
                found[slot] = (row["high"], count)
            elif not sqlite:
                found[slot] = (row["exact"] / count, count)
            elif (
                max(abs(row["low"]), abs(row["high"])) < SQLITE_EXACT_BELOW
                and row["scaled_abs"] < FLOAT_EXACT_BELOW
            ):
                total = Decimal(int(row["scaled"])).scaleb(-4)
                found[slot] = (total / count, count)
    return found


def _current_values(
    kpis: Mapping[int, KPI], slots: Sequence[Slot]
) -> dict[Slot, list[Decimal]]:
    """The current values of each window, in no particular order: one query per
    INTERVALS_PER_QUERY windows, the window told by a CASE on the time."""
    found: dict[Slot, list[Decimal]] = {slot: [] for slot in slots}
    to_decimal = _decimal_reader()
    for chunk in _chunks(slots, INTERVALS_PER_QUERY):
        where, case = _slot_case(kpis, chunk)
        rows = (
            DataPoint.objects.filter(where, is_current=True)
            .annotate(slot=case)
            .order_by()  # mean, min and max do not depend on the order
            .values_list("slot", "value")
        )
        for i, value in _raw_rows(rows.query):
            found[chunk[i]].append(to_decimal(value))
    return found


def _raw_rows(query: Any) -> list[tuple[Any, ...]]:
    """The query's rows as the driver returns them: Django's per-row converters
    cost more than the query when a window holds thousands of points."""
    sql, params = query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


def _decimal_reader() -> Callable[[Any], Decimal]:
    """DataPoint.value as Django reads it from this database (on SQLite: the float,
    to 15 significant digits, quantized to the field's places)."""
    field = DataPoint._meta.get_field("value")
    col = field.get_col(DataPoint._meta.db_table)
    converters = [
        *connection.ops.get_db_converters(col),
        *field.get_db_converters(connection),  # type: ignore[attr-defined]  # Field API django-stubs lacks
    ]

    def read(value: Any) -> Decimal:
        for convert in converters:
            value = convert(value, col, connection)
        assert isinstance(value, Decimal)
        return value

    return read


def _chunks(items: Sequence[T], size: int) -> Iterable[Sequence[T]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def prune_ingestion_requests(*, now: datetime | None = None) -> int:
    """Forget idempotency keys older than KEY_RETENTION, in every organization."""
    cutoff = (now or timezone.now()) - KEY_RETENTION
    deleted, _ = IngestionRequest.objects.filter(created_at__lt=cutoff).delete()
    return deleted
