from decimal import Decimal

from django import template

from landmark.kpis.health import plain
from landmark.okrs import scoring

register = template.Library()


@register.filter
def pace_label(value: str | None) -> str:
    if not value:
        return "No key results yet"
    return scoring.PACE_LABELS[scoring.Pace(value)]


@register.filter
def num(value: Decimal | None) -> str:
    """A value as typed into a form (a placeholder): 1234.5, never 1,234.5. For
    reading, the `numbers` tags write it in the organization's locale."""
    return plain(value)


@register.filter
def score_band(value: Decimal | None) -> str:
    return "" if value is None else scoring.band(value).value


@register.filter
def get_item(mapping: dict[object, object], key: object) -> object:
    return mapping.get(key)
