"""`landmark backup FILE` and `landmark restore FILE`.

A backup is one gzipped tar file that holds:

- `manifest.json`: the format, the database engine, when and by which Landmark it was made;
- the database, made with the engine's own tool while Landmark runs: SQLite's online
  backup API (`sqlite3.Connection.backup`, a consistent copy) as `database.sqlite3`, or
  `pg_dump --format=custom` (one consistent snapshot) as `database.pgdump`;
- `data/<name>` for each file of the data directory a restore needs (STATE_FILES), such
  as the generated secret key, so that a restore on a new machine works.

A restore goes back into the same kind of database (`sqlite3` backup API, or
`pg_restore`), refuses a database that already holds data unless forced, and says what
it restored. Passwords from DATABASE_URL reach pg_dump and pg_restore through the
environment (PGPASSWORD), never through their command line, and are never printed.
"""

import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction

from landmark.orgs.models import Organization, User

FORMAT = 1
MANIFEST = "manifest.json"
DATABASE_MEMBER = {"sqlite": "database.sqlite3", "postgresql": "database.pgdump"}
ENGINE_NAME = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
# Files of the data directory that a restore needs beside the database. The secret key
# (made on first start unless SECRET_KEY is set) signs sessions, password-reset and
# verification links. Static files are not here: `landmark serve` collects them again.
STATE_FILES = ("secret_key",)
# Rows that `migrate` itself writes into a new database: not "data" to protect.
BOOKKEEPING_TABLES = frozenset(
    {"django_migrations", "django_content_type", "auth_permission"}
)


class BackupError(Exception):
    """A backup or a restore that cannot go on; the message says why and what to do."""


# Where the data is


def engine() -> str:
    vendor = connection.vendor
    if vendor not in DATABASE_MEMBER:
        raise BackupError(f"landmark backup knows SQLite and PostgreSQL, not {vendor}.")
    return vendor


def sqlite_path() -> Path:
    return Path(settings.DATABASES["default"]["NAME"])


def describe_database() -> str:
    """The database, as an operator recognizes it, without its password."""
    db = settings.DATABASES["default"]
    if engine() == "sqlite":
        return f"the SQLite database {sqlite_path()}"
    host = db.get("HOST") or "localhost"
    port = f":{db['PORT']}" if db.get("PORT") else ""
    user = f"{db['USER']}@" if db.get("USER") else ""
    return f"the PostgreSQL database {db['NAME']} ({user}{host}{port})"


def table_rows() -> dict[str, int]:
    """Every table of the database, as Django's introspection lists them, with its rows."""
    rows = {}
    with connection.cursor() as cursor:
        for table in sorted(connection.introspection.table_names(cursor)):
            if connection.vendor == "sqlite" and table.startswith("sqlite_"):
                continue  # SQLite's own statistics
            cursor.execute(f"SELECT COUNT(*) FROM {connection.ops.quote_name(table)}")  # noqa: S608  # a name from the catalogue, quoted
            rows[table] = int(cursor.fetchone()[0])
    return rows


def summary(rows: dict[str, int]) -> str:
    def count(table: str, word: str) -> str:
        n = rows.get(table, 0)
        return f"{n:,} {word}{'' if n == 1 else 's'}"

    total = sum(rows.values())
    return (
        f"{count(Organization._meta.db_table, 'organization')}, "
        f"{count(User._meta.db_table, 'account')}; {len(rows)} tables, {total:,} rows"
    )


# PostgreSQL's own tools


def pg_tool(name: str) -> str:
    found = shutil.which(name) or (
        f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists() else None
    )
    if not found:
        raise BackupError(
            f"{name} was not found. Install PostgreSQL's client tools (Debian: "
            f"apt-get install postgresql-client), of the server's version or newer."
        )
    return found


