from typing import Any

from django.apps import AppConfig
from django.db import connections
from django.db.models.signals import post_migrate


def ensure_index(using: str = "default", **kwargs: Any) -> None:
    """After every `migrate`: a migration that rebuilt a searched table on SQLite
    dropped its triggers; put them back and rebuild that index (index.py)."""
    from landmark.search.index import ensure_sqlite

    connection = connections[using]
    if connection.vendor == "sqlite":
        ensure_sqlite(connection)


class SearchConfig(AppConfig):
    name = "landmark.search"
    label = "search"
    verbose_name = "Search"

    def ready(self) -> None:
        post_migrate.connect(ensure_index, sender=self, dispatch_uid="search_index")
