"""Outside channels: how a notification leaves Landmark.

A channel opens a session (one SMTP connection, one HTTP client) and sends deliveries
through it one by one; `send` raises on failure, and the delivery engine
(landmark/notify/delivery.py) records the error and retries later. Channels register
in CHANNELS; in-app notifications are not a channel: every notification is in the app.
"""

import hashlib
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from email.utils import formataddr
from typing import Protocol

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives, get_connection
from django.template.loader import render_to_string
from django.urls import reverse

from landmark.notify.kinds import KINDS
from landmark.notify.models import Delivery, Notification

UNSUBSCRIBE_SALT = "landmark.notify.unsubscribe"


class Sender(Protocol):
    def send(self, delivery: Delivery) -> None:
        """Send one delivery (its notification, recipient and organization are
        loaded); raise on failure."""


class Channel(Protocol):
    key: str
    label: str

    def session(self) -> AbstractContextManager[Sender]:
        """Open the channel; yield a Sender; close it."""


CHANNELS: dict[str, Channel] = {}


def register_channel(channel: Channel) -> Channel:
    if channel.key in CHANNELS:
        raise ValueError(f"A channel {channel.key!r} is already registered.")
    CHANNELS[channel.key] = channel
    return channel


def absolute(path: str) -> str:
    """A link for outside the app (emails are read away from any request)."""
    if path.startswith(("http://", "https://")):
        return path
    return f"{settings.SITE_URL}{path}"


def unsubscribe_token(*, user_id: int, organization_id: int, kind: str) -> str:
    """The signed token of a one-click unsubscribe link: this person, in this
    organization, stops receiving this kind by email. Signed with SECRET_KEY, so only
    Landmark makes them; it names no address."""
    return signing.dumps(
        {"u": user_id, "o": organization_id, "k": kind, "c": "email"},
        salt=UNSUBSCRIBE_SALT,
        compress=True,
    )


def read_unsubscribe_token(token: str) -> dict[str, object] | None:
    try:
        data = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or set(data) != {"u", "o", "k", "c"}:
        return None
    return data


def message_id(notification: Notification) -> str:
    """A Message-ID made from the dedupe key: if a send is ever repeated (a worker
    killed between the server's acceptance and recording it), both copies carry the
    same id, which mail clients treat as one message."""
    digest = hashlib.sha256(notification.dedupe_key.encode()).hexdigest()[:40]
    domain = str(settings.DEFAULT_FROM_EMAIL).rpartition("@")[2] or "landmark"
    return f"<{digest}@{domain.strip('>')}>"


def email_message(notification: Notification) -> EmailMultiAlternatives:
    """The email of a notification: text and HTML, with a one-click unsubscribe."""
    recipient = notification.recipient
    kind = KINDS.get(notification.kind)
    unsubscribe = absolute(
        reverse(
            "unsubscribe",
            args=[
                unsubscribe_token(
                    user_id=recipient.pk,
                    organization_id=notification.organization_id,
                    kind=notification.kind,
                )
            ],
        )
    )
    context = {
        "notification": notification,
        "recipient": recipient,
        "organization": notification.organization,
        "kind_label": kind.label if kind else notification.kind,
        "url": absolute(notification.url or reverse("notifications")),
        "items": [
            {**item, "url": absolute(str(item.get("url", "")))}
            for item in notification.items
        ],
        "unsubscribe_url": unsubscribe,
        "settings_url": absolute(reverse("notification_settings")),
    }
    text = render_to_string("notify/email/notification.txt", context)
    html = render_to_string("notify/email/notification.html", context)
    message = EmailMultiAlternatives(
        subject=f"{notification.title} · {notification.organization.name}",
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[formataddr((recipient.full_name, recipient.email))],
        headers={
            "Message-ID": message_id(notification),
            "List-Unsubscribe": f"<{unsubscribe}>",
            # RFC 8058: mail providers POST here to unsubscribe in one click.
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Auto-Submitted": "auto-generated",
        },
    )
    message.attach_alternative(html, "text/html")
    return message


class EmailSender:
    def __init__(self, connection: object) -> None:
        self.connection = connection

    def send(self, delivery: Delivery) -> None:
        message = email_message(delivery.notification)
        message.connection = self.connection
        if message.send() != 1:
            raise RuntimeError("The mail backend accepted no message.")


class EmailChannel:
    """Django's mail (EMAIL_BACKEND and the EMAIL_* settings), one connection for a
    batch of deliveries."""

    key = "email"
    label = "Email"

    @contextmanager
    def session(self) -> Iterator[EmailSender]:
        connection = get_connection(fail_silently=False)
        connection.open()
        try:
            yield EmailSender(connection)
        finally:
            connection.close()


register_channel(EmailChannel())
