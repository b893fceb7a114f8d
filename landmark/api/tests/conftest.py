"""API clients: a bearer token per persona, created through the token action."""

import importlib.util
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest
from django.conf import settings
from django.test import Client
from psycopg import sql

from landmark.api import actions
from landmark.api.models import APIToken
from landmark.orgs.models import Membership, User

BENCH = Path(__file__).resolve().parents[3] / "bench"


def token_for(
    user: User, *, scope: str = APIToken.Scope.READ_WRITE, org: Any = None
) -> str:
    membership = Membership.objects.select_related("organization", "user").get(
        user=user, **({"organization": org} if org is not None else {})
    )
    return actions.create_token(membership=membership, name="tests", scope=scope)[1]


class ApiClient(Client):
    """A Django test client that sends a bearer token and JSON bodies."""

    def __init__(self, token: str | None = None) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        super().__init__(headers=headers)

    def send(self, method: str, path: str, body: Any = None, **extra: Any) -> Any:
        return self.generic(
            method,
            path,
            data="" if body is None else __import__("json").dumps(body),
            content_type="application/json",
            **extra,
        )


def api_client(user: User | None, **kwargs: Any) -> ApiClient:
    return ApiClient(token_for(user, **kwargs) if user is not None else None)


@pytest.fixture
def alice_api(alice, org) -> ApiClient:
    return api_client(alice)


@pytest.fixture
def bob_api(bob) -> ApiClient:
    return api_client(bob)


@pytest.fixture
def viewer_api(viewer) -> ApiClient:
    return api_client(viewer)


@pytest.fixture
def charlie_api(charlie, other_org) -> ApiClient:
    return api_client(charlie)


def load_bench(name: str) -> ModuleType:
    """A script of bench/ as a module (bench/ is not a package): its harnesses start
    the real server for the tests that need one."""
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    if spec is None or spec.loader is None:
        raise ImportError(f"bench/{name}.py not found")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@contextmanager
def scratch_database(suffix: str) -> Iterator[str | None]:
    """For a server started in its own process: None on SQLite (it makes its own
    database file in its data directory); on PostgreSQL the URL of a new, empty
    database beside the suite's, dropped afterwards."""
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        yield None
        return
    url = urlsplit(os.environ["DATABASE_URL"])
    name = f"{url.path.lstrip('/')}_{suffix}_{os.getpid()}"
    admin = url._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield url._replace(path=f"/{name}").geturl()
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(name)
                )
            )
