"""Organization actions through the database: owners, members and the team tree."""

from datetime import date

import pytest
from django.core.exceptions import ValidationError

from landmark.okrs.models import Period
from landmark.orgs import actions
from landmark.orgs.models import Membership, Organization, Team, TeamMember, User

OWNER = Membership.Role.OWNER
ADMIN = Membership.Role.ADMIN
MEMBER = Membership.Role.MEMBER


def membership(org: Organization, user: User) -> Membership:
    return Membership.objects.get(organization=org, user=user)


def field_errors(excinfo: pytest.ExceptionInfo[ValidationError]) -> set[str]:
    return set(excinfo.value.message_dict)


# Organizations


@pytest.mark.parametrize(
    ("today", "name", "start", "end"),
    [
        (date(2025, 2, 14), "Q1 2025", date(2025, 1, 1), date(2025, 3, 31)),
        (date(2025, 12, 31), "Q4 2025", date(2025, 10, 1), date(2025, 12, 31)),
    ],
)
def test_a_started_organization_opens_the_quarter_holding_today(
    alice, today, name, start, end
):
    # The period comes from okrs, told by orgs.signals.organization_started.
    org = actions.start_organization(name=" Bikes ", owner=alice, today=today)
    assert org.name == "Bikes"
    period = Period.objects.get(organization=org)
    assert (period.name, period.start, period.end) == (name, start, end)
    assert period.state == Period.State.ACTIVE


def test_an_organization_without_a_name_is_not_started(alice):
    with pytest.raises(ValidationError) as excinfo:
        actions.start_organization(name="  ", owner=alice, today=date(2025, 2, 14))
    assert field_errors(excinfo) == {"organization"}
    assert not Organization.objects.exists()
    assert not Period.objects.exists()


def test_it_creates_an_organization_with_its_owner_and_company_team(alice, org):
    assert org.slug == "acme-test"
    assert membership(org, alice).role == OWNER
    root = Team.objects.get(organization=org)
    assert (root.name, root.kind, root.parent) == ("Acme Test", Team.Kind.COMPANY, None)


def test_it_gives_a_second_organization_with_the_same_name_its_own_slug(org, charlie):
    twin = actions.create_organization(name="Acme Test", owner=charlie)

    assert twin.slug == "acme-test-2"
    assert Organization.objects.filter(name="Acme Test").count() == 2


# Members


def test_it_creates_a_member_with_a_new_account_in_lowercase(org, sales):
    added = actions.create_member(
        org=org, email="  Dana@Acme.TEST ", role=MEMBER, teams=[sales]
    )

    assert added.user.email == "dana@acme.test"
    assert added.role == MEMBER
    assert TeamMember.objects.filter(team=sales, user=added.user).exists()


def test_the_trusted_create_member_never_adopts_an_existing_account(charlie, org):
    """Changed from the old add_member, which attached an existing account to any
    organization without its owner's consent: now only an invitation can."""
    with pytest.raises(ValidationError) as excinfo:
        actions.create_member(org=org, email="Charlie@Other.test", role=MEMBER)

    assert field_errors(excinfo) == {"email"}
    assert "invite" in excinfo.value.message_dict["email"][0]
    assert not Membership.objects.filter(organization=org, user=charlie).exists()
    assert User.objects.filter(email="charlie@other.test").count() == 1


def test_it_refuses_to_create_the_same_person_twice(org, bob):
    with pytest.raises(ValidationError) as excinfo:
        actions.create_member(org=org, email="BOB@acme.test", role=ADMIN)

    assert field_errors(excinfo) == {"email"}
    assert membership(org, bob).role == MEMBER


def test_it_changes_a_members_role(org, bob):
    actions.update_membership(
        membership=membership(org, bob), role=ADMIN, is_active=True
    )

    assert membership(org, bob).role == ADMIN


@pytest.mark.parametrize(
    ("role", "is_active"), [(ADMIN, True), (MEMBER, True), (OWNER, False)]
)
def test_it_refuses_to_demote_or_deactivate_the_last_owner(org, alice, role, is_active):
    with pytest.raises(ValidationError) as excinfo:
        actions.update_membership(
            membership=membership(org, alice), role=role, is_active=is_active
        )

    assert field_errors(excinfo) == {"role"}
    kept = membership(org, alice)
    assert (kept.role, kept.is_active) == (OWNER, True)


def test_it_lets_an_owner_step_down_once_there_is_another_owner(org, alice, bob):
    actions.update_membership(
        membership=membership(org, bob), role=OWNER, is_active=True
    )

    actions.update_membership(
        membership=membership(org, alice), role=ADMIN, is_active=True
    )

    assert membership(org, alice).role == ADMIN
    assert membership(org, bob).role == OWNER


