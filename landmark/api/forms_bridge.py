"""Validate API input with the web app's own forms, so both enforce the same rules.

API bodies use the forms' field names (foreign keys as ids), so a form error is
reported on the field the client sent. A PATCH binds the form to the object's
current values overlaid with what was sent, and the action receives only the
fields that changed, exactly as the web's edit views do (landmark.lib.forms.run_update).
"""

from typing import Any, TypeVar

from django import forms
from django.core.exceptions import ValidationError

F = TypeVar("F", bound=forms.BaseForm)


def raise_errors(form: forms.BaseForm) -> None:
    raise ValidationError(
        {field: list(errors) for field, errors in form.errors.as_data().items()}
    )


def as_form_data(values: dict[str, Any]) -> dict[str, Any]:
    """JSON values as a form reads them: None is an empty field."""
    return {name: "" if value is None else value for name, value in values.items()}


def bound(form_class: type[F], values: dict[str, Any], **kwargs: Any) -> F:
    """A valid bound form, or a ValidationError keyed by field."""
    form = form_class(as_form_data(values), **kwargs)
    if not form.is_valid():
        raise_errors(form)
    return form


def current_values(form_class: type[forms.BaseForm], **kwargs: Any) -> dict[str, Any]:
    """What an edit form shows for the object (its initial values by field)."""
    form = form_class(**kwargs)
    return {
        name: form.initial.get(name, field.initial)
        for name, field in form.fields.items()
    }


def bound_patch(
    form_class: type[F], sent: dict[str, Any], **kwargs: Any
) -> tuple[F, dict[str, Any]]:
    """A valid edit form from current values + `sent`, and the changed fields."""
    values = {**current_values(form_class, **kwargs), **sent}
    form = bound(form_class, values, **kwargs)
    return form, {name: form.cleaned_data[name] for name in form.changed_data}
