from typing import Any

from django.conf import settings
from django.http import HttpRequest

from landmark.orgs.account_mail import email_goes_to_console


def membership(request: HttpRequest) -> dict[str, Any]:
    current = getattr(request, "membership", None)
    return {
        "membership": current,
        "org": current.organization if current else None,
    }


def sign_up(request: HttpRequest) -> dict[str, Any]:
    """Whether public sign-up is open (SIGNUP_OPEN), so pages offer it only then, and
    whether emails are printed in the server's console (pages that say "check your
    email" then say where)."""
    return {
        "signup_open": bool(settings.SIGNUP_OPEN),
        "email_to_console": email_goes_to_console(),
    }
