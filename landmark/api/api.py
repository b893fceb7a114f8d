"""The NinjaAPI instance mounted at /api/v1/ (see landmark/urls.py).

Routers per resource live beside this module; every operation authenticates with an
API token or the browser session (auth.API_AUTH) and answers errors as
application/problem+json (problems.py), which the OpenAPI schema documents on every
operation.
"""

import json
from decimal import Decimal
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.urls import URLPattern, URLResolver, path
from django.views.decorators.csrf import csrf_exempt
from ninja import NinjaAPI
from ninja.openapi.docs import Swagger
from ninja.operation import Operation
from ninja.parser import Parser

from landmark.api import coach, comments, connectors, hooks, kpis, okrs, orgs, search
from landmark.api.auth import API_AUTH
from landmark.api.ingest import router as ingest_router
from landmark.api.problems import PROBLEM_CONTENT_TYPE, install_handlers, problem
from landmark.api.renderers import JSONRenderer
from landmark.api.responses import HEADERS, WITHOUT_LOCATION, header_refs

DESCRIPTION = """\
Everything the Landmark web app does for OKRs and KPIs, as JSON.

Authenticate with a personal API token (Settings → API tokens) sent as
`Authorization: Bearer lmk_…`. Errors are `application/problem+json`. Lists take
`sort`, `limit` and `cursor` and answer `{items, next_cursor}`. Single objects carry
an `ETag`; send it back in `If-Match` to make a write fail with 412 if someone else
changed the object meanwhile. See docs/api.md.
"""

ERROR_FIELD: dict[str, Any] = {
    "type": "object",
    "description": "What is wrong with one field (or, in a batch, one row).",
    "properties": {
        "field": {
            "type": "string",
            "description": "The field as the client sent it; empty for the whole "
            "request.",
        },
        "in": {
            "type": "string",
            "enum": ["body", "query", "path", "header", "cookie", "form"],
        },
        "message": {"type": "string"},
        "row": {
            "type": "integer",
            "description": "Batches: the point's index in `points` (from 0), or its "
            "CSV line (the header is line 1).",
        },
        "reason": {"type": "string", "description": "Batches: what is wrong."},
    },
    "required": ["field", "message"],
}

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "Problem",
    "description": "An error, as RFC 9457 problem details.",
    "properties": {
        "type": {
            "type": "string",
            "description": "urn:landmark:problem: and the kind (docs/api.md#errors).",
            "examples": ["urn:landmark:problem:validation"],
        },
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {"type": "array", "items": ERROR_FIELD},
    },
    "required": ["type", "title", "status", "detail"],
}

ERROR_DESCRIPTIONS = {
    "400": "The body could not be read: not JSON (or not UTF-8, or nested too deeply).",
    "401": "Missing, unknown, expired or revoked token, or the membership was "
    "deactivated.",
    "403": "The caller's role or token scope may not do this.",
    "404": "No such object in the caller's organization.",
    "409": "The request clashes with the object's current state.",
    "412": "If-Match does not match the object's current ETag.",
    "413": "The body is larger than 2.5 MB.",
    "414": "The request line (method, URL and query) is longer than 8,190 bytes: "
    "refused by the server before the request is read.",
    "422": "Invalid input; `errors` lists the fields.",
    "429": "Rate limit reached; retry after `Retry-After` seconds.",
}
ERROR_HEADERS = {"401": ["WWW-Authenticate"], "429": ["Retry-After"]}
WRITE_METHODS = {"post", "put", "patch", "delete"}
# Lower case: client generators name their packages and classes after the tags
# (`KPIs` made `kp_is`); `x-displayName` is the name documentation viewers show.
TAGS = [
    {
        "name": "organization",
        "x-displayName": "Organization",
        "description": "Your organization, its teams and members.",
    },
    {
        "name": "okrs",
        "x-displayName": "OKRs",
        "description": "Periods, objectives, key results, check-ins, initiatives and "
        "kudos, with the progress and pace their pages show.",
    },
    {
        "name": "kpis",
        "x-displayName": "KPIs",
        "description": "KPIs, their targets and values, with the health their pages "
        "show; where KPIs and OKRs meet.",
    },
    {
        "name": "coach",
        "x-displayName": "Coach",
        "description": "The coach's findings on a period's OKRs and the KPIs, as the "
        "coach page shows them (docs/coach.md).",
    },
    {
        "name": "comments",
        "x-displayName": "Comments",
        "description": "Threads on objectives, key results and KPIs; @mentions "
        "notify the members they name.",
    },
    {
        "name": "webhooks",
        "x-displayName": "Webhooks",
        "description": "Outgoing webhooks (admins): events POSTed, signed, to URLs "
        "you choose; their delivery log; redelivery.",
    },
    {
        "name": "connectors",
        "x-displayName": "Connectors",
        "description": "A KPI's connector: where its values are pulled from on a "
        "schedule (SQL, a JSON API, a CSV file at a URL), its test and its runs.",
    },
    {
        "name": "search",
        "x-displayName": "Search",
        "description": "Objectives, key results, initiatives, KPIs, teams and people "
        "by their words, as the web's search box finds them.",
    },
]


