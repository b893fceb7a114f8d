"""Errors as `application/problem+json` (RFC 9457): type, title, status, detail, and
for invalid input a list of field errors."""

import json
import math
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

PROBLEM_CONTENT_TYPE = "application/problem+json"

# One problem type per kind of error, documented in docs/api.md#errors.
PROBLEM_TYPES = {
    400: "bad-request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    409: "conflict",
    412: "precondition-failed",
    413: "too-large",
    414: "uri-too-long",
    431: "header-too-large",
    415: "unsupported-media-type",
    422: "validation",
    428: "precondition-required",
    429: "rate-limited",
}


class Conflict(HttpError):
    """The request is valid but clashes with the object's current state."""

    def __init__(self, message: str) -> None:
        super().__init__(409, message)


class PreconditionFailed(HttpError):
    def __init__(
        self,
        message: str = "The object changed since you read it (its ETag no longer matches If-Match). Read it again and retry.",
    ) -> None:
        super().__init__(412, message)


class RateLimited(HttpError):
    def __init__(self, retry_after: float) -> None:
        self.retry_after = max(1, math.ceil(retry_after))
        super().__init__(
            429,
            f"This token sent too many requests; retry in {self.retry_after} seconds.",
        )


def problem_body(status: int, detail: str) -> dict[str, Any]:
    return {
        "type": f"urn:landmark:problem:{PROBLEM_TYPES.get(status, 'error')}",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }


def problem(
    status: int,
    detail: str,
    *,
    errors: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> HttpResponse:
    body = problem_body(status, detail)
    if errors is not None:
        body["errors"] = errors
    response = HttpResponse(
        json.dumps(body), status=status, content_type=PROBLEM_CONTENT_TYPE
    )
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def field_errors(error: DjangoValidationError) -> list[dict[str, str]]:
    """A Django ValidationError as [{field, message}]; "" for a non-field error."""
    if hasattr(error, "error_dict"):
        return [
            {"field": "" if field == "__all__" else field, "message": message}
            for field, messages in error.message_dict.items()
            for message in messages
        ]
    return [{"field": "", "message": message} for message in error.messages]


LOCATIONS = {"body", "query", "path", "header", "cookie", "form"}


def ninja_field_errors(errors: list[dict[str, Any]]) -> list[dict[str, str]]:
    """ninja's pydantic errors as [{field, in, message}]: `loc` is (location, the
    view's parameter name, field...); the field is what a client sent."""
    result = []
    for error in errors:
        loc = [str(part) for part in error.get("loc", [])]
        where = loc[0] if loc and loc[0] in LOCATIONS else "body"
        parts = loc[1:] if loc and loc[0] in LOCATIONS else loc
        if where == "body" and len(parts) > 1:
            parts = parts[1:]  # the view's parameter name, not the client's field
        message = str(error.get("msg", "Invalid value."))
        result.append({"field": ".".join(parts), "in": where, "message": message})
    return result


def install_handlers(api: NinjaAPI) -> None:
    def on_validation(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
        errors = ninja_field_errors(exc.errors)
        return problem(
            422,
            "The request is not valid: "
            + "; ".join(f"{e['field'] or e['in']}: {e['message']}" for e in errors),
            errors=errors,
        )

    def on_django_validation(
        request: HttpRequest, exc: DjangoValidationError
    ) -> HttpResponse:
        errors = field_errors(exc)
        return problem(
            422,
            " ".join(e["message"] for e in errors) or "The request is not valid.",
            errors=errors,
        )

    def on_unauthenticated(
        request: HttpRequest, exc: AuthenticationError
    ) -> HttpResponse:
        return problem(
            401,
            "Send a valid API token as `Authorization: Bearer <token>` (or use a logged-in browser session).",
            headers={"WWW-Authenticate": 'Bearer realm="landmark"'},
        )

    def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        headers = {}
        if isinstance(exc, RateLimited):
            headers["Retry-After"] = str(exc.retry_after)
        return problem(exc.status_code, exc.message, headers=headers)

    def on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
        return problem(404, "No such object here.")

    def on_denied(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
        return problem(403, str(exc) or "You may not do this.")

    def on_too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return problem(
            413,
            f"The body is larger than {limit / 1024 / 1024:g} MB "
            f"({limit:,} bytes); send less.",
        )

    handlers: list[tuple[type[Exception], Callable[[HttpRequest, Any], HttpResponse]]]
    handlers = [
        (NinjaValidationError, on_validation),
        (DjangoValidationError, on_django_validation),
        (AuthenticationError, on_unauthenticated),
        (HttpError, on_http_error),
        (Http404, on_not_found),
        (PermissionDenied, on_denied),
        # Django refuses to read a body over DATA_UPLOAD_MAX_MEMORY_SIZE.
        (RequestDataTooBig, on_too_big),
    ]
    for exc_class, handler in handlers:
        api.add_exception_handler(exc_class, handler)
