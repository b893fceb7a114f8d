"""The connector settings form: one form for the three kinds; the fields of the
other kinds are ignored. Secrets left blank keep the stored ones."""

from typing import Any

from django import forms

from landmark.connectors.actions import ConnectorInput, parse_headers
from landmark.connectors.models import Connector
from landmark.connectors.schedule import WEEKDAYS


class ConnectorForm(forms.Form):
    kind = forms.ChoiceField(choices=Connector.Kind.choices)
    database_url = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.PasswordInput(render_value=False),
        help_text="postgresql://user:password@host:5432/db, mysql://…, sqlite:////path/file.db, or ${ENV_VAR}. Leave blank to keep the stored one.",
    )
    query = forms.CharField(
        required=False,
        max_length=10_000,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="Returns time, value rows, or one value (stamped with the run's time).",
    )
    url = forms.CharField(
        required=False,
        max_length=2000,
        label="URL",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
        help_text="https://…, or ${ENV_VAR}. Stored encrypted (a URL often carries a token); leave blank to keep the stored one.",
    )
    expression = forms.CharField(
        required=False,
        max_length=2000,
        help_text="JMESPath: a value, or a list of {time, value}, e.g. data[].{time: day, value: count}",
    )
    headers = forms.CharField(
        required=False,
        max_length=10_000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Name: value lines, stored encrypted. Leave blank to keep the stored ones.",
    )
    time_column = forms.CharField(required=False, max_length=200)
    value_column = forms.CharField(required=False, max_length=200)
    schedule = forms.ChoiceField(choices=Connector.Schedule.choices)
    at_time = forms.TimeField(
        label="At",
        initial="06:00",
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        help_text="Daily and weekly: the time; hourly: the minute.",
    )
    weekday = forms.TypedChoiceField(
        choices=list(enumerate(WEEKDAYS)), coerce=int, initial=0
    )
    cron = forms.CharField(required=False, max_length=120, help_text="e.g. 0 6 * * 1-5")
    enabled = forms.BooleanField(required=False, initial=True)

    def clean_headers(self) -> dict[str, str]:
        text: str = self.cleaned_data.get("headers") or ""
        try:
            return parse_headers(text)
        except ValueError as error:
            raise forms.ValidationError(str(error)) from None

    def to_input(self) -> ConnectorInput:
        data: dict[str, Any] = self.cleaned_data
        secrets: dict[str, Any] = {}
        if data.get("database_url"):
            secrets["database_url"] = data["database_url"]
        if (data.get("url") or "").strip():
            secrets["url"] = data["url"].strip()
        if data.get("headers"):
            secrets["headers"] = data["headers"]
        return ConnectorInput(
            kind=data["kind"],
            settings={
                name: data.get(name) or ""
                for name in (
                    "query",
                    "expression",
                    "time_column",
                    "value_column",
                )
            },
            secrets=secrets,
            schedule=data["schedule"],
            at_time=data["at_time"],
            weekday=data["weekday"],
            cron=data.get("cron") or "",
            enabled=bool(data.get("enabled")),
        )


def initial_of(connector: Connector | None) -> dict[str, Any]:
    if connector is None:
        return {"kind": Connector.Kind.SQL, "schedule": Connector.Schedule.DAILY}
    return {
        "kind": connector.kind,
        **connector.settings,
        "schedule": connector.schedule,
        "at_time": connector.at_time,
        "weekday": connector.weekday,
        "cron": connector.cron,
        "enabled": connector.enabled,
    }
