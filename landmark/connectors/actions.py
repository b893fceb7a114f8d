"""Writes of the connectors app: saving a connector, testing it without saving, and
its runs (each one ingestion through landmark.kpis.ingest, like the batch API)."""

import logging
import re
import time as clock
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import jmespath
import jmespath.exceptions
from django.conf import settings as django_settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from landmark.connectors import schedule, sources
from landmark.connectors.models import Connector, ConnectorRun
from landmark.connectors.sources import SourceError, SourceRow
from landmark.kpis import health
from landmark.kpis.ingest import (
    MAX_POINTS,
    IdempotencyConflict,
    IngestRejected,
    RawPoint,
    RowProblem,
    check_points,
    ingest_points,
)
from landmark.kpis.models import KPI, DataPoint, KPIWindow
from landmark.kpis.windows import chunks, window_of
from landmark.lib import outbound
from landmark.lib.encryption import Unreadable
from landmark.notify import actions as notify_actions
from landmark.notify.kinds import Kind, register_kind
from landmark.orgs.models import Membership, Organization

logger = logging.getLogger("landmark.connectors")

CONNECTOR_FAILING = register_kind(
    Kind(
        "connector_failing",
        "Connector failing",
        "When the connector that updates a KPI you own fails several runs in a row.",
    )
)
# A run unfinished after this long was cut short (a worker killed): it is retried.
STALE_RUN = timedelta(minutes=15)
# The wait before the next attempt after 1, 2, 3, … failures in a row (then 6 hours).
BACKOFF = [
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
]
MAX_BACKOFF = timedelta(hours=6)
KEEP_RUNS = 200  # history kept per connector


def org_time_zone(org: Organization) -> ZoneInfo:
    """The organization's time zone (Settings → Organization)."""
    return ZoneInfo(org.time_zone)


def failing_threshold() -> int:
    return max(1, int(django_settings.CONNECTOR_FAILURES_ALERT))


def is_failing(connector: Connector) -> bool:
    return connector.failures >= failing_threshold()


# Saving


@dataclass
class ConnectorInput:
    """A connector as a form, the API or an import gives it. `secrets` holds only
    the secret parts being set; a part absent keeps the stored one."""

    kind: str
    settings: dict[str, Any]
    secrets: dict[str, Any] = field(default_factory=dict)
    schedule: str = Connector.Schedule.DAILY
    at_time: time = time(6, 0)
    weekday: int = 0
    cron: str = ""
    enabled: bool = True


HEADER_NAME = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}")


class ConnectorInvalid(Exception):
    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


SETTINGS_OF_KIND: dict[str, tuple[str, ...]] = {
    Connector.Kind.SQL: ("query",),
    Connector.Kind.HTTP_JSON: ("expression",),
    Connector.Kind.CSV_URL: ("time_column", "value_column"),
}
# The source's address is a secret part: a database URL carries a password, and an
# HTTP URL often a token (`?api_key=`) or is itself the key (a published sheet).
SECRETS_OF_KIND: dict[str, tuple[str, ...]] = {
    Connector.Kind.SQL: ("database_url",),
    Connector.Kind.HTTP_JSON: ("url", "headers"),
    Connector.Kind.CSV_URL: ("url", "headers"),
}


def parse_headers(text: str) -> dict[str, str]:
    """`Name: value` lines."""
    headers: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        name, sep, value = line.partition(":")
        if not sep or not name.strip() or any(c in name for c in " \t"):
            raise ValueError(
                f"“{line.strip()[:40]}” is not a “Name: value” header line."
            )
        headers[name.strip()] = value.strip()
    return headers


