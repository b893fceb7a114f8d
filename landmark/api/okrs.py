"""okrs through the API."""

from ninja import Router

router = Router(tags=["okrs"])
