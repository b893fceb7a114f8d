"""Reads for per-organization single sign-on (OpenID Connect through django-allauth).

The rules (docs/accounts.md, "Single sign-on"):

- A claimed email domain does nothing until the organization proves it owns it (DNS
  TXT record, actions.check_sso_domains): only verified domains lead to a provider.
- A provider logs in only an account that is linked to it: one it created, or one
  whose owner linked it while logged in with their password. An address alone never
  reaches an existing account.
- A session started through an organization's provider is scoped to that
  organization (SCOPE_KEY): it opens no other organization of the same person.
"""

from typing import Any

from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialApp, SocialLogin
from django.contrib.sessions.backends.base import SessionBase
from django.urls import reverse

from landmark.orgs.middleware import SSO_SCOPE_KEY
from landmark.orgs.models import OrganizationSSO, SSODomain, User

PROVIDER = "openid_connect"
# The organization a session was started for through its SSO (absent: a password
# login, which may open any of the person's organizations).
SCOPE_KEY = SSO_SCOPE_KEY


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
    """The domains the organization has proven it owns (pending claims do nothing)."""
    return set(
        SSODomain.objects.verified().filter(sso=config).values_list("domain", flat=True)
    )


def config_for_email(email: str) -> OrganizationSSO | None:
    """The enabled SSO that people of this address's verified domain sign in through."""
    row = (
        SSODomain.objects.verified()
        .select_related("sso__social_app", "sso__organization")
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


def address_is_taken(email: str) -> bool:
    """Does any account use this address (as its login or as another address)?"""
    return (
        User.objects.filter(email__iexact=email).exists()
        or EmailAddress.objects.filter(email__iexact=email).exists()
    )


def refusal(config: OrganizationSSO, email: str) -> str:
    """Why this provider may not speak for this address at all ("" when it may)."""
    name = config.organization.name
    if not config.enabled:
        return f"Single sign-on for {name} is turned off."
    if not email:
        return "Your identity provider did not give an email address."
    if domain_of(email) not in domains_of(config):
        return (
            f"{email} is not an address of {name}'s verified single sign-on domains. "
            "Log in with your password instead."
        )
    return ""


def not_linked_message(config: OrganizationSSO) -> str:
    """Said when an identity is not linked to any account and its address is in use.

    Worded the same whether or not an account exists for the address, so it tells a
    stranger nothing; it tells the owner how to link."""
    name = config.organization.name
    return (
        f"This {name} sign-in is not linked to a Landmark account, so single sign-on "
        "cannot log you in with it. If you already have a Landmark account, log in "
        f"with your password and link {name}'s single sign-on on your Security page."
    )


def session_scope(session: SessionBase) -> int | None:
    """The organization this session is scoped to (started through its SSO), if any."""
    value = session.get(SCOPE_KEY)
    return int(value) if value is not None else None
