"""The coach page of a period (docs/coach.md): every finding on its OKRs and the KPIs,
grouped by rule or by team, each with why, where the rule comes from, a link to the
item and, for those who may write, the fix."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from landmark.lib import bounds, coach
from landmark.loop.coach import period_report
from landmark.okrs.access import (
    current_period,
    get_period_for_member,
    periods_for_member,
)
from landmark.orgs.access import member_required, membership_of


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
    report = period_report(membership, period, by=by) if period is not None else None
    settings = membership.organization.coach_settings()
    return render(
        request,
        "okrs/coach.html",
        {
            "periods": periods_for_member(membership),
            "period": period,
            "by": by,
            "groups": report.groups if report else [],
            "groups_more": report.groups_more if report else 0,
            "total": report.total if report else 0,
            "warnings": report.warnings if report else 0,
            "rules_off": [r for r in coach.RULES if not settings.on(r.id)],
            "can_fix": membership.can_write,
        },
    )
