"""The caller's organization, its teams and its members."""

from datetime import datetime
from typing import Annotated, Any, Literal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest, HttpResponse
from ninja import Field, Path, Query, Router, Schema, Status

from landmark.api.auth import membership_of
from landmark.api.etags import IF_MATCH, check_if_match, tag
from landmark.api.forms_bridge import bound_patch
from landmark.api.pagination import Cursor, Limit, Page, paginate
from landmark.api.responses import created
from landmark.api.schemas import (
    LEFT_OUT,
    MAX_ID,
    DecimalIn,
    Filters,
    Id,
    In,
    Name,
    Patch,
    Text,
)
from landmark.lib import coach
from landmark.orgs import actions
from landmark.orgs.access import (
    get_membership_for_member,
    get_organization_for_member,
    get_team_for_member,
    require_admin,
)
from landmark.orgs.forms import OrganizationSettingsForm
from landmark.orgs.models import Membership, Organization, Team, TeamMember, User

router = Router(tags=["organization"])


WeekdayName = Literal[
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"
]
WEEKDAYS: list[WeekdayName] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
]


# The coach's settings (docs/coach.md).
RULES_OFF = "The coach rules turned off, by id: " + ", ".join(coach.RULE_IDS) + "."
MIN_KRS = "Fewer key results on an objective is a finding (rule kr-count)."
MAX_KRS = "More key results on an objective is a finding (rule kr-count)."
MAX_OBJECTIVES = (
    "More objectives for a team in a period is a finding (rule team-objectives)."
)
MAX_KEY_KPIS = "More KPIs marked key in a team is a finding (rule team-key-kpis)."


def limited(name: str, description: str) -> Any:
    low, high = coach.THRESHOLD_LIMITS[name]
    return Field(LEFT_OUT, ge=low, le=high, description=description)


class OrganizationOut(Schema):
    id: int
    name: str
    slug: str
    role: str = Field(description="The caller's role in this organization.")
    time_zone: str = Field(description="An IANA time zone name, e.g. Europe/Paris.")
    week_start: WeekdayName = Field(description="The day a week starts.")
    on_track_gap: float
    off_track_gap: float
    checkin_cadence_days: int
    checkin_grace_days: int
    locale: str = Field(
        description="How Landmark writes numbers for people (a CLDR locale such as "
        "en_US or de_DE); the API's own numbers are never formatted."
    )
    coach_rules_off: list[str] = Field(description=RULES_OFF)
    coach_min_key_results: int = Field(description=MIN_KRS)
    coach_max_key_results: int = Field(description=MAX_KRS)
    coach_max_team_objectives: int = Field(description=MAX_OBJECTIVES)
    coach_max_key_kpis: int = Field(description=MAX_KEY_KPIS)


class OrganizationPatch(Patch):
    name: Annotated[Name, Field(max_length=120)] = LEFT_OUT
    time_zone: Annotated[Text, Field(max_length=64)] = Field(
        LEFT_OUT, description="An IANA time zone name, e.g. Europe/Paris."
    )
    week_start: WeekdayName = LEFT_OUT
    on_track_gap: DecimalIn = Field(
        LEFT_OUT,
        description="On track while at most this far behind pace: 0 ≤ on_track_gap < off_track_gap.",
    )
    off_track_gap: DecimalIn = Field(
        LEFT_OUT,
        description="Off track when further behind pace than this: on_track_gap < off_track_gap ≤ 1.",
    )
    checkin_cadence_days: int = Field(LEFT_OUT, ge=1, le=90)
    checkin_grace_days: int = Field(LEFT_OUT, ge=0, le=30)
    locale: Annotated[Text, Field(max_length=20)] = Field(
        LEFT_OUT, description="A CLDR locale such as en_US or de_DE."
    )
    coach_rules_off: list[Annotated[Text, Field(max_length=40)]] = Field(
        LEFT_OUT, max_length=len(coach.RULE_IDS), description=RULES_OFF
    )
    coach_min_key_results: int = limited("min_key_results", MIN_KRS)
    coach_max_key_results: int = limited("max_key_results", MAX_KRS)
    coach_max_team_objectives: int = limited("max_team_objectives", MAX_OBJECTIVES)
    coach_max_key_kpis: int = limited("max_key_kpis", MAX_KEY_KPIS)


