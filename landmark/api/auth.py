"""Who is calling the API: a personal API token (bearer) or the web app's own
browser session (with CSRF). Both resolve to a membership, checked on every call.

Other API modules (e.g. ingest.py) use `API_AUTH` and `membership_of`:

    @router.post("/...", auth=API_AUTH)
    def view(request, ...):
        membership = membership_of(request)
"""

import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model
from django.db.models.sql import Query
from django.db.models.sql.compiler import SQLCompiler
from django.http import HttpRequest
from django.utils import timezone
from ninja.errors import AuthenticationError, AuthorizationError, HttpError
from ninja.security import HttpBearer
from ninja.security.apikey import APIKeyCookie
from ninja.utils import check_csrf

from landmark.api.models import TOKEN_PREFIX, APIToken, hash_secret
from landmark.api.problems import RateLimited
from landmark.orgs.models import Membership, Organization, User

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
SQLITE_NORMAL = 1  # PRAGMA synchronous: 0 OFF, 1 NORMAL, 2 FULL, 3 EXTRA


def rate_limit() -> tuple[int, int]:
    """(requests, seconds) allowed per token: API_RATE_LIMIT per API_RATE_WINDOW."""
    return (
        int(getattr(settings, "API_RATE_LIMIT", 600)),
        int(getattr(settings, "API_RATE_WINDOW", 60)),
    )


@contextmanager
def unsynced_commit(using: str = DEFAULT_DB_ALIAS) -> Iterator[str]:
    """Commit the one write inside without waiting for the disk: for the rate-limit
    counter, which needs atomicity and isolation (the limit holds across processes)
    but not durability (a power cut may forget a few counted calls, never data).

    Yields an item for the write's FROM list ("" when none is needed):

    - PostgreSQL: `(SELECT set_config('synchronous_commit', 'off', true))`, so
      the statement's own autocommit transaction commits without a WAL flush, in one
      round trip (a transaction with `SET LOCAL` costs four).
    - SQLite (WAL): `PRAGMA synchronous=NORMAL` for this commit, so it does not fsync;
      the next ordinary commit's fsync covers it, and checkpoints still sync.

    Inside a larger transaction (tests, or a caller's atomic block) the write simply
    joins it, and that transaction's commit stays durable.
    """
    connection = connections[using]
    if connection.in_atomic_block:
        yield ""
    elif connection.vendor == "postgresql":
        yield "(SELECT set_config('synchronous_commit', 'off', true)) AS unsynced"
    elif connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA synchronous")
            level = int(cursor.fetchone()[0])
            if level > SQLITE_NORMAL:
                cursor.execute(f"PRAGMA synchronous = {SQLITE_NORMAL}")
            try:
                yield ""
            finally:
                if level > SQLITE_NORMAL:
                    cursor.execute(f"PRAGMA synchronous = {level}")
    else:  # pragma: no cover  # Landmark runs on SQLite and PostgreSQL only
        yield ""


def count_sql(connection: BaseDatabaseWrapper, token: str, sources: list[str]) -> str:
    """The counting UPDATE of count_request: `token` is the SQL naming the token's id,
    `sources` its FROM list. Parameters: window, window, last use, window, limit."""
    meta = APIToken._meta
    quote = connection.ops.quote_name
    table, pk = quote(meta.db_table), quote(str(meta.pk.column))
    sources = [source for source in sources if source]
    return (
        f"UPDATE {table} SET "  # noqa: S608  # names from the model, values as parameters
        "rate_count = CASE WHEN rate_window = %s THEN rate_count + 1 ELSE 1 END, "
        "rate_window = %s, last_used_at = %s "
        + (f"FROM {', '.join(sources)} " if sources else "")
        + f"WHERE {table}.{pk} = {token} AND (rate_window <> %s OR rate_count < %s)"
    )


