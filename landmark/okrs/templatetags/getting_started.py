from typing import Any

from django import template

from landmark.okrs import onboarding

register = template.Library()


@register.inclusion_tag("okrs/getting_started.html", takes_context=True)
def getting_started(context: template.Context) -> dict[str, Any]:
    """The getting-started checklist for My focus (okrs/onboarding.py): rendered by a
    tag so that the page's own view and template stay as they are."""
    membership = context.get("membership")
    return {
        "checklist": onboarding.shown_to(membership),
        "org": membership.organization if membership else None,
        "csrf_token": context.get("csrf_token"),
    }