def check_input(data: ConnectorInput, stored: dict[str, Any]) -> dict[str, str]:
    """Every problem, by field name ("" when none). `stored`: the secret parts kept."""
    errors: dict[str, str] = {}
    if data.kind not in SETTINGS_OF_KIND:
        return {"kind": "Choose SQL, HTTP JSON or CSV at a URL."}
    for name in SETTINGS_OF_KIND[data.kind]:
        value = data.settings.get(name)
        if not isinstance(value, str) or not value.strip():
            errors[name] = "This field is required."
        elif len(value) > 10_000:
            errors[name] = "At most 10,000 characters."
    secrets = {**stored, **data.secrets}
    if data.kind == Connector.Kind.SQL:
        url = secrets.get("database_url")
        if not url:
            errors["database_url"] = "This field is required."
        else:
            try:
                sources.check_database_url(str(url))
            except SourceError as error:
                errors["database_url"] = str(error)
    url_field = secrets.get("url")
    if "url" in SECRETS_OF_KIND[data.kind] and not (
        isinstance(url_field, str) and url_field.strip()
    ):
        errors["url"] = "This field is required."
    elif "url" in SECRETS_OF_KIND[data.kind] and isinstance(url_field, str):
        try:
            outbound.check_url(
                sources.resolve_refs(url_field.strip()), sources.allowed_hosts()
            )
        except outbound.Refused as refused:
            errors["url"] = refused.reason.replace(
                "OUTBOUND_ALLOWED_HOSTS", "LANDMARK_CONNECTOR_ALLOW_HOSTS"
            )
        except SourceError as error:
            errors["url"] = str(error)
    if data.kind == Connector.Kind.HTTP_JSON and "expression" not in errors:
        try:
            jmespath.compile(data.settings["expression"])
        except jmespath.exceptions.JMESPathError as error:
            errors["expression"] = f"Not a valid JMESPath expression: {error}"
    headers = data.secrets.get("headers")
    if headers is not None and (
        not isinstance(headers, dict)
        or not all(
            isinstance(k, str)
            and HEADER_NAME.fullmatch(k)
            and isinstance(v, str)
            and "\n" not in v
            and "\r" not in v
            for k, v in headers.items()
        )
    ):
        errors["headers"] = (
            "Header names are letters, digits and - (e.g. Authorization); values "
            "are one line."
        )
    if data.schedule not in Connector.Schedule.values:
        errors["schedule"] = "Choose hourly, daily, weekly or cron."
    elif data.schedule == Connector.Schedule.CRON:
        problem = schedule.cron_problem(data.cron)
        if problem:
            errors["cron"] = problem
    if not 0 <= data.weekday <= 6:
        errors["weekday"] = "Choose a day of the week."
    return errors


@transaction.atomic
def save_connector(
    *,
    kpi: KPI,
    membership: Membership,
    data: ConnectorInput,
    now: datetime | None = None,
) -> Connector:
    """Create or replace the KPI's connector; ConnectorInvalid with every problem."""
    now = now or timezone.now()
    connector = Connector.objects.select_for_update().filter(kpi=kpi).first()
    stored = connector.secret_parts() if connector else {}
    if connector and connector.kind != data.kind:
        stored = {}
    errors = check_input(data, stored)
    if errors:
        raise ConnectorInvalid(errors)
    if connector is None:
        connector = Connector(organization=kpi.organization, kpi=kpi, created_at=now)
    connector.kind = data.kind
    connector.settings = {
        n: data.settings[n].strip() for n in SETTINGS_OF_KIND[data.kind]
    }
    parts = {
        n: v
        for n, v in {**stored, **data.secrets}.items()
        if n in SECRETS_OF_KIND[data.kind]
    }
    connector.set_secret_parts(parts)
    connector.schedule = data.schedule
    connector.at_time = data.at_time
    connector.weekday = data.weekday
    connector.cron = (
        data.cron.strip() if data.schedule == Connector.Schedule.CRON else ""
    )
    connector.enabled = data.enabled
    connector.run_as = membership.user
    connector.updated_at = now
    connector.next_run_at = (
        scheduled_after(connector, now) if connector.enabled else None
    )
    connector.save()
    return connector


def delete_connector(*, connector: Connector) -> None:
    connector.delete()


def scheduled_after(connector: Connector, after: datetime) -> datetime:
    line = schedule.cron_line(
        connector.schedule, connector.at_time, connector.weekday, connector.cron
    )
    return schedule.next_run(line, after, org_time_zone(connector.organization))


def masked_secrets(connector: Connector | None) -> list[str]:
    """What is stored, never in full: a database URL without its password, header
    names without their values; an environment reference as it is."""
    if connector is None or connector.secret is None:
        return []
    try:
        parts = connector.secret_parts()
    except Unreadable:  # a key went missing: say so rather than fail
        return ["A stored secret cannot be decrypted: enter it again."]
    shown: list[str] = []
    url = parts.get("database_url")
    if isinstance(url, str) and url:
        shown.append(f"Database URL: {mask_url(url)}")
    address = parts.get("url")
    if isinstance(address, str) and address:
        shown.append(f"URL: {mask_address(address)}")
    headers = parts.get("headers")
    if isinstance(headers, dict):
        shown += [f"Header {name}: ••••••••" for name in headers]
    return shown


