"""Admin pages for teams, members and invitations, and switching organization."""

import itertools
from typing import Any, cast

import requests
from allauth.account.internal.flows import email_verification
from allauth.account.models import EmailAddress
from allauth.socialaccount.providers.oauth2.client import OAuth2Error
from allauth.socialaccount.providers.openid_connect import (
    views as openid_connect_views,
)
from csp.decorators import csp_update
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import models
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from landmark.lib import bounds, outbound
from landmark.lib.domains import record_name, record_value
from landmark.lib.forms import run_action, run_update
from landmark.orgs import account_mail, actions, sso
from landmark.orgs.access import (
    get_invitation_for_member,
    get_membership_to_manage,
    get_organization_for_member,
    get_sso_for_member,
    get_team_for_member,
    member_required,
    membership_of,
    require_admin,
)
from landmark.orgs.forms import (
    AcceptInvitationForm,
    InviteForm,
    MemberEditForm,
    NewOrganizationForm,
    OrganizationSettingsForm,
    SSOForm,
    SSOLoginForm,
    TeamForm,
)
from landmark.orgs.middleware import SESSION_KEY, active_memberships
from landmark.orgs.models import (
    Invitation,
    Membership,
    Organization,
    OrganizationSSO,
    SSODomain,
    Team,
    TeamMember,
    User,
)

PAGE_SIZE = 50  # members or teams a page


@require_GET
@member_required
def team_list(request: HttpRequest) -> HttpResponse:
    membership = membership_of(request)
    org = membership.organization
    teams = (
        Team.tree.tree_filter(organization=org)
        .filter(organization=org)
        .with_tree_fields()
        .prefetch_related(
            Prefetch("team_members", queryset=TeamMember.objects.select_related("user"))
        )
    )
    # A page at a time: an organization may have a thousand teams. Counting them needs
    # no tree order (the tree's query walks every team of the organization).
    paginator = Paginator(teams, PAGE_SIZE)
    paginator.count = Team.objects.filter(organization=org).count()
    page = paginator.get_page(request.GET.get("page"))
    return render(request, "orgs/teams.html", {"teams": page, "page": page})


def save_team(request: HttpRequest, team: Team | None) -> HttpResponse:
    membership = membership_of(request)
    form = TeamForm(request.POST or None, instance=team, membership=membership)
    if request.method == "POST" and form.is_valid():
        data = {**form.cleaned_data}
        data["members"], data["leads"] = list(data["members"]), list(data["leads"])
        if team is None:
            saved = run_action(
                form, actions.create_team, org=membership.organization, **data
            )
        else:
            saved = run_action(form, actions.update_team, team=team, **data)
        if saved is not None:
            messages.success(request, f"Team “{saved.name}” saved.")
            return redirect("teams")
    title = f"Edit {team.name}" if team else "New team"
    return render(request, "okrs/form.html", {"form": form, "title": title})


@require_http_methods(["GET", "POST"])
@member_required
def team_create(request: HttpRequest) -> HttpResponse:
    require_admin(membership_of(request))
    return save_team(request, None)


@require_http_methods(["GET", "POST"])
@member_required
def team_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return save_team(
        request, get_team_for_member(membership_of(request), pk, write=True)
    )


@require_GET
@member_required
def member_list(request: HttpRequest) -> HttpResponse:
    membership = membership_of(request)
    members = Paginator(
        Membership.objects.filter(organization=membership.organization)
        .select_related("user")
        .order_by("-is_active", "user__full_name", "user__email", "pk"),
        PAGE_SIZE,
    ).get_page(request.GET.get("page"))
    invitations = (
        Invitation.objects.filter(organization=membership.organization)
        .open()
        .select_related("invited_by")
        .prefetch_related("teams")
        if membership.is_admin
        else Invitation.objects.none()
    )
    return render(
        request,
        "orgs/members.html",
        {"members": members, "page": members, "invitations": invitations},
    )


def link_builder(request: HttpRequest) -> actions.LinkBuilder:
    def build(token: str) -> str:
        return request.build_absolute_uri(reverse("invitation_accept", args=[token]))

    return build


