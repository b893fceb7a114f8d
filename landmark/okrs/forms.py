"""Forms for OKR pages. Querysets are always limited to the caller's organization."""

from datetime import date
from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.template.defaultfilters import pluralize
from django.utils import timezone

from landmark.kpis.access import kpis_for_member
from landmark.kpis.actions import kpi_value_at
from landmark.kpis.models import KPI
from landmark.kpis.picker import KPIPicker
from landmark.lib import bounds
from landmark.lib.forms import DecimalField, ValueField, limit_choices
from landmark.okrs.access import objectives_for_member
from landmark.okrs.actions import validate_key_result_fields, validate_period_fields
from landmark.okrs.models import (
    CheckIn,
    Initiative,
    KeyResult,
    Kudos,
    Objective,
    ObjectiveKPI,
    Period,
)
from landmark.orgs.access import org_users
from landmark.orgs.forms import UserChoiceField
from landmark.orgs.models import Membership, Team, TeamMember, User


class PeriodForm(forms.ModelForm[Period]):
    class Meta:
        model = Period
        fields = ["name", "kind", "start", "end", "state", "parent"]
        widgets = {
            "start": forms.DateInput(attrs={"type": "date"}),
            "end": forms.DateInput(attrs={"type": "date"}),
        }

    def __init__(self, *args: Any, membership: Membership, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        parents = Period.objects.for_org(membership.organization).filter(
            kind=Period.Kind.YEAR
        )
        if self.instance.pk:
            parents = parents.exclude(pk=self.instance.pk)
            # An existing period changes state only through its Start / Close and
            # grade / Reopen actions, which grade and reopen its objectives.
            del self.fields["state"]
        else:
            state = self.fields["state"]
            if not isinstance(state, forms.ChoiceField):
                raise TypeError("A period's state is a choice field.")
            state.choices = [
                c for c in Period.State.choices if c[0] != Period.State.CLOSED
            ]
        limit_choices(self, "parent", parents)
        self.fields["parent"].label = "Part of year"
        self.organization = membership.organization

    def clean_start(self) -> date:
        return bounds.check_date(self.cleaned_data["start"])

    def clean_end(self) -> date:
        return bounds.check_date(self.cleaned_data["end"])

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if start and end and (problem := bounds.period_problem(start, end)):
            self.add_error("end", problem)
        name = data.get("name")
        kind = data.get("kind")
        if name is not None and kind and start and end and "end" not in self.errors:
            try:
                validate_period_fields(
                    name=name,
                    kind=kind,
                    start=start,
                    end=end,
                )
            except ValidationError as error:
                self.add_error(None, error)
        duplicate = Period.objects.for_org(self.organization).filter(name__iexact=name)
        if self.instance.pk:
            duplicate = duplicate.exclude(pk=self.instance.pk)
        if name and duplicate.exists():
            self.add_error("name", "There is already a period with this name.")
        return data


def is_default(value: Any, default: Any) -> bool:
    """A form value (as posted or as initially shown) equals a default."""
    if isinstance(default, bool):
        return bool(value) == default
    if isinstance(default, list):
        return not value
    if default is None:
        return value in (None, "")
    return str(value if value is not None else "") == str(default)


class ObjectiveForm(forms.ModelForm[Objective]):
    owner = UserChoiceField(queryset=User.objects.none())
    hide_errors = False  # shown again for the KPI picker's Find: not checked yet

    class Meta:
        model = Objective
        fields = [
            "title",
            "description",
            "period",
            "level",
            "team",
            "owner",
            "parent",
            "type",
            "commitment",
            "visibility",
            "state",
            "include_children",
        ]
        labels = {
            "parent": "Aligned to",
            "include_children": "Include aligned objectives in progress",
        }
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}

    kpis = forms.ModelMultipleChoiceField(
        queryset=KPI.objects.none(),
        required=False,
        label="Works on KPIs",
        help_text="The KPIs this objective should move: type part of a name to find one.",
        widget=KPIPicker(multiple=True),
    )

    # Shown first; the others wait under "More", which opens by itself when one of
    # them has an error or a value other than a new objective's default.
    ESSENTIALS = ("title", "owner", "team", "period")
    DEFAULTS: dict[str, Any] = {
        "description": "",
        "level": Objective.Level.TEAM,
        "parent": None,
        "type": Objective.Type.IMPROVE,
        "commitment": Objective.Commitment.ASPIRATIONAL,
        "visibility": Objective.Visibility.PUBLIC,
        "state": Objective.State.ACTIVE,
        "include_children": False,
        "kpis": [],
    }

    def __init__(self, *args: Any, membership: Membership, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        org = membership.organization
        limit_choices(self, "owner", org_users(membership))
        open_periods = Period.objects.for_org(org).exclude(state=Period.State.CLOSED)
        limit_choices(self, "period", open_periods)
        limit_choices(self, "team", Team.objects.filter(organization=org))
        parents = (
            objectives_for_member(membership)
            .exclude(state=Objective.State.CLOSED)
            .select_related("period")
        )
        if self.instance.pk:
            parents = parents.exclude(pk=self.instance.pk)
        limit_choices(self, "parent", parents)
        visible_kpis = kpis_for_member(membership)
        limit_choices(self, "kpis", visible_kpis.filter(archived=False))
        # Links to objectives and KPIs this member may not see are neither shown nor
        # lost: the form starts from what they may see, only what they change is
        # saved (the edit views and the API save changed fields only), and the KPIs
        # they cannot see stay linked.
        self.hidden_kpis: list[KPI] = []
        if self.instance.pk:
            parent_id = self.instance.parent_id
            if (
                parent_id is not None
                and not objectives_for_member(membership).filter(pk=parent_id).exists()
            ):
                self.initial["parent"] = None
            links = ObjectiveKPI.objects.filter(objective=self.instance)
            shown = set(
                links.filter(kpi__in=visible_kpis.values("pk")).values_list(
                    "kpi_id", flat=True
                )
            )
            self.initial["kpis"] = sorted(shown)
            self.hidden_kpis = list(
                KPI.objects.filter(
                    pk__in=links.exclude(kpi_id__in=shown).values("kpi_id")
                )
            )
        self.fields["parent"].label_from_instance = lambda o: f"{o.title} ({o.period})"  # type: ignore[attr-defined]  # ModelChoiceField

    def essential_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.ESSENTIALS]

    def more_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.fields if name not in self.ESSENTIALS]

    def more_open(self) -> bool:
        """Whether "More" starts open: an error or a non-default value inside."""
        for bound in self.more_fields():
            if self.is_bound and bound.name in self.errors:
                return True
            if not is_default(bound.value(), self.DEFAULTS.get(bound.name)):
                return True
        return False

    def clean_kpis(self) -> list[KPI]:
        return [*self.cleaned_data.get("kpis", []), *self.hidden_kpis]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        level, team = data.get("level"), data.get("team")
        if level == Objective.Level.TEAM and team is None:
            self.add_error("team", "A team objective needs its team.")
        return data


