"""Chat rooms as a notification channel, through Apprise: Slack, Microsoft Teams
(Workflows), Google Chat, Mattermost and any URL that takes JSON.

An admin pastes the incoming-webhook URL the service gave them; Landmark keeps it
encrypted and turns it into Apprise's URL for the service when it posts. Apprise does
its own HTTP, so the SSRF guard (landmark.lib.outbound) checks the pasted URL before
every post: its scheme, and every address its host resolves to (no private, local or
metadata address unless OUTBOUND_ALLOWED_HOSTS allows it); the address Apprise then
connects to comes from its own lookup a moment later (docs/notifications.md).

The channel ("chat") posts each notification, with its recipient's name, in the
active rooms of the organization that chose its kind: the organization's rooms, and
the rooms of the teams the recipient belongs to. A person who turns "Chat" off for a
kind on their notification settings is not posted about for that kind.

A room is wider than the person notified: whoever reads the channel. A notification
about a private KPI or objective (its link names one) is posted in a room only as far
as the room's audience may see it, by the rule of `landmark.orgs.access.visible_q`
for the room: public items in every room, a team's private items in that team's room
too. Elsewhere the room gets "a notification for <person>" and the link, nothing of
the item.
"""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import parse_qsl, quote, urlsplit

import apprise
from django.core.exceptions import ValidationError
from django.urls import Resolver404, resolve
from django.utils import timezone

from landmark.kpis.models import KPI
from landmark.lib import outbound
from landmark.notify.channels import absolute, path_of, register_channel
from landmark.notify.models import ChatPost, ChatRoom, Delivery, Notification
from landmark.okrs.models import Objective
from landmark.orgs.access import PUBLIC
from landmark.orgs.models import TeamMember

logger = logging.getLogger(__name__)

# The Apprise plugin each service must parse to (a Slack room given a Teams URL is
# refused when saved).
PLUGINS = {
    ChatRoom.Service.SLACK: "NotifySlack",
    ChatRoom.Service.TEAMS: "NotifyWorkflows",
    ChatRoom.Service.GOOGLE_CHAT: "NotifyGoogleChat",
    ChatRoom.Service.MATTERMOST: "NotifyMattermost",
    ChatRoom.Service.JSON: "NotifyJSON",
}
EXAMPLES = {
    ChatRoom.Service.SLACK: "https://hooks.slack.com/services/T…/B…/…",
    ChatRoom.Service.TEAMS: "https://….logic.azure.com/workflows/…/triggers/manual/paths/invoke?…",
    ChatRoom.Service.GOOGLE_CHAT: "https://chat.googleapis.com/v1/spaces/…/messages?key=…&token=…",
    ChatRoom.Service.MATTERMOST: "https://mattermost.example.com/hooks/…",
    ChatRoom.Service.JSON: "https://example.com/landmark",
}


class ChatError(Exception):
    """A post that did not go through, in plain words."""


def apprise_url(service: str, url: str) -> str:
    """Apprise's URL for the webhook URL a service gave."""
    parts = urlsplit(url)
    secure = parts.scheme == "https"
    netloc = parts.netloc
    if service == ChatRoom.Service.MATTERMOST:
        prefix, hooks, token = parts.path.rpartition("/hooks/")
        if not hooks or not token.strip("/"):
            raise ValidationError(
                {"url": "A Mattermost incoming webhook ends in /hooks/ and its key."}
            )
        scheme = "mmosts" if secure else "mmost"
        return f"{scheme}://{netloc}{prefix}/{token.strip('/')}"
    if service == ChatRoom.Service.JSON:
        scheme = "jsons" if secure else "json"
        # Query arguments go along as Apprise's "-name=value" (its own are plain).
        query = "&".join(
            f"-{quote(k, safe='')}={quote(v, safe='')}"
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
        )
        return f"{scheme}://{netloc}{parts.path or '/'}" + (
            f"?{query}" if query else ""
        )
    return url  # Slack, Teams and Google Chat: Apprise reads their own URLs


def plugin_for(service: str, url: str) -> object:
    try:
        made = apprise.Apprise.instantiate(apprise_url(service, url))
    except ValidationError:
        raise
    except Exception:  # Apprise refuses what it cannot read
        made = None
    if made is None or type(made).__name__ != PLUGINS[ChatRoom.Service(service)]:
        label = ChatRoom.Service(service).label
        raise ValidationError(
            {
                "url": f"This is not a {label} webhook address; it looks like "
                f"{EXAMPLES[ChatRoom.Service(service)]}"
            }
        )
    return made


def check_room_url(service: str, url: str) -> str:
    """The URL, once the SSRF guard and Apprise accept it for this service."""
    url = url.strip()
    if not url:
        raise ValidationError({"url": "Paste the room's incoming webhook address."})
    if len(url) > 1000:
        raise ValidationError({"url": "Keep the address under 1,000 characters."})
    try:
        outbound.check_url(url)
    except outbound.Refused as refused:
        raise ValidationError({"url": refused.reason}) from None
    plugin_for(service, url)
    return url