def mask_url(url: str) -> str:
    if url.startswith("${"):
        return url
    parts = urlsplit(url)
    if parts.password is None:
        return f"{parts.scheme}://{parts.netloc}{parts.path}"
    user = parts.username or ""
    host = parts.hostname or ""
    netloc = f"{user}:••••@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def mask_address(url: str) -> str:
    """An HTTP source's URL as far as it is no secret: its scheme and host; the path
    and query (a token, a sheet's key) are masked."""
    if url.startswith("${"):
        return url
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = host + (f":{parts.port}" if parts.port else "")
    rest = parts.path.strip("/") or parts.query
    return f"{parts.scheme}://{netloc}/" + ("••••" if rest else "")


# Reading a source into points


def read_source(connector: Connector) -> list[SourceRow]:
    limits = sources.Limits.current()
    try:
        parts = connector.secret_parts()
    except Unreadable as error:
        raise SourceError(str(error)) from None
    s = connector.settings
    headers = parts.get("headers") or {}
    if not isinstance(headers, dict):
        headers = {}
    if connector.kind == Connector.Kind.SQL:
        return sources.read_sql(
            str(parts.get("database_url", "")), str(s.get("query", "")), limits
        )
    if connector.kind == Connector.Kind.HTTP_JSON:
        return sources.read_json(
            str(parts.get("url", "")), headers, str(s.get("expression", "")), limits
        )
    if connector.kind == Connector.Kind.CSV_URL:
        return sources.read_csv(
            str(parts.get("url", "")),
            headers,
            str(s.get("time_column", "")),
            str(s.get("value_column", "")),
            limits,
        )
    raise SourceError(f"Unknown connector kind {connector.kind!r}.")


def points_of(
    connector: Connector, rows: Sequence[SourceRow], run_time: datetime
) -> list[RawPoint]:
    tz = org_time_zone(connector.organization)
    kpi_id = connector.kpi_id
    return [
        RawPoint(
            row=r.line,
            kpi=kpi_id,
            time=sources.time_text(r.time, run_time, tz),
            value=sources.value_of(r.value),
        )
        for r in rows
    ]


def rejected_message(errors: Sequence[RowProblem], shown: int = 20) -> str:
    lines = [f"row {e.row}, {e.field}: {e.reason}" for e in errors[:shown]]
    more = f"; and {len(errors) - shown} more" if len(errors) > shown else ""
    return (
        f"{len(errors)} row(s) could not be imported, so nothing was saved: "
        + "; ".join(lines)
        + more
    )


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


def _duplicates(points: Sequence[RawPoint]) -> list[RowProblem]:
    """Rows at the same time in different batches of one run (ingestion finds
    those within a batch)."""
    seen: dict[str, int] = {}
    problems: list[RowProblem] = []
    for p in points:
        key = str(p.time)
        try:
            key = datetime.fromisoformat(key).isoformat()
        except ValueError:
            continue
        first = seen.setdefault(key, p.row)
        if first != p.row:
            problems.append(
                RowProblem(
                    p.row, "time", f"the same time as row {first}; one value per time"
                )
            )
    return problems


def ingest_run(
    membership: Membership,
    points: Sequence[RawPoint],
    *,
    key: str | None,
    now: datetime,
) -> Counts:
    """All the run's points, in batches of the batch API's size, in one transaction:
    all or nothing. With a key, batch i is sent as `key:i` (the same key and body
    hash on a retry: a retried run replays, saving nothing twice)."""
    counts = Counts()
    if not points:
        return counts
    if len(points) > MAX_POINTS:
        duplicates = _duplicates(points)
        if duplicates:
            raise IngestRejected(duplicates)
    with transaction.atomic():
        for i, batch in enumerate(chunks(list(points), MAX_POINTS)):
            batch_key = f"{key}:{i}" if key else None
            try:
                result = ingest_points(
                    membership,
                    batch,
                    idempotency_key=batch_key,
                    body_hash=batch_key or "",
                    source=DataPoint.Source.CONNECTOR,
                    now=now,
                )
            except IngestRejected as rejected:
                raise IngestRejected(
                    _all_problems(membership, points, rejected, now)
                ) from None
            counts.created += result.body["created"]
            counts.updated += result.body["corrected"]
            counts.unchanged += result.body["unchanged"]
    return counts


def _all_problems(
    membership: Membership,
    points: Sequence[RawPoint],
    rejected: IngestRejected,
    now: datetime,
) -> list[RowProblem]:
    """Every bad row of the run, not only those of the batch that failed first."""
    if len(points) <= MAX_POINTS:
        return rejected.errors
    problems: list[RowProblem] = []
    for batch in chunks(list(points), MAX_POINTS):
        problems += check_points(membership, batch, now=now)[1]
    return problems or rejected.errors


