"""Forms of the notification pages: a person's choices, the organization's and a
team's reminder schedules."""

from typing import Any

from django import forms

from landmark.notify.channels import CHANNELS
from landmark.notify.kinds import KINDS
from landmark.notify.models import Cadence


def preference_field(kind: str, channel: str) -> str:
    return f"{kind}__{channel}"


class PreferencesForm(forms.Form):
    """One box per kind and outside channel: on or off."""

    def __init__(
        self,
        *args: Any,
        current: dict[tuple[str, str], bool],
        channels: list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.channels = list(CHANNELS) if channels is None else channels
        for kind in KINDS.values():
            for channel in (CHANNELS[key] for key in self.channels):
                self.fields[preference_field(kind.key, channel.key)] = (
                    forms.BooleanField(
                        required=False,
                        label=f"{kind.label} by {channel.label.lower()}",
                        initial=current[(kind.key, channel.key)],
                    )
                )

    def choices(self) -> dict[tuple[str, str], bool]:
        return {
            (kind, channel): bool(self.cleaned_data[preference_field(kind, channel)])
            for kind in KINDS
            for channel in self.channels
        }


class CadenceFields(forms.Form):
    weekday = forms.TypedChoiceField(
        choices=Cadence.Weekday.choices, coerce=int, label="Day"
    )
    at_time = forms.TimeField(
        label="Time",
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        help_text="In the organization's time zone.",
    )
    every_weeks = forms.TypedChoiceField(
        choices=Cadence.Frequency.choices, coerce=int, label="How often"
    )


class ReminderSettingsForm(CadenceFields):
    enabled = forms.BooleanField(
        required=False,
        label="Send check-in reminders",
        help_text="Off: nobody in the organization gets reminders or escalations.",
    )
    escalate_after = forms.IntegerField(
        min_value=1,
        max_value=12,
        label="Tell the team lead after this many missed reminders",
        help_text="One more missed reminder and the organization's admins are told.",
    )
    alert_hold_minutes = forms.TypedChoiceField(
        choices=[
            (0, "At once"),
            (15, "15 minutes"),
            (60, "1 hour"),
            (240, "4 hours"),
            (1440, "1 day"),
        ],
        coerce=int,
        label="Tell KPI alerts once a change has held for",
        help_text="A KPI that turns unhealthy, goes stale or recovers is told to its "
        "owner and watchers only once the change has lasted this long, so a value "
        "that flaps sends nothing.",
    )
    digest_enabled = forms.BooleanField(
        required=False,
        label="Send the weekly digest",
        help_text="Each member's week: their key results, their teams' KPIs, what "
        "changed, kudos. Each person can still turn it off for themselves.",
    )
    digest_weekday = forms.TypedChoiceField(
        choices=Cadence.Weekday.choices, coerce=int, label="Digest day"
    )
    digest_at_time = forms.TimeField(
        label="Digest time",
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        help_text="In the organization's time zone.",
    )
    field_order = ["enabled", "weekday", "at_time", "every_weeks"]


class TeamCadenceForm(CadenceFields):
    own = forms.BooleanField(
        required=False,
        label="This team has its own reminder schedule",
        help_text="Otherwise its key results follow the organization's schedule.",
    )
    field_order = ["own", "weekday", "at_time", "every_weeks"]