@require_http_methods(["GET", "POST"])
@member_required
def member_invite(request: HttpRequest) -> HttpResponse:
    membership = membership_of(request)
    require_admin(membership)
    form = InviteForm(request.POST or None, membership=membership)
    if request.method == "POST" and form.is_valid():
        invitation = run_action(
            form,
            actions.invite_member,
            org=membership.organization,
            email=form.cleaned_data["email"],
            role=form.cleaned_data["role"],
            teams=list(form.cleaned_data["teams"]),
            invited_by=membership.user,
            build_link=link_builder(request),
        )
        if invitation is not None:
            messages.success(
                request,
                f"Invitation sent to {invitation.email}. They become a member when "
                "they accept it.",
            )
            return redirect("members")
    return render(request, "okrs/form.html", {"form": form, "title": "Add a member"})


def run_button(
    request: HttpRequest, action: Any, done: str, **kwargs: Any
) -> HttpResponse:
    """A POST-only button: run one action, say what happened, back to the members."""
    try:
        action(**kwargs)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, done)
    return redirect("members")


@require_POST
@member_required
def invitation_resend(request: HttpRequest, pk: int) -> HttpResponse:
    invitation = get_invitation_for_member(membership_of(request), pk, reissue=True)
    return run_button(
        request,
        actions.resend_invitation,
        f"A new link was sent to {invitation.email}; the old one no longer works.",
        invitation=invitation,
        build_link=link_builder(request),
    )


@require_POST
@member_required
def invitation_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    invitation = get_invitation_for_member(membership_of(request), pk)
    return run_button(
        request,
        actions.revoke_invitation,
        f"The invitation to {invitation.email} was revoked.",
        invitation=invitation,
    )


@require_POST
@member_required
def member_deactivate(request: HttpRequest, pk: int) -> HttpResponse:
    membership = membership_of(request)
    target = get_membership_to_manage(membership, pk)
    return run_button(
        request,
        actions.deactivate_member,
        f"{target.user.email} was deactivated and logged out everywhere.",
        membership=target,
        by=membership,
    )


@require_POST
@member_required
def member_reactivate(request: HttpRequest, pk: int) -> HttpResponse:
    membership = membership_of(request)
    target = get_membership_to_manage(membership, pk)
    return run_button(
        request,
        actions.reactivate_member,
        f"{target.user.email} is active again.",
        membership=target,
        by=membership,
    )


@require_http_methods(["GET", "POST"])
def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    """The link from the email: open to anyone holding it (the token is the secret)."""
    invitation = actions.find_invitation(token)
    problem = actions.invitation_problem(invitation)
    if invitation is None or problem:
        status = 404 if invitation is None else 410
        return render(
            request, "orgs/invitation.html", {"problem": problem}, status=status
        )
    user = request.user if request.user.is_authenticated else None
    has_account = User.objects.filter(email=invitation.email).exists()
    form = AcceptInvitationForm(
        request.POST if request.method == "POST" and not has_account else None
    )
    error, joined = "", None
    scope = sso.session_scope(request.session)
    if request.method == "POST":
        if user is not None and scope not in {None, invitation.organization_id}:
            error = scoped_refusal(cast(int, scope))
        elif user is not None:
            try:
                joined = actions.accept_invitation(token=token, user=user)
            except ValidationError as e:
                error = " ".join(e.messages)
        elif not has_account and form.is_valid():
            joined = run_action(
                form,
                actions.accept_invitation,
                token=token,
                full_name=form.cleaned_data["full_name"],
                password=form.cleaned_data["password"],
            )
        if joined is not None:
            if user is None:
                login(
                    request,
                    joined.user,
                    backend="django.contrib.auth.backends.ModelBackend",
                )
            request.session[SESSION_KEY] = joined.organization_id
            messages.success(request, f"Welcome to {joined.organization.name}.")
            return redirect("focus")
    context = {
        "invitation": invitation,
        "form": form,
        "has_account": has_account,
        "error": error,
    }
    return render(request, "orgs/invitation.html", context)


@require_http_methods(["GET", "POST"])
@member_required
def member_edit(request: HttpRequest, pk: int) -> HttpResponse:
    membership = membership_of(request)
    target = get_membership_to_manage(membership, pk)
    form = MemberEditForm(request.POST or None, instance=target, actor=membership)
    if request.method == "POST" and form.is_valid():
        saved = run_action(
            form,
            actions.update_membership,
            membership=target,
            role=form.cleaned_data["role"],
            is_active=form.cleaned_data["is_active"],
            by=membership,
        )
        if saved is not None:
            messages.success(request, f"{target.user.email} saved.")
            return redirect("members")
        target.refresh_from_db()
    return render(
        request,
        "okrs/form.html",
        {"form": form, "title": f"Edit {target.user.display_name}"},
    )


