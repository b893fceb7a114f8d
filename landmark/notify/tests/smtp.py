"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives: the tests'
mail server. Nothing leaves the machine."""

import asyncio
import email
import email.policy
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from landmark.tests.console import free_port


@dataclass
class Inbox:
    """What the server accepted, in order. `delay` seconds pass before each message
    is accepted (a slow server, so a worker can be killed mid-send). With
    `hold_after`, the server accepts that many messages, then keeps the next sender
    waiting at MAIL FROM (before any of its message is sent) until `release()`: a
    worker killed meanwhile is killed mid-send, however slow the machine."""

    port: int = 0
    delay: float = 0.0
    hold_after: int | None = None
    released: threading.Event = field(default_factory=threading.Event)
    messages: list[EmailMessage] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    arrived: threading.Condition = field(init=False)

    def __post_init__(self) -> None:
        self.arrived = threading.Condition(self.lock)

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:  # aiosmtpd's hook name
        while (
            self.hold_after is not None
            and len(self.snapshot()) >= self.hold_after
            and not self.released.is_set()
        ):
            await asyncio.sleep(0.05)
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    def release(self) -> None:
        self.released.set()

    async def handle_DATA(
        self, server: Any, session: Any, envelope: Any
    ) -> str:  # aiosmtpd's hook name
        if self.delay:
            await asyncio.sleep(self.delay)
        message = email.message_from_bytes(
            envelope.content, policy=email.policy.default
        )
        with self.arrived:
            self.messages.append(message)
            self.arrived.notify_all()
        return "250 Message accepted for delivery"

    def wait_for(self, count: int, timeout: float = 60) -> list[EmailMessage]:
        """Block until `count` messages are in (or the timeout passes); all of them."""
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.messages) >= count, timeout)
            return list(self.messages)

    def wait_until(
        self, done: Callable[[list[EmailMessage]], bool], timeout: float = 60
    ) -> list[EmailMessage]:
        """Block until `done(messages)` holds (or the timeout passes); all of them."""
        with self.arrived:
            self.arrived.wait_for(lambda: done(self.messages), timeout)
            return list(self.messages)

    def snapshot(self) -> list[EmailMessage]:
        with self.lock:
            return list(self.messages)

    @property
    def settings(self) -> dict[str, str]:
        """The environment that points Landmark's mail at this server."""
        return {
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(self.port),
            "EMAIL_USE_TLS": "0",
        }


@contextmanager
def smtp_server(delay: float = 0.0, hold_after: int | None = None) -> Iterator[Inbox]:
    for attempt in range(1, 6):
        inbox = Inbox(port=free_port(), delay=delay, hold_after=hold_after)
        controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port)
        try:
            controller.start()
            break
        except OSError:
            # The free port was taken before the server bound it (by another test's
            # server, or as the local end of an outgoing connection: a PostgreSQL run
            # opens many): another one.
            if attempt == 5:
                raise
    try:
        yield inbox
    finally:
        controller.stop()


def text_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None, "no text part"
    return str(part.get_content())


def html_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("html",))
    assert part is not None, "no HTML part"
    return str(part.get_content())
