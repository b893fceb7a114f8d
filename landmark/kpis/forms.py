"""Forms for KPI set-up. Querysets are always limited to the caller's organization."""

from datetime import date
from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from landmark.kpis import health
from landmark.kpis.actions import validate_target
from landmark.kpis.models import KPI, KPITarget
from landmark.lib import bounds, values
from landmark.lib.forms import DecimalField, ValueField, limit_choices
from landmark.orgs.access import org_users
from landmark.orgs.forms import UserChoiceField
from landmark.orgs.models import Membership, Team, User

HUNDRED = Decimal(100)


class KPIForm(forms.ModelForm[KPI]):
    owner = UserChoiceField(queryset=User.objects.none(), required=False)
    # Shown as a percent (10 rather than 0.10); stored as a share.
    tolerance = DecimalField(
        label="Warning tolerance (%)",
        min_value=Decimal(0),
        max_value=Decimal(999),
        decimal_places=2,
        initial=Decimal(10),
        help_text="How far outside the target still counts as a warning rather than "
        "unhealthy, as a percent of the target (of the band's width for “between”; "
        "of the target again for “equal to” and a band of zero width: 10 % of “equal "
        "to 50” warns from 45 to 55).",
    )

    class Meta:
        model = KPI
        fields = [
            "name",
            "definition",
            "owner",
            "team",
            "category",
            "unit",
            "indicator",
            "frequency",
            "aggregation",
            "target_kind",
            "target_low",
            "target_high",
            "tolerance",
            "is_key",
            "visibility",
            "key",
            "archived",
        ]
        labels = {
            "team": "Department or team",
            "target_kind": "Target",
            "target_low": "Lowest healthy value",
            "target_high": "Highest healthy value",
            "is_key": "Key KPI",
            "key": "Key for data pushes",
            "aggregation": "Value of a window",
        }
        help_texts = {
            "target_low": "For “at least”, “above” and “between”; the value of "
            "“equal to”.",
            "target_high": "For “at most”, “below” and “between”.",
            "aggregation": "How the data points within one window make its value.",
            "archived": "Archived KPIs are hidden from the dashboard; their data is kept.",
        }
        widgets = {"definition": forms.Textarea(attrs={"rows": 3})}
        field_classes = {"target_low": ValueField, "target_high": ValueField}

    def __init__(self, *args: Any, membership: Membership, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        limit_choices(self, "owner", org_users(membership))
        limit_choices(
            self, "team", Team.objects.filter(organization=membership.organization)
        )
        team = self.fields["team"]
        if not isinstance(team, forms.ModelChoiceField):
            raise TypeError("The team field must be a choice of teams.")
        team.empty_label = "Company-wide (no team)"
        if self.instance.pk:
            percent = (self.instance.tolerance * HUNDRED).normalize()
            self.initial["tolerance"] = f"{percent:f}"
        else:
            del self.fields["archived"]

    def clean_tolerance(self) -> Decimal:
        percent: Decimal = self.cleaned_data["tolerance"]
        return percent / HUNDRED

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        kind = data.get("target_kind", "")
        # A bound the target kind does not use is dropped, not kept silently.
        if kind in {KPI.TargetKind.AT_LEAST, KPI.TargetKind.ABOVE}:
            data["target_high"] = None
        elif kind in {KPI.TargetKind.AT_MOST, KPI.TargetKind.BELOW}:
            data["target_low"] = None
        elif kind == KPI.TargetKind.EQUAL:
            # One value, entered as the lowest healthy value, is both bounds.
            data["target_high"] = data.get("target_low")
        elif kind == KPI.TargetKind.NONE:
            data["target_low"] = data["target_high"] = None
        # Per-window targets hold the bound of the kind they were written for; a
        # new kind would read them as the wrong bound.
        if (
            self.instance.pk
            and "target_kind" in self.changed_data
            and KPITarget.objects.filter(kpi_id=self.instance.pk).exists()
        ):
            self.add_error(
                "target_kind",
                "This KPI has targets per window written for its current kind of "
                "target. Clear them on its Targets page first, then change the kind.",
            )
        return data


class TargetScheduleForm(forms.Form):
    """Per-window targets as lines of text: `YYYY-MM-DD value` or `YYYY-MM-DD low high`."""

    schedule = forms.CharField(
        label="Targets per window",
        required=False,
        widget=forms.Textarea(attrs={"rows": 14, "spellcheck": "false"}),
    )

    def __init__(self, *args: Any, kpi: KPI, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kpi = kpi
        field = self.fields["schedule"]
        noun = kpi.get_frequency_display().lower()
        if kpi.target_kind == KPI.TargetKind.BETWEEN:
            shape = "the first day of the window, the lowest and the highest healthy value (2025-01-01 90 110)"
        elif kpi.target_kind in {KPI.TargetKind.AT_MOST, KPI.TargetKind.BELOW}:
            shape = "the first day of the window and the highest healthy value (2025-01-01 30)"
        elif kpi.target_kind == KPI.TargetKind.EQUAL:
            shape = "the first day of the window and the target value (2025-01-01 50)"
        else:
            shape = "the first day of the window and the lowest healthy value (2025-01-01 120000)"
        field.help_text = (
            f"One {noun} window per line: {shape}. Windows not listed use the KPI's "
            "own target. An empty box removes every per-window target."
        )

    @staticmethod
    def as_text(kpi: KPI, rows: list[KPITarget]) -> str:
        def line(row: KPITarget) -> str:
            if kpi.target_kind == KPI.TargetKind.BETWEEN:
                bounds_shown = [row.low, row.high]
            elif kpi.target_kind in {KPI.TargetKind.AT_MOST, KPI.TargetKind.BELOW}:
                bounds_shown = [row.high]
            else:
                bounds_shown = [row.low]
            return " ".join(
                [row.window_start.isoformat(), *map(health.plain, bounds_shown)]
            )

        return "\n".join(line(r) for r in rows)

    def clean_schedule(
        self,
    ) -> list[tuple[date, Decimal | None, Decimal | None]]:
        kpi = self.kpi
        if kpi.target_kind == KPI.TargetKind.NONE:
            raise ValidationError(
                "This KPI has no target. Choose “at least”, “above”, “at most”, "
                "“below”, “between” or “equal to” on its settings first."
            )
        wanted = 2 if kpi.target_kind == KPI.TargetKind.BETWEEN else 1
        noun = kpi.get_frequency_display().lower()
        schedule: list[tuple[date, Decimal | None, Decimal | None]] = []
        seen: dict[date, int] = {}
        errors: list[str] = []
        text: str = self.cleaned_data["schedule"]
        for number, raw in enumerate(text.splitlines(), start=1):
            parts = raw.replace(",", " ").replace(";", " ").split()
            if not parts:
                continue
            problem, row = self.parse_line(parts, wanted, noun)
            if row is not None and row[0] in seen:
                problem = f"{row[0]} is already on line {seen[row[0]]}."
            if problem or row is None:
                errors.append(f"Line {number}: {problem}")
                continue
            seen[row[0]] = number
            schedule.append(row)
        if errors:
            raise ValidationError(errors)
        return sorted(schedule)

    def parse_line(
        self, parts: list[str], wanted: int, noun: str
    ) -> tuple[str, tuple[date, Decimal | None, Decimal | None] | None]:
        try:
            start = date.fromisoformat(parts[0])
        except ValueError:
            return f"“{parts[0]}” is not a date; write it as YYYY-MM-DD.", None
        if not bounds.date_in_range(start):
            return f"{start}: {bounds.DATE_MESSAGE}", None
        if start != health.window_start(self.kpi.frequency, start):
            first = health.window_start(self.kpi.frequency, start)
            return (
                f"{start} is not the first day of a {noun} window (that window starts on {first}).",
                None,
            )
        if len(parts) - 1 != wanted:
            wanted_text = (
                "a value" if wanted == 1 else "two values (lowest and highest)"
            )
            return f"write the date and {wanted_text}.", None
        numbers: list[Decimal] = []
        for part in parts[1:]:
            try:
                numbers.append(values.parse_value(part))
            except values.ValueProblem as problem:
                return problem.sentence, None
        if self.kpi.target_kind == KPI.TargetKind.BETWEEN:
            low, high = numbers
        elif self.kpi.target_kind in {KPI.TargetKind.AT_MOST, KPI.TargetKind.BELOW}:
            low, high = None, numbers[0]
        elif self.kpi.target_kind == KPI.TargetKind.EQUAL:
            low = high = numbers[0]
        else:
            low, high = numbers[0], None
        try:
            validate_target(self.kpi.target_kind, low, high)
        except ValidationError as error:
            return " ".join(error.messages), None
        return "", (start, low, high)
