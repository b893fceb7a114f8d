"""The only way views reach API tokens: a person's own, or (owners) the organization's.

Another organization's token, or someone else's on the personal page, is a 404; a
non-owner on the organization's token pages gets a 403.
"""

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from landmark.api.models import APIToken
from landmark.orgs.access import require_owner
from landmark.orgs.models import Membership


def own_tokens(membership: Membership) -> QuerySet[APIToken]:
    """The caller's own tokens in their current organization."""
    return APIToken.objects.filter(
        organization=membership.organization, user=membership.user
    )


def get_own_token(membership: Membership, pk: int) -> APIToken:
    return get_object_or_404(own_tokens(membership), pk=pk)


def organization_tokens(membership: Membership) -> QuerySet[APIToken]:
    """Every token in the caller's organization, whoever made it (owners only)."""
    require_owner(membership)
    return APIToken.objects.filter(organization=membership.organization).select_related(
        "user"
    )


def get_organization_token(membership: Membership, pk: int) -> APIToken:
    token = get_object_or_404(
        APIToken.objects.select_related("user"),
        organization=membership.organization,
        pk=pk,
    )
    require_owner(membership)
    return token
