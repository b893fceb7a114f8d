"""Every write on organizations, teams and memberships; one transaction each."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.text import slugify

from landmark.orgs.models import Membership, Organization, Team, TeamMember, User


@transaction.atomic
def create_organization(*, name: str, owner: User, slug: str = "") -> Organization:
    base = slugify(slug or name)[:50] or "org"
    candidate, n = base, 1
    while Organization.objects.filter(slug=candidate).exists():
        n += 1
        candidate = f"{base}-{n}"
    org = Organization.objects.create(name=name, slug=candidate)
    Membership.objects.create(organization=org, user=owner, role=Membership.Role.OWNER)
    Team.objects.create(organization=org, name=name, kind=Team.Kind.COMPANY)
    return org


@transaction.atomic
def create_team(
    *,
    org: Organization,
    name: str,
    kind: str = Team.Kind.TEAM,
    parent: Team | None = None,
    members: list[User] | None = None,
    leads: list[User] | None = None,
) -> Team:
    if parent is not None and parent.organization_id != org.pk:
        raise ValidationError({"parent": "That team does not exist."})
    if Team.objects.filter(organization=org, name__iexact=name).exists():
        raise ValidationError({"name": "There is already a team with this name."})
    team = Team.objects.create(organization=org, name=name, kind=kind, parent=parent)
    if members or leads:
        set_team_members(team=team, members=members or [], leads=leads or [])
    return team


@transaction.atomic
def update_team(
    *,
    team: Team,
    name: str,
    kind: str,
    parent: Team | None,
    members: list[User] | None = None,
    leads: list[User] | None = None,
) -> Team:
    if parent is not None:
        if parent.organization_id != team.organization_id:
            raise ValidationError({"parent": "That team does not exist."})
        if parent.pk == team.pk or team.pk in {
            t.pk for t in parent.ancestors(include_self=True)
        }:
            raise ValidationError(
                {
                    "parent": "A team cannot sit under itself or one of its own sub-teams."
                }
            )
    duplicate = Team.objects.filter(
        organization=team.organization, name__iexact=name
    ).exclude(pk=team.pk)
    if duplicate.exists():
        raise ValidationError({"name": "There is already a team with this name."})
    team.name, team.kind, team.parent = name, kind, parent
    team.save(update_fields=["name", "kind", "parent"])
    if members is not None or leads is not None:
        set_team_members(team=team, members=members or [], leads=leads or [])
    return team


@transaction.atomic
def set_team_members(*, team: Team, members: list[User], leads: list[User]) -> None:
    """Replace a team's members; leads are always members too."""
    wanted = {u.pk: u for u in [*members, *leads]}
    lead_ids = {u.pk for u in leads}
    TeamMember.objects.filter(team=team).exclude(user_id__in=wanted).delete()
    existing = {tm.user_id: tm for tm in TeamMember.objects.filter(team=team)}
    for pk, user in wanted.items():
        row = existing.get(pk)
        if row is None:
            TeamMember.objects.create(
                organization_id=team.organization_id,
                team=team,
                user=user,
                is_lead=pk in lead_ids,
            )
        elif row.is_lead != (pk in lead_ids):
            row.is_lead = pk in lead_ids
            row.save(update_fields=["is_lead"])


@transaction.atomic
def add_member(
    *,
    org: Organization,
    email: str,
    role: str,
    full_name: str = "",
    password: str | None = None,
    teams: list[Team] | None = None,
) -> Membership:
    """Add a person to the organization, creating their account if needed."""
    email = email.strip().lower()
    user = User.objects.filter(email=email).first()
    if user is None:
        user = User.objects.create_user(email, password, full_name=full_name)
    if Membership.objects.filter(organization=org, user=user).exists():
        raise ValidationError(
            {"email": "This person is already a member of the organization."}
        )
    membership = Membership.objects.create(organization=org, user=user, role=role)
    for team in teams or []:
        TeamMember.objects.get_or_create(organization=org, team=team, user=user)
    return membership


@transaction.atomic
def update_membership(
    *, membership: Membership, role: str, is_active: bool
) -> Membership:
    """Change a member's role; the last active owner cannot be demoted or deactivated.

    The check reads the stored row (locked), not the instance: a form may already have
    changed the instance's attributes.
    """
    stored = Membership.objects.select_for_update().get(pk=membership.pk)
    losing_owner = (
        stored.role == Membership.Role.OWNER
        and stored.is_active
        and (role != Membership.Role.OWNER or not is_active)
    )
    if losing_owner:
        other_owners = (
            Membership.objects.select_for_update()
            .filter(
                organization_id=membership.organization_id,
                role=Membership.Role.OWNER,
                is_active=True,
            )
            .exclude(pk=membership.pk)
        )
        if not other_owners.exists():
            raise ValidationError(
                {
                    "role": "The organization needs at least one owner. Make someone else owner first."
                }
            )
    membership.role, membership.is_active = role, is_active
    membership.save(update_fields=["role", "is_active"])
    return membership
