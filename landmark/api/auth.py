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
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone
from ninja.errors import AuthenticationError, AuthorizationError, HttpError
from ninja.security import HttpBearer
from ninja.security.apikey import APIKeyCookie
from ninja.utils import check_csrf

from landmark.api.models import TOKEN_PREFIX, APIToken, hash_secret, usable_q
from landmark.api.problems import RateLimited
from landmark.orgs.models import Membership

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
SQLITE_NORMAL = 1  # PRAGMA synchronous: 0 OFF, 1 NORMAL, 2 FULL, 3 EXTRA
LAST_USED = APIToken._meta.get_field("last_used_at")


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

    Yields a condition for the write's WHERE clause, always true ("" when none):

    - PostgreSQL: `set_config('synchronous_commit', 'off', true) = 'off'`, so the
      statement's own autocommit transaction commits without a WAL flush, in one
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
        yield "set_config('synchronous_commit', 'off', true) = 'off'"
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


# One statement for both databases (parameters: window, window, last use, token id,
# window, limit). Written out as it runs on every call and returns nothing to convert:
# with the ORM's UPDATE, `/api/v1/organization` took 2.07 ms of CPU in process against
# 1.25 ms (bench/README.md).
COUNT_SQL = (
    'UPDATE "api_apitoken" SET '
    "rate_count = CASE WHEN rate_window = %s THEN rate_count + 1 ELSE 1 END, "
    "rate_window = %s, last_used_at = %s "
    "WHERE id = %s AND (rate_window <> %s OR rate_count < %s)"
)


def count_request(token: APIToken) -> None:
    """Count one request in the token's current fixed window, or raise RateLimited.

    One conditional UPDATE does it atomically on SQLite and PostgreSQL alike: the row
    moves only if the window is new or still has room, so concurrent requests can
    never let more than the limit through. It also records the last use. It commits
    on its own without an fsync (unsynced_commit): the API's reads write nothing
    durable.
    """
    limit, seconds = rate_limit()
    now = time.time()
    window = int(now // seconds)
    connection = connections[DEFAULT_DB_ALIAS]
    last_used = LAST_USED.get_db_prep_value(timezone.now(), connection)
    with unsynced_commit() as unsynced, connection.cursor() as cursor:
        cursor.execute(
            f"{COUNT_SQL} AND {unsynced}" if unsynced else COUNT_SQL,
            [window, window, last_used, token.pk, window, limit],
        )
        counted = cursor.rowcount
    if not counted:
        raise RateLimited(retry_after=(window + 1) * seconds - now)


def find_token(raw: str) -> tuple[APIToken, Membership] | None:
    """The usable token `raw` and its owner's active membership in the token's
    organization (with the organization and user loaded), in one query; None if
    either is missing."""
    tokens = "user__api_tokens__"
    found = (
        Membership.objects.select_related("organization", "user")
        .filter(
            usable_q(tokens),
            is_active=True,
            user__is_active=True,
            user__api_tokens__token_hash=hash_secret(raw),
            user__api_tokens__organization=F("organization"),
        )
        # After the filter, so they read the token row it joined (one join).
        .annotate(token_id=F(f"{tokens}id"), token_scope=F(f"{tokens}scope"))
    )
    membership = next(iter(found), None)
    if membership is None:
        return None
    # Only what a call needs of its token; any other field is read if ever used.
    token = APIToken.from_db(
        DEFAULT_DB_ALIAS,
        ["id", "organization_id", "user_id", "scope"],
        [
            membership.token_id,
            membership.organization_id,
            membership.user_id,
            membership.token_scope,
        ],
    )
    return token, membership


class TokenAuth(HttpBearer):
    """`Authorization: Bearer lmk_…`: a usable token whose owner is still an active
    member of the token's organization (read on every call, never cached)."""

    openapi_scheme = "bearer"

    def authenticate(self, request: HttpRequest, token: str) -> APIToken | None:
        if not token.startswith(TOKEN_PREFIX):
            return None
        found = find_token(token)
        if found is None:
            return None
        row, membership = found
        count_request(row)
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
