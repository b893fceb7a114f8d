from collections.abc import Callable
from typing import Any

from django.contrib.sessions.backends.base import SessionBase
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse

from landmark.orgs.models import Membership

SESSION_KEY = "landmark_org_id"
# Set by the SSO adapter (orgs/adapters.py) on a login through an organization's SSO;
# kept here so the middleware reads it without importing the SSO layer.
SSO_SCOPE_KEY = "landmark_sso_org_id"


def active_memberships(user: Any, session: SessionBase) -> "QuerySet[Membership]":
    """The memberships this session may open: all the user's active ones, or only the
    one of the organization whose single sign-on started the session."""
    memberships = Membership.objects.filter(user=user, is_active=True)
    scope = session.get(SSO_SCOPE_KEY)
    if scope is not None:
        memberships = memberships.filter(organization_id=scope)
    return memberships


class CurrentMembershipMiddleware:
    """Attach `request.membership`: the logged-in user's membership in the current org.

    The current organization is kept in the session (users may belong to several);
    it falls back to the user's first active membership. A session started through an
    organization's single sign-on sees that organization only (active_memberships).

    Membership.is_active is read here on every request, never cached in the session, so
    a deactivated membership stops working on the next request of every session.
    (Deactivating also ends the person's sessions outright: see actions.end_sessions.)
    The API must do the same check on every call when API tokens arrive.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.membership = None  # type: ignore[attr-defined]  # set for every request
        if request.user.is_authenticated:
            memberships = active_memberships(
                request.user, request.session
            ).select_related("organization", "user")
            org_id = request.session.get(SESSION_KEY)
            current = None
            if org_id is not None:
                current = memberships.filter(organization_id=org_id).first()
            if current is None:
                current = memberships.order_by("created_at", "pk").first()
            request.membership = current  # type: ignore[attr-defined]
        return self.get_response(request)