def post(room: ChatRoom, *, title: str, body: str) -> None:
    """Post one message in a room; ChatError says why it did not go."""
    if room.url is None:
        raise ChatError("The room has no address.")
    url = room.url.reveal()
    try:
        outbound.check_url(url)  # again: the name may resolve elsewhere today
    except outbound.Refused as refused:
        raise ChatError(refused.reason) from None
    sender = apprise.Apprise()
    sender.add(apprise_url(room.service, url))
    with apprise.LogCapture(level=logging.WARNING) as captured:  # type: ignore[no-untyped-call]  # Apprise leaves it untyped
        ok = sender.notify(title=title, body=body)
    if not ok:
        said = [
            line.strip() for line in captured.getvalue().splitlines() if line.strip()
        ]
        raise ChatError(said[-1][:500] if said else "The chat service refused it.")


def record(room: ChatRoom, error: str = "") -> None:
    now = timezone.now()
    if error:
        ChatRoom.objects.filter(pk=room.pk).update(last_error=error, last_error_at=now)
    else:
        ChatRoom.objects.filter(pk=room.pk).update(last_sent_at=now, last_error="")


# Pages whose `pk` is a KPI's or an objective's: a notification linking to one is
# about that item.
ITEM_PAGES = {
    "kpi": KPI,
    "connector_settings": KPI,
    "objective": Objective,
}


def item_team(notification: Notification) -> tuple[bool, int | None] | None:
    """(public?, team) of the KPI or objective the notification links to; None when
    it links to no such item."""
    try:
        match = resolve(urlsplit(notification.url).path)
    except Resolver404:
        return None
    model = ITEM_PAGES.get(match.url_name or "")
    if model is None or "pk" not in match.kwargs:
        return None
    row = (
        model._default_manager.filter(
            organization_id=notification.organization_id, pk=match.kwargs["pk"]
        )
        .values("visibility", "team_id")
        .first()
    )
    if row is None:  # gone: nothing of it to tell
        return (False, None)
    return (row["visibility"] == PUBLIC, row["team_id"])


def room_may_see(room: ChatRoom, item: tuple[bool, int | None] | None) -> bool:
    if item is None:
        return True
    public, team = item
    return public or (room.team_id is not None and team == room.team_id)


def message_of(notification: Notification, *, full: bool = True) -> tuple[str, str]:
    """A room's message: the title, whom it is for, its text and a link (never the
    items it lists: a room is wider than its recipient). Not `full`: whom it is for
    and the link only (the item is private to people the room may not hold)."""
    name = notification.recipient.display_name
    link = absolute(notification.url or path_of("notifications"))
    org = notification.organization.name
    if not full:
        return f"[{org}] A notification for {name}", f"For {name}.\n{link}"
    lines = [f"For {name}."]
    if notification.body:
        lines.append(notification.body)
    lines.append(link)
    return f"[{org}] {notification.title}", "\n".join(lines)


def rooms_for(notification: Notification) -> list[ChatRoom]:
    teams = set(
        TeamMember.objects.filter(
            organization_id=notification.organization_id,
            user_id=notification.recipient_id,
        ).values_list("team_id", flat=True)
    )
    posted = set(
        ChatPost.objects.filter(notification=notification).values_list(
            "room_id", flat=True
        )
    )
    return [
        room
        for room in ChatRoom.objects.filter(
            organization_id=notification.organization_id, is_active=True
        )
        if notification.kind in room.kinds
        and (room.team_id is None or room.team_id in teams)
        and room.pk not in posted
    ]


class ChatSender:
    def send(self, delivery: Delivery) -> None:
        notification = delivery.notification
        item = item_team(notification)
        errors = []
        for room in rooms_for(notification):
            title, body = message_of(notification, full=room_may_see(room, item))
            try:
                post(room, title=title, body=body)
            except ChatError as error:
                record(room, str(error))
                errors.append(f"{room.name}: {error}")
                continue
            ChatPost.objects.get_or_create(
                organization_id=notification.organization_id,
                room=room,
                notification=notification,
            )
            record(room)
        if errors:  # the delivery is retried; the rooms that have it are skipped
            raise ChatError("; ".join(errors))


class ChatChannel:
    """Posts in the organization's chat rooms (notify.models.ChatRoom)."""

    key = "chat"
    label = "Chat"
    # Kinds are on for chat unless the person turns them off: rooms choose what they
    # take, and a person chooses whether they are posted about.
    on_by_default = True

    @contextmanager
    def session(self) -> Iterator[ChatSender]:
        yield ChatSender()

    def kinds_taken(self, organization_id: int) -> set[str]:
        """The kinds some active room of the organization takes (a notification of
        another kind gets no chat delivery at all)."""
        taken: set[str] = set()
        for kinds in ChatRoom.objects.filter(
            organization_id=organization_id, is_active=True
        ).values_list("kinds", flat=True):
            taken.update(kinds)
        return taken


register_channel(ChatChannel())
