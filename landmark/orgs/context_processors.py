from typing import Any

from django.http import HttpRequest


def membership(request: HttpRequest) -> dict[str, Any]:
    current = getattr(request, "membership", None)
    return {
        "membership": current,
        "org": current.organization if current else None,
    }
