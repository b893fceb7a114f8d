"""The API's JSON: pydantic's own serializer (pydantic-core, compiled) instead of the
standard library's encoder with a Python `default` called for every date and number.

Dates and times are ISO 8601, UTC written `Z`, with their microseconds when they have
any (lossless: a time read from the API can be sent back and finds the same point);
decimals are strings.
"""

from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest
from ninja.renderers import BaseRenderer
from pydantic_core import to_json

_django = DjangoJSONEncoder()


def _fallback(value: Any) -> Any:
    """Types pydantic does not know (Django's lazy translations): as Django would."""
    return _django.default(value)


def render_json(data: Any) -> bytes:
    return to_json(data, fallback=_fallback)


class JSONRenderer(BaseRenderer):
    media_type = "application/json"

    def render(self, request: HttpRequest, data: Any, *, response_status: int) -> Any:
        return render_json(data)
