from typing import Any

from django import template

from landmark.comments.views import thread_context
from landmark.kpis.models import KPI

register = template.Library()


@register.inclusion_tag("comments/thread.html", takes_context=True)
def comment_thread(context: Any, item: Any) -> dict[str, Any]:
    """The thread of an objective or a KPI, for pages the lower layers render (they
    know nothing of comments): `{% load comments %}{% comment_thread objective %}`."""
    membership = context["membership"]
    if isinstance(item, KPI):
        found = thread_context(membership, kpi=item)
    else:
        found = thread_context(membership, objective=item)
    return {
        **found,
        "csrf_token": context.get("csrf_token"),
        "request": context.get("request"),
    }
