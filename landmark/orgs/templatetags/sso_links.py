"""The Security page's single sign-on panel: may the person link (or have they
linked) their organization's SSO?"""

from typing import Any

from allauth.socialaccount.models import SocialAccount
from django import template

from landmark.orgs import sso
from landmark.orgs.models import OrganizationSSO

register = template.Library()


@register.simple_tag(takes_context=True)
def sso_link(context: dict[str, Any]) -> dict[str, Any] | None:
    """The current organization's SSO if it is on with a verified domain, and whether
    the logged-in person has linked it (None when there is nothing to link)."""
    request = context.get("request")
    membership = getattr(request, "membership", None)
    if request is None or membership is None:
        return None
    config = (
        OrganizationSSO.objects.select_related("social_app", "organization")
        .filter(organization_id=membership.organization_id, enabled=True)
        .first()
    )
    if config is None or not sso.domains_of(config):
        return None
    return {
        "organization": config.organization.name,
        "url": sso.login_url(config),
        "linked": SocialAccount.objects.filter(
            user_id=membership.user_id, provider=config.provider_id
        ).exists(),
        "scoped": sso.session_scope(request.session) is not None,
    }
