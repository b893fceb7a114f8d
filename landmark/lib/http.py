"""Small request helpers shared by every app's views."""

from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme


def is_partial(request: HttpRequest) -> bool:
    """True when htmx asked for a fragment rather than a whole page."""
    return bool(getattr(request, "htmx", False)) and not request.headers.get(
        "HX-Boosted"
    )


def safe_next(request: HttpRequest) -> str:
    """The `next` address if it stays on this site (never an open redirect)."""
    target = request.POST.get("next", "")
    allowed = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return target if allowed else ""