def organization_out(membership: Membership, org: Organization) -> OrganizationOut:
    return OrganizationOut(
        id=org.pk,
        name=org.name,
        slug=org.slug,
        role=membership.role,
        time_zone=org.time_zone,
        week_start=WEEKDAYS[org.week_start],
        on_track_gap=float(org.on_track_gap),
        off_track_gap=float(org.off_track_gap),
        checkin_cadence_days=org.checkin_cadence_days,
        checkin_grace_days=org.checkin_grace_days,
        locale=org.locale,
        coach_rules_off=coach.split_rules(org.coach_rules_off),
        coach_min_key_results=org.coach_min_key_results,
        coach_max_key_results=org.coach_max_key_results,
        coach_max_team_objectives=org.coach_max_team_objectives,
        coach_max_key_kpis=org.coach_max_key_kpis,
    )


@router.get(
    "/organization", response=OrganizationOut, summary="The caller's organization"
)
def organization(request: HttpRequest, response: HttpResponse) -> OrganizationOut:
    membership = membership_of(request)
    return tag(
        response, OrganizationOut, organization_out(membership, membership.organization)
    )


@router.patch(
    "/organization",
    response=OrganizationOut,
    summary="Change the organization's settings (admins)",
)
def update_organization(
    request: HttpRequest,
    response: HttpResponse,
    body: OrganizationPatch,
    if_match: str | None = IF_MATCH,
) -> OrganizationOut:
    membership = membership_of(request)
    with transaction.atomic():
        org = check_if_match(
            if_match,
            OrganizationOut,
            lambda: get_organization_for_member(membership, write=True),
            shown=lambda org: organization_out(membership, org),
        )
        sent = body.model_dump(exclude_unset=True)
        if "week_start" in sent:
            sent["week_start"] = WEEKDAYS.index(sent["week_start"])
        _, changed = bound_patch(OrganizationSettingsForm, sent, instance=org)
        if changed:
            # A fresh row: the form set the new values on `org` already.
            actions.update_organization(
                org=get_organization_for_member(membership, write=True),
                by=membership.user,
                **changed,
            )
    org = get_organization_for_member(membership)
    return tag(response, OrganizationOut, organization_out(membership, org))


# Teams


class TeamMemberOut(Schema):
    user_id: int
    is_lead: bool


class TeamOut(Schema):
    id: int
    name: str
    kind: str
    parent_id: int | None
    created_at: datetime
    members: list[TeamMemberOut] = Field(alias="team_members")

    @staticmethod
    def resolve_team_members(obj: Team) -> list[TeamMember]:
        return list(obj.team_members.all())


TeamKind = Literal["company", "department", "team"]


class TeamIn(In):
    name: Annotated[Name, Field(max_length=120)]
    kind: TeamKind = "team"
    parent_id: Id | None = None
    member_ids: list[Id] = Field(default_factory=list, max_length=1000)
    lead_ids: list[Id] = Field(default_factory=list, max_length=1000)


class TeamPatch(Patch):
    name: Annotated[Name, Field(max_length=120)] = LEFT_OUT
    kind: TeamKind = LEFT_OUT
    parent_id: Id | None = Field(None, description="null: a team at the top.")
    member_ids: list[Id] = Field(
        LEFT_OUT, max_length=1000, description="Every member (replaces them)."
    )
    lead_ids: list[Id] = Field(
        LEFT_OUT, max_length=1000, description="Every lead (replaces them)."
    )


class TeamFilters(Filters):
    parent: int | None = Field(None, ge=1, le=MAX_ID)
    kind: TeamKind | None = None
    sort: Literal["name", "-name", "created_at", "-created_at"] = "name"
    limit: int = Limit
    cursor: str | None = Cursor


def teams_of(membership: Membership) -> QuerySet[Team]:
    return Team.objects.filter(organization=membership.organization).prefetch_related(
        Prefetch("team_members", queryset=TeamMember.objects.order_by("user_id"))
    )


def users_in_org(membership: Membership, ids: list[int], field: str) -> list[User]:
    """The active members with these ids; an unknown id is a field error."""
    users = {
        u.pk: u
        for u in User.objects.filter(
            pk__in=ids,
            memberships__organization=membership.organization,
            memberships__is_active=True,
        )
    }
    missing = [pk for pk in ids if pk not in users]
    if missing:
        raise ValidationError(
            {field: f"Not active members of this organization: {missing}."}
        )
    return [users[pk] for pk in dict.fromkeys(ids)]


def team_in_org(membership: Membership, pk: int | None, field: str) -> Team | None:
    if pk is None:
        return None
    team = Team.objects.filter(organization=membership.organization, pk=pk).first()
    if team is None:
        raise ValidationError({field: "That team does not exist."})
    return team