@require_POST
@member_required
def switch_org(request: HttpRequest) -> HttpResponse:
    """Open another of the person's organizations. A session started through an
    organization's single sign-on stays in that organization: another one needs its
    own login (the password, or that organization's SSO)."""
    org_id = bounds.parse_id(request.POST.get("organization", ""))
    if org_id is None:
        return redirect("focus")
    user = membership_of(request).user
    if (
        active_memberships(user, request.session)
        .filter(organization_id=org_id)
        .exists()
    ):
        request.session[SESSION_KEY] = org_id
    elif (scope := sso.session_scope(request.session)) is not None and (
        Membership.objects.filter(
            user=user, organization_id=org_id, is_active=True
        ).exists()
    ):
        messages.error(request, scoped_refusal(scope))
    return redirect("focus")


def scoped_refusal(scope: int) -> str:
    name = Organization.objects.filter(pk=scope).values_list("name", flat=True).first()
    return (
        f"You signed in through {name}'s single sign-on, which opens {name} only. "
        "To open another organization, log out and log in with your password "
        "(or with that organization's single sign-on)."
    )


@require_http_methods(["GET", "POST"])
@login_required
def no_organization(request: HttpRequest) -> HttpResponse:
    """Where someone lands whose memberships are all deactivated (or who has none):
    say so plainly, and let them start an organization of their own."""
    if getattr(request, "membership", None) is not None:
        return redirect("focus")
    user = cast(User, request.user)
    scope = sso.session_scope(request.session)
    form = NewOrganizationForm(request.POST or None)
    if request.method == "POST" and scope is not None:
        form.add_error(None, scoped_refusal(scope))
    elif request.method == "POST" and form.is_valid():
        org = run_action(
            form,
            actions.start_organization,
            name=form.cleaned_data["organization"],
            owner=user,
            today=timezone.localdate(),
        )
        if org is not None:
            request.session[SESSION_KEY] = org.pk
            messages.success(request, f"{org.name} is ready. Invite your colleagues.")
            return redirect("focus")
    inactive = Membership.objects.filter(user=user, is_active=False).select_related(
        "organization"
    )
    return render(
        request, "orgs/no_organization.html", {"form": form, "inactive": inactive}
    )


@require_http_methods(["GET", "POST"])
@member_required
def sso_settings(request: HttpRequest) -> HttpResponse:
    membership = membership_of(request)
    require_admin(membership)
    org = membership.organization
    config = get_sso_for_member(membership)
    initial: dict[str, Any] = {"enabled": True}
    if config is not None:
        app = config.social_app
        initial = {
            "server_url": app.settings.get("server_url", ""),
            "client_id": app.client_id,
            "domains": ", ".join(d.domain for d in claims_of(config)),
            "enabled": config.enabled,
        }
    form = SSOForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        saved = run_action(form, actions.save_sso, org=org, **form.cleaned_data)
        if saved is not None:
            state = "on" if saved.enabled else "off"
            messages.success(request, f"Single sign-on saved; it is {state}.")
            return redirect("sso_settings")
    context = {
        "form": form,
        "config": config,
        "claims": [
            {
                "row": claim,
                "record_name": record_name(claim.domain),
                "record_value": record_value(claim.token),
            }
            for claim in (claims_of(config) if config else [])
        ],
        "callback_url": request.build_absolute_uri(
            reverse(
                "openid_connect_callback",
                kwargs={"provider_id": sso.provider_id_for(org.pk)},
            )
        ),
    }
    return render(request, "orgs/sso_settings.html", context)


def claims_of(config: OrganizationSSO) -> list[SSODomain]:
    return list(SSODomain.objects.filter(sso=config).order_by("domain"))


@require_POST
@member_required
def sso_check(request: HttpRequest) -> HttpResponse:
    """ "Check now": look for every claimed domain's TXT record and say what was found."""
    membership = membership_of(request)
    require_admin(membership)
    rows = actions.check_sso_domains(org=membership.organization)
    for row in rows:
        level = messages.SUCCESS if row.is_verified else messages.ERROR
        messages.add_message(request, level, f"{row.domain}: {row.check_result}")
    if not rows:
        messages.error(request, "There is no domain to check: add one first.")
    return redirect("sso_settings")


