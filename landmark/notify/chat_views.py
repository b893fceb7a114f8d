"""Chat room pages (Settings → Chat): admins add the organization's and teams' rooms,
choose the kinds each takes, send a test message."""

from typing import Any

from django import forms
from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from landmark.lib.forms import limit_choices, run_action
from landmark.notify import chat_actions
from landmark.notify.chat import EXAMPLES
from landmark.notify.kinds import KINDS
from landmark.notify.models import ChatRoom
from landmark.orgs.access import member_required, membership_of, require_admin
from landmark.orgs.models import Membership, Team


class RoomForm(forms.Form):
    name = forms.CharField(max_length=100, label="Room name")
    service = forms.ChoiceField(choices=ChatRoom.Service.choices, label="Service")
    url = forms.CharField(
        max_length=1000,
        required=False,
        label="Incoming webhook address",
        help_text="From the service's incoming-webhook (or Workflows) settings. Kept "
        "encrypted; never shown again.",
        widget=forms.PasswordInput(render_value=False),
    )
    team = forms.ModelChoiceField(
        queryset=Team.objects.none(),
        required=False,
        label="Team",
        empty_label="The whole organization",
        help_text="A team's room gets notifications of the team's members only.",
    )
    kinds = forms.MultipleChoiceField(
        choices=[(k.key, k.label) for k in KINDS.values()],
        widget=forms.CheckboxSelectMultiple,
        label="Post these notifications",
    )
    is_active = forms.BooleanField(required=False, initial=True, label="Active")

    def __init__(self, *args: Any, membership: Membership, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        limit_choices(
            self, "team", Team.objects.filter(organization=membership.organization)
        )


def get_room_for_admin(membership: Membership, pk: int) -> ChatRoom:
    room = get_object_or_404(
        ChatRoom.objects.select_related("organization"),
        pk=pk,
        organization_id=membership.organization_id,
    )
    require_admin(membership)
    return room


def save(form: RoomForm, membership: Membership, room: ChatRoom | None) -> Any:
    with transaction.atomic():
        return run_action(
            form,
            chat_actions.save_room,
            org=membership.organization,
            room=room,
            name=form.cleaned_data["name"],
            service=form.cleaned_data["service"],
            url=form.cleaned_data["url"],
            kinds=form.cleaned_data["kinds"],
            team=form.cleaned_data["team"],
            is_active=form.cleaned_data["is_active"],
        )


@require_http_methods(["GET", "POST"])
@member_required
def chat_rooms(request: HttpRequest) -> HttpResponse:
    membership = membership_of(request)
    require_admin(membership)
    form = RoomForm(request.POST or None, membership=membership)
    if request.method == "POST" and form.is_valid():
        room = save(form, membership, None)
        if room is not None:
            messages.success(request, f"Room {room.name} added.")
            return redirect("chat_room", room.pk)
    rooms = ChatRoom.objects.filter(
        organization=membership.organization
    ).select_related("team")
    return render(
        request,
        "notify/chat_rooms.html",
        {"form": form, "rooms": rooms, "kinds": KINDS, "examples": EXAMPLES},
    )


@require_http_methods(["GET", "POST"])
@member_required
def chat_room(request: HttpRequest, pk: int) -> HttpResponse:
    membership = membership_of(request)
    room = get_room_for_admin(membership, pk)
    form = RoomForm(
        request.POST or None,
        membership=membership,
        initial={
            "name": room.name,
            "service": room.service,
            "team": room.team_id,
            "kinds": room.kinds,
            "is_active": room.is_active,
        },
    )
    form.fields["url"].help_text = "Leave empty to keep the stored address."
    if request.method == "POST" and form.is_valid():
        if save(form, membership, room) is not None:
            messages.success(request, f"Room {room.name} saved.")
            return redirect("chat_room", room.pk)
        room.refresh_from_db()
    return render(
        request,
        "notify/chat_room.html",
        {"form": form, "room": room, "examples": EXAMPLES},
    )


@require_POST
@member_required
def chat_room_delete(request: HttpRequest, pk: int) -> HttpResponse:
    room = get_room_for_admin(membership_of(request), pk)
    chat_actions.delete_room(room=room)
    messages.success(request, f"Room {room.name} deleted.")
    return redirect("chat_rooms")


@require_POST
@member_required
def chat_room_test(request: HttpRequest, pk: int) -> HttpResponse:
    room = get_room_for_admin(membership_of(request), pk)
    error = chat_actions.send_test(room=room)
    if error:
        messages.error(request, f"The test message did not go through: {error}")
    else:
        messages.success(request, f"Test message posted in {room.name}.")
    return redirect("chat_room", room.pk)
