"""How django-allauth fits Landmark: where people land after logging in, who may sign up,
and how single sign-on maps an identity provider's people onto one organization."""

import logging
from typing import Any

import requests
from allauth.account.adapter import DefaultAccountAdapter
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.models import SocialApp, SocialLogin
from django.conf import settings
from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest
from django.shortcuts import redirect
from django.urls import reverse

from landmark.lib import outbound
from landmark.lib.encryption import Sealed, Unreadable
from landmark.orgs import actions, sso
from landmark.orgs.models import Membership, OrganizationSSO, User


def axes_username(request: HttpRequest, credentials: dict[str, Any] | None) -> str:
    """The login django-axes counts failures for: allauth authenticates with an
    `email` credential but its form posts `login`; lower-cased so that changing the
    case of an address buys no fresh attempts."""
    found = ""
    if credentials:
        found = credentials.get("email") or credentials.get("username") or ""
    if not found:
        found = request.POST.get("login", "")
    return str(found).strip().lower()


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return bool(getattr(settings, "SIGNUP_OPEN", True))

    def get_login_redirect_url(self, request: HttpRequest) -> str:
        """Someone with no active organization gets a page that says so."""
        if not Membership.objects.filter(user=request.user, is_active=True).exists():  # type: ignore[misc]  # user is authenticated here
            return reverse("no_organization")
        return str(super().get_login_redirect_url(request))


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    """Single sign-on through an organization's own OpenID Connect provider.

    An organization's provider speaks for its own email domains only: it may log in
    people of those domains who are members of that organization, and create accounts
    (joining as members) for people of those domains who have none. It never takes
    over an account that belongs to someone outside the organization.
    """

    def list_apps(
        self, request: HttpRequest, provider: Any = None, client_id: Any = None
    ) -> list[SocialApp]:
        apps: list[SocialApp] = super().list_apps(
            request, provider=provider, client_id=client_id
        )
        disabled = set(
            OrganizationSSO.objects.filter(enabled=False).values_list(
                "social_app_id", flat=True
            )
        )
        return [app for app in apps if app.pk not in disabled]

    def is_email_verified(self, provider: Any, email: str) -> bool:
        config = sso.config_for_app(provider.app)
        if config is not None:
            return sso.domain_of(email) in sso.domains_of(config)
        return bool(super().is_email_verified(provider, email))

    def can_authenticate_by_email(self, login: SocialLogin, email: str) -> bool:
        config = sso.config_for_app(login.provider.app)
        if config is None:
            return False
        return sso.may_sign_in(config, email)

    def pre_social_login(self, request: HttpRequest, sociallogin: SocialLogin) -> None:
        config = sso.config_for_app(sociallogin.provider.app)
        if config is None:
            return
        if sociallogin.is_existing:
            return
        email = sso.email_of(sociallogin)
        problem = sso.refusal(config, email)
        if problem:
            messages.error(request, problem)
            raise ImmediateHttpResponse(redirect("login"))

    def is_open_for_signup(
        self, request: HttpRequest, sociallogin: SocialLogin
    ) -> bool:
        # pre_social_login already refused anyone outside the organization's domains.
        return sso.config_for_app(sociallogin.provider.app) is not None

    @transaction.atomic
    def save_user(
        self, request: HttpRequest, sociallogin: SocialLogin, form: Any = None
    ) -> User:
        user: User = super().save_user(request, sociallogin, form)
        config = sso.config_for_app(sociallogin.provider.app)
        if config is not None:
            actions.join_by_sso(config=config, user=user)
        return user

    def populate_user(
        self, request: HttpRequest, sociallogin: SocialLogin, data: dict[str, Any]
    ) -> User:
        user: User = super().populate_user(request, sociallogin, data)
        name = data.get("name") or " ".join(
            part for part in (data.get("first_name"), data.get("last_name")) if part
        )
        user.full_name = (name or "")[:150]
        user.email = (user.email or "").lower()
        return user

    def get_app(
        self, request: HttpRequest, provider: Any, client_id: Any = None
    ) -> SocialApp:
        """The app allauth's OAuth client uses, with the organization's client secret
        decrypted into it (in memory, for this request only: never saved)."""
        app: SocialApp = super().get_app(request, provider, client_id=client_id)
        sealed = (
            OrganizationSSO.objects.filter(social_app_id=app.pk)
            .values_list("client_secret", flat=True)
            .first()
        )
        if isinstance(sealed, Sealed):
            try:
                app.secret = sealed.reveal()
            except Unreadable:
                # A key went missing from ENCRYPTION_KEYS: the provider will refuse
                # the empty secret and the sign-in ends with allauth's error page.
                logging.getLogger("landmark.sso").error(
                    "The client secret of SocialApp %s cannot be decrypted; "
                    "check ENCRYPTION_KEYS (docs/operators.md).",
                    app.pk,
                )
        return app

    def get_requests_session(self) -> requests.Session:
        """Every request allauth sends for an SSO (the issuer's discovery document,
        then the token, userinfo and keys endpoints it names) passes the SSRF guard."""
        return outbound.session()
