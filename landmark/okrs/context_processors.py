from collections.abc import Callable
from typing import Any

from django.http import HttpRequest

from landmark.okrs.access import focus_count as count_for


def focus_count(request: HttpRequest) -> dict[str, Callable[[], int]]:
    """The number beside "My focus" in the menu: key results awaiting the member's
    check-in this week. A callable, so a page without the menu runs no query, and a
    view that knows the number passes its own `focus_count`."""
    membership: Any = getattr(request, "membership", None)
    if membership is None:
        return {}
    return {"focus_count": lambda: count_for(membership)}