def pg_connection() -> tuple[str, dict[str, str]]:
    """A libpq connection string without the password, and the environment that
    carries the password, from the settings DATABASE_URL made."""
    from psycopg import pq
    from psycopg.conninfo import make_conninfo

    keywords = {option.keyword.decode() for option in pq.Conninfo.get_defaults()}
    params = {
        key: value
        for key, value in connection.get_connection_params().items()
        if key in keywords and value not in (None, "")
    }
    env = {**os.environ}
    if password := params.pop("password", None):
        env["PGPASSWORD"] = str(password)
    return make_conninfo(**{k: str(v) for k, v in params.items()}), env


def run_pg(args: list[str], env: dict[str, str]) -> None:
    result = subprocess.run(  # noqa: S603  # PostgreSQL's tools, arguments we built
        args, env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        message = result.stderr.strip() or result.stdout.strip()
        if password := env.get("PGPASSWORD"):
            message = message.replace(password, "***")
        raise BackupError(f"{Path(args[0]).name} failed: {message}")


# Files


@contextmanager
def scratch_in(directory: Path) -> Iterator[Path]:
    """A private scratch directory in `directory` (same file system: renames are atomic)."""
    with tempfile.TemporaryDirectory(prefix=".landmark-", dir=directory) as scratch:
        yield Path(scratch)


def add_file(archive: tarfile.TarFile, name: str, data: bytes | Path) -> None:
    if isinstance(data, Path):
        info = archive.gettarinfo(str(data), arcname=name)
        info.mode, info.uid, info.gid, info.uname, info.gname = 0o600, 0, 0, "", ""
        with data.open("rb") as f:
            archive.addfile(info, f)
    else:
        info = tarfile.TarInfo(name)
        info.size, info.mode, info.mtime = len(data), 0o600, int(time.time())
        archive.addfile(info, io.BytesIO(data))


def quick_check(path: Path) -> None:
    with closing(sqlite3.connect(path)) as db:
        result = db.execute("PRAGMA quick_check").fetchone()[0]
    if result != "ok":
        raise BackupError(
            f"The SQLite copy does not pass SQLite's quick check: {result}"
        )


def unreachable(error: Exception) -> str:
    """What to say when the database cannot be reached (psycopg's and sqlite3's
    messages name the host and the database, never the password)."""
    message = f"cannot use {describe_database()}: {error}".strip()
    if "does not exist" in str(error) and engine() == "postgresql":
        name = settings.DATABASES["default"]["NAME"]
        message += f"\nCreate it first, e.g. `createdb {name}`."
    return message


# Backup


@dataclass
class Backed:
    path: Path
    engine: str
    state: list[str]
    rows: dict[str, int]


def backup(path: Path) -> Backed:
    """Write the database and the data directory's state to `path` (a .tar.gz).

    The file appears only once complete (written beside it, then renamed), readable by
    its owner only: it holds password hashes, secrets and the secret key.
    """
    kind = engine()
    path = path.resolve()
    if not path.parent.is_dir():
        raise BackupError(f"No directory {path.parent} to write the backup into.")
    with scratch_in(path.parent) as scratch:
        database = scratch / DATABASE_MEMBER[kind]
        if kind == "sqlite":
            rows = backup_sqlite(database)
        else:
            rows = backup_postgresql(database)
        state = [name for name in STATE_FILES if (settings.DATA_DIR / name).is_file()]
        manifest = {
            "format": FORMAT,
            "engine": kind,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "landmark": version("landmark"),
            "state": state,
            "rows": rows,
        }
        partial = scratch / "backup.tar.gz"
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out, tarfile.open(fileobj=out, mode="w:gz") as tar:
            add_file(tar, MANIFEST, json.dumps(manifest, indent=2).encode())
            add_file(tar, DATABASE_MEMBER[kind], database)
            for name in state:
                add_file(tar, f"data/{name}", settings.DATA_DIR / name)
        os.replace(partial, path)
    return Backed(path, kind, state, rows)


def backup_sqlite(target: Path) -> dict[str, int]:
    source = sqlite_path()
    if not source.is_file():
        raise BackupError(f"There is no SQLite database at {source} to back up.")
    # One step (pages=-1) under one read lock: a consistent copy while the app writes.
    with (
        closing(sqlite3.connect(source)) as src,
        closing(sqlite3.connect(target)) as dst,
    ):
        src.backup(dst)
        # One self-contained file: no -wal beside it.
        dst.execute("PRAGMA journal_mode=DELETE")
    quick_check(target)
    with closing(sqlite3.connect(target)) as copy:
        tables = [
            name
            for (name,) in copy.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )
        ]
        return {
            table: copy.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0]  # noqa: S608  # a name from the catalogue
            for table in tables
        }


