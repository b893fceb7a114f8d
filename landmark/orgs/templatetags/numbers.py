"""Numbers in templates, in the organization's locale (landmark/lib/numbers.py).

The locale comes from the page's organization (the `org` the membership context
processor puts in every request's context; no query), or from `number_locale` where
a template is rendered without a request.
"""

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django import template

from landmark.lib import numbers

register = template.Library()

Value = Decimal | int | float | None


def locale_of(context: template.Context) -> str:
    given = context.get("number_locale")
    if given:
        return str(given)
    org = context.get("org")
    return str(getattr(org, "locale", "") or numbers.DEFAULT_LOCALE)


@register.simple_tag(takes_context=True)
def amount(context: template.Context, value: Value, unit: str = "") -> str:
    """{% amount kr.current kr.unit %}: $8.8M, 30,000 visitors, 95.5%."""
    return numbers.amount(value, unit, locale_of(context))


@register.simple_tag(takes_context=True)
def exact_amount(context: template.Context, value: Value, unit: str = "") -> str:
    """A value written out in full (no compact form), where a person checks or
    corrects it: a KPI's data points, an import's preview."""
    return numbers.amount(value, unit, locale_of(context), compact=False)


@register.simple_tag(takes_context=True)
def percent(context: template.Context, points: Value) -> str:
    """{% percent view.percent %}: 62% (de_DE: 62 %)."""
    return numbers.percent(points, locale_of(context))


@register.simple_tag(takes_context=True)
def score(context: template.Context, value: Value) -> str:
    return numbers.score(value, locale_of(context))


@register.simple_tag(takes_context=True)
def target_label(context: template.Context, target: Any, unit: str = "") -> str:
    """A KPI target (kpis.health.Target): ≥ $100K, 90–110 visitors."""
    return str(target.label(unit, locale_of(context)))


@register.simple_tag(takes_context=True)
def progress_percent(context: template.Context, points: Value) -> str:
    """Progress given in percentage points: 62%, or "25% below start" below 0."""
    if points is None:
        return numbers.MISSING
    return numbers.progress(float(points) / 100, locale_of(context))


@register.simple_tag(takes_context=True)
def share_percent(context: template.Context, share: Value, whole: bool = False) -> str:
    """A share (0.1) as a percentage: 10%; `whole=True` rounds it (0.667: 67%)."""
    if share is None:
        return numbers.MISSING
    points = Decimal(str(share)) * 100
    if whole:
        points = points.quantize(Decimal(1), ROUND_HALF_UP)
    return numbers.percent(points, locale_of(context))