# allauth's "Sign in via …" page for one organization's provider, whose Continue
# button posts and is redirected to the provider (see SSO_FORM_ACTION).
provider_login = csp_update({"form-action": settings.SSO_FORM_ACTION})(
    openid_connect_views.login
)


@require_http_methods(["GET", "POST"])
@csp_update({"form-action": settings.SSO_FORM_ACTION})
def sso_login(request: HttpRequest) -> HttpResponse:
    """ "Sign in with SSO": find the organization by the address's domain and hand over
    to its provider (allauth's OpenID Connect login, which redirects to the IdP)."""
    form = SSOLoginForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        config = sso.config_for_email(form.cleaned_data["email"])
        if config is None:
            form.add_error(
                "email",
                "No organization signs in with single sign-on for this address. "
                "Log in with your password instead.",
            )
        else:
            provider = config.social_app.get_provider(request)
            try:
                # allauth's own start of the flow: state in the session, then a
                # redirect to the provider's authorization endpoint.
                return cast(HttpResponse, provider.redirect_from_request(request))
            except outbound.Refused:
                form.add_error(
                    "email",
                    f"{config.organization.name}'s identity provider is at an address "
                    "Landmark may not connect to. Ask an admin of "
                    f"{config.organization.name} to check its single sign-on settings.",
                )
            except (requests.RequestException, OAuth2Error, KeyError, ValueError):
                form.add_error(
                    "email",
                    f"{config.organization.name}'s identity provider did not answer. "
                    "Try again in a moment, or log in with your password.",
                )
    return render(request, "socialaccount/sso_login.html", {"form": form})


SHOWN_CHANGES = 20


def settings_changes(org: Organization) -> list[dict[str, Any]]:
    """The latest changes of the organization's settings, newest first: who, when,
    and each field as "before → after" (one query)."""
    history: Any = Organization.history  # added by HistoricalRecords
    versions = list(
        history.filter(id=org.pk)
        .select_related("history_user")
        .order_by("-history_date", "-history_id")[: SHOWN_CHANGES + 1]
    )
    changes = []
    for newer, older in itertools.pairwise(versions):
        lines = []
        for change in newer.diff_against(older).changes:
            field = cast(
                "models.Field[Any, Any]", Organization._meta.get_field(change.field)
            )
            names = dict(field.choices or ())
            before, after = (names.get(v, v) for v in (change.old, change.new))
            lines.append(f"{str(field.verbose_name).capitalize()}: {before} → {after}")
        if lines:
            changes.append(
                {"when": newer.history_date, "who": newer.history_user, "lines": lines}
            )
    return changes[:SHOWN_CHANGES]


@require_http_methods(["GET", "POST"])
@member_required
def organization_settings(request: HttpRequest) -> HttpResponse:
    """Settings → Organization: every member reads it, admins change it."""
    membership = membership_of(request)
    org = get_organization_for_member(membership, write=request.method == "POST")
    form = OrganizationSettingsForm(
        request.POST or None, instance=org, read_only=not membership.is_admin
    )
    if (
        request.method == "POST"
        and form.is_valid()
        and run_update(form, actions.update_organization, org=org, by=membership.user)
        is not None
    ):
        messages.success(request, "Organization settings saved.")
        return redirect("organization_settings")
    return render(
        request,
        "orgs/organization_settings.html",
        {
            "form": form,
            "changes": settings_changes(org) if membership.is_admin else [],
        },
    )


@require_POST
def resend_verification(request: HttpRequest) -> HttpResponse:
    """ "Send the link again" on the check-your-email page, for the address this
    browser signed up (or tried to log in) with. It answers alike whether or not that
    address has an account waiting for verification: a taken address gets the same
    "you already have an account" email as at sign-up (no enumeration). allauth's
    cooldown (one email per address per three minutes) applies."""
    pending = str(request.session.get(account_mail.PENDING_EMAIL_KEY, ""))
    if pending:
        address = (
            EmailAddress.objects.filter(email__iexact=pending, verified=False)
            .select_related("user")
            .first()
        )
        sent = email_verification.send_verification_email_to_address(
            request,
            address or EmailAddress(user=None, email=pending),
            signup=True,
        )
        if not sent:
            messages.info(
                request,
                "A link went to this address less than three minutes ago: look for "
                "it first (and in your spam folder), then try again.",
            )
    return redirect("account_email_verification_sent")
