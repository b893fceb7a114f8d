from typing import Any

from django import template

from landmark.loop.views import FixChoice, fix_choice

register = template.Library()


@register.simple_tag(takes_context=True)
def fix_periods(context: Any) -> FixChoice:
    """The periods Fix with an OKR offers, for a KPI page fragment that kpis renders
    (kpis knows nothing of periods): `{% fix_periods as fix_choice %}`."""
    return fix_choice(context["membership"])
