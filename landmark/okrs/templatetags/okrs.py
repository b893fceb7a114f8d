from decimal import Decimal

from django import template

from landmark.okrs import scoring
from landmark.okrs.models import fmt

register = template.Library()


@register.filter
def pace_label(value: str | None) -> str:
    if not value:
        return "No key results yet"
    return scoring.PACE_LABELS[scoring.Pace(value)]


@register.filter
def num(value: Decimal | None) -> str:
    return fmt(value)


@register.filter
def score_band(value: Decimal | None) -> str:
    return "" if value is None else scoring.band(value).value


@register.filter
def get_item(mapping: dict[object, object], key: object) -> object:
    return mapping.get(key)
