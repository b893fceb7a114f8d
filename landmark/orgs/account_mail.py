"""What allauth's account emails and "check your email" page need from Landmark.

allauth names the sender of its emails after `get_current_site()`: without
django.contrib.sites that is a RequestSite whose name *and* domain are the request's
host, hence "Hello from 127.0.0.1:8101!". Landmark passes its own site instead
(`landmark_site`): the product's name and the address people open it at, plus the
organization the person belongs to when there is one. Every account email also gets
an HTML part built from its text (`html_body`), in the same plain branded layout
as the notification emails.
"""

import re
from dataclasses import dataclass
from html import escape

from django.conf import settings
from django.http import HttpRequest

# The address the visitor signed up with (or tried to log in with, unverified): the
# "check your email" page names it and can send the link again.
PENDING_EMAIL_KEY = "landmark_pending_email"
CONSOLE_BACKEND = "django.core.mail.backends.console.EmailBackend"
URL = re.compile(r"https?://\S+")


@dataclass(frozen=True)
class LandmarkSite:
    """Stands in for django.contrib.sites' Site in allauth's email templates."""

    name: str
    domain: str  # the base address, e.g. https://okr.example.com


def landmark_site(request: HttpRequest | None) -> LandmarkSite:
    base = (
        request.build_absolute_uri("/").rstrip("/")
        if request is not None
        else settings.SITE_URL
    )
    return LandmarkSite(name="Landmark", domain=base)


def email_goes_to_console() -> bool:
    """Whether sent emails are printed by the server (the default, and `landmark
    demo`) instead of delivered: pages then say where to find them."""
    return bool(settings.EMAIL_BACKEND == CONSOLE_BACKEND)


def html_body(subject: str, text: str) -> str:
    """The HTML part of an account email, from its text: paragraphs kept, a line that
    is only a link turned into a button, every other link clickable."""
    parts = [
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>'
        f"{escape(subject)}</title></head>\n"
        "<body style=\"font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; "
        "color: #1d2430; line-height: 1.5; max-width: 600px; margin: 0 auto; "
        'padding: 16px;">\n'
        '<p style="font-weight: 700; font-size: 18px; margin: 0 0 16px;">'
        "◆ Landmark</p>\n"
    ]
    for block in re.split(r"\n\s*\n", text.strip()):
        lines = [line.strip() for line in block.splitlines() if line.strip()]
        if len(lines) == 1 and URL.fullmatch(lines[0]):
            url = escape(lines[0])
            parts.append(
                f'<p><a href="{url}" style="display: inline-block; background: '
                "#2f5bea; color: #ffffff; padding: 8px 14px; border-radius: 6px; "
                f'text-decoration: none;">Open the link</a><br><span style="color: '
                f'#667085; font-size: 13px;">{url}</span></p>\n'
            )
            continue
        html_lines = [link_urls(line) for line in lines]
        style = ""
        if lines and lines[0].startswith("—"):
            style = ' style="color: #667085; font-size: 13px;"'
        parts.append(f"<p{style}>{'<br>'.join(html_lines)}</p>\n")
    parts.append("</body></html>\n")
    return "".join(parts)


def link_urls(line: str) -> str:
    out, last = [], 0
    for match in URL.finditer(line):
        out.append(escape(line[last : match.start()]))
        url = escape(match.group(0))
        out.append(f'<a href="{url}" style="color: #2f5bea;">{url}</a>')
        last = match.end()
    out.append(escape(line[last:]))
    return "".join(out)