# The fields that depend on a key result's kind (and a threshold's direction); the
# form shows only those its kind uses, and the server clears the others.
MEASURE_FIELDS = (
    "unit",
    "start",
    "target",
    "threshold_op",
    "threshold_low",
    "threshold_high",
    "kpi",
)
# What the form says under each when it shows them all (without JavaScript).
MEASURE_HINTS = {
    "unit": "For metrics and thresholds.",
    "start": "For metrics only.",
    "target": "For metrics only.",
    "threshold_op": "For thresholds only.",
    "threshold_low": "For thresholds: at or above, or between.",
    "threshold_high": "For thresholds: at or below, or between.",
    "kpi": "For metrics and thresholds.",
}


def measure_fields(kind: str, threshold_op: str) -> set[str]:
    """The kind-dependent fields a key result of this kind uses."""
    if kind == KeyResult.Kind.METRIC:
        return {"unit", "start", "target", "kpi"}
    if kind == KeyResult.Kind.THRESHOLD:
        used = {"unit", "threshold_op", "kpi"}
        op = KeyResult.ThresholdOp
        if threshold_op in {op.AT_LEAST, op.BETWEEN, ""}:
            used.add("threshold_low")
        if threshold_op in {op.AT_MOST, op.BETWEEN, ""}:
            used.add("threshold_high")
        return used
    if kind == KeyResult.Kind.MILESTONE:
        return set()
    return set(MEASURE_FIELDS)  # no kind chosen yet: show them all


