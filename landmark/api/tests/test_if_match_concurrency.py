"""If-Match holds under concurrency: of N simultaneous PATCHes sent with the same ETag,
exactly one is applied and the others get 412, for every resource that takes
If-Match.

Real concurrent HTTP requests against the real server (`landmark serve`: gunicorn,
2 workers of 4 threads) on its own database: an SQLite file, or a scratch PostgreSQL
database when the suite runs on PostgreSQL (the `real_server` fixture, conftest.py).
"""

import http.client
import json
import threading
from typing import Any

import pytest

from landmark.api.tests.conftest import RealServer

# The tests that use the real server run on one test worker, which starts it once
# (`real_server`, conftest.py).
pytestmark = pytest.mark.xdist_group("real_server")

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


@pytest.fixture
def server(real_server: RealServer) -> RealServer:
    return real_server


def concurrent_patches(
    server: RealServer, path: str, field: str, etag: str
) -> list[tuple[int, dict[str, str], bytes]]:
    """WRITERS PATCHes with the same If-Match, released together by a barrier once
    every connection is open."""
    barrier = threading.Barrier(WRITERS)
    results: list[Any] = [None] * WRITERS

    def writer(i: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
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
