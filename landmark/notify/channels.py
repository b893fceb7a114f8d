"""Outside channels: how a notification leaves Landmark.

A channel opens a session (one SMTP connection, one HTTP client) and sends deliveries
through it one by one; `send` raises on failure, and the delivery engine
(landmark/notify/delivery.py) records the error and retries later. Channels register
in CHANNELS; in-app notifications are not a channel: every notification is in the app.
"""

import hashlib
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from email.utils import formataddr
from functools import lru_cache
from html import escape
from typing import Protocol

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives, get_connection
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


@lru_cache(maxsize=16)
def path_of(name: str) -> str:
    """A page without arguments (the same for every email)."""
    return reverse(name)


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


@dataclass(frozen=True)
class EmailContent:
    """What one notification's email says, every link absolute."""

    greeting: str
    title: str
    body: str
    items: list[dict[str, str]]
    more_items: int
    url: str
    footer: str
    unsubscribe_url: str
    settings_url: str


def email_content(notification: Notification) -> EmailContent:
    recipient = notification.recipient
    kind = KINDS.get(notification.kind)
    token = unsubscribe_token(
        user_id=recipient.pk,
        organization_id=notification.organization_id,
        kind=notification.kind,
    )
    return EmailContent(
        greeting=f"Hello {recipient.display_name},",
        title=notification.title,
        body=notification.body,
        items=[
            {
                "title": str(item.get("title", "")),
                "url": absolute(str(item.get("url", ""))),
                "detail": str(item.get("detail", "")),
                # Items may come under headings (the weekly digest's sections).
                "section": str(item.get("section", "")),
            }
            for item in notification.items
        ],
        more_items=notification.more_items,
        url=absolute(notification.url or path_of("notifications")),
        footer=(
            f"{kind.label if kind else notification.kind} from "
            f"{notification.organization.name} on Landmark."
        ),
        unsubscribe_url=absolute(reverse("unsubscribe", args=[token])),
        settings_url=absolute(path_of("notification_settings")),
    )


def email_text(content: EmailContent) -> str:
    lines = [content.greeting, "", content.title]
    if content.body:
        lines += ["", content.body]
    if content.items:
        lines.append("")
    section = ""
    for item in content.items:
        if item["section"] != section:
            section = item["section"]
            lines += ["", section, "-" * len(section)]
        detail = f" ({item['detail']})" if item["detail"] else ""
        lines += [f"- {item['title']}{detail}", f"  {item['url']}"]
    if content.more_items:
        lines.append(f"- and {content.more_items} more")
    lines += [
        "",
        f"Open in Landmark: {content.url}",
        "",
        "--",
        content.footer,
        f"Stop these emails: {content.unsubscribe_url}",
        f"Choose what you receive: {content.settings_url}",
        "",
    ]
    return "\n".join(lines)


# The HTML email: every value escaped with the standard library's html.escape (what
# Django's format_html does, without its lazy-string machinery, which cost more than
# the rest of sending an email: bench/bench_reminders.py).
MUTED = "color: #6b7280;"
HTML_HEAD = (
    '<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>{title}'
    "</title></head>\n<body style=\"font-family: system-ui, -apple-system, 'Segoe UI', "
    "sans-serif; color: #111827; line-height: 1.5; max-width: 600px; margin: 0 auto; "
    'padding: 16px;">\n<p>{greeting}</p>\n'
    '<h1 style="font-size: 20px; margin: 16px 0 8px;">{title}</h1>\n'
)
HTML_ITEM = (
    '<li style="margin: 6px 0;"><a href="{url}" style="color: #2563eb;">{title}</a>'
    '<br><span style="' + MUTED + ' font-size: 14px;">{detail}</span></li>\n'
)
HTML_SECTION = (
    '</ul>\n<h2 style="font-size: 16px; margin: 16px 0 4px;">{section}</h2>\n'
    '<ul style="padding-left: 20px;">\n'
)
HTML_FOOT = (
    '<p><a href="{url}" style="display: inline-block; background: #2563eb; color: '
    '#ffffff; padding: 8px 14px; border-radius: 6px; text-decoration: none;">Open in '
    "Landmark</a></p>\n"
    '<hr style="border: none; border-top: 1px solid #e5e7eb; margin: 24px 0 12px;">\n'
    '<p style="' + MUTED + ' font-size: 13px;">{footer} <a href="{unsubscribe}" '
    'style="'
    + MUTED
    + '">Stop these emails</a> · <a href="{settings}" style="'
    + MUTED
    + '">Choose what you receive</a></p>\n</body></html>\n'
)


def email_html(content: EmailContent) -> str:
    parts = [
        HTML_HEAD.format(title=escape(content.title), greeting=escape(content.greeting))
    ]
    if content.body:
        parts.append(f"<p>{escape(content.body)}</p>\n")
    if content.items:
        parts.append('<ul style="padding-left: 20px;">\n')
        section = ""
        for item in content.items:
            if item["section"] != section:
                section = item["section"]
                parts.append(HTML_SECTION.format(section=escape(section)))
            parts.append(
                HTML_ITEM.format(
                    url=escape(item["url"]),
                    title=escape(item["title"]),
                    detail=escape(item["detail"]),
                )
            )
        if content.more_items:
            parts.append(
                f'<li style="margin: 6px 0; {MUTED}">and {content.more_items:d} more</li>\n'
            )
        parts.append("</ul>\n")
    parts.append(
        HTML_FOOT.format(
            url=escape(content.url),
            footer=escape(content.footer),
            unsubscribe=escape(content.unsubscribe_url),
            settings=escape(content.settings_url),
        )
    )
    return "".join(parts)


def email_message(notification: Notification) -> EmailMultiAlternatives:
    """The email of a notification: text and HTML, with a one-click unsubscribe."""
    recipient = notification.recipient
    content = email_content(notification)
    message = EmailMultiAlternatives(
        subject=f"[{notification.organization.name}] {notification.title}",
        body=email_text(content),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[formataddr((recipient.full_name, recipient.email))],
        headers={
            "Message-ID": message_id(notification),
            "List-Unsubscribe": f"<{content.unsubscribe_url}>",
            # RFC 8058: mail providers POST here to unsubscribe in one click.
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Auto-Submitted": "auto-generated",
        },
    )
    message.attach_alternative(email_html(content), "text/html")
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
