"""Settings → API tokens: list, create (the secret is shown once), revoke."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from landmark.api import actions
from landmark.api.forms import TokenForm
from landmark.api.models import TOKEN_PREFIX, APIToken
from landmark.lib.http import member_required, membership_of
from landmark.okrs.views import run_action

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
    tokens = list(
        APIToken.objects.filter(
            organization=membership.organization, user=membership.user
        )
    )
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
    membership = membership_of(request)
    token = get_object_or_404(
        APIToken, organization=membership.organization, user=membership.user, pk=pk
    )
    actions.revoke_token(token=token)
    messages.success(
        request, f"The token “{token.name}” is revoked: it stops working now."
    )
    return redirect("api_tokens")
