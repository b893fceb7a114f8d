"""The only way views reach organization data: scoped to the caller's membership.

Another organization's object is a 404 (we never confirm it exists); a member without
the right to write gets a 403.
"""

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404

from landmark.orgs.models import (
    Invitation,
    Membership,
    Organization,
    OrganizationSSO,
    Team,
    TeamMember,
    User,
)

View = TypeVar("View", bound=Callable[..., HttpResponse])

PUBLIC = "public"  # Objective.Visibility.PUBLIC and KPI.Visibility.PUBLIC


def visible_q(membership: Membership, prefix: str = "") -> Q:
    """Who may see a private objective or KPI: the one rule, in SQL.

    Public items are seen by every member. A private one is seen by its owner, the
    members of its team (that team itself, not its parents or sub-teams) and the
    organization's admins and owners; for everyone else it does not exist. `prefix`
    applies the rule through a relation (`"parent__"`, `"kpi__"`): a row whose
    related item is hidden or absent does not match. Every list, count, roll-up,
    form choice and API field reaches objectives and KPIs through this condition
    (`ObjectiveQuerySet.visible_to`, `KPIQuerySet.visible_to` and the access helpers
    built on them); docs/permissions.md says the same in prose.
    """
    if membership.is_admin:
        return Q(**{f"{prefix}pk__isnull": False}) if prefix else Q()
    my_teams = TeamMember.objects.filter(
        organization_id=membership.organization_id, user_id=membership.user_id
    ).values("team_id")
    return (
        Q(**{f"{prefix}visibility": PUBLIC})
        | Q(**{f"{prefix}owner_id": membership.user_id})
        | Q(**{f"{prefix}team_id__in": my_teams})
    )


OWNERS_ONLY = (
    "Only an owner can change another owner's role, or deactivate or reactivate them."
)
OWNER_ROLE_ONLY = "Only an owner can make someone an owner."


def membership_of(request: HttpRequest) -> Membership:
    """The caller's membership (orgs.middleware sets it); 403 without one."""
    current: Membership | None = getattr(request, "membership", None)
    if current is None:
        raise PermissionDenied("You are not a member of any organization.")
    return current


def member_required(view: View) -> View:
    """Log in first; then the user must belong to an organization."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        membership_of(request)
        return view(request, *args, **kwargs)

    return wrapper  # type: ignore[return-value]  # wraps keeps the signature


def require_write(membership: Membership) -> None:
    if not membership.can_write:
        raise PermissionDenied("Your role in this organization is read-only.")


def require_admin(membership: Membership) -> None:
    if not membership.is_admin:
        raise PermissionDenied("Only organization admins can do this.")


def require_owner(membership: Membership) -> None:
    if not membership.is_owner:
        raise PermissionDenied("Only organization owners can do this.")


def get_organization_for_member(
    membership: Membership, *, write: bool = False
) -> Organization:
    """The member's organization, read afresh (a form may change it in memory
    without touching the one the request's menus show); writing is for admins."""
    if write:
        require_admin(membership)
    return Organization.objects.get(pk=membership.organization_id)


def get_team_for_member(
    membership: Membership, pk: int, *, write: bool = False
) -> Team:
    team = get_object_or_404(Team, organization=membership.organization, pk=pk)
    if write:
        require_admin(membership)
    return team


def team_choices(membership: Membership, selected: Team | None) -> QuerySet[Team]:
    """The team filter's choices, drilling down one level at a time so the list stays
    short in an organization of a thousand teams: with no team chosen, the company and
    its departments; with one chosen, its chain of parents and its sub-teams."""
    if selected is None:
        near = Q(parent__isnull=True) | Q(parent__parent__isnull=True)
    else:
        chain = list(selected.ancestors(include_self=True).values_list("pk", flat=True))
        near = Q(parent__isnull=True) | Q(pk__in=chain) | Q(parent_id=selected.pk)
    return Team.objects.filter(near, organization=membership.organization).order_by(
        "name"
    )


def org_users(membership: Membership) -> QuerySet[User]:
    """The organization's active members' users, by name (an owner field's choices)."""
    return User.objects.filter(
        memberships__organization=membership.organization, memberships__is_active=True
    ).order_by("full_name", "email")


def get_membership_for_member(
    membership: Membership, pk: int, *, write: bool = False
) -> Membership:
    target = get_object_or_404(
        Membership.objects.select_related("user"),
        organization=membership.organization,
        pk=pk,
    )
    if write:
        require_admin(membership)
    return target


def get_membership_to_manage(membership: Membership, pk: int) -> Membership:
    """A membership an admin may change (role, active or not): an owner's only by an
    owner (owners are protected from admins)."""
    target = get_membership_for_member(membership, pk, write=True)
    if target.role == Membership.Role.OWNER and not membership.is_owner:
        raise PermissionDenied(OWNERS_ONLY)
    return target


def get_user_in_org(membership: Membership, pk: int) -> User:
    """A user who is an active member of the caller's organization."""
    return get_object_or_404(
        User,
        pk=pk,
        memberships__organization=membership.organization,
        memberships__is_active=True,
    )


def get_invitation_for_member(
    membership: Membership, pk: int, *, reissue: bool = False
) -> Invitation:
    """Invitations are only ever handled by admins (a member gets 403); sending a new
    link for an invitation as owner (`reissue`) is for owners only."""
    invitation = get_object_or_404(
        Invitation.objects.select_related("organization", "invited_by"),
        organization=membership.organization,
        pk=pk,
    )
    require_admin(membership)
    if reissue and invitation.role == Membership.Role.OWNER:
        require_owner(membership)
    return invitation


def get_sso_for_member(membership: Membership) -> OrganizationSSO | None:
    """The caller's organization's single sign-on set-up (admins only)."""
    require_admin(membership)
    return (
        OrganizationSSO.objects.select_related("social_app")
        .filter(organization=membership.organization)
        .first()
    )
