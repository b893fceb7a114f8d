"""Notification pages: the inbox and its bell, a person's notification settings, the
one-click unsubscribe link, and the organization's and teams' reminder schedules."""

from typing import Any
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import (
    require_GET,
    require_http_methods,
    require_POST,
)

from landmark.kpis.access import get_kpi_for_member
from landmark.lib.bounds import parse_id
from landmark.lib.http import is_partial
from landmark.notify import actions
from landmark.notify.access import get_notification_for_member
from landmark.notify.channels import CHANNELS, read_unsubscribe_token
from landmark.notify.digest import schedule_of
from landmark.notify.forms import (
    PreferencesForm,
    ReminderSettingsForm,
    TeamCadenceForm,
    preference_field,
)
from landmark.notify.kinds import KINDS
from landmark.notify.models import Delivery, Notification, TeamCadence
from landmark.notify.reminders import counts_from, next_occurrence
from landmark.orgs.access import (
    get_team_for_member,
    member_required,
    membership_of,
    require_admin,
)
from landmark.orgs.models import Organization

PAGE_SIZE = 50


@require_GET
@member_required
def notifications(request: HttpRequest) -> HttpResponse:
    membership = membership_of(request)
    mine = Notification.objects.for_member(
        membership.organization_id, membership.user_id
    )
    page = Paginator(mine, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "notify/notifications.html",
        {"page": page, "unread": mine.unread().count()},
    )


@require_GET
@member_required
def notifications_bell(request: HttpRequest) -> HttpResponse:
    """The top bar's bell with the unread count (loaded by htmx after the page, so
    no page pays for it)."""
    membership = membership_of(request)
    unread = (
        Notification.objects.for_member(membership.organization_id, membership.user_id)
        .unread()
        .count()
    )
    return render(request, "notify/bell.html", {"unread": unread})


@require_POST
@member_required
def notification_read(request: HttpRequest, pk: int) -> HttpResponse:
    membership = membership_of(request)
    notification = get_notification_for_member(membership, pk)
    actions.mark_read(notification=notification)
    if is_partial(request):
        notification.refresh_from_db()
        return render(request, "notify/notification_row.html", {"n": notification})
    return redirect("notifications")


@require_POST
@member_required
def notifications_read_all(request: HttpRequest) -> HttpResponse:
    membership = membership_of(request)
    marked = actions.mark_all_read(
        organization_id=membership.organization_id, user_id=membership.user_id
    )
    messages.success(
        request, f"Marked {marked} notification{'s' if marked != 1 else ''} read."
    )
    return redirect("notifications")


@require_http_methods(["GET", "POST"])
@member_required
def notification_settings(request: HttpRequest) -> HttpResponse:
    membership = membership_of(request)
    channels = actions.channels_in_use(membership.organization_id)
    current = actions.preferences_of(
        membership.organization_id, membership.user_id, channels
    )
    form = PreferencesForm(request.POST or None, current=current, channels=channels)
    if request.method == "POST" and form.is_valid():
        actions.set_preferences(
            org=membership.organization,
            user_id=membership.user_id,
            choices=form.choices(),
        )
        messages.success(request, "Your notification settings are saved.")
        return redirect("notification_settings")
    rows = [
        {
            "kind": kind,
            "fields": [
                form[preference_field(kind.key, channel)] for channel in channels
            ],
        }
        for kind in KINDS.values()
    ]
    return render(
        request,
        "notify/settings.html",
        {"form": form, "rows": rows, "channels": [CHANNELS[c] for c in channels]},
    )


@csrf_exempt  # the signed token is the authority; mail providers POST without cookies
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """The link of every email: GET asks, POST (the button, or a mail provider's
    RFC 8058 one-click POST) turns the kind off by email for the token's person.
    Someone logged in as another person is told so and nothing changes."""
    data = read_unsubscribe_token(token)
    if data is None:
        raise Http404("This unsubscribe link is not valid.")
    org_id = parse_id(str(data["o"]))
    org = Organization.objects.filter(pk=org_id).first() if org_id else None
    kind = KINDS.get(str(data["k"]))
    channel = str(data["c"])
    if org is None or kind is None or channel not in CHANNELS:
        raise Http404("This unsubscribe link is not valid.")
    user_id = int(str(data["u"]))
    someone_else = request.user.is_authenticated and request.user.pk != user_id
    if request.method == "POST" and not someone_else:
        actions.unsubscribe(org=org, user_id=user_id, kind=kind.key, channel=channel)
        if request.POST.get("List-Unsubscribe") == "One-Click":
            return HttpResponse("Unsubscribed.", content_type="text/plain")
        return redirect(request.path)
    done = not actions.preferences_of(org.pk, user_id, [channel])[(kind.key, channel)]
    context: dict[str, Any] = {
        "kind": kind,
        "org": org,
        "done": done,
        "someone_else": someone_else,
    }
    return render(request, "notify/unsubscribe.html", context)


