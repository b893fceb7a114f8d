"""The NinjaAPI instance mounted at /api/v1/ (see landmark/urls.py).

Routers per resource live beside this module; every operation authenticates with an
API token or the browser session (auth.API_AUTH) and answers errors as
application/problem+json (problems.py), which the OpenAPI schema documents on every
operation.
"""

from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.urls import URLPattern, URLResolver, path
from django.views.decorators.csrf import csrf_exempt
from ninja import NinjaAPI
from ninja.openapi.docs import Swagger

from landmark.api import kpis, okrs, orgs
from landmark.api.auth import API_AUTH
from landmark.api.ingest import router as ingest_router
from landmark.api.problems import PROBLEM_CONTENT_TYPE, install_handlers, problem
from landmark.api.renderers import JSONRenderer

DESCRIPTION = """\
Everything the Landmark web app does for OKRs and KPIs, as JSON.

Authenticate with a personal API token (Settings → API tokens) sent as
`Authorization: Bearer lmk_…`. Errors are `application/problem+json`. Lists take
`sort`, `limit` and `cursor` and answer `{items, next_cursor}`. Single objects carry
an `ETag`; send it back in `If-Match` to make a write fail with 412 if someone else
changed the object meanwhile. See docs/api.md.
"""

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "Problem",
    "description": "An error, as RFC 9457 problem details.",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "field": {"type": "string"},
                    "in": {"type": "string"},
                    "message": {"type": "string"},
                },
                "required": ["field", "message"],
            },
        },
    },
    "required": ["type", "title", "status", "detail"],
}

ERROR_DESCRIPTIONS = {
    "400": "The body could not be read (not JSON, or not UTF-8).",
    "401": "Missing, unknown, expired or revoked token, or the membership was deactivated.",
    "403": "The caller's role or token scope may not do this.",
    "404": "No such object in the caller's organization.",
    "409": "The request clashes with the object's current state.",
    "412": "If-Match does not match the object's current ETag.",
    "422": "Invalid input; `errors` lists the fields.",
    "429": "Rate limit reached; retry after `Retry-After` seconds.",
}
WRITE_METHODS = {"post", "put", "patch", "delete"}


class LandmarkAPI(NinjaAPI):
    def get_openapi_schema(
        self, *, path_prefix: str | None = None, path_params: Any = None
    ) -> Any:
        schema = super().get_openapi_schema(
            path_prefix=path_prefix, path_params=path_params
        )
        document_problems(schema)
        return schema


def document_problems(schema: Any) -> None:
    """Declare the problem+json answers every operation can give."""
    schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = (
        PROBLEM_SCHEMA
    )
    ref = {"$ref": "#/components/schemas/Problem"}
    for item in schema.get("paths", {}).values():
        for method, operation in item.items():
            statuses = ["401", "403", "422", "429"]
            if "{" in str(operation.get("operationId", "")) or any(
                p.get("in") == "path" for p in operation.get("parameters", [])
            ):
                statuses.append("404")
            if "requestBody" in operation:
                statuses.append("400")
            if method in WRITE_METHODS:
                statuses += ["404", "409"]
            if any(
                p.get("name") == "If-Match" for p in operation.get("parameters", [])
            ):
                statuses.append("412")
            # ninja keys responses by int; one key type, so no status appears twice.
            responses = {
                str(code): value
                for code, value in operation.get("responses", {}).items()
            }
            operation["responses"] = responses
            for status in sorted(set(statuses)):
                responses.setdefault(
                    status,
                    {
                        "description": ERROR_DESCRIPTIONS[status],
                        "content": {PROBLEM_CONTENT_TYPE: {"schema": ref}},
                    },
                )


api = LandmarkAPI(
    title="Landmark API",
    version="1",
    description=DESCRIPTION,
    urls_namespace="api",
    auth=API_AUTH,
    # Swagger UI from django-ninja's own static files (no CDN): "ninja" is in
    # INSTALLED_APPS, so the page loads ninja/swagger-ui-bundle.js from /static/.
    docs=Swagger(settings={"persistAuthorization": True}),
    renderer=JSONRenderer(),
)
install_handlers(api)

api.add_router("/", orgs.router)
api.add_router("/", okrs.router)
api.add_router("/", kpis.router)
# Bulk KPI ingestion (landmark/api/ingest.py).
api.add_router("/", ingest_router)


def problem_405(view: Any) -> Any:
    """ninja answers an unsupported method with a bare 405; keep its Allow header and
    answer a problem like every other error."""

    @csrf_exempt  # as ninja's own views: the API checks CSRF itself (SessionAuth)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        response: HttpResponseBase = view(request, *args, **kwargs)
        if response.status_code == 405 and not response.get(
            "Content-Type", ""
        ).startswith(PROBLEM_CONTENT_TYPE):
            allowed = response.get("Allow", "")
            return problem(
                405,
                f"{request.method} is not allowed here; allowed: {allowed}.",
                headers={"Allow": allowed},
            )
        return response

    return wrapper


def not_found(request: HttpRequest, rest: str) -> HttpResponse:
    return problem(404, f"There is no API endpoint at /api/v1/{rest}.")


def api_urls() -> tuple[list[URLPattern | URLResolver], str, str]:
    """ninja's URL patterns, with problem+json 405s and a problem+json 404 for any
    other path under /api/v1/."""
    patterns, app_name, namespace = api.urls
    wrapped: list[URLPattern | URLResolver] = []
    for pattern in patterns:
        if isinstance(pattern, URLPattern):
            wrapped.append(
                URLPattern(
                    pattern.pattern,
                    problem_405(pattern.callback),
                    pattern.default_args,
                    pattern.name,
                )
            )
        else:
            wrapped.append(pattern)
    wrapped.append(path("<path:rest>", not_found, name="not-found"))
    return wrapped, app_name, namespace
