"""The queue side of webhooks: deliveries go out after the change that made them
commits, on a worker, never in the web request."""

from collections.abc import Sequence
from typing import Any

from huey.contrib.djhuey import db_task

from landmark.hooks.sending import send_due


def send_deliveries(ids: Sequence[int]) -> None:
    send_due(ids=ids)


# Calling it enqueues; a worker runs it (huey's TaskWrapper, untyped). If the queue
# cannot be reached, the `webhooks` job sends the deliveries within a minute.
send_task: Any = db_task(name="hooks.send", retries=3, retry_delay=10)(send_deliveries)
