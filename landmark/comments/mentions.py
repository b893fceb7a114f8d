"""@mentions: who a comment names, by handle.

A member's handle is the part of their email address before the @, as in `@sam`
for sam@acme.com: unique in most organizations. When two members share it (sam@acme.com
and sam@example.org), `@sam` is refused as ambiguous and the full address mentions
either one: `@sam@example.org`. Handles are matched without regard to case. A handle
that names no active member of the organization is plain text (nobody is told), and
an @ inside a word (an email address in the text) is no mention.
"""

import re
from collections.abc import Callable, Iterable
from functools import reduce
from operator import or_

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

from landmark.orgs.models import Membership

MENTION = re.compile(
    r"(?<![\w@.+-])@([a-z0-9._%+-]+(?:@[a-z0-9-]+(?:\.[a-z0-9-]+)+)?)", re.IGNORECASE
)


def handle_of(email: str) -> str:
    return email.split("@", 1)[0].lower()


def handles_in(body: str) -> list[str]:
    """The handles a text names, lower-case, in order, each once."""
    found: dict[str, None] = {}
    for match in MENTION.finditer(body):
        handle = match.group(1).rstrip(".").lower()
        if handle:
            found[handle] = None
    return list(found)


def mentioned_members(org_id: int, body: str) -> list[Membership]:
    """The active members a text mentions (one query); an ambiguous short handle is
    a ValidationError on `body`."""
    handles = handles_in(body)
    if not handles:
        return []
    wanted: Iterable[Q] = (
        Q(user__email__iexact=h) if "@" in h else Q(user__email__istartswith=f"{h}@")
        for h in handles
    )
    members = list(
        Membership.objects.filter(
            reduce(or_, wanted),
            organization_id=org_id,
            is_active=True,
            user__is_active=True,
        )
        .select_related("user", "organization")
        # The same order every time: an ambiguous handle's message lists the
        # addresses alphabetically (without it, PostgreSQL's order varies).
        .order_by("user__email")
    )
    by_email = {m.user.email.lower(): m for m in members}
    by_handle: dict[str, list[Membership]] = {}
    for m in members:
        by_handle.setdefault(handle_of(m.user.email), []).append(m)
    chosen: dict[int, Membership] = {}
    for handle in handles:
        if "@" in handle:
            match = by_email.get(handle)
            if match is not None:
                chosen[match.user_id] = match
            continue
        matches = by_handle.get(handle, [])
        if len(matches) > 1:
            options = " or ".join(f"@{m.user.email}" for m in matches)
            raise ValidationError(
                {"body": f"@{handle} could be several people here: write {options}."}
            )
        if matches:
            chosen[matches[0].user_id] = matches[0]
    return list(chosen.values())


def mention_directory(org_id: int, bodies: Iterable[str]) -> dict[str, Membership]:
    """The members the texts' mentions name, by handle, for showing them (one query,
    none when nothing is mentioned). Unlike mentioned_members, an ambiguous short
    handle is no error here: it names nobody, so it is shown as plain text."""
    handles = {h for body in bodies for h in handles_in(body)}
    if not handles:
        return {}
    wanted: Iterable[Q] = (
        Q(user__email__iexact=h) if "@" in h else Q(user__email__istartswith=f"{h}@")
        for h in sorted(handles)
    )
    members = Membership.objects.filter(
        reduce(or_, wanted),
        organization_id=org_id,
        is_active=True,
        user__is_active=True,
    ).select_related("user")
    found: dict[str, Membership] = {}
    shared: set[str] = set()
    for m in members:
        email = m.user.email.lower()
        if email in handles:
            found[email] = m
        short = handle_of(email)
        if short in handles:
            if short in found and found[short].user_id != m.user_id:
                shared.add(short)
            found[short] = m
    for short in shared:
        del found[short]
    return found


def text_html(text: str) -> str:
    """Plain text as HTML: escaped, line breaks kept (what `linebreaksbr` does)."""
    return escape(text).replace("\n", "<br>")


def body_html(
    body: str,
    directory: dict[str, Membership],
    *,
    link: Callable[[Membership], str],
    me: int | None = None,
) -> SafeString:
    """A comment's text as HTML: every piece escaped, line breaks kept, and each
    mention of a member in `directory` a link (`link(member)`) marked as a mention,
    more strongly when it names `me` (a user id). Anything else, an @ of nobody
    included, stays text."""
    parts: list[str] = []
    start = 0
    for match in MENTION.finditer(body):
        handle = match.group(1).rstrip(".")
        member = directory.get(handle.lower())
        if member is None:
            continue
        end = match.start(1) + len(handle)
        parts.append(text_html(body[start : match.start()]))
        if member.user_id == me:
            parts.append(
                format_html(
                    '<a class="mention mention-me" href="{}" title="You">@{}</a>',
                    link(member),
                    handle,
                )
            )
        else:
            parts.append(
                format_html(
                    '<a class="mention" href="{}" title="{}">@{}</a>',
                    link(member),
                    member.user.display_name,
                    handle,
                )
            )
        start = end
    parts.append(text_html(body[start:]))
    return mark_safe("".join(parts))  # noqa: S308  # every part escaped above