def test_it_does_not_count_a_deactivated_owner_as_another_owner(org, alice, bob):
    actions.update_membership(
        membership=membership(org, bob), role=OWNER, is_active=False
    )

    with pytest.raises(ValidationError):
        actions.update_membership(
            membership=membership(org, alice), role=MEMBER, is_active=True
        )
    assert membership(org, alice).role == OWNER


def test_it_does_not_count_an_owner_of_another_organization(org, other_org, alice):
    with pytest.raises(ValidationError):
        actions.update_membership(
            membership=membership(org, alice), role=ADMIN, is_active=True
        )
    assert membership(org, alice).role == OWNER


# Teams


def test_it_creates_a_team_under_a_parent(org, sales):
    east = actions.create_team(org=org, name="Sales East", parent=sales)

    assert east.parent == sales
    assert [t.name for t in east.ancestors()] == ["Acme Test", "Sales"]


@pytest.mark.parametrize("name", ["Sales", "sales", "SALES"])
def test_it_rejects_a_duplicate_team_name_whatever_its_case(org, sales, name):
    with pytest.raises(ValidationError) as excinfo:
        actions.create_team(org=org, name=name)

    assert field_errors(excinfo) == {"name"}
    assert Team.objects.filter(organization=org, name__iexact="sales").count() == 1


def test_it_allows_the_same_team_name_in_another_organization(org, sales, other_org):
    other_sales = actions.create_team(org=other_org, name="Sales")

    assert other_sales.organization == other_org


def test_it_rejects_a_parent_team_from_another_organization(org, sales, other_org):
    foreign_root = Team.objects.get(organization=other_org)

    with pytest.raises(ValidationError) as excinfo:
        actions.create_team(org=org, name="Marketing", parent=foreign_root)
    assert field_errors(excinfo) == {"parent"}
    assert not Team.objects.filter(name="Marketing").exists()

    with pytest.raises(ValidationError):
        actions.update_team(
            team=sales, name="Sales", kind=sales.kind, parent=foreign_root
        )
    sales.refresh_from_db()
    assert sales.parent.organization == org


def test_it_moves_a_team_under_another_parent(org, sales):
    marketing = actions.create_team(org=org, name="Marketing")

    actions.update_team(
        team=marketing, name="Growth", kind=Team.Kind.DEPARTMENT, parent=sales
    )

    marketing.refresh_from_db()
    assert (marketing.name, marketing.kind, marketing.parent) == (
        "Growth",
        Team.Kind.DEPARTMENT,
        sales,
    )


def test_it_rejects_a_team_under_itself(sales):
    root = sales.parent

    with pytest.raises(ValidationError) as excinfo:
        actions.update_team(team=sales, name="Sales", kind=sales.kind, parent=sales)

    assert field_errors(excinfo) == {"parent"}
    sales.refresh_from_db()
    assert sales.parent == root


def test_it_rejects_a_team_under_one_of_its_own_sub_teams(org, sales):
    east = actions.create_team(org=org, name="Sales East", parent=sales)
    east_enterprise = actions.create_team(org=org, name="East Enterprise", parent=east)
    root = sales.parent

    with pytest.raises(ValidationError, match="sub-teams"):
        actions.update_team(
            team=sales, name="Sales", kind=sales.kind, parent=east_enterprise
        )

    sales.refresh_from_db()
    assert sales.parent == root


def test_it_rejects_renaming_a_team_to_another_teams_name(org, sales):
    marketing = actions.create_team(org=org, name="Marketing")

    with pytest.raises(ValidationError) as excinfo:
        actions.update_team(
            team=marketing, name="SALES", kind=marketing.kind, parent=None
        )

    assert field_errors(excinfo) == {"name"}
    marketing.refresh_from_db()
    assert marketing.name == "Marketing"


def test_it_lets_a_team_keep_its_own_name(sales):
    actions.update_team(team=sales, name="Sales", kind=Team.Kind.TEAM, parent=None)

    sales.refresh_from_db()
    assert (sales.kind, sales.parent) == (Team.Kind.TEAM, None)


def test_it_replaces_a_teams_members_and_leads(org, sales, alice, bob, viewer):
    actions.set_team_members(team=sales, members=[alice, bob], leads=[])

    actions.set_team_members(team=sales, members=[bob], leads=[viewer])

    rows = {
        tm.user.email: tm.is_lead
        for tm in TeamMember.objects.filter(team=sales).select_related("user")
    }
    assert rows == {"bob@acme.test": False, "vera@acme.test": True}
