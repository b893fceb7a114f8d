"""The coach's findings on a period (docs/coach.md), as the coach page shows them to
the caller (landmark/loop/coach.py): the same groups, the same first findings of each,
the same counts; private objectives and KPIs only for who may open them."""

from typing import Literal

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from landmark.api.auth import membership_of
from landmark.api.schemas import MAX_ID, Filters
from landmark.lib import coach as rules
from landmark.loop import coach
from landmark.okrs.access import get_period_for_member

router = Router(tags=["coach"])

Kind = Literal["objective", "key_result", "kpi", "team"]


class CoachFilters(Filters):
    period: int = Field(ge=1, le=MAX_ID, description="The period's id.")
    by: Literal["rule", "team"] = Field(
        "rule",
        description="Group the findings by rule (in the rules' order) or by "
        "team (by name; findings on no team last).",
    )


class CoachFixOut(Schema):
    label: str = Field(description="What the web app's button says.")
    url: str = Field(description="Its address in the web app (a path).")
    method: Literal["GET", "POST"] = Field(
        description="GET: a page to open. POST: a form the web app posts (with its "
        "session and CSRF token), e.g. Fix with an OKR."
    )
    period: int | None = Field(
        description="POST only: the period the fix drafts into (the form's `period`)."
    )


class CoachFindingOut(Schema):
    rule: str = Field(description="The rule's id (docs/coach.md#the-rules).")
    severity: Literal["warning", "info"]
    message: str = Field(description="What the item does, in plain words.")
    kind: Kind = Field(description="What the finding is about.")
    id: int = Field(description="The objective's, key result's, KPI's or team's id.")
    title: str = Field(description="Its title (a team's or KPI's name).")
    url: str = Field(description="Its page in the web app (a path).")
    team: str = Field(description="The team it belongs to; empty for none.")
    fix: CoachFixOut | None = Field(
        description="The one-click way out, for a caller who may write; null when "
        "there is none or the caller's role may not write."
    )


class CoachRuleOut(Schema):
    id: str
    name: str
    severity: Literal["warning", "info"]
    explanation: str = Field(description="Why, in one line.")
    source: str = Field(description="The article the rule comes from.")
    quote: str = Field(description="The article's words the rule rests on.")


class CoachGroupOut(Schema):
    name: str = Field(description="The rule's name, or the team's (`No team`).")
    rule: CoachRuleOut | None = Field(
        description="Grouped by rule: the rule; else null."
    )
    total: int = Field(description="Findings in this group.")
    more: int = Field(description="Findings in this group not in `findings`.")
    findings: list[CoachFindingOut] = Field(
        description=f"The first {coach.SHOWN}: warnings first, then in the rules' "
        "order, by team and title."
    )


class CoachOut(Schema):
    period: int
    by: Literal["rule", "team"]
    total: int = Field(description="Findings in all.")
    warnings: int = Field(description="Of which warnings.")
    groups: list[CoachGroupOut] = Field(
        description=f"The first {coach.GROUPS_SHOWN} groups with findings."
    )
    groups_more: int = Field(description="Groups with findings not in `groups`.")
    rules_off: list[str] = Field(
        description="Rules the organization turned off (no findings)."
    )


@router.get(
    "/coach",
    response=CoachOut,
    summary="The coach's findings on a period",
    description="What the coach page shows the caller: findings on the period's OKRs "
    "and on the KPIs, grouped, the first of each group with the counts. A private "
    "objective or KPI is named and counted only for who may open it. Not paginated: "
    "as the page, it shows the first findings and counts the rest.",
    openapi_extra={
        "responses": {
            "404": {"description": "No such period in the caller's organization."}
        }
    },
)
def get_coach(request: HttpRequest, filters: Query[CoachFilters]) -> CoachOut:
    membership = membership_of(request)
    period = get_period_for_member(membership, filters.period)
    report = coach.period_report(membership, period, by=filters.by)
    can_fix = membership.can_write
    settings = membership.organization.coach_settings()
    return CoachOut(
        period=period.pk,
        by=filters.by,
        total=report.total,
        warnings=report.warnings,
        groups=[
            CoachGroupOut(
                name=group.name,
                rule=rule_out(group.rule) if group.rule else None,
                total=group.total,
                more=group.more,
                findings=[finding_out(f, can_fix=can_fix) for f in group.findings],
            )
            for group in report.groups
        ],
        groups_more=report.groups_more,
        rules_off=[r.id for r in rules.RULES if not settings.on(r.id)],
    )


def rule_out(rule: rules.Rule) -> CoachRuleOut:
    return CoachRuleOut(
        id=rule.id,
        name=rule.name,
        severity=rule.severity.value,
        explanation=rule.explanation,
        source=rule.source.label,
        quote=rule.source.quote,
    )


def finding_out(f: coach.Finding, *, can_fix: bool) -> CoachFindingOut:
    fix = f.fix if can_fix else None
    return CoachFindingOut(
        rule=f.rule.id,
        severity=f.rule.severity.value,
        message=f.message,
        kind=f.kind,  # type: ignore[arg-type]  # one of Kind (loop.coach.Finding)
        id=f.object_id,
        title=f.title,
        url=str(f.url),
        team=f.team,
        fix=CoachFixOut(
            label=fix.label,
            url=str(fix.url),
            method="POST" if fix.post else "GET",
            period=fix.period_id if fix.post else None,
        )
        if fix is not None
        else None,
    )