def run_membership(connector: Connector) -> Membership:
    membership = (
        Membership.objects.select_related("organization", "user")
        .filter(organization_id=connector.organization_id, user=connector.run_as)
        .first()
    )
    if membership is None or not membership.can_write:
        raise PermissionDenied(
            "The connector runs in the name of the person who saved it last, who can "
            "no longer write in this organization: an admin or the KPI's owner saves "
            "it again."
        )
    return membership


# Test connection: a run that saves nothing


@dataclass
class PreviewRow:
    line: int
    time: str
    value: str
    window: str = ""
    problem: str = ""


@dataclass
class PreviewWindow:
    start: str
    value: Decimal
    health: str


@dataclass
class Preview:
    error: str = ""
    rows_read: int = 0
    rows: list[PreviewRow] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    windows: list[PreviewWindow] = field(default_factory=list)
    counts: Counts = field(default_factory=Counts)

    @property
    def ok(self) -> bool:
        return not self.error and not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "error": self.error,
            "rows_read": self.rows_read,
            "rows": [r.__dict__ for r in self.rows],
            "problems": [p.as_dict() for p in self.problems],
            "windows": [
                {"start": w.start, "value": str(w.value), "health": w.health}
                for w in self.windows
            ],
            "created": self.counts.created,
            "updated": self.counts.updated,
            "unchanged": self.counts.unchanged,
        }


PREVIEW_ROWS = 50


def preview_connector(
    *, connector: Connector, membership: Membership, now: datetime | None = None
) -> Preview:
    """Read the source once and ingest its rows in a transaction that is rolled back:
    the rows it would import, the windows they land in with their health, or the
    exact error. Nothing is saved."""
    now = now or timezone.now()
    preview = Preview()
    try:
        rows = read_source(connector)
    except SourceError as error:
        preview.error = str(error)
        return preview
    kpi = connector.kpi
    preview.rows_read = len(rows)
    points = points_of(connector, rows, now)
    for p in points[:PREVIEW_ROWS]:
        preview.rows.append(PreviewRow(p.row, str(p.time), str(p.value)))
    try:
        with transaction.atomic():
            preview.counts = ingest_run(membership, points, key=None, now=now)
            preview.windows = _windows_after(kpi, points)
            transaction.set_rollback(True)
    except IngestRejected as rejected:
        preview.problems = rejected.errors
    except PermissionDenied as denied:
        preview.error = str(denied)
    return preview


def _windows_after(kpi: KPI, points: Sequence[RawPoint]) -> list[PreviewWindow]:
    starts = set()
    for p in points:
        try:
            starts.add(window_of(kpi, datetime.fromisoformat(str(p.time))))
        except ValueError:
            continue
    found = KPIWindow.objects.filter(kpi=kpi, start__in=sorted(starts)[-100:]).order_by(
        "start"
    )
    schedule_rows = {t.window_start: t for t in kpi.targets.all()}
    return [
        PreviewWindow(
            w.start.isoformat(),
            w.value,
            str(
                health.health(
                    w.value, kpi.target_for(w.start, schedule_rows), kpi.tolerance
                )
            ),
        )
        for w in found[:100]
    ]


# Runs


def start_run(
    connector: Connector, *, trigger: str, now: datetime | None = None
) -> ConnectorRun | None:
    """A new run of the connector, unless one is under way; None then."""
    now = now or timezone.now()
    with transaction.atomic():
        list(Connector.objects.select_for_update().filter(pk=connector.pk).values("pk"))
        busy = ConnectorRun.objects.filter(
            connector=connector,
            finished_at__isnull=True,
            started_at__gt=now - STALE_RUN,
        ).exists()
        if busy:
            return None
        return ConnectorRun.objects.create(
            organization_id=connector.organization_id,
            connector=connector,
            trigger=trigger,
            key=f"connector-{connector.pk}-{now:%Y%m%dT%H%M%S%f}",
            started_at=now,
        )


