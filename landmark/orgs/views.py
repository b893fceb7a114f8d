"""Admin pages for teams and members, and switching organization."""

from django.contrib import messages
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from landmark.lib.http import member_required, membership_of
from landmark.okrs.views import run_action
from landmark.orgs import actions
from landmark.orgs.access import (
    get_membership_for_member,
    get_team_for_member,
    require_admin,
)
from landmark.orgs.forms import MemberAddForm, MemberEditForm, TeamForm
from landmark.orgs.middleware import SESSION_KEY
from landmark.orgs.models import Membership, Team, TeamMember


@require_GET
@member_required
def team_list(request: HttpRequest) -> HttpResponse:
    membership = membership_of(request)
    teams = (
        Team.tree.tree_filter(organization=membership.organization)
        .filter(organization=membership.organization)
        .with_tree_fields()
        .prefetch_related(
            Prefetch("team_members", queryset=TeamMember.objects.select_related("user"))
        )
    )
    return render(request, "orgs/teams.html", {"teams": teams})


def save_team(request: HttpRequest, team: Team | None) -> HttpResponse:
    membership = membership_of(request)
    form = TeamForm(request.POST or None, instance=team, membership=membership)
    if request.method == "POST" and form.is_valid():
        data = {**form.cleaned_data}
        data["members"], data["leads"] = list(data["members"]), list(data["leads"])
        if team is None:
            saved = run_action(
                form, actions.create_team, org=membership.organization, **data
            )
        else:
            saved = run_action(form, actions.update_team, team=team, **data)
        if saved is not None:
            messages.success(request, f"Team “{saved.name}” saved.")
            return redirect("teams")
    title = f"Edit {team.name}" if team else "New team"
    return render(request, "okrs/form.html", {"form": form, "title": title})


@require_http_methods(["GET", "POST"])
@member_required
def team_create(request: HttpRequest) -> HttpResponse:
    require_admin(membership_of(request))
    return save_team(request, None)


@require_http_methods(["GET", "POST"])
@member_required
def team_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return save_team(
        request, get_team_for_member(membership_of(request), pk, write=True)
    )


@require_GET
@member_required
def member_list(request: HttpRequest) -> HttpResponse:
    membership = membership_of(request)
    members = (
        Membership.objects.filter(organization=membership.organization)
        .select_related("user")
        .order_by("-is_active", "user__full_name", "user__email")
    )
    return render(request, "orgs/members.html", {"members": members})


@require_http_methods(["GET", "POST"])
@member_required
def member_add(request: HttpRequest) -> HttpResponse:
    membership = membership_of(request)
    require_admin(membership)
    form = MemberAddForm(request.POST or None, membership=membership)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        added = run_action(
            form,
            actions.add_member,
            org=membership.organization,
            email=data["email"],
            role=data["role"],
            full_name=data["full_name"],
            password=data["password"] or None,
            teams=list(data["teams"]),
        )
        if added is not None:
            messages.success(request, f"{added.user.email} is now a member.")
            return redirect("members")
    return render(request, "okrs/form.html", {"form": form, "title": "Add a member"})


@require_http_methods(["GET", "POST"])
@member_required
def member_edit(request: HttpRequest, pk: int) -> HttpResponse:
    membership = membership_of(request)
    target = get_membership_for_member(membership, pk, write=True)
    form = MemberEditForm(request.POST or None, instance=target)
    if request.method == "POST" and form.is_valid():
        saved = run_action(
            form,
            actions.update_membership,
            membership=target,
            role=form.cleaned_data["role"],
            is_active=form.cleaned_data["is_active"],
        )
        if saved is not None:
            messages.success(request, f"{target.user.email} saved.")
            return redirect("members")
        target.refresh_from_db()
    return render(
        request,
        "okrs/form.html",
        {"form": form, "title": f"Edit {target.user.display_name}"},
    )


@require_POST
@member_required
def switch_org(request: HttpRequest) -> HttpResponse:
    org_id = request.POST.get("organization", "")
    if (
        org_id.isdigit()
        and Membership.objects.filter(
            user=membership_of(request).user,
            organization_id=int(org_id),
            is_active=True,
        ).exists()
    ):
        request.session[SESSION_KEY] = int(org_id)
    return redirect("focus")