class KeyResultForm(forms.ModelForm[KeyResult]):
    owner = UserChoiceField(queryset=User.objects.none(), required=False)
    hide_errors = False  # shown again for a new kind or the KPI picker's Find

    class Meta:
        model = KeyResult
        fields = [
            "title",
            "description",
            "kind",
            "owner",
            "unit",
            "start",
            "target",
            "threshold_op",
            "threshold_low",
            "threshold_high",
            "weight",
            "start_date",
            "due_date",
            "kpi",
        ]
        labels = {
            "start_date": "Measured from",
            "kpi": "Tracks KPI",
            "start": "Start value (baseline)",
            "target": "Target value",
            "threshold_op": "The value must stay",
            "threshold_low": "Lowest acceptable value",
            "threshold_high": "Highest acceptable value",
        }
        widgets = {
            "description": forms.Textarea(attrs={"rows": 3}),
            "start_date": forms.DateInput(attrs={"type": "date"}),
            "due_date": forms.DateInput(attrs={"type": "date"}),
            "kind": forms.RadioSelect,
            "kpi": KPIPicker(multiple=False),
        }
        field_classes = {
            "start": ValueField,
            "target": ValueField,
            "threshold_low": ValueField,
            "threshold_high": ValueField,
            "weight": DecimalField,
        }

    def __init__(
        self,
        *args: Any,
        membership: Membership,
        objective: Objective,
        clear_unused: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.objective = objective
        # The web form hides what the kind does not use and clears it; the API
        # says what it sends, so a value the kind cannot hold is refused instead.
        self.clear_unused = clear_unused
        limit_choices(self, "owner", org_users(membership))
        visible_kpis = kpis_for_member(membership)
        limit_choices(self, "kpi", visible_kpis.filter(archived=False))
        kpi_id = self.instance.kpi_id if self.instance.pk else None
        self.kpi_hidden = False
        if kpi_id is not None and not visible_kpis.filter(pk=kpi_id).exists():
            # Tracking a KPI this member may not see: the form shows no KPI, and
            # leaving it so keeps the tracking (only a change is saved).
            self.initial["kpi"] = None
            self.kpi_hidden = True
        self.cleared: set[str] = set()
        # As stored: cleaning writes the form's values onto the instance.
        self.stored = {
            name: getattr(self.instance, "kpi_id" if name == "kpi" else name)
            for name in MEASURE_FIELDS
        }
        self.fields["kind"].label = "How is it measured?"
        self.fields["kpi"].help_text = (
            "The current value then follows the KPI; leave the start empty to start "
            "from the KPI's value when the period starts."
        )
        self.fields[
            "weight"
        ].help_text = "How much this key result counts in its objective (default 1)."

    def clean_due_date(self) -> date | None:
        due: date | None = self.cleaned_data["due_date"]
        return None if due is None else bounds.check_date(due)

    def clean_start_date(self) -> date | None:
        day: date | None = self.cleaned_data["start_date"]
        if day is None:
            return None
        bounds.check_date(day)
        period = self.objective.period
        if not period.start <= day <= period.end:
            raise ValidationError(
                f"Choose a day within {period.name} "
                f"({period.start:%b} {period.start.day} to {period.end:%b} {period.end.day}, {period.end.year})."
            )
        return day

    def kind_shown(self) -> str:
        return str(self["kind"].value() or "")

    def used_fields(self) -> set[str]:
        return measure_fields(
            self.kind_shown(), str(self["threshold_op"].value() or "")
        )

    def measure_rows(self) -> list[tuple[forms.BoundField, bool, str]]:
        """Each kind-dependent field, whether this kind uses it, and its hint."""
        used = self.used_fields()
        return [
            (self[name], name in used, MEASURE_HINTS[name]) for name in MEASURE_FIELDS
        ]

    def other_fields(self) -> list[forms.BoundField]:
        return [
            self[name]
            for name in self.fields
            if name not in MEASURE_FIELDS and name not in {"title", "kind"}
        ]

    def changes(self) -> dict[str, Any]:
        """What an edit saves: the fields changed, and those the kind no longer
        uses that still hold a value (cleared). A KPI this member may not see
        stays tracked."""
        names = set(self.changed_data)
        for name in self.cleared:
            if name == "kpi" and self.kpi_hidden:
                continue
            if self.stored[name] not in (None, ""):
                names.add(name)
        return {name: self.cleaned_data[name] for name in names}

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        kind = data.get("kind")
        if kind and self.clear_unused:
            used = measure_fields(kind, data.get("threshold_op") or "")
            # Fields this kind does not use are ignored (their errors too) and
            # cleared: nothing is kept that the key result is not measured by.
            self.cleared = set(MEASURE_FIELDS) - used
            for name in self.cleared:
                self.errors.pop(name, None)
                data[name] = "" if name in {"unit", "threshold_op"} else None
        if self.errors:
            return data
        kpi = data.get("kpi")
        if (
            kpi is not None
            and data.get("kind") == KeyResult.Kind.METRIC
            and data.get("start") is None
        ):
            data["start"] = kpi_value_at(kpi, self.objective.period.start)
            if data["start"] is None:
                self.add_error(
                    "start",
                    "The KPI has no value yet at the start of the period: enter the start value.",
                )
                return data
        try:
            validate_key_result_fields(
                kind=data.get("kind", ""),
                start=data.get("start"),
                target=data.get("target"),
                threshold_op=data.get("threshold_op", ""),
                threshold_low=data.get("threshold_low"),
                threshold_high=data.get("threshold_high"),
                weight=data["weight"]
                if data.get("weight") is not None
                else Decimal("1"),
            )
        except ValidationError as error:
            self.add_error(None, error)
        return data


class CheckInForm(forms.ModelForm[CheckIn]):
    done = forms.TypedChoiceField(
        choices=[("", "—"), ("yes", "Done"), ("no", "Not done yet")],
        coerce=lambda v: v == "yes",
        empty_value=None,
        required=False,
        label="Milestone",
    )

    class Meta:
        model = CheckIn
        fields = ["value", "done", "status", "confidence", "moved", "blocks"]
        labels = {
            "value": "New value",
            "status": "Your status",
            "confidence": "Confidence (1–10)",
        }
        widgets = {
            "moved": forms.Textarea(attrs={"rows": 2, "placeholder": "What moved?"}),
            "blocks": forms.Textarea(
                attrs={"rows": 2, "placeholder": "What is in the way?"}
            ),
            "confidence": forms.NumberInput(attrs={"min": 1, "max": 10}),
        }
        field_classes = {"value": ValueField}

    def __init__(self, *args: Any, key_result: KeyResult, **kwargs: Any) -> None:
        # Several check-in forms share a page: ids must be unique per key result.
        kwargs.setdefault("auto_id", f"id_kr{key_result.pk}_%s")
        super().__init__(*args, **kwargs)
        self.key_result = key_result
        if key_result.kind == KeyResult.Kind.MILESTONE:
            del self.fields["value"]
        else:
            del self.fields["done"]
            self.fields["value"].required = True
        self.fields["status"].initial = (
            key_result.last_status or KeyResult.Status.ON_TRACK
        )

    def clean_confidence(self) -> int | None:
        value: int | None = self.cleaned_data.get("confidence")
        if value is not None and not 1 <= value <= 10:
            raise ValidationError(
                "Confidence goes from 1 (very unsure) to 10 (certain)."
            )
        return value

    def clean_done(self) -> bool | None:
        value: bool | None = self.cleaned_data.get("done")
        if value is None:
            raise ValidationError("Say whether the milestone is done.")
        return value


class InitiativeForm(forms.ModelForm[Initiative]):
    owner = UserChoiceField(queryset=User.objects.none(), required=False)
    url = forms.URLField(
        required=False,
        assume_scheme="https",
        label="Link",
        help_text="Link to an external ticket or document.",
    )

    class Meta:
        model = Initiative
        fields = ["title", "status", "url", "owner"]

    def __init__(self, *args: Any, membership: Membership, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        limit_choices(self, "owner", org_users(membership))


class KudosForm(forms.ModelForm[Kudos]):
    recipient = UserChoiceField(queryset=User.objects.none())

    class Meta:
        model = Kudos
        fields = ["recipient", "message"]
        widgets = {"message": forms.TextInput(attrs={"placeholder": "Thanks for…"})}

    def __init__(
        self, *args: Any, membership: Membership, objective: Objective, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        # The people behind this objective: its owner, its key results' owners and
        # its team's members.
        # IN-subqueries rather than OR-ed joins: one index seek each, no DISTINCT.
        kr_owners = KeyResult.objects.filter(objective=objective).values("owner_id")
        team_members = TeamMember.objects.filter(team=objective.team).values("user_id")
        involved = (
            Q(pk=objective.owner_id) | Q(pk__in=kr_owners) | Q(pk__in=team_members)
        )
        people = org_users(membership).filter(involved).exclude(pk=membership.user_id)
        limit_choices(self, "recipient", people)


class GradeForm(forms.Form):
    """One objective's row on the close-period page."""

    objective = forms.IntegerField(widget=forms.HiddenInput)

    score_override = DecimalField(
        required=False,
        min_value=0,
        max_value=1,
        decimal_places=2,
        label="Override score",
    )
    override_reason = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    outcome = forms.ChoiceField(
        required=False,
        choices=[
            ("", "Computed from the score"),
            *[c for c in Objective.Outcome.choices if c[0] != "carried_over"],
        ],
    )
    retrospective = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    carry_over = forms.BooleanField(
        required=False, label="Carry over into the next period"
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if (
            data.get("score_override") is not None
            and not data.get("override_reason", "").strip()
        ):
            self.add_error(
                "override_reason", "Explain why you override the computed score."
            )
        return data


class ClosePeriodForm(forms.Form):
    retrospective = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    carry_into = forms.ModelChoiceField(
        queryset=Period.objects.none(), required=False, label="Carry over into"
    )
    # Offered only before the period's last day: closing early must be confirmed.
    confirm_early = forms.BooleanField(required=False)

    def __init__(self, *args: Any, period: Period, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.period = period
        targets = (
            Period.objects.for_org(period.organization)
            .exclude(pk=period.pk)
            .exclude(state=Period.State.CLOSED)
        )
        limit_choices(self, "carry_into", targets)
        self.days_early = days_early(period)
        if self.days_early:
            self.fields["confirm_early"].label = (
                f"Yes, close {period.name} {self.days_early} "
                f"day{pluralize(self.days_early)} early"
            )
        else:
            del self.fields["confirm_early"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.days_early and not data.get("confirm_early"):
            self.add_error(
                "confirm_early",
                f"{self.period.name} ends on {self.period.end:%B} {self.period.end.day}, "
                f"{self.period.end.year}: closing "
                f"it now is {self.days_early} day{pluralize(self.days_early)} early. "
                "Tick the box to confirm.",
            )
        return data


def days_early(period: Period) -> int:
    """Days left before the period's last day ends (0 on or after its last day), in
    the organization's time zone."""
    return max(0, (period.end - timezone.localdate()).days)


# The file is read into memory: far more than 5,000 check-ins with long notes.
MAX_IMPORT_BYTES = 2 * 1024 * 1024


class CheckInImportForm(forms.Form):
    """A CSV file of check-in history (okrs.checkin_import)."""

    file = forms.FileField(label="CSV file")

    def clean_file(self) -> str:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_IMPORT_BYTES:
            raise ValidationError("The file is larger than 2 MB; split it.")
        try:
            text: str = upload.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ValidationError(
                "The file is not UTF-8 text; save it as “CSV UTF-8”."
            ) from None
        return text
