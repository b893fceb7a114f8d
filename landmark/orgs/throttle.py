"""Throttling of two-factor codes, and the "try again at …" page shared with passwords.

A wrong authenticator or recovery code is a CodeFailure row (actions.record_code_failure).
Code entry is refused (HTTP 429 with Retry-After) while, within CODE_COOLOFF_TIME:

- CODE_FAILURE_LIMIT wrong codes came for the account from this address (the pair, as
  django-axes counts passwords: someone elsewhere is not locked out), or
- CODE_ACCOUNT_FAILURE_LIMIT wrong codes came for the account from all addresses
  together (reaching the code step needs the password, so whoever spreads guesses over
  many addresses already knows it; the account's codes are then refused everywhere).

A refused try is not checked at all, so even the right code waits.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from allauth.account.adapter import get_adapter
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from landmark.lib.throttle import locked_until, seconds_until
from landmark.orgs.models import CodeFailure, User


@dataclass(frozen=True)
class Lock:
    until: datetime
    everywhere: bool  # the account's own limit (all addresses), not just this pair


UNKNOWN_ADDRESS = "0.0.0.0"  # noqa: S104  # a bucket for requests without one, not a bind


def client_ip(request: HttpRequest) -> str | None:
    """The caller's address as allauth reads it (TRUSTED_PROXY_COUNT aware), or None
    when the request has none (Django's test client logging in directly)."""
    try:
        return str(get_adapter(request).get_client_ip(request))
    except PermissionDenied:
        return None


def code_lock(user: User, ip_address: str) -> Lock | None:
    """Whether (and until when) `user`'s codes are refused from `ip_address`."""
    now = timezone.now()
    window = settings.CODE_COOLOFF_TIME
    rows = list(
        CodeFailure.objects.filter(user=user, at__gt=now - window).values_list(
            "ip_address", "at"
        )
    )
    pair = locked_until(
        (at for ip, at in rows if ip == ip_address),
        limit=settings.CODE_FAILURE_LIMIT,
        window=window,
        now=now,
    )
    account = locked_until(
        (at for _, at in rows),
        limit=settings.CODE_ACCOUNT_FAILURE_LIMIT,
        window=window,
        now=now,
    )
    if account is not None and (pair is None or account >= pair):
        return Lock(until=account, everywhere=True)
    if pair is not None:
        return Lock(until=pair, everywhere=False)
    return None


def locked_out_response(
    request: HttpRequest, *, until: datetime, kind: str, everywhere: bool = False
) -> HttpResponse:
    """The plain 429 page: what was refused, until when, and Retry-After."""
    now = timezone.now()
    response = render(
        request,
        "registration/locked_out.html",
        {
            "kind": kind,
            "until": timezone.localtime(until),
            "minutes": -(-seconds_until(until, now=now) // 60),
            "everywhere": everywhere,
        },
        status=429,
    )
    response["Retry-After"] = str(seconds_until(until, now=now))
    return response


def code_lockout_response(request: HttpRequest, lock: Lock) -> HttpResponse:
    return locked_out_response(
        request, until=lock.until, kind="codes", everywhere=lock.everywhere
    )


def password_lockout_response(
    request: HttpRequest, original_response: Any = None, credentials: Any = None
) -> HttpResponse:
    """django-axes' lockout answer (AXES_LOCKOUT_CALLABLE). Every try during the lock
    counts as a failure for django-axes and so starts the cool-off again: the wait is
    the whole cool-off from now."""
    until = timezone.now() + settings.AXES_COOLOFF_TIME
    return locked_out_response(request, until=until, kind="passwords")