class TeamPage(Page[TeamOut]):
    pass


@router.get("/teams", response=TeamPage, summary="List teams")
def list_teams(request: HttpRequest, q: Query[TeamFilters]) -> dict[str, object]:
    membership = membership_of(request)
    rows = teams_of(membership)
    if q.parent is not None:
        rows = rows.filter(parent_id=q.parent)
    if q.kind is not None:
        rows = rows.filter(kind=q.kind)
    return paginate(rows, sort=q.sort, cursor=q.cursor, limit=q.limit)


@router.get("/teams/{pk}", response=TeamOut, summary="One team")
def get_team(request: HttpRequest, response: HttpResponse, pk: Path[Id]) -> Team:
    membership = membership_of(request)
    team = get_team_for_member(membership, pk)
    return tag(response, TeamOut, teams_of(membership).get(pk=team.pk))


@router.post("/teams", response={201: TeamOut}, summary="Create a team (admins)")
def create_team(
    request: HttpRequest, response: HttpResponse, body: TeamIn
) -> Status[Team]:
    membership = membership_of(request)
    require_admin(membership)
    team = actions.create_team(
        org=membership.organization,
        name=body.name.strip(),
        kind=body.kind,
        parent=team_in_org(membership, body.parent_id, "parent_id"),
        members=users_in_org(membership, body.member_ids, "member_ids"),
        leads=users_in_org(membership, body.lead_ids, "lead_ids"),
    )
    return created(response, "teams", teams_of(membership).get(pk=team.pk))


@router.patch("/teams/{pk}", response=TeamOut, summary="Change a team (admins)")
def update_team(
    request: HttpRequest,
    response: HttpResponse,
    pk: Path[Id],
    body: TeamPatch,
    if_match: str | None = IF_MATCH,
) -> Team:
    membership = membership_of(request)
    with transaction.atomic():
        team = check_if_match(
            if_match,
            TeamOut,
            lambda: get_team_for_member(membership, pk, write=True),
            shown=lambda team: teams_of(membership).get(pk=team.pk),
        )
        sent = body.model_dump(exclude_unset=True)
        members = (
            users_in_org(membership, body.member_ids, "member_ids")
            if body.member_ids is not None
            else None
        )
        leads = (
            users_in_org(membership, body.lead_ids, "lead_ids")
            if body.lead_ids is not None
            else None
        )
        if members is not None or leads is not None:
            current = list(TeamMember.objects.filter(team=team).select_related("user"))
            if members is None:
                members = [r.user for r in current]
            if leads is None:
                leads = [r.user for r in current if r.is_lead]
        actions.update_team(
            team=team,
            name=(body.name or team.name).strip(),
            kind=body.kind or team.kind,
            parent=team_in_org(membership, body.parent_id, "parent_id")
            if "parent_id" in sent
            else team.parent,
            members=members,
            leads=leads,
        )
    return tag(response, TeamOut, teams_of(membership).get(pk=team.pk))


# Members


class MemberOut(Schema):
    id: int
    user_id: int
    email: str
    full_name: str
    role: str
    is_active: bool
    created_at: datetime

    @staticmethod
    def resolve_email(obj: Membership) -> str:
        return obj.user.email

    @staticmethod
    def resolve_full_name(obj: Membership) -> str:
        return obj.user.full_name


Role = Literal["owner", "admin", "member", "viewer"]


class MemberFilters(Filters):
    role: Role | None = None
    is_active: bool | None = None
    sort: Literal["created_at", "-created_at", "role", "-role"] = "created_at"
    limit: int = Limit
    cursor: str | None = Cursor


class MemberPage(Page[MemberOut]):
    pass


@router.get("/members", response=MemberPage, summary="List members")
def list_members(request: HttpRequest, q: Query[MemberFilters]) -> dict[str, object]:
    membership = membership_of(request)
    rows = Membership.objects.filter(
        organization=membership.organization
    ).select_related("user")
    if q.role is not None:
        rows = rows.filter(role=q.role)
    if q.is_active is not None:
        rows = rows.filter(is_active=q.is_active)
    return paginate(rows, sort=q.sort, cursor=q.cursor, limit=q.limit)


@router.get("/members/{pk}", response=MemberOut, summary="One member")
def get_member(
    request: HttpRequest, response: HttpResponse, pk: Path[Id]
) -> Membership:
    target = get_membership_for_member(membership_of(request), pk)
    return tag(response, MemberOut, target)
