from typing import Any

from django import forms
from django.core.validators import DecimalValidator
from django.db.models import QuerySet

from landmark.lib import bounds


def limit_choices(form: forms.BaseForm, name: str, queryset: QuerySet[Any]) -> None:
    """Restrict a model choice field to the caller's organization's rows."""
    field = form.fields[name]
    assert isinstance(field, forms.ModelChoiceField)
    field.queryset = queryset


def value_field(**kwargs: Any) -> forms.DecimalField:
    """A measured value's form field, within landmark.lib.bounds."""
    return forms.DecimalField(
        decimal_places=bounds.VALUE_PLACES, validators=[bounds.check_value], **kwargs
    )


def bound_values(form: forms.BaseForm, *names: str) -> None:
    """Measured values of a model form within landmark.lib.bounds rather than their
    columns' 16 digits (SQLite reads back 15 exactly): one message for a number too
    large, whatever its decimals."""
    for name in names:
        field = form.fields.get(name)
        if not isinstance(field, forms.DecimalField):
            continue
        field.max_digits = None
        field.validators = [
            v for v in field.validators if not isinstance(v, DecimalValidator)
        ] + [DecimalValidator(None, field.decimal_places), bounds.check_value]
