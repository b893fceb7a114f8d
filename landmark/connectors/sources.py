"""Reading a connector's source: a SQL query, a JSON API or a CSV file at a URL.

Every kind answers a list of `SourceRow` (time, value, as the source gave them) or
raises `SourceError` with the exact problem in plain words, never a secret. Checking
and saving the rows is the batch API's ingestion (landmark.kpis.ingest), not here.

Safety (docs/connectors.md, "Security"):
- database hosts and URLs go through the SSRF guard (landmark.lib.outbound): public
  addresses only, unless listed in OUTBOUND_ALLOWED_HOSTS or CONNECTOR_ALLOWED_HOSTS;
  the connection goes to the checked address;
- a query runs in a read-only transaction with a statement timeout, one statement,
  and at most CONNECTOR_MAX_ROWS rows are read;
- SQLite files are opened read-only (mode=ro) and only under CONNECTOR_SQLITE_DIRS.
"""

import csv
import io
import os
import re
import sqlite3
import time as clock
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo

import jmespath
import jmespath.exceptions
import psycopg
import pymysql
import pymysql.cursors
import requests
from django.conf import settings

from landmark.lib import outbound

ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
SQL_SCHEMES = {
    "postgres": "postgresql",
    "postgresql": "postgresql",
    "mysql": "mysql",
    "mariadb": "mysql",
    "sqlite": "sqlite",
}


class SourceError(Exception):
    """The source could not be read; the message says why, for the settings page and
    the run history (never a password)."""


@dataclass(frozen=True)
class SourceRow:
    line: int  # 1 for the first row the source gave
    time: Any  # None: the run's time
    value: Any


@dataclass(frozen=True)
class Limits:
    timeout: float
    max_rows: int

    @classmethod
    def current(cls) -> "Limits":
        return cls(float(settings.CONNECTOR_TIMEOUT), int(settings.CONNECTOR_MAX_ROWS))


def allowed_hosts() -> list[str]:
    return list(getattr(settings, "CONNECTOR_ALLOWED_HOSTS", []))


