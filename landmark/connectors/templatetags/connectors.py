from typing import Any

from django import template

from landmark.connectors.access import may_configure
from landmark.connectors.actions import is_failing
from landmark.connectors.models import Connector

register = template.Library()


@register.simple_tag(takes_context=True)
def connector_status(context: Any) -> dict[str, Any]:
    """For the KPI page (kpis knows nothing of connectors): whether the KPI has a
    connector, whether it is failing, and whether the caller may configure it.
    `{% connector_status as connector %}`."""
    kpi = context["kpi"]
    connector = (
        Connector.objects.filter(kpi=kpi).only("pk", "failures", "enabled").first()
    )
    membership = context.get("membership")
    return {
        "exists": connector is not None,
        "failing": connector is not None and is_failing(connector),
        "may_configure": membership is not None and may_configure(membership, kpi),
    }
