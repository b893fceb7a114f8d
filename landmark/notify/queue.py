"""The queue side of sending: deliveries go out after the change that made them
commits, on a worker, never in the web request."""

from collections.abc import Iterable, Sequence
from typing import Any

from django.db import transaction
from huey.contrib.djhuey import db_task

from landmark.notify.delivery import deliver

CHUNK = 50


def send_deliveries(channel: str, notification_ids: list[int]) -> None:
    """Send these notifications' deliveries on `channel` (those still due)."""
    deliver(channel=channel, notification_ids=notification_ids)


# Calling it enqueues; a worker runs it (huey's TaskWrapper, untyped).
deliver_task: Any = db_task(name="notify.deliver", retries=3, retry_delay=10)(
    send_deliveries
)


def send_after_commit(notification_ids: Sequence[int], channels: Iterable[str]) -> None:
    """Enqueue the sending once the current transaction commits. If the queue cannot
    be reached then, the error is logged and the `deliveries` job sends them later:
    the deliveries are already safe in the database."""
    ids = list(notification_ids)
    wanted = sorted(set(channels))
    if not ids or not wanted:
        return

    def enqueue() -> None:
        for channel in wanted:
            for start in range(0, len(ids), CHUNK):
                deliver_task(channel, ids[start : start + CHUNK])

    transaction.on_commit(enqueue, robust=True)
