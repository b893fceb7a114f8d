from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import DecimalValidator
from django.db.models import QuerySet
from django.forms.utils import flatatt
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from landmark.lib import values


def limit_choices(form: forms.BaseForm, name: str, queryset: QuerySet[Any]) -> None:
    """Restrict a model choice field to the caller's organization's rows."""
    field = form.fields[name]
    if not isinstance(field, forms.ModelChoiceField):
        raise TypeError(f"{name!r} is a {type(field).__name__}, not a model choice.")
    field.queryset = queryset


class DecimalField(forms.DecimalField):
    """Django's, refusing NaN and infinities as it reads them. Django refuses them in
    clean(), but an edit form's has_changed() reads the value first and compares
    it with the initial one, and comparing Decimal("sNaN") raises InvalidOperation:
    a 500 from every edit form with a number."""

    def to_python(self, value: Any) -> Decimal | None:  # type: ignore[override]  # stubs: int
        number: Decimal | None = super().to_python(value)
        if number is not None and not number.is_finite():
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return number


class ValueField(DecimalField):
    """A measured value (a KPI's value or target, a key result's), read by
    `landmark.lib.values.parse_value` like every other way a value comes in: the
    same rule and the same words as the CSV import and the API."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.pop("max_digits", None)
        kwargs["decimal_places"] = values.PLACES  # the widget's step
        super().__init__(**kwargs)
        # The parser checks the places and the size; Django's validator would
        # only say it again in other words.
        self.validators = [
            v for v in self.validators if not isinstance(v, DecimalValidator)
        ]

    def to_python(self, value: Any) -> Decimal | None:  # type: ignore[override]  # stubs: int
        if isinstance(value, str):
            value = value.strip()  # as every text field: spaces around are dropped
        if value in self.empty_values:
            return None
        if isinstance(value, float):
            value = repr(value)
        try:
            return values.parse_value(value)
        except values.ValueProblem as problem:
            raise ValidationError(problem.sentence, code=problem.code) from None


def run_action(form: forms.BaseForm, action: Any, **kwargs: Any) -> Any:
    """Call an action; turn its ValidationError into errors next to the form's fields."""
    try:
        return action(**kwargs)
    except ValidationError as error:
        if hasattr(error, "error_dict"):
            for field, errs in error.error_dict.items():
                form.add_error(field if field in form.fields else None, errs)
        else:
            form.add_error(None, error)
        return None


def run_update(form: forms.BaseForm, action: Any, **target: Any) -> Any:
    """Call an update action with only the fields the form changed (see run_action)."""
    changed = {name: form.cleaned_data[name] for name in form.changed_data}
    return run_action(form, action, **target, **changed)


class QuickSelect(forms.Select):
    """Django's select, its options written in one pass. Django renders each option
    through its own template, about 0.2 ms an option on the 2-core bench machine: the
    500 people of a large organization's person filter took 110 ms of its page
    (bench/run.py, activity). The markup is Django's select's; options carry no
    attributes of their own (no widget here gives them any)."""

    def render(
        self,
        name: str,
        value: Any,
        attrs: dict[str, Any] | None = None,
        renderer: Any = None,
    ) -> SafeString:
        widget = self.get_context(name, value, attrs)["widget"]
        selected = mark_safe(" selected")  # a constant
        options = format_html_join(
            "",
            '<option value="{}"{}>{}</option>',
            (
                (
                    option["value"],
                    selected if option["selected"] else "",
                    option["label"],
                )
                for _, group, _ in widget["optgroups"]
                for option in group
            ),
        )
        return format_html(
            '<select name="{}"{}>{}</select>', name, flatatt(widget["attrs"]), options
        )
