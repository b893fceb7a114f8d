from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from landmark.orgs.models import Membership

SESSION_KEY = "landmark_org_id"


class CurrentMembershipMiddleware:
    """Attach `request.membership`: the logged-in user's membership in the current org.

    The current organization is kept in the session (users may belong to several);
    it falls back to the user's first active membership.

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
            memberships = Membership.objects.filter(
                user=request.user, is_active=True
            ).select_related("organization", "user")
            org_id = request.session.get(SESSION_KEY)
            current = None
            if org_id is not None:
                current = memberships.filter(organization_id=org_id).first()
            if current is None:
                current = memberships.order_by("created_at", "pk").first()
            request.membership = current  # type: ignore[attr-defined]
        return self.get_response(request)
