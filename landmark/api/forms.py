from datetime import datetime, timedelta
from typing import Any, cast

from allauth.account import forms as allauth_forms
from allauth.mfa.totp import forms as totp_forms
from django import forms
from django.db import transaction
from django.utils import timezone

from landmark.api import actions
from landmark.api.models import APIToken
from landmark.orgs.models import User

EXPIRY_CHOICES = [
    ("30", "In 30 days"),
    ("90", "In 90 days"),
    ("365", "In a year"),
    ("never", "Never (revoke it yourself)"),
]


class TokenForm(forms.Form):
    name = forms.CharField(
        max_length=100, help_text="What will use it, e.g. “Nightly sales export”."
    )
    scope = forms.ChoiceField(
        choices=APIToken.Scope.choices,
        initial=APIToken.Scope.READ,
        help_text="A token never has more rights than you have.",
    )
    expires = forms.ChoiceField(choices=EXPIRY_CHOICES, initial="90", label="Expires")

    def expires_at(self) -> datetime | None:
        choice = self.cleaned_data["expires"]
        if choice == "never":
            return None
        return timezone.now() + timedelta(days=int(choice))


# Credential changes (allauth's forms, ACCOUNT_FORMS and MFA_FORMS): each asks whether
# to revoke the person's API tokens too, ticked by default.


def add_revoke_tokens_field(form: forms.Form, user: User | None) -> None:
    """The "also revoke my API tokens" box, when the person has any usable token."""
    count = (
        APIToken.objects.usable().filter(user=user).count()
        if user is not None and user.pk
        else 0
    )
    if not count:
        return
    tokens, them = (
        ("API token", "it") if count == 1 else (f"{count} API tokens", "them")
    )
    form.fields["revoke_tokens"] = forms.BooleanField(
        required=False,
        initial=True,
        label=f"Also revoke my {tokens}",
        help_text=f"Scripts and systems using {them} stop working at once; you make new "
        "ones on the API tokens page. Leave it ticked if anyone else may have seen "
        "your password or your tokens.",
    )


def revokes_tokens(form: forms.Form) -> bool:
    return bool(form.cleaned_data.get("revoke_tokens"))


def revoke_if_asked(form: forms.Form, user: Any) -> None:
    """After the new password is saved: revoke the person's tokens if the box was
    ticked. (Django already ends every session whose password hash is now stale.)"""
    actions.end_other_access(
        user=cast(User, user), sessions=False, tokens=revokes_tokens(form)
    )


class ChangePasswordForm(allauth_forms.ChangePasswordForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        add_revoke_tokens_field(self, cast(User | None, self.user))

    @transaction.atomic
    def save(self) -> None:
        super().save()
        revoke_if_asked(self, self.user)


class SetPasswordForm(allauth_forms.SetPasswordForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        add_revoke_tokens_field(self, cast(User | None, self.user))

    @transaction.atomic
    def save(self) -> None:
        super().save()
        revoke_if_asked(self, self.user)


class ResetPasswordKeyForm(allauth_forms.ResetPasswordKeyForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        add_revoke_tokens_field(self, cast(User | None, self.user))

    @transaction.atomic
    def save(self) -> None:
        super().save()
        revoke_if_asked(self, self.user)


class DeactivateTOTPForm(totp_forms.DeactivateTOTPForm):
    """Turning the authenticator app off; views.DeactivateTOTPView acts on it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        add_revoke_tokens_field(self, self.authenticator.user)
