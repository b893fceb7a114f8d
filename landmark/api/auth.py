"""Who is calling the API: a personal API token (bearer) or the web app's own
browser session (with CSRF). Both resolve to a membership, checked on every call.

Other API modules (e.g. ingest.py) use `API_AUTH` and `membership_of`:

    @router.post("/...", auth=API_AUTH)
    def view(request, ...):
        membership = membership_of(request)
"""

import time
from typing import Any

from django.conf import settings
from django.db.models import Case, F, Q, Value, When
from django.http import HttpRequest
from django.utils import timezone
from ninja.errors import AuthenticationError, AuthorizationError, HttpError
from ninja.security import HttpBearer
from ninja.security.apikey import APIKeyCookie
from ninja.utils import check_csrf

from landmark.api.models import TOKEN_PREFIX, APIToken, hash_secret
from landmark.api.problems import RateLimited
from landmark.orgs.models import Membership

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def rate_limit() -> tuple[int, int]:
    """(requests, seconds) allowed per token: API_RATE_LIMIT per API_RATE_WINDOW."""
    return (
        int(getattr(settings, "API_RATE_LIMIT", 600)),
        int(getattr(settings, "API_RATE_WINDOW", 60)),
    )


def count_request(token: APIToken) -> None:
    """Count one request in the token's current fixed window, or raise RateLimited.

    One conditional UPDATE does it atomically on SQLite and PostgreSQL alike: the row
    moves only if the window is new or still has room, so concurrent requests can
    never let more than the limit through. It also records the last use.
    """
    limit, seconds = rate_limit()
    now = time.time()
    window = int(now // seconds)
    room = ~Q(rate_window=window) | Q(rate_count__lt=limit)
    counted = (
        APIToken.objects.filter(pk=token.pk)
        .filter(room)
        .update(
            rate_count=Case(
                When(rate_window=window, then=F("rate_count") + 1), default=Value(1)
            ),
            rate_window=window,
            last_used_at=timezone.now(),
        )
    )
    if not counted:
        raise RateLimited(retry_after=(window + 1) * seconds - now)


class TokenAuth(HttpBearer):
    """`Authorization: Bearer lmk_…`: a usable token whose owner is still an active
    member of the token's organization (read on every call, never cached)."""

    openapi_scheme = "bearer"

    def authenticate(self, request: HttpRequest, token: str) -> APIToken | None:
        if not token.startswith(TOKEN_PREFIX):
            return None
        row = (
            APIToken.objects.usable()
            .filter(token_hash=hash_secret(token))
            .only("pk", "scope", "user_id", "organization_id")
            .first()
        )
        if row is None:
            return None
        membership = (
            Membership.objects.filter(
                user_id=row.user_id,
                organization_id=row.organization_id,
                is_active=True,
                user__is_active=True,
            )
            .select_related("organization", "user")
            .first()
        )
        if membership is None:
            return None
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