def backup_postgresql(target: Path) -> dict[str, int]:
    conninfo, env = pg_connection()
    # pg_dump reads the snapshot this transaction exports, so the rows counted here are
    # exactly the rows in the dump.
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            cursor.execute("SELECT pg_export_snapshot()")
            snapshot = cursor.fetchone()[0]
        run_pg(
            [
                pg_tool("pg_dump"),
                "--format=custom",
                "--no-password",
                f"--snapshot={snapshot}",
                f"--file={target}",
                f"--dbname={conninfo}",
            ],
            env,
        )
        return table_rows()


# Restore


@dataclass
class Restored:
    manifest: dict[str, Any]
    state: list[str]
    rows: dict[str, int]
    notes: list[str]


def read_manifest(archive: tarfile.TarFile, path: Path) -> dict[str, Any]:
    try:
        member = archive.extractfile(MANIFEST)
        manifest = json.loads(member.read()) if member else None
    except (KeyError, ValueError):
        manifest = None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{path} is not a backup made by `landmark backup`.")
    return manifest


@contextmanager
def open_backup(path: Path) -> Iterator[tarfile.TarFile]:
    try:
        archive = tarfile.open(path, "r:gz")  # noqa: SIM115  # closed below
    except (tarfile.TarError, OSError) as error:
        raise BackupError(
            f"{path} is not a backup made by `landmark backup`."
        ) from error
    with archive:
        yield archive


def data_in_database() -> dict[str, int]:
    """Tables that hold rows beyond what `migrate` writes into a new database."""
    if engine() == "sqlite" and not sqlite_path().exists():
        return {}
    return {
        table: n
        for table, n in table_rows().items()
        if n and table not in BOOKKEEPING_TABLES
    }


def restore(path: Path, *, force: bool) -> Restored:
    path = path.resolve()
    if not path.is_file():
        raise BackupError(f"There is no backup at {path}.")
    with open_backup(path) as archive:
        manifest = read_manifest(archive, path)
        kind = engine()
        if manifest.get("engine") != kind:
            made = ENGINE_NAME.get(manifest.get("engine", ""), "another database")
            raise BackupError(
                f"{path} is a backup of a {made} database and DATABASE_URL points at "
                f"{ENGINE_NAME[kind]}: restore it into {made}."
            )
        held = data_in_database()
        if held and not force:
            shown = ", ".join(
                f"{table} ({n:,})" for table, n in sorted(held.items())[:6]
            )
            raise BackupError(
                f"{describe_database()} already holds data: {summary(table_rows())} "
                f"(tables with rows: {shown}{', …' if len(held) > 6 else ''}). Nothing "
                f"was changed. Restore into an empty database, or run `landmark restore "
                f"--force {path}` to replace everything in it with the backup."
            )
        # In the data directory: the state files are renamed into place from there.
        with scratch_in(settings.DATA_DIR) as scratch:
            # Everything out of the archive first: a damaged backup changes nothing.
            database = scratch / DATABASE_MEMBER[kind]
            extract(archive, DATABASE_MEMBER[kind], database)
            state = [name for name in manifest.get("state", []) if name in STATE_FILES]
            for name in state:
                extract(archive, f"data/{name}", scratch / name)
                os.chmod(scratch / name, 0o600)
            connection.close()
            if kind == "sqlite":
                restore_sqlite(database)
            else:
                restore_postgresql(database)
            connection.close()
            for name in state:
                os.replace(scratch / name, settings.DATA_DIR / name)
    notes = []
    if os.environ.get("SECRET_KEY"):
        notes.append(
            "SECRET_KEY is set in the environment and wins over the data directory's "
            "key: it must be the one the backup's server used, or everyone logs in again "
            "and links sent before the backup stop working."
        )
    elif "secret_key" not in state:
        notes.append(
            "This backup holds no secret key (SECRET_KEY was set in the environment "
            "where it was made): set that same SECRET_KEY here."
        )
    notes += newer_migrations()
    return Restored(manifest, state, table_rows(), notes)


