"""How views reach notifications: only the caller's own, in the current organization.
Anyone else's (another person's, another organization's) is a 404."""

from django.shortcuts import get_object_or_404

from landmark.notify.models import Notification
from landmark.orgs.models import Membership


def get_notification_for_member(membership: Membership, pk: int) -> Notification:
    return get_object_or_404(
        Notification,
        pk=pk,
        organization_id=membership.organization_id,
        recipient_id=membership.user_id,
    )
