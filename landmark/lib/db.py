"""Database upkeep that Django does not do by itself."""

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection

SQLITE_NORMAL = 1  # PRAGMA synchronous: 0 OFF, 1 NORMAL, 2 FULL, 3 EXTRA


def refresh_statistics(*, full: bool = False) -> None:
    """Let the query planner know the data's shape.

    Without statistics SQLite may scan a whole organization's check-ins through the
    organization index instead of seeking by key result. `full` runs ANALYZE (after a
    bulk load); otherwise SQLite's cheap `PRAGMA optimize` refreshes what is stale.
    """
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("ANALYZE" if full else "PRAGMA optimize")
        elif full:
            cursor.execute("ANALYZE")


@contextmanager
def unsynced_commits() -> Iterator[None]:
    """Within this block, commits do not wait for the disk: for bookkeeping whose loss
    in a power cut is harmless and that commits often (a worker marking each email
    sent as soon as the server accepted it: lost marks mean an email sent again, never
    one lost). A killed process loses nothing: the commit is in the database's log in
    the operating system's memory, and a database crash or power cut may forget the
    last few of them.

    SQLite (WAL): `PRAGMA synchronous=NORMAL` on this connection for the block (the
    next ordinary commit's fsync, and checkpoints, cover them). PostgreSQL:
    `synchronous_commit=off` for the session during the block.
    """
    if connection.in_atomic_block:
        yield  # the surrounding transaction commits as it always does
        return
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA synchronous")
            level = int(cursor.fetchone()[0])
            cursor.execute(f"PRAGMA synchronous = {min(level, SQLITE_NORMAL)}")
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute(f"PRAGMA synchronous = {level}")
    elif connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW synchronous_commit")
            setting = str(cursor.fetchone()[0])
            cursor.execute("SET synchronous_commit = off")
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT set_config('synchronous_commit', %s, false)", [setting]
                )
    else:  # pragma: no cover  # Landmark runs on SQLite and PostgreSQL only
        yield
