"""Small request helpers shared by every app's views."""

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from landmark.orgs.models import Membership

View = TypeVar("View", bound=Callable[..., HttpResponse])


def is_partial(request: HttpRequest) -> bool:
    """True when htmx asked for a fragment rather than a whole page."""
    return bool(getattr(request, "htmx", False)) and not request.headers.get(
        "HX-Boosted"
    )


def membership_of(request: HttpRequest) -> Membership:
    current: Membership | None = getattr(request, "membership", None)
    if current is None:
        raise PermissionDenied("You are not a member of any organization.")
    return current


def member_required(view: View) -> View:
    """Log in first; then the user must belong to an organization."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        membership_of(request)
        return view(request, *args, **kwargs)

    return wrapper  # type: ignore[return-value]  # wraps keeps the signature
