"""Database upkeep that Django does not do by itself."""

from django.db import connection


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
