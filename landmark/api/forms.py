from datetime import datetime, timedelta

from django import forms
from django.utils import timezone

from landmark.api.models import APIToken

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
