"""If-Match holds under concurrency: of N simultaneous PATCHes sent with the same ETag,
exactly one is applied and the others get 412, for every resource that takes
If-Match.

Real concurrent HTTP requests against the real server (`landmark serve`: gunicorn,
2 workers of 4 threads) started by bench/kill9.py's harness, on its own database: an
SQLite file in a temporary data directory, or, when the suite runs on PostgreSQL, a
scratch PostgreSQL database created for this module and dropped after it.
"""

import http.client
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from landmark.api.tests.conftest import load_bench, scratch_database

SETUP = """
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
user = User.objects.create_user("ifmatch@bench.example", "ifmatch-password-1")
org = create_organization(name="If-Match", owner=user)
membership = Membership.objects.select_related("organization", "user").get(user=user)
token = create_token(membership=membership, name="ifmatch", scope="read_write")[1]
period = create_period(
    org=org, name="Q2", start=date(2026, 4, 1), end=date(2026, 6, 30), state="active"
)
objective = create_objective(org=org, period=period, owner=user, title="Objective", level="company")
kr = create_key_result(
    objective=objective, title="Key result", start=Decimal(0), target=Decimal(10)
)
print(json.dumps({
    "token": token,
    "periods": period.pk,
    "objectives": objective.pk,
    "key-results": kr.pk,
    "initiatives": create_initiative(key_result=kr, title="Initiative").pk,
    "kpis": create_kpi(org=org, name="KPI").pk,
    "teams": create_team(org=org, name="Team").pk,
}))
"""

# Every resource whose PATCH takes If-Match, and the field each writer changes.
RESOURCES = {
    "periods": "name",
    "objectives": "title",
    "key-results": "title",
    "initiatives": "title",
    "kpis": "name",
    "teams": "name",
}
WRITERS = 8


class Server:
    def __init__(self, harness: Any, setup: dict[str, Any]) -> None:
        self.harness = harness
        self.token = str(setup["token"])
        self.ids = setup

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.harness.port, timeout=60)
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


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    kill9 = load_bench("kill9")
    with scratch_database("ifmatch") as database_url:
        harness = kill9.Harness(
            tmp_path_factory.mktemp("ifmatch"), keep_database_url=False
        )
        if database_url:
            harness.env["DATABASE_URL"] = database_url
        harness.start()
        try:
            yield Server(harness, harness.shell(SETUP))
        finally:
            harness.stop()


def concurrent_patches(
    server: Server, path: str, field: str, etag: str
) -> list[tuple[int, dict[str, str], bytes]]:
    """WRITERS PATCHes with the same If-Match, released together by a barrier once
    every connection is open."""
    barrier = threading.Barrier(WRITERS)
    results: list[Any] = [None] * WRITERS

    def writer(i: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", server.harness.port, timeout=60)
        try:
            conn.connect()
            barrier.wait(timeout=30)
            conn.request(
                "PATCH",
                path,
                body=json.dumps({field: f"Writer {i}"}),
                headers={
                    "Authorization": f"Bearer {server.token}",
                    "Content-Type": "application/json",
                    "If-Match": etag,
                },
            )
            response = conn.getresponse()
            results[i] = (response.status, dict(response.getheaders()), response.read())
        finally:
            conn.close()

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert all(r is not None for r in results), "a writer got no answer"
    return results


@pytest.mark.parametrize("resource", RESOURCES)
def test_exactly_one_of_concurrent_patches_with_the_same_etag_wins(server, resource):
    field = RESOURCES[resource]
    path = f"/api/v1/{resource}/{server.ids[resource]}"
    status, headers, _ = server.request("GET", path)
    assert status == 200
    etag = headers["ETag"]

    results = concurrent_patches(server, path, field, etag)

    statuses = sorted(status for status, _, _ in results)
    assert statuses == [200] + [412] * (WRITERS - 1)
    winner = next(i for i, (status, _, _) in enumerate(results) if status == 200)
    for status, headers, body in results:
        if status == 412:
            assert headers["Content-Type"] == "application/problem+json"
            problem = json.loads(body)
            assert problem["status"] == 412
            assert problem["type"] == "urn:landmark:problem:precondition-failed"
            assert "ETag no longer matches" in problem["detail"]
    # What is stored is the winner's write, and its answer's ETag names it.
    status, headers, body = server.request("GET", path)
    assert json.loads(body)[field] == f"Writer {winner}"
    assert headers["ETag"] == results[winner][1]["ETag"]
    assert headers["ETag"] != etag


def test_a_write_with_the_current_etag_after_a_refusal_succeeds(server):
    path = f"/api/v1/teams/{server.ids['teams']}"
    _, headers, _ = server.request("GET", path)
    stale = headers["ETag"]
    status, headers, _ = server.request(
        "PATCH", path, {"name": "First"}, {"If-Match": stale}
    )
    assert status == 200
    fresh = headers["ETag"]

    status, _, body = server.request(
        "PATCH", path, {"name": "Stale"}, {"If-Match": stale}
    )
    assert status == 412
    assert json.loads(body)["status"] == 412
    status, _, body = server.request(
        "PATCH", path, {"name": "Second"}, {"If-Match": fresh}
    )
    assert status == 200
    assert json.loads(body)["name"] == "Second"
