"""How django-allauth fits Landmark: where people land after logging in, who may sign up,
and how single sign-on maps an identity provider's people onto one organization."""

import logging
from typing import Any, cast

import requests
from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.authentication import get_authentication_records
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.mfa.utils import is_mfa_enabled
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.models import SocialApp, SocialLogin
from allauth.socialaccount.providers.base.constants import AuthProcess
from django.conf import settings
from django.contrib import messages
from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from landmark.lib import outbound
from landmark.lib.encryption import Sealed, Unreadable
from landmark.orgs import account_mail, actions, sso
from landmark.orgs.middleware import SESSION_KEY
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
    def send_mail(
        self, template_prefix: str, email: str, context: dict[str, Any]
    ) -> None:
        """Account emails signed by Landmark (and the person's organization), not by
        the request's host and port (account_mail.py)."""
        request = context.get("request") or getattr(self, "request", None)
        user = context.get("user")
        organization = ""
        if isinstance(user, User) and user.pk:
            organization = (
                Membership.objects.filter(user=user, is_active=True)
                .order_by("pk")
                .values_list("organization__name", flat=True)
                .first()
            ) or ""
        ctx = {
            "current_site": account_mail.landmark_site(request),
            "organization": organization,
            **context,
        }
        super().send_mail(template_prefix, email, ctx)

    def render_mail(
        self,
        template_prefix: str,
        email: str | list[str],
        context: dict[str, Any],
        headers: dict[str, str] | None = None,
    ) -> EmailMessage:
        """Every account email in text and HTML (the HTML built from the text)."""
        message: EmailMessage = super().render_mail(
            template_prefix, email, context, headers
        )
        if isinstance(message, EmailMultiAlternatives) and not message.alternatives:
            message.attach_alternative(
                account_mail.html_body(str(message.subject), str(message.body)),
                "text/html",
            )
        return message

    def respond_email_verification_sent(
        self, request: HttpRequest, user: Any
    ) -> HttpResponse:
        """Remember the address waiting for its link (a login with an unverified
        address lands here too), for the "check your email" page."""
        if isinstance(user, User) and user.email:
            request.session[account_mail.PENDING_EMAIL_KEY] = user.email
        return cast(
            HttpResponse, super().respond_email_verification_sent(request, user)
        )

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return bool(getattr(settings, "SIGNUP_OPEN", True))

    def get_login_redirect_url(self, request: HttpRequest) -> str:
        """Someone with no active organization gets a page that says so."""
        active = Membership.objects.filter(
            user=request.user,  # type: ignore[misc]  # user is authenticated here
            is_active=True,
            **scope_filter(request),
        )
        if not active.exists():
            return reverse("no_organization")
        return str(super().get_login_redirect_url(request))

    def post_login(
        self,
        request: HttpRequest,
        user: Any,
        *,
        email_verification: Any,
        signal_kwargs: dict[str, Any] | None,
        email: str | None,
        signup: bool,
        redirect_url: str | None,
    ) -> Any:
        """Right after every allauth login: scope the session to the organization
        whose SSO started it, or clear any scope for any other kind of login."""
        sociallogin = (signal_kwargs or {}).get("sociallogin")
        config = sso.config_for_app(sociallogin.provider.app) if sociallogin else None
        if config is not None:
            request.session[sso.SCOPE_KEY] = config.organization_id
            request.session[SESSION_KEY] = config.organization_id
        else:
            request.session.pop(sso.SCOPE_KEY, None)
        return super().post_login(
            request,
            user,
            email_verification=email_verification,
            signal_kwargs=signal_kwargs,
            email=email,
            signup=signup,
            redirect_url=redirect_url,
        )


def scope_filter(request: HttpRequest) -> dict[str, int]:
    scope = sso.session_scope(request.session)
    return {} if scope is None else {"organization_id": scope}


def password_session(request: HttpRequest, user: User) -> bool:
    """Was this session started by the user's own password (and, when they use an
    authenticator app, its code)? allauth records each step of a login."""
    if sso.session_scope(request.session) is not None:
        return False
    methods = {r.get("method") for r in get_authentication_records(request, user)}
    if "password" not in methods:
        return False
    return "mfa" in methods or not is_mfa_enabled(user)


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    """Single sign-on through an organization's own OpenID Connect provider.

    An organization's provider speaks only for the email domains the organization
    has proven it owns. It logs in only accounts linked to it: those it created
    (who join the organization as members) and those whose owner linked it while
    logged in with their password. It never reaches an account by its address.
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

    def list_providers(self, request: HttpRequest) -> list[Any]:
        """What a logged-in person may link on allauth's connections page: only the
        SSO of the organization they are working in (never a list of every
        organization on the instance)."""
        membership = getattr(request, "membership", None)
        if membership is None:
            return []
        return [
            p
            for p in super().list_providers(request)
            if p.app is not None
            and p.app.provider_id == sso.provider_id_for(membership.organization_id)
        ]

    def is_email_verified(self, provider: Any, email: str) -> bool:
        config = sso.config_for_app(provider.app)
        if config is not None:
            return sso.domain_of(email) in sso.domains_of(config)
        return bool(super().is_email_verified(provider, email))

    def can_authenticate_by_email(self, login: SocialLogin, email: str) -> bool:
        # Never: an address proves nothing about who owns the account behind it.
        return False

    def pre_social_login(self, request: HttpRequest, sociallogin: SocialLogin) -> None:
        config = sso.config_for_app(sociallogin.provider.app)
        if config is None:
            return
        email = sso.email_of(sociallogin)
        problem = sso.refusal(config, email)
        if sociallogin.state.get("process") == AuthProcess.CONNECT:
            problem = problem or self.connect_refusal(request, sociallogin, config)
            if problem:
                messages.error(request, problem)
                raise ImmediateHttpResponse(redirect("mfa_index"))
            return
        if not problem and not sociallogin.is_existing and sso.address_is_taken(email):
            problem = sso.not_linked_message(config)
        if problem:
            messages.error(request, problem)
            raise ImmediateHttpResponse(redirect("login"))

    def connect_refusal(
        self, request: HttpRequest, sociallogin: SocialLogin, config: OrganizationSSO
    ) -> str:
        """Why the logged-in person may not link this identity ("" when they may)."""
        user = request.user
        name = config.organization.name
        if not user.is_authenticated:
            return "Log in first."
        if not password_session(request, user):
            return (
                f"To link {name}'s single sign-on, log out, then log in with your "
                "password (and authenticator code) and link it from your Security page."
            )
        if not Membership.objects.filter(
            user=user, organization_id=config.organization_id, is_active=True
        ).exists():
            return f"You can link {name}'s single sign-on only as a member of {name}."
        if sociallogin.is_existing and sociallogin.user != user:
            return f"This {name} sign-in is already linked to another Landmark account."
        return ""

    def is_open_for_signup(
        self, request: HttpRequest, sociallogin: SocialLogin
    ) -> bool:
        # pre_social_login already refused anyone outside the verified domains.
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
