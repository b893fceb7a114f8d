"""API clients: a bearer token per persona, created through the token action."""

import http.client
import importlib.util
import json
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from django.test import Client

from landmark.api import actions
from landmark.api.models import APIToken
from landmark.orgs.models import Membership, User
from landmark.tests.console import Machine, machines

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
            data="" if body is None else json.dumps(body),
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


# The real server, for what only a real server shows: concurrent requests, gunicorn's
# limits. One per test session (and xdist worker), on its own database.

REAL_SERVER_SETUP = """
import json
from datetime import date
from decimal import Decimal
from landmark.api.actions import create_token
from landmark.kpis.actions import create_kpi
from landmark.okrs.actions import (
    create_initiative, create_key_result, create_objective, create_period,
)
from landmark.orgs.actions import create_organization, create_team
from landmark.orgs.models import Membership, User
user = User.objects.create_user("real@server.example", "real-server-password-1")
org = create_organization(name="Real server", owner=user)
membership = Membership.objects.select_related("organization", "user").get(user=user)
token = create_token(membership=membership, name="tests", scope="read_write")[1]
period = create_period(
    org=org, name="Q2", start=date(2026, 4, 1), end=date(2026, 6, 30), state="active"
)
objective = create_objective(
    org=org, period=period, owner=user, title="Objective", level="company"
)
kpi = create_kpi(org=org, name="KPI")
# Tracking the KPI: its id is shown through the access helpers' prefetch.
kr = create_key_result(
    objective=objective,
    title="Key result",
    start=Decimal(0),
    target=Decimal(10),
    kpi=kpi,
)
print(json.dumps({
    "token": token,
    "periods": period.pk,
    "objectives": objective.pk,
    "key-results": kr.pk,
    "initiatives": create_initiative(key_result=kr, title="Initiative").pk,
    "kpis": kpi.pk,
    "teams": create_team(org=org, name="Team").pk,
}))
"""


class RealServer:
    """`landmark serve` (gunicorn, 2 workers of 4 threads, bench/kill9.py's harness)
    with an organization, an owner's read-and-write token and one object of each kind
    (`ids` by API collection name)."""

    def __init__(self, port: int, setup: dict[str, Any]) -> None:
        self.port = port
        self.token = str(setup["token"])
        self.ids = setup

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            conn.request(
                method,
                path,
                body=None if body is None else json.dumps(body),
                headers={
                    "Authorization": f"Bearer {self.token}",
                    "Content-Type": "application/json",
                    **(headers or {}),
                },
            )
            response = conn.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            conn.close()


@pytest.fixture(scope="session")  # its modules share an xdist group: one start a run
def real_server(
    tmp_path_factory: pytest.TempPathFactory, migrated: Machine
) -> Iterator[RealServer]:
    kill9 = load_bench("kill9")
    root = tmp_path_factory.mktemp("server")
    with machines(root, "server", copy_of=migrated) as [machine]:
        harness = kill9.Harness(machine.data_dir, keep_database_url=False)
        if machine.database_url:
            harness.env["DATABASE_URL"] = machine.database_url
        harness.start()
        try:
            yield RealServer(harness.port, harness.shell(REAL_SERVER_SETUP))
        finally:
            harness.stop()
