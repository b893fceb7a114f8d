"""gunicorn's threaded worker, answering a request head over its limits as the API
answers every error: 414 (request line) and 431 (headers) as application/problem+json
instead of gunicorn's HTML page. Such a request is refused before the app sees it,
so only the worker can answer it; `landmark serve` runs this worker (gunicorn's
`worker_class`, documented as taking a subclass of its Worker)."""

import json
from http import HTTPStatus
from typing import Any

from gunicorn.http.errors import LimitRequestHeaders, LimitRequestLine
from gunicorn.workers.gthread import ThreadWorker

from landmark.api.problems import PROBLEM_CONTENT_TYPE, problem_body


def problem_answer(status: int, detail: str) -> bytes:
    """A whole HTTP/1.1 answer (the connection is closed after it)."""
    body = json.dumps(problem_body(status, detail)).encode()
    head = (
        f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n"
        "Connection: close\r\n"
        f"Content-Type: {PROBLEM_CONTENT_TYPE}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("ascii") + body


URI_TOO_LONG = problem_answer(
    414,
    "The request line (method, URL and query) is longer than 8,190 bytes; "
    "send fewer or shorter query parameters.",
)
HEADERS_TOO_LARGE = problem_answer(
    431,
    "More than 100 headers, or a header longer than 8,190 bytes.",
)


class ProblemWorker(ThreadWorker):  # type: ignore[misc]  # gunicorn ships no type hints
    def handle_error(self, req: Any, client: Any, addr: Any, exc: Exception) -> None:
        if isinstance(exc, LimitRequestLine | LimitRequestHeaders):
            self.log.warning(
                "Invalid request from ip=%s: %s", (addr or ("",))[0], str(exc)
            )
            answer = (
                URI_TOO_LONG if isinstance(exc, LimitRequestLine) else HEADERS_TOO_LARGE
            )
            try:
                client.sendall(answer)
            except OSError:
                self.log.debug("Failed to send error message.")
            return
        super().handle_error(req, client, addr, exc)
