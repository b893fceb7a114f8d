"""The coach page of a period (docs/coach.md): every finding on its OKRs and the KPIs,
grouped by rule or by team, each with why, where the rule comes from, a link to the
item and, for those who may write, the fix."""

from dataclasses import dataclass, field

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from landmark.lib import bounds, coach
from landmark.loop.coach import Finding, kpi_findings, okr_findings
from landmark.okrs.access import (
    current_period,
    get_period_for_member,
    periods_for_member,
)
from landmark.orgs.access import member_required, membership_of

# Findings shown per group: a large organization's period may have thousands; the rest
# are counted (the same rule's findings read alike).
SHOWN = 50
# Groups shown: by team, a large organization has a thousand teams; the page shows
# the first ones (by name) and counts the rest.
GROUPS_SHOWN = 40


@dataclass
class Group:
    name: str
    rule: coach.Rule | None  # grouped by rule: the rule; by team: None
    findings: list[Finding] = field(default_factory=list)
    total: int = 0

    @property
    def more(self) -> int:
        return self.total - len(self.findings)


def grouped(findings: list[Finding], by: str) -> list[Group]:
    groups: dict[str, Group] = {}
    if by == "team":
        for f in findings:
            name = f.team or "No team"
            groups.setdefault(name, Group(name, None))
        order = sorted(groups, key=lambda n: (n == "No team", n.casefold()))
    else:
        for f in findings:
            groups.setdefault(f.rule.id, Group(f.rule.name, f.rule))
        order = [r.id for r in coach.RULES if r.id in groups]
    for f in findings:
        group = groups[(f.team or "No team") if by == "team" else f.rule.id]
        group.total += 1
        if len(group.findings) < SHOWN:
            group.findings.append(f)
    return [groups[key] for key in order]


@require_GET
@member_required
def coach_page(request: HttpRequest) -> HttpResponse:
    membership = membership_of(request)
    period_pk = bounds.parse_id(request.GET.get("period", ""))
    period = (
        get_period_for_member(membership, period_pk)
        if period_pk is not None
        else current_period(membership)
    )
    by = "team" if request.GET.get("by") == "team" else "rule"
    findings: list[Finding] = []
    if period is not None:
        findings = [
            *okr_findings(membership, period),
            *kpi_findings(membership, period),
        ]
    settings = membership.organization.coach_settings()
    return render(
        request,
        "okrs/coach.html",
        {
            "periods": periods_for_member(membership),
            "period": period,
            "by": by,
            "groups": (groups := grouped(findings, by))[:GROUPS_SHOWN],
            "groups_more": max(0, len(groups) - GROUPS_SHOWN),
            "total": len(findings),
            "warnings": sum(
                f.rule.severity == coach.Severity.WARNING for f in findings
            ),
            "rules_off": [r for r in coach.RULES if not settings.on(r.id)],
            "can_fix": membership.can_write,
        },
    )
