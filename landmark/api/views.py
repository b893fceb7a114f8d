"""Settings → API tokens: list, create (the secret is shown once), revoke; the
organization's tokens for its owners; and turning two-factor off, which ends the
person's other sessions and may revoke their tokens."""

from typing import Any, cast

from allauth.mfa.totp import views as totp_views
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from landmark.api import actions
from landmark.api.access import (
    get_organization_token,
    get_own_token,
    organization_tokens,
    own_tokens,
)
from landmark.api.forms import TokenForm, revokes_tokens
from landmark.api.models import TOKEN_PREFIX
from landmark.lib.forms import run_action
from landmark.orgs.access import member_required, membership_of
from landmark.orgs.models import User

NEW_TOKEN_KEY = "landmark_new_api_token"  # noqa: S105  # a session key name


@never_cache
@require_http_methods(["GET", "POST"])
@member_required
def token_list(request: HttpRequest) -> HttpResponse:
    """The caller's own tokens in the current organization, and the create form.

    A new token's secret is handed to the next page view through the session and
    removed from it there: shown once, and a reload does not create another token.
    """
    membership = membership_of(request)
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        created = run_action(
            form,
            actions.create_token,
            membership=membership,
            name=form.cleaned_data["name"],
            scope=form.cleaned_data["scope"],
            expires_at=form.expires_at(),
        )
        if created is not None:
            request.session[NEW_TOKEN_KEY] = [created[0].pk, created[1]]
            return redirect("api_tokens")
    tokens = list(own_tokens(membership))
    new_pk, secret = request.session.pop(NEW_TOKEN_KEY, [None, ""])
    return render(
        request,
        "api/tokens.html",
        {
            "form": form,
            "tokens": tokens,
            "created": next((t for t in tokens if t.pk == new_pk), None),
            "secret": secret,
            "token_prefix": TOKEN_PREFIX,
        },
        status=400 if request.method == "POST" else 200,
    )


@require_POST
@member_required
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_own_token(membership_of(request), pk)
    actions.revoke_token(token=token)
    messages.success(
        request, f"The token “{token.name}” is revoked: it stops working now."
    )
    return redirect("api_tokens")


@never_cache
@require_GET
@member_required
def organization_token_list(request: HttpRequest) -> HttpResponse:
    """Every API token in the organization, whoever made it (owners only): never the
    secret (Landmark keeps only its hash), only its visible prefix."""
    tokens = organization_tokens(membership_of(request)).order_by(
        "revoked_at", "user__email", "-created_at", "-pk"
    )
    return render(
        request,
        "api/organization_tokens.html",
        {"tokens": tokens, "token_prefix": TOKEN_PREFIX},
    )


@require_POST
@member_required
def organization_token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_organization_token(membership_of(request), pk)
    actions.revoke_token(token=token)
    messages.success(
        request,
        f"{token.user.email}’s token “{token.name}” is revoked: it stops working now.",
    )
    return redirect("organization_api_tokens")


class DeactivateTOTPView(totp_views.DeactivateTOTPView):
    """allauth's "turn off the authenticator app", then: every other browser logged in
    as the person is logged out (this one stays), and their API tokens are revoked
    if they left the box ticked."""

    def get_form_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = super().get_form_kwargs()
        if self.request.method != "POST":
            # allauth binds the form to empty data on GET (to show at once why it
            # cannot be turned off); show the box ticked, as its default is.
            kwargs["data"] = {"revoke_tokens": "on"}
        return kwargs

    @transaction.atomic
    def form_valid(self, form: Any) -> HttpResponse:
        response: HttpResponse = super().form_valid(form)
        user = cast(User, self.request.user)
        revoked = actions.end_other_access(
            user=user, sessions=True, tokens=revokes_tokens(form)
        )
        # end_sessions changed the hash every session must match: renew this one's.
        update_session_auth_hash(self.request, User.objects.get(pk=user.pk))
        done = "Every other browser logged in as you was logged out"
        if revoked:
            done += (
                f", and your {revoked} API token{'s' if revoked != 1 else ''} revoked"
            )
        messages.info(self.request, done + ".")
        return response


deactivate_totp = DeactivateTOTPView.as_view()