def extract(archive: tarfile.TarFile, name: str, target: Path) -> None:
    try:
        member = archive.extractfile(name)
    except KeyError:
        member = None
    if member is None:
        raise BackupError(f"The backup lacks {name}; it is incomplete.")
    with member, target.open("wb") as out:
        shutil.copyfileobj(member, out)


def restore_sqlite(source: Path) -> None:
    quick_check(source)
    target = sqlite_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    # The backup API writes the whole copy into the database through SQLite itself
    # (its lock, its journal), replacing every page, so -wal files stay consistent.
    with (
        closing(sqlite3.connect(source)) as src,
        closing(sqlite3.connect(target)) as dst,
    ):
        src.backup(dst)


# A table in `pg_restore --list`: "239; 1259 24930 TABLE public orgs_user postgres".
TABLE_IN_LIST = re.compile(r"^\d+; \d+ \d+ TABLE (?!DATA )(\S+) (\S+) ")


def restore_postgresql(dump: Path) -> None:
    conninfo, env = pg_connection()
    pg_restore = pg_tool("pg_restore")
    listing = subprocess.run(  # noqa: S603  # pg_restore, arguments we built
        [pg_restore, "--list", str(dump)], capture_output=True, text=True, check=False
    )
    if listing.returncode != 0:
        raise BackupError(
            f"pg_restore cannot read the backup: {listing.stderr.strip()}"
        )
    in_dump = {
        match.group(2)
        for line in listing.stdout.splitlines()
        if (match := TABLE_IN_LIST.match(line))
    }
    # Tables the backup does not know (made by a newer Landmark's migrations) would
    # clash when `landmark serve` migrates again; the dump's own tables are dropped and
    # made again by pg_restore --clean, in its one transaction.
    with connection.cursor() as cursor:
        extra = set(connection.introspection.table_names(cursor)) - in_dump
        if extra:
            quoted = ", ".join(connection.ops.quote_name(t) for t in sorted(extra))
            cursor.execute(f"DROP TABLE IF EXISTS {quoted} CASCADE")
    connection.close()
    run_pg(
        [
            pg_restore,
            "--clean",
            "--if-exists",
            "--single-transaction",
            "--exit-on-error",
            "--no-owner",
            "--no-privileges",
            "--no-password",
            f"--dbname={conninfo}",
            str(dump),
        ],
        env,
    )


def newer_migrations() -> list[str]:
    """A backup made by a newer Landmark holds migrations this one does not know."""
    from django.db.migrations.loader import MigrationLoader

    loader = MigrationLoader(connection, ignore_no_migrations=True)
    unknown = sorted(
        f"{app}.{name}"
        for app, name in loader.applied_migrations or {}
        if (app, name) not in loader.disk_migrations
    )
    if not unknown:
        return []
    return [
        f"The backup was made by a newer Landmark (migrations {', '.join(unknown[:3])}"
        f"{' …' if len(unknown) > 3 else ''} are not known here): upgrade Landmark "
        f"before serving it."
    ]
