"""Forms of the webhook pages."""

from typing import Any

from django import forms

from landmark.hooks.models import EVENTS


class WebhookForm(forms.Form):
    url = forms.CharField(
        max_length=500,
        label="Payload URL",
        help_text="Landmark POSTs JSON here, signed with the webhook's secret (https; "
        "never a private or local address).",
        widget=forms.URLInput(attrs={"placeholder": "https://example.com/landmark"}),
    )
    description = forms.CharField(max_length=200, required=False, label="Description")
    events = forms.MultipleChoiceField(
        choices=list(EVENTS.items()),
        widget=forms.CheckboxSelectMultiple,
        label="Events",
    )

    def __init__(self, *args: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if editing:
            self.fields["is_active"] = forms.BooleanField(
                required=False,
                label="Active",
                help_text="Off: nothing is sent; deliveries wait until it is on again.",
            )