class JSONParser(Parser):
    """Request bodies as JSON with numbers read exactly: 12.5 is Decimal("12.5"),
    never a float (as the batch endpoint reads its points)."""

    def parse_body(self, request: HttpRequest) -> Any:
        return json.loads(request.body, parse_float=Decimal)


class LandmarkAPI(NinjaAPI):
    def get_openapi_schema(
        self, *, path_prefix: str | None = None, path_params: Any = None
    ) -> Any:
        schema = super().get_openapi_schema(
            path_prefix=path_prefix, path_params=path_params
        )
        document_responses(schema)
        return schema

    def get_openapi_operation_id(self, operation: Operation) -> str:
        """The view's name, e.g. `list_objectives`: short, and unique (a test
        checks it)."""
        return operation.view_func.__name__


def document_responses(schema: Any) -> None:
    """Declare the problem+json answers every operation can give, and the headers
    its answers carry."""
    components = schema.setdefault("components", {})
    components.setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    components["headers"] = HEADERS
    schema["tags"] = TAGS
    # The paths hold /api/v1: the server is the one that serves the schema.
    schema["servers"] = [{"url": "/", "description": "This Landmark server."}]
    ref = {"$ref": "#/components/schemas/Problem"}
    for url, item in schema.get("paths", {}).items():
        for method, operation in item.items():
            statuses = ["401", "403", "414", "422", "429"]
            if any(p.get("in") == "path" for p in operation.get("parameters", [])):
                statuses.append("404")
            if "requestBody" in operation:
                statuses += ["400", "413"]
            if method in WRITE_METHODS:
                statuses += ["404", "409"]
            if any(
                p.get("name") == "If-Match" for p in operation.get("parameters", [])
            ):
                statuses.append("412")
            # ninja keys its responses by int, openapi_extra by str: one status, one
            # response (ninja's content, openapi_extra's description and headers).
            responses: dict[str, Any] = {}
            for code, value in operation.get("responses", {}).items():
                responses.setdefault(str(code), {}).update(value)
            operation["responses"] = responses
            for status in sorted(set(statuses)):
                response = responses.setdefault(
                    status, {"description": ERROR_DESCRIPTIONS[status]}
                )
                response.setdefault("content", {PROBLEM_CONTENT_TYPE: {"schema": ref}})
                if status in ERROR_HEADERS:
                    response["headers"] = header_refs(*ERROR_HEADERS[status])
            for status, response in responses.items():
                if status.startswith("4"):
                    response.setdefault(
                        "content", {PROBLEM_CONTENT_TYPE: {"schema": ref}}
                    )
            if method == "patch" or (method == "get" and url.endswith("/{pk}")):
                responses["200"]["headers"] = header_refs("ETag")
            if "201" in responses and operation["operationId"] not in WITHOUT_LOCATION:
                responses["201"]["headers"] = header_refs("Location")
    drop_unused_schemas(schema)


def drop_unused_schemas(schema: Any) -> None:
    """ninja lists the models of query parameters (the lists' filters) among the
    components though it spells their fields out as parameters: drop every schema
    nothing refers to."""
    schemas = schema["components"]["schemas"]
    while True:
        text = json.dumps(
            {**schema, "components": {**schema["components"], "schemas": None}}
        )
        used = {
            name
            for name in schemas
            if f'"#/components/schemas/{name}"' in text
            or any(
                f'"#/components/schemas/{name}"' in json.dumps(other)
                for key, other in schemas.items()
                if key != name
            )
        }
        if used == set(schemas):
            return
        for name in set(schemas) - used:
            del schemas[name]


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
    parser=JSONParser(),
    openapi_extra={
        "info": {
            "license": {
                "name": "AGPL-3.0-or-later",
                "identifier": "AGPL-3.0-or-later",
            }
        }
    },
)
install_handlers(api)

api.add_router("/", orgs.router)
api.add_router("/", okrs.router)
# Before /kpis/{pk}: "definitions" is no KPI id (landmark/api/connectors.py).
api.add_router("/", connectors.definitions_router)
api.add_router("/", kpis.router)
api.add_router("/", hooks.router)
api.add_router("/", comments.router)
# Bulk KPI ingestion (landmark/api/ingest.py).
api.add_router("/", ingest_router)
# KPI connectors (landmark/api/connectors.py).
api.add_router("/", connectors.router)
# Search (landmark/api/search.py).
api.add_router("/", search.router)
# The coach (landmark/api/coach.py).
api.add_router("/", coach.router)


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
