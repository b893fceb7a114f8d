"""How views reach webhooks: admins only, in the current organization. Another
organization's webhook (or delivery) is a 404, whatever the role there."""

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from landmark.hooks.models import Webhook, WebhookDelivery
from landmark.orgs.access import require_admin
from landmark.orgs.models import Membership


def webhooks_of(membership: Membership) -> QuerySet[Webhook]:
    require_admin(membership)
    return Webhook.objects.filter(organization_id=membership.organization_id)


def get_webhook_for_admin(membership: Membership, pk: int) -> Webhook:
    found = get_object_or_404(
        Webhook, pk=pk, organization_id=membership.organization_id
    )
    require_admin(membership)
    return found


def get_delivery_for_admin(membership: Membership, pk: int) -> WebhookDelivery:
    found = get_object_or_404(
        WebhookDelivery.objects.select_related("webhook"),
        pk=pk,
        organization_id=membership.organization_id,
    )
    require_admin(membership)
    return found
