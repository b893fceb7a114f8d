"""Reads for per-organization single sign-on (OpenID Connect through django-allauth)."""

from typing import Any

from allauth.socialaccount.models import SocialApp, SocialLogin
from django.urls import reverse

from landmark.orgs.models import Membership, OrganizationSSO, SSODomain, User

PROVIDER = "openid_connect"


def provider_id_for(org_id: int) -> str:
    return f"org-{org_id}"


def domain_of(email: str) -> str:
    return email.rpartition("@")[2].strip().lower()


def config_for_app(app: SocialApp | None) -> OrganizationSSO | None:
    """The organization SSO a SocialApp belongs to (None for any other app)."""
    if app is None or app.pk is None:
        return None
    return (
        OrganizationSSO.objects.select_related("organization", "social_app")
        .filter(social_app_id=app.pk)
        .first()
    )


def domains_of(config: OrganizationSSO) -> set[str]:
    return set(SSODomain.objects.filter(sso=config).values_list("domain", flat=True))


def config_for_email(email: str) -> OrganizationSSO | None:
    """The enabled SSO that people of this address's domain sign in through."""
    row = (
        SSODomain.objects.select_related("sso__social_app", "sso__organization")
        .filter(domain=domain_of(email), sso__enabled=True)
        .first()
    )
    return row.sso if row else None


def login_url(config: OrganizationSSO) -> str:
    """Where "Sign in with SSO" sends a person of the organization's domains."""
    return reverse("openid_connect_login", kwargs={"provider_id": config.provider_id})


def email_of(sociallogin: SocialLogin) -> str:
    user: Any = sociallogin.user
    email = getattr(user, "email", "") or ""
    if not email and sociallogin.email_addresses:
        email = sociallogin.email_addresses[0].email
    return str(email).strip().lower()


def may_sign_in(config: OrganizationSSO, email: str) -> bool:
    """May this provider log in the existing account with this address?

    Only for the organization's own domains, and only an account that is an active
    member of the organization: another organization's provider must never reach
    someone else's account."""
    if domain_of(email) not in domains_of(config):
        return False
    return Membership.objects.filter(
        organization_id=config.organization_id,
        user__email=email.lower(),
        is_active=True,
    ).exists()


def refusal(config: OrganizationSSO, email: str) -> str:
    """Why this provider may not log in (or sign up) this address ("" when it may)."""
    name = config.organization.name
    if not config.enabled:
        return f"Single sign-on for {name} is turned off."
    if not email:
        return "Your identity provider did not give an email address."
    if domain_of(email) not in domains_of(config):
        return (
            f"{email} is not an address of {name}'s single sign-on domains. "
            "Log in with your password instead."
        )
    exists = User.objects.filter(email=email).exists()
    if exists and not may_sign_in(config, email):
        return (
            f"{email} already has a Landmark account that is not an active member of "
            f"{name}. Log in with your password, or ask an admin of {name} for an "
            "invitation."
        )
    return ""
