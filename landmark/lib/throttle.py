"""Sliding-window throttling of failures: pure time arithmetic, no storage."""

import math
from collections.abc import Iterable
from datetime import datetime, timedelta


def locked_until(
    failures: Iterable[datetime], *, limit: int, window: timedelta, now: datetime
) -> datetime | None:
    """When someone with these failure times may try again, or None if they may now.

    At most `limit` failures are allowed within any `window`: once `limit` of them lie
    within the last `window`, the next try waits until the oldest of the `limit` most
    recent failures is `window` old. (Tries refused meanwhile are not failures: they
    never reach the check that could fail.)
    """
    if limit < 1:
        raise ValueError(f"A failure limit must be at least 1, not {limit}.")
    recent = sorted((at for at in failures if at > now - window), reverse=True)
    if len(recent) < limit:
        return None
    return recent[limit - 1] + window


def seconds_until(moment: datetime, *, now: datetime) -> int:
    """Whole seconds from `now` until `moment`, rounded up, at least 1: the value of a
    Retry-After header."""
    return max(1, math.ceil((moment - now).total_seconds()))