def resolve_refs(text: str) -> str:
    """`${NAME}` references replaced by the environment variable's value (connectors
    as code keep secrets in the environment)."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in os.environ:
            raise SourceError(
                f"The environment variable {name} is not set on this server."
            )
        return os.environ[name]

    return ENV_REF.sub(value, text)


def scrub(message: str, secrets: Sequence[str]) -> str:
    for secret in secrets:
        if secret and len(secret) >= 3:
            message = message.replace(secret, "••••")
    return message.strip()[:1000]


# SQL


@dataclass(frozen=True)
class DatabaseURL:
    engine: str  # postgresql, mysql or sqlite
    host: str
    port: int
    user: str
    password: str
    database: str
    raw: str


def parse_database_url(url: str) -> DatabaseURL:
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as error:
        raise SourceError(f"The database URL cannot be read: {error}.") from None
    engine = SQL_SCHEMES.get(parts.scheme.lower().split("+")[0])
    if engine is None:
        raise SourceError(
            "The database URL must start with postgresql://, mysql://, mariadb:// "
            "or sqlite:///."
        )
    if engine == "sqlite":
        path = unquote(parts.path)
        if not path.startswith("/"):
            raise SourceError(
                "A SQLite URL names an absolute path: sqlite:////path/to/file.db"
            )
        return DatabaseURL(engine, "", 0, "", "", path, url)
    if not parts.hostname:
        raise SourceError("The database URL has no host name.")
    if "," in (parts.netloc or ""):
        raise SourceError("The database URL must name one host.")
    return DatabaseURL(
        engine,
        parts.hostname,
        port or (5432 if engine == "postgresql" else 3306),
        unquote(parts.username or ""),
        unquote(parts.password or ""),
        unquote(parts.path.lstrip("/")),
        url,
    )


def check_database_host(db: DatabaseURL) -> str:
    """The checked address to connect to (the SSRF guard's rules for a database)."""
    policy = outbound.Policy.current(allowed_hosts())
    try:
        address = outbound.checked_address(db.host, db.port, policy)
    except outbound.Refused as refused:
        raise SourceError(
            refused.reason.replace(
                "OUTBOUND_ALLOWED_HOSTS", "LANDMARK_CONNECTOR_ALLOW_HOSTS"
            )
        ) from None
    except outbound.Unresolvable as error:
        raise SourceError(str(error)) from None
    return str(address)


def check_database_url(url: str) -> None:
    """Refuse now (SourceError) what a run would refuse: for the settings form."""
    db = parse_database_url(resolve_refs(url))
    if db.engine == "sqlite":
        sqlite_path(db.database)
    else:
        try:
            check_database_host(db)
        except SourceError as error:
            if "does not resolve" not in str(error):
                raise


def read_sql(url: str, query: str, limits: Limits) -> list[SourceRow]:
    url = resolve_refs(url)
    if not query.strip():
        raise SourceError("The query is empty.")
    db = parse_database_url(url)
    readers: dict[str, Callable[[DatabaseURL, str, Limits], list[tuple[Any, ...]]]] = {
        "postgresql": _postgresql,
        "mysql": _mysql,
        "sqlite": _sqlite,
    }
    try:
        rows = readers[db.engine](db, query.strip().rstrip(";"), limits)
    except SourceError as error:
        raise SourceError(scrub(str(error), [db.password, url])) from None
    return rows_from_table(rows, limits)


def rows_from_table(rows: list[tuple[Any, ...]], limits: Limits) -> list[SourceRow]:
    """`time, value` rows; or one row of one column: one value at the run's time."""
    if len(rows) > limits.max_rows:
        raise SourceError(
            f"The query returned more than {limits.max_rows:,} rows; a run reads at "
            "most that many (filter by time, e.g. the last 90 days)."
        )
    if not rows:
        return []
    width = len(rows[0])
    if width == 1:
        if len(rows) != 1:
            raise SourceError(
                "A query with one column must return one row (one value, stamped "
                "with the run's time); return time, value columns for several rows."
            )
        return [SourceRow(1, None, rows[0][0])]
    if width != 2:
        raise SourceError(
            f"The query returns {width} columns; return two (time, value) or one "
            "(value)."
        )
    return [SourceRow(i, row[0], row[1]) for i, row in enumerate(rows, start=1)]


def _postgresql(db: DatabaseURL, query: str, limits: Limits) -> list[tuple[Any, ...]]:
    address = check_database_host(db)
    timeout_ms = int(limits.timeout * 1000)
    try:
        with psycopg.connect(
            db.raw,
            hostaddr=address,
            connect_timeout=max(1, int(limits.timeout)),
            options=(
                "-c default_transaction_read_only=on "
                f"-c statement_timeout={timeout_ms} "
                f"-c idle_in_transaction_session_timeout={timeout_ms}"
            ),
            application_name="landmark-connector",
        ) as conn:
            conn.read_only = True  # BEGIN READ ONLY
            with conn.cursor() as cursor:
                cursor.execute("SET TRANSACTION READ ONLY")
                cursor.execute(query.encode())  # one statement (extended protocol)
                if cursor.description is None:
                    raise SourceError("The query returned no rows: use SELECT.")
                rows = cursor.fetchmany(limits.max_rows + 1)
            conn.rollback()
    except psycopg.Error as error:
        raise SourceError(_pg_message(error)) from None
    return [tuple(r) for r in rows]


def _pg_message(error: psycopg.Error) -> str:
    if isinstance(error, psycopg.errors.QueryCanceled):
        return f"The query took longer than the connector's time limit and was stopped ({error})."
    if isinstance(error, psycopg.errors.ReadOnlySqlTransaction):
        return f"The query tried to change data; connectors only read ({error})."
    return f"PostgreSQL: {error}"


def _mysql(db: DatabaseURL, query: str, limits: Limits) -> list[tuple[Any, ...]]:
    address = check_database_host(db)
    try:
        conn = pymysql.connect(
            host=address,
            port=db.port,
            user=db.user,
            password=db.password,
            database=db.database or None,
            connect_timeout=max(1, int(limits.timeout)),
            read_timeout=int(limits.timeout) + 5,
            write_timeout=int(limits.timeout) + 5,
            cursorclass=pymysql.cursors.SSCursor,  # streamed: the cap holds
            autocommit=False,
        )
    except pymysql.MySQLError as error:
        raise SourceError(f"MySQL/MariaDB: {_mysql_error(error)}") from None
    try:
        with conn.cursor() as cursor:
            _mysql_time_limit(cursor, limits.timeout)
            # The session's default too: DDL (DROP TABLE) commits the transaction it
            # is in, and would run in a new read-write one without it.
            cursor.execute("SET SESSION TRANSACTION READ ONLY")
            cursor.execute("START TRANSACTION READ ONLY")
            cursor.execute(query)
            if cursor.description is None:
                raise SourceError("The query returned no rows: use SELECT.")
            rows = cursor.fetchmany(limits.max_rows + 1)
        conn.rollback()
    except pymysql.MySQLError as error:
        raise SourceError(_mysql_message(error)) from None
    finally:
        conn.close()
    return [tuple(r) for r in rows]


def _mysql_time_limit(cursor: Any, seconds: float) -> None:
    try:
        cursor.execute(f"SET SESSION max_statement_time = {float(seconds)}")  # MariaDB
    except pymysql.MySQLError:
        cursor.execute(
            f"SET SESSION max_execution_time = {int(seconds * 1000)}"
        )  # MySQL


def _mysql_error(error: pymysql.MySQLError) -> str:
    args = error.args
    if len(args) >= 2:
        return f"{args[1]} (error {args[0]})"
    return str(error)


def _mysql_message(error: pymysql.MySQLError) -> str:
    code = error.args[0] if error.args else None
    if code in {1969, 3024}:  # MariaDB / MySQL: statement time exceeded
        return f"The query took longer than the connector's time limit and was stopped ({_mysql_error(error)})."
    if code == 1792:  # cannot execute statement in a READ ONLY transaction
        return f"The query tried to change data; connectors only read ({_mysql_error(error)})."
    return f"MySQL/MariaDB: {_mysql_error(error)}"


def sqlite_path(path: str) -> Path:
    """The file, once it is under one of CONNECTOR_SQLITE_DIRS."""
    dirs = [Path(d).resolve() for d in getattr(settings, "CONNECTOR_SQLITE_DIRS", [])]
    if not dirs:
        raise SourceError(
            "SQLite files are off on this server: an operator allows directories "
            "with LANDMARK_CONNECTOR_SQLITE_DIRS."
        )
    resolved = Path(path).resolve()
    if not any(resolved.is_relative_to(d) for d in dirs):
        raise SourceError(
            f"{path} is not in a directory this server allows for SQLite files "
            "(LANDMARK_CONNECTOR_SQLITE_DIRS)."
        )
    return resolved


def _sqlite(db: DatabaseURL, query: str, limits: Limits) -> list[tuple[Any, ...]]:
    path = sqlite_path(db.database)
    if not path.is_file():
        raise SourceError(f"SQLite: there is no file {db.database}.")
    deadline = clock.monotonic() + limits.timeout
    try:
        conn = sqlite3.connect(
            f"{path.as_uri()}?mode=ro", uri=True, timeout=limits.timeout
        )
    except sqlite3.Error as error:
        raise SourceError(f"SQLite: {error}") from None
    # A progress handler that returns true interrupts the statement: the time limit.
    conn.set_progress_handler(lambda: int(clock.monotonic() > deadline), 10_000)
    try:
        conn.execute("PRAGMA query_only = ON")
        cursor = conn.execute(query)
        if cursor.description is None:
            raise SourceError("The query returned no rows: use SELECT.")
        rows = cursor.fetchmany(limits.max_rows + 1)
    except sqlite3.OperationalError as error:
        if "interrupted" in str(error):
            raise SourceError(
                "The query took longer than the connector's time limit and was stopped."
            ) from None
        if "readonly" in str(error) or "read-only" in str(error):
            raise SourceError(
                f"The query tried to change data; connectors only read ({error})."
            ) from None
        raise SourceError(f"SQLite: {error}") from None
    except (sqlite3.Error, sqlite3.Warning) as error:
        raise SourceError(f"SQLite: {error}") from None
    finally:
        conn.close()
    return [tuple(r) for r in rows]


# HTTP


def _get(url: str, headers: dict[str, str]) -> requests.Response:
    url = resolve_refs(url)
    headers = {name: resolve_refs(value) for name, value in headers.items()}
    # An error message may quote the URL: its path and query (a token, a sheet's
    # key) are secrets like the header values.
    address = urlsplit(url)
    secrets = [*headers.values(), address.query, address.path.rstrip("/")]
    try:
        response = outbound.session(allowed_hosts()).get(url, headers=headers)
    except outbound.Refused as refused:
        raise SourceError(
            refused.reason.replace(
                "OUTBOUND_ALLOWED_HOSTS", "LANDMARK_CONNECTOR_ALLOW_HOSTS"
            )
        ) from None
    except (requests.RequestException, ValueError) as error:
        raise SourceError(scrub(f"The request failed: {error}", secrets)) from None
    if not 200 <= response.status_code < 300:
        raise SourceError(
            f"{urlsplit(url).hostname} answered HTTP {response.status_code} "
            f"{response.reason or ''}".strip()
            + "."
        )
    return response


def read_json(
    url: str, headers: dict[str, str], expression: str, limits: Limits
) -> list[SourceRow]:
    """The expression (JMESPath) picks, from the response: one value (a number or a
    string: stamped with the run's time), or a list of {"time": ..., "value": ...}
    objects or [time, value] pairs."""
    try:
        compiled = jmespath.compile(expression)
    except jmespath.exceptions.JMESPathError as error:
        raise SourceError(f"The JMESPath expression is not valid: {error}") from None
    response = _get(url, headers)
    try:
        data = response.json(parse_float=Decimal)
    except ValueError:
        raise SourceError("The response is not JSON.") from None
    try:
        found = compiled.search(data)
    except jmespath.exceptions.JMESPathError as error:
        raise SourceError(f"The JMESPath expression failed: {error}") from None
    if found is None:
        raise SourceError(
            f"The expression {expression!r} found nothing in the response."
        )
    if not isinstance(found, list):
        return [SourceRow(1, None, found)]
    if len(found) > limits.max_rows:
        raise SourceError(f"The expression found more than {limits.max_rows:,} rows.")
    rows: list[SourceRow] = []
    for i, item in enumerate(found, start=1):
        if isinstance(item, dict):
            rows.append(SourceRow(i, item.get("time"), item.get("value")))
        elif isinstance(item, list) and len(item) == 2:
            rows.append(SourceRow(i, item[0], item[1]))
        else:
            rows.append(SourceRow(i, _NotARow(), item))
    return rows


class _NotARow:
    """A list item that is neither {"time", "value"} nor [time, value]."""


def read_csv(
    url: str,
    headers: dict[str, str],
    time_column: str,
    value_column: str,
    limits: Limits,
) -> list[SourceRow]:
    response = _get(url, headers)
    try:
        text = response.content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SourceError("The file is not UTF-8 text.") from None
    reader = csv.reader(io.StringIO(text))
    header = [c.strip().lower() for c in next(reader, [])]
    missing = [
        c for c in (time_column, value_column) if c.strip().lower() not in header
    ]
    if missing:
        raise SourceError(
            f"The CSV has no column named {', '.join(missing)}; its columns are: "
            f"{', '.join(header) or '(none)'}."
        )
    t = header.index(time_column.strip().lower())
    v = header.index(value_column.strip().lower())
    rows: list[SourceRow] = []
    for line, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue
        if len(rows) >= limits.max_rows:
            raise SourceError(f"The file has more than {limits.max_rows:,} rows.")
        rows.append(
            SourceRow(
                line,
                cells[t].strip() if t < len(cells) else "",
                cells[v].strip() if v < len(cells) else "",
            )
        )
    return rows


# Times, as ingestion reads them


def time_text(raw: Any, run_time: datetime, tz: ZoneInfo) -> str | Any:
    """The row's time as ingestion reads it (ISO 8601 with an offset). A time without
    a zone, and a plain date, are in the organization's time zone."""
    if raw is None:
        return run_time.isoformat()
    if isinstance(raw, datetime):
        if raw.tzinfo is None or raw.utcoffset() is None:
            raw = raw.replace(tzinfo=tz)
        return raw.isoformat()
    if isinstance(raw, date):
        return datetime(raw.year, raw.month, raw.day, tzinfo=tz).isoformat()
    if isinstance(raw, str):
        text = raw.strip()
        try:
            if len(text) == 10:
                day = date.fromisoformat(text)
                return datetime(day.year, day.month, day.day, tzinfo=tz).isoformat()
            when = datetime.fromisoformat(text)
        except ValueError:
            return text
        if when.tzinfo is None:
            return when.replace(tzinfo=tz).isoformat()
        return when.isoformat()
    if isinstance(raw, _NotARow):
        return 'not a row: give {"time": ..., "value": ...} or [time, value]'
    return str(raw)


def value_of(raw: Any) -> Any:
    """A database or JSON value as ingestion reads values (floats as their shortest
    text, never through binary noise)."""
    if isinstance(raw, float):
        return repr(raw)
    if isinstance(raw, bool):
        return str(raw)  # refused by the value parser, as in the API
    return raw