def count_request(token: APIToken) -> None:
    """Count one request in the token's current fixed window, or raise RateLimited.

    One conditional UPDATE does it atomically on SQLite and PostgreSQL alike: the row
    moves only if the window is new or still has room, so concurrent requests can
    never let more than the limit through. It also records the last use. It commits
    on its own without an fsync (unsynced_commit): the API's reads write nothing
    durable. The statement is written out (names from the model, values as
    parameters) as it runs on every call: building it with the ORM cost more than
    running it.
    """
    limit, seconds = rate_limit()
    now = time.time()
    window = int(now // seconds)
    connection = connections[DEFAULT_DB_ALIAS]
    last_used = connection.ops.adapt_datetimefield_value(timezone.now())
    with unsynced_commit() as unsynced, connection.cursor() as cursor:
        cursor.execute(
            count_sql(connection, "%s", [unsynced]),
            [window, window, last_used, token.pk, window, limit],
        )
        counted = cursor.rowcount
    if not counted:
        raise RateLimited(retry_after=(window + 1) * seconds - now)


@cache
def find_and_count_sql(using: str, unsynced: str) -> str:
    """PostgreSQL: token_sql, and count_sql on the token it found, in one statement."""
    connection = connections[using]
    return (
        f"WITH found AS ({token_sql(connection, aliased=True)}), "  # noqa: S608  # names from the models, values as parameters
        f"counted AS ({count_sql(connection, 'found.token_id', ['found', unsynced])}"
        " RETURNING 1) "
        "SELECT found.*, EXISTS (SELECT 1 FROM counted) FROM found"
    )


def find_and_count(raw: str) -> tuple[APIToken, Membership] | None:
    """find_token then count_request, in one statement on PostgreSQL (one round trip
    instead of two): the lookup and the counting UPDATE as data-modifying CTEs."""
    connection = connections[DEFAULT_DB_ALIAS]
    if connection.vendor != "postgresql":
        found = find_token(raw)
        if found is not None:
            count_request(found[0])
        return found
    limit, seconds = rate_limit()
    now = time.time()
    window = int(now // seconds)
    _, compiler, converters = token_query(DEFAULT_DB_ALIAS)
    moment = timezone.now()
    with unsynced_commit() as unsynced, connection.cursor() as cursor:
        cursor.execute(
            find_and_count_sql(DEFAULT_DB_ALIAS, unsynced),
            [
                hash_secret(raw),
                moment,
                True,
                True,
                window,
                window,
                moment,
                window,
                limit,
            ],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    *columns, counted = row
    found = loaded(connection, compiler, converters, columns)
    if not counted:
        raise RateLimited(retry_after=(window + 1) * seconds - now)
    return found


def token_sql(connection: BaseDatabaseWrapper, *, aliased: bool = False) -> str:
    """The usable token by hash, with its owner's active membership in the token's
    organization and that membership's organization and user: every column of the
    three, then the token's id and scope (`aliased`: each column named apart, the
    token's id `token_id`, for use as a CTE)."""
    quote = connection.ops.quote_name

    def columns(model: type[Model], alias: str) -> str:
        return ", ".join(
            f"{alias}.{quote(str(f.column))}"
            + (f" AS {alias}_{f.column}" if aliased else "")
            for f in model._meta.concrete_fields
        )

    m, o, u, t = (
        quote(model._meta.db_table)
        for model in (Membership, Organization, User, APIToken)
    )
    return (
        f"SELECT {columns(Membership, 'm')}, {columns(Organization, 'o')}, "  # noqa: S608  # names from the models, values as parameters
        f"{columns(User, 'u')}, t.id{' AS token_id' if aliased else ''}, t.scope "
        f"FROM {m} m "
        f"JOIN {t} t ON t.user_id = m.user_id AND t.organization_id = m.organization_id "
        f"JOIN {o} o ON o.id = m.organization_id "
        f"JOIN {u} u ON u.id = m.user_id "
        "WHERE t.token_hash = %s AND t.revoked_at IS NULL "
        "AND (t.expires_at IS NULL OR t.expires_at > %s) "
        "AND m.is_active = %s AND u.is_active = %s"
    )


LOADED = (Membership, Organization, User)


@cache
def token_query(using: str) -> tuple[str, SQLCompiler, dict[int, Any]]:
    """token_sql and the ORM's converters for its columns, made once per database.
    (The converters only read the database's settings, so any thread may use them.)"""
    connection = connections[using]
    cols = [
        f.get_col(model._meta.db_table)
        for model in LOADED
        for f in model._meta.concrete_fields
    ]
    compiler = Query(Membership).get_compiler(connection=connection)
    return token_sql(connection), compiler, compiler.get_converters(cols)


def find_token(raw: str) -> tuple[APIToken, Membership] | None:
    """The usable token `raw` and its owner's active membership in the token's
    organization (with the organization and user loaded), in one query; None if
    either is missing.

    Written out in SQL (token_sql) and turned into model instances with the ORM's own
    converters: on every API call, building the same query with the ORM took longer
    than the rest of the authentication.
    """
    connection = connections[DEFAULT_DB_ALIAS]
    sql, compiler, converters = token_query(DEFAULT_DB_ALIAS)
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(sql, [hash_secret(raw), now, True, True])
        row = cursor.fetchone()
    if row is None:
        return None
    return loaded(connection, compiler, converters, row)


def loaded(
    connection: BaseDatabaseWrapper,
    compiler: SQLCompiler,
    converters: dict[int, Any],
    row: Any,
) -> tuple[APIToken, Membership]:
    """The token and membership (with organization and user) of a token_sql row."""
    values = next(compiler.apply_converters([row], converters))
    objects: list[Any] = []
    for model in LOADED:
        fields = model._meta.concrete_fields
        names = [f.attname for f in fields]
        objects.append(model.from_db(connection.alias, names, values[: len(fields)]))
        values = values[len(fields) :]
    membership, organization, user = objects
    membership.organization = organization
    membership.user = user
    token_id, scope = values
    # Only what a call needs of its token; any other field is read if ever used.
    token = APIToken.from_db(
        connection.alias,
        ["id", "organization_id", "user_id", "scope"],
        [token_id, membership.organization_id, membership.user_id, scope],
    )
    return token, membership


class TokenAuth(HttpBearer):
    """`Authorization: Bearer lmk_…`: a usable token whose owner is still an active
    member of the token's organization (read on every call, never cached)."""

    openapi_scheme = "bearer"

    def authenticate(self, request: HttpRequest, token: str) -> APIToken | None:
        if not token.startswith(TOKEN_PREFIX):
            return None
        found = find_and_count(token)
        if found is None:
            return None
        row, membership = found
        if request.method not in SAFE_METHODS and not row.can_write:
            raise AuthorizationError(
                message="This token is read-only; create a read-and-write token to change data."
            )
        request.membership = membership  # type: ignore[attr-defined]  # the API's caller
        request.api_token = row  # type: ignore[attr-defined]
        return row


class SessionAuth(APIKeyCookie):
    """The web app's own calls: a logged-in browser session, with Django's CSRF check
    on unsafe methods. The membership is the session's current one (middleware)."""

    param_name = settings.SESSION_COOKIE_NAME

    def _get_key(self, request: HttpRequest) -> str | None:
        if not request.user.is_authenticated:
            return None  # not a session call: nothing to protect from CSRF
        if check_csrf(request):
            raise HttpError(403, "CSRF check failed: send the X-CSRFToken header.")
        return request.COOKIES.get(self.param_name)

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        if not request.user.is_authenticated:
            return None
        return getattr(request, "membership", None)


token_auth = TokenAuth()
session_auth = SessionAuth()
# Every API operation accepts either; the token is tried first.
API_AUTH = [token_auth, session_auth]


def membership_of(request: HttpRequest) -> Membership:
    """The caller's membership, set by whichever authentication succeeded."""
    membership: Membership | None = getattr(request, "membership", None)
    if membership is None or not membership.is_active:
        raise AuthenticationError()
    return membership


def token_of(request: HttpRequest) -> APIToken | None:
    """The API token of this call, or None for a browser session."""
    return getattr(request, "api_token", None)
