from typing import Any

from django.apps import AppConfig
from django.db import connections
from django.db.models.signals import post_migrate


def ensure_index(using: str = "default", **kwargs: Any) -> None:
    """After every `migrate`: a migration that rebuilt a searched table on SQLite
    dropped its triggers, one that changed a searched column on PostgreSQL dropped its
    stored document; put them back (index.py)."""
    from landmark.search.index import ensure_postgresql, ensure_sqlite

    connection = connections[using]
    if connection.vendor == "sqlite":
        ensure_sqlite(connection)
    elif connection.vendor == "postgresql":
        ensure_postgresql(connection)


class SearchConfig(AppConfig):
    name = "landmark.search"
    label = "search"
    verbose_name = "Search"

    def ready(self) -> None:
        post_migrate.connect(ensure_index, sender=self, dispatch_uid="search_index")
