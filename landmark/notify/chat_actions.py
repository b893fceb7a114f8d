"""Writes of chat rooms: added, changed, deleted, tested. Every address passes the
SSRF guard and Apprise's reading of the service's URL before it is saved."""

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction

from landmark.lib.encryption import Sealed
from landmark.notify.chat import ChatError, check_room_url, post, record
from landmark.notify.kinds import KINDS
from landmark.notify.models import ChatRoom
from landmark.orgs.models import Organization, Team

MAX_ROOMS = 50


def check_kinds(kinds: Iterable[str]) -> list[str]:
    chosen = sorted(set(kinds))
    unknown = [k for k in chosen if k not in KINDS]
    if unknown:
        raise ValidationError({"kinds": f"Unknown kinds: {', '.join(unknown)}."})
    if not chosen:
        raise ValidationError({"kinds": "Choose at least one kind of notification."})
    return chosen


def check_team(org: Organization, team: Team | None) -> None:
    if team is not None and team.organization_id != org.pk:
        raise ValidationError({"team": "That team does not exist."})


@transaction.atomic
def save_room(
    *,
    org: Organization,
    room: ChatRoom | None,
    name: str,
    service: str,
    url: str,
    kinds: Iterable[str],
    team: Team | None = None,
    is_active: bool = True,
) -> ChatRoom:
    """Add a room (room None) or change one; an empty `url` keeps the stored one
    (the service must then stay the same)."""
    errors: dict[str, list[str]] = {}
    name = name.strip()
    if not name:
        errors["name"] = ["Name the room (as your team knows it)."]
    if service not in ChatRoom.Service.values:
        errors["service"] = ["Choose the chat service."]
    kept = room is not None and not url.strip()
    if kept and room is not None and service != room.service:
        errors["url"] = ["Paste the new service's webhook address."]
    for check in (
        lambda: check_kinds(kinds),
        lambda: check_team(org, team),
        lambda: None if kept or "service" in errors else check_room_url(service, url),
    ):
        try:
            check()
        except ValidationError as error:
            for field, messages in error.message_dict.items():
                errors.setdefault(field, []).extend(messages)
    if errors:
        raise ValidationError(errors)
    if room is None:
        if ChatRoom.objects.filter(organization=org).count() >= MAX_ROOMS:
            raise ValidationError(f"An organization has at most {MAX_ROOMS} rooms.")
        room = ChatRoom(organization=org)
    room.name = name[:100]
    room.service = service
    room.team = team
    room.kinds = check_kinds(kinds)
    room.is_active = is_active
    if not kept:
        room.url = Sealed.seal(url.strip())
    room.save()
    return room


@transaction.atomic
def delete_room(*, room: ChatRoom) -> None:
    room.delete()


def send_test(*, room: ChatRoom) -> str:
    """Post a test message now (an admin's button: bounded by OUTBOUND_TIMEOUT); the
    error in plain words, or "" when it went through."""
    try:
        post(
            room,
            title=f"[{room.organization.name}] Test message from Landmark",
            body=f"Landmark will post notifications in {room.name} here.",
        )
    except ChatError as error:
        record(room, str(error))
        return str(error)
    record(room)
    return ""