def due_runs(*, now: datetime | None = None) -> list[int]:
    """Runs to execute now: connectors due by their schedule (or their backoff), at
    most CONNECTOR_CONCURRENCY running per organization, and runs a killed worker
    left unfinished (retried under the same key). Returns run ids."""
    now = now or timezone.now()
    limit = max(1, int(django_settings.CONNECTOR_CONCURRENCY))
    run_ids: list[int] = []
    stale = ConnectorRun.objects.filter(
        finished_at__isnull=True, started_at__lte=now - STALE_RUN
    ).values_list("pk", flat=True)
    for pk in stale[:100]:
        # Claimed again: started_at moves so that only one tick retries it.
        if (
            ConnectorRun.objects.filter(pk=pk, finished_at__isnull=True)
            .filter(started_at__lte=now - STALE_RUN)
            .update(started_at=now)
        ):
            run_ids.append(pk)
    running: dict[int, int] = {}
    for org_id in ConnectorRun.objects.filter(
        finished_at__isnull=True, started_at__gt=now - STALE_RUN
    ).values_list("organization_id", flat=True):
        running[org_id] = running.get(org_id, 0) + 1
    due = (
        Connector.objects.filter(enabled=True, next_run_at__lte=now)
        .filter(Q(kpi__archived=False))
        .select_related("organization")
        .order_by("next_run_at", "pk")
    )
    for connector in due[:500]:
        if running.get(connector.organization_id, 0) >= limit:
            continue
        run = start_run(connector, trigger=ConnectorRun.Trigger.SCHEDULE, now=now)
        if run is not None:
            running[connector.organization_id] = (
                running.get(connector.organization_id, 0) + 1
            )
            run_ids.append(run.pk)
    return run_ids


def execute_run(run_id: int, *, now: datetime | None = None) -> ConnectorRun:
    """Read the source and ingest its rows under the run's key; record the outcome.
    Running it again (a retry) saves nothing twice."""
    now = now or timezone.now()
    run = ConnectorRun.objects.select_related(
        "connector__kpi", "connector__organization", "connector__run_as"
    ).get(pk=run_id)
    if run.finished_at is not None:
        return run
    ConnectorRun.objects.filter(pk=run.pk).update(attempts=run.attempts + 1)
    connector = run.connector
    started = clock.monotonic()
    rows: list[SourceRow] = []
    error = ""
    counts = Counts()
    try:
        membership = run_membership(connector)
        rows = read_source(connector)
        points = points_of(connector, rows, run.started_at)
        counts = ingest_run(membership, points, key=run.key, now=now)
    except SourceError as failure:
        error = str(failure)
    except IngestRejected as rejected:
        error = rejected_message(rejected.errors)
    except (PermissionDenied, IdempotencyConflict) as failure:
        error = str(failure)
    duration = int((clock.monotonic() - started) * 1000)
    _finish(
        run, connector, rows=len(rows), counts=counts, error=error, ms=duration, now=now
    )
    run.refresh_from_db()
    return run


def _finish(
    run: ConnectorRun,
    connector: Connector,
    *,
    rows: int,
    counts: Counts,
    error: str,
    ms: int,
    now: datetime,
) -> None:
    with transaction.atomic():
        ConnectorRun.objects.filter(pk=run.pk).update(
            finished_at=now,
            duration_ms=ms,
            rows_read=rows,
            created=counts.created,
            updated=counts.updated,
            unchanged=counts.unchanged,
            error=error,
        )
        failures = connector.failures + 1 if error else 0
        next_run = scheduled_after(connector, now) if connector.enabled else None
        if error and next_run is not None:
            wait = BACKOFF[failures - 1] if failures <= len(BACKOFF) else MAX_BACKOFF
            next_run = min(next_run, now + wait)
        Connector.objects.filter(pk=connector.pk).update(
            failures=failures, last_run_at=now, next_run_at=next_run
        )
        connector.failures = failures
        if error:
            logger.warning("Connector %s failed: %s", connector.pk, error[:300])
        if error and failures == failing_threshold():
            _tell_owner(connector, run, error)
        old = ConnectorRun.objects.filter(connector=connector).order_by(
            "-started_at", "-pk"
        )[KEEP_RUNS : KEEP_RUNS + 100]
        ConnectorRun.objects.filter(
            pk__in=list(old.values_list("pk", flat=True))
        ).delete()


def _tell_owner(connector: Connector, run: ConnectorRun, error: str) -> None:
    kpi = connector.kpi
    recipient = kpi.owner_id or connector.run_as_id
    if recipient is None:
        return
    notify_actions.notify(
        org=connector.organization,
        notes=[
            notify_actions.Note(
                recipient_id=recipient,
                kind=CONNECTOR_FAILING.key,
                dedupe_key=f"connector_failing:{connector.pk}:{run.pk}:{recipient}",
                title=f"The connector of {kpi.name} is failing",
                body=(
                    f"Its last {connector.failures} runs failed. The latest error: "
                    f"{error[:500]}"
                ),
                url=reverse("connector_settings", args=[kpi.pk]),
            )
        ],
    )
