from typing import Any

from django.conf import settings
from django.http import HttpRequest


def membership(request: HttpRequest) -> dict[str, Any]:
    current = getattr(request, "membership", None)
    return {
        "membership": current,
        "org": current.organization if current else None,
    }


def sign_up(request: HttpRequest) -> dict[str, Any]:
    """Whether public sign-up is open (SIGNUP_OPEN), so pages offer it only then."""
    return {"signup_open": bool(settings.SIGNUP_OPEN)}
