"""Long URLs reach Landmark, which refuses over-long cursors and filters with a 422
problem; only request lines beyond gunicorn's largest limit (8,190 bytes, set in
landmark/cli.py) are refused before the app reads them, by the server's worker, with
a 414 problem (431 for headers). Against the real server."""

import json

import pytest

from landmark.api.tests.conftest import RealServer
from landmark.cli import MAX_REQUEST_LINE

# The tests that use the real server run on one test worker, which starts it once
# (`real_server`, conftest.py).
pytestmark = pytest.mark.xdist_group("real_server")


def test_a_6_kb_cursor_is_a_422_problem_not_gunicorns_414(real_server: RealServer):
    status, headers, body = real_server.request(
        "GET", "/api/v1/periods?cursor=" + "A" * 6000
    )

    assert status == 422
    assert headers["Content-Type"] == "application/problem+json"
    problem = json.loads(body)
    assert problem["errors"] == [
        {
            "field": "cursor",
            "in": "query",
            "message": "String should have at most 500 characters",
        }
    ]


def test_a_long_filter_value_is_a_422_problem(real_server: RealServer):
    status, headers, body = real_server.request(
        "GET", "/api/v1/kpis?category=" + "x" * 7000
    )

    assert status == 422
    assert headers["Content-Type"] == "application/problem+json"
    assert json.loads(body)["errors"][0]["field"] == "category"


def test_a_request_line_beyond_the_limit_is_a_414_problem(real_server: RealServer):
    # "GET " + path + " HTTP/1.1" longer than the limit: refused before the app reads
    # it, by the server's worker (landmark.api.worker), as the API answers errors.
    path = "/api/v1/periods?cursor=" + "A" * MAX_REQUEST_LINE

    status, headers, body = real_server.request("GET", path)

    assert status == 414
    assert headers["Content-Type"] == "application/problem+json"
    problem = json.loads(body)
    assert (problem["type"], problem["status"]) == (
        "urn:landmark:problem:uri-too-long",
        414,
    )
    assert "8,190 bytes" in problem["detail"]


def test_a_header_beyond_the_limit_is_a_431_problem(real_server: RealServer):
    status, headers, body = real_server.request(
        "GET", "/api/v1/periods", headers={"X-Big": "a" * (MAX_REQUEST_LINE + 1)}
    )

    assert status == 431
    assert headers["Content-Type"] == "application/problem+json"
    assert json.loads(body)["type"] == "urn:landmark:problem:header-too-large"


def test_the_server_still_answers_after_refusing_a_long_request_line(
    real_server: RealServer,
):
    real_server.request("GET", "/api/v1/periods?cursor=" + "A" * MAX_REQUEST_LINE)

    status, _, _ = real_server.request("GET", "/api/v1/periods")

    assert status == 200