@require_http_methods(["GET", "POST"])
@member_required
def reminder_settings(request: HttpRequest) -> HttpResponse:
    membership = membership_of(request)
    require_admin(membership)
    org = membership.organization
    current = actions.reminder_settings_of(org)
    form = ReminderSettingsForm(
        request.POST or None,
        initial={
            "enabled": current.enabled,
            "weekday": current.weekday,
            "at_time": current.at_time,
            "every_weeks": current.every_weeks,
            "escalate_after": current.escalate_after,
            "alert_hold_minutes": current.alert_hold_minutes,
            "digest_enabled": current.digest_enabled,
            "digest_weekday": current.digest_weekday,
            "digest_at_time": current.digest_at_time,
        },
    )
    if request.method == "POST" and form.is_valid():
        actions.save_reminder_settings(org=org, **form.cleaned_data)
        messages.success(request, "Reminder settings saved.")
        return redirect("reminder_settings")
    problems = (
        Delivery.objects.filter(organization=org, last_error_at__isnull=False)
        .exclude(status=Delivery.Status.SENT)
        .select_related("notification__recipient")
        .order_by("-last_error_at")[:20]
    )
    teams = TeamCadence.objects.filter(organization=org).select_related("team")
    now, zone = timezone.now(), ZoneInfo(org.time_zone)
    # The next moments, once the schedule counts (not before a change takes effect).
    after = max(now, counts_from(org, current.effective_from))
    digest_after = max(now, counts_from(org, current.digest_from))
    return render(
        request,
        "notify/reminder_settings.html",
        {
            "form": form,
            "problems": problems,
            "team_cadences": teams,
            "teams": org.teams.order_by("name"),
            "now": now,
            "time_zone": org.time_zone,
            "next_reminder": next_occurrence(current, zone, after).astimezone(zone)
            if current.enabled
            else None,
            "next_digest": next_occurrence(
                schedule_of(current), zone, digest_after
            ).astimezone(zone)
            if current.digest_enabled
            else None,
        },
    )


@require_http_methods(["GET", "POST"])
@member_required
def team_reminders(request: HttpRequest, pk: int) -> HttpResponse:
    membership = membership_of(request)
    team = get_team_for_member(membership, pk, write=True)
    cadence = TeamCadence.objects.filter(team=team).first()
    org_settings = actions.reminder_settings_of(membership.organization)
    base = cadence or org_settings
    form = TeamCadenceForm(
        request.POST or None,
        initial={
            "own": cadence is not None,
            "weekday": base.weekday,
            "at_time": base.at_time,
            "every_weeks": base.every_weeks,
        },
    )
    if request.method == "POST" and form.is_valid():
        actions.save_team_cadence(team=team, **form.cleaned_data)
        messages.success(request, f"Reminder schedule of {team.name} saved.")
        return redirect("reminder_settings")
    return render(
        request,
        "notify/team_reminders.html",
        {"form": form, "team": team, "org_settings": org_settings},
    )


@require_http_methods(["GET", "POST"])
@member_required
def kpi_watch(request: HttpRequest, pk: int) -> HttpResponse:
    """The KPI page's Watch toggle: GET shows it (htmx loads it after the page),
    POST watch=1 watches and watch=0 stops. Members who may see the KPI watch it
    (viewers, read-only, get a 403 as for every write); another organization's KPI
    is a 404."""
    membership = membership_of(request)
    kpi = get_kpi_for_member(membership, pk, write=request.method == "POST")
    if request.method == "POST":
        wanted = request.POST.get("watch", "")
        if wanted not in {"0", "1"}:
            return HttpResponse(
                "Send watch=1 to watch this KPI or watch=0 to stop.", status=400
            )
        actions.set_watching(kpi=kpi, user=membership.user, watching=wanted == "1")
        if not is_partial(request):
            messages.success(
                request,
                f"You watch {kpi.name}: you are told when its health changes."
                if wanted == "1"
                else f"You no longer watch {kpi.name}.",
            )
            return redirect("kpi", pk=kpi.pk)
    watching = actions.is_watching(kpi=kpi, user=membership.user)
    return render(
        request,
        "notify/kpi_watch.html",
        {"kpi": kpi, "watching": watching, "can_watch": membership.can_write},
    )
