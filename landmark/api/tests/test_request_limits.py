"""Long URLs reach Landmark, which refuses over-long cursors and filters with a 422
problem; only request lines beyond gunicorn's largest limit (8,190 bytes, set in
landmark/cli.py) are refused by gunicorn itself. Against the real server."""

import json

from landmark.api.tests.conftest import RealServer
from landmark.cli import MAX_REQUEST_LINE


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


def test_a_request_line_beyond_the_limit_is_refused_by_gunicorn(
    real_server: RealServer,
):
    # "GET " + path + " HTTP/1.1" longer than the limit: gunicorn answers 414 itself.
    path = "/api/v1/periods?cursor=" + "A" * MAX_REQUEST_LINE

    status, _, _ = real_server.request("GET", path)

    assert status == 414
