from typing import Any

from django import template

from landmark.loop.coach import Finding, TeamCoach, okr_findings, team_findings
from landmark.loop.views import FixChoice, fix_choice
from landmark.okrs.models import Objective, Period
from landmark.orgs.models import Team

register = template.Library()


@register.simple_tag(takes_context=True)
def fix_periods(context: Any) -> FixChoice:
    """The periods Fix with an OKR offers, for a KPI page fragment that kpis renders
    (kpis knows nothing of periods): `{% fix_periods as fix_choice %}`."""
    return fix_choice(context["membership"])


@register.simple_tag(takes_context=True)
def coach_findings(context: Any, objective: Objective) -> list[Finding]:
    """The coach's findings on one objective and its key results, for the objective
    page that okrs renders (okrs is below the coach): `{% coach_findings o as found %}`."""
    return okr_findings(context["membership"], objective.period, objective=objective)


@register.simple_tag(takes_context=True)
def coach_team_findings(context: Any, team: Team, period: Period) -> TeamCoach:
    """The coach's findings on a team in a period, for its OKRs (the OKR tree filtered
    to it, which okrs renders): `{% coach_team_findings team period as found %}`."""
    return team_findings(context["membership"], period, team)
