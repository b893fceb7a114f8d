"""Team and member pages through HTTP, and switching organization.

Lists are open to every member; every write is for admins (403 for a member or a
viewer, nothing changes) and another organization's team or membership is a 404.
"""

import re
from typing import Any

import pytest
from django.urls import reverse

from landmark.conftest import join, login
from landmark.orgs import actions
from landmark.orgs.models import (
    Invitation,
    Membership,
    Organization,
    Team,
    TeamMember,
    User,
)

MODELS = [User, Organization, Membership, Team, TeamMember, Invitation]


def db_state() -> dict[str, list[dict[str, Any]]]:
    """Every org row: equal before and after means nothing was written."""
    return {
        m.__name__: list(m._default_manager.order_by("pk").values()) for m in MODELS
    }


def html(response) -> str:
    return response.content.decode()


def field_error(page: str, field: str) -> str:
    """The error text shown next to one form field ("" when it has none)."""
    start = page.find(f'id="field-{field}"')
    if start == -1:
        return ""
    end = page.find('<div class="field', start)
    block = page[start : end if end != -1 else len(page)]
    return " ".join(re.findall(r'<p class="error field-error">(.*?)</p>', block, re.S))


def membership(org: Organization, user: User) -> Membership:
    return Membership.objects.get(organization=org, user=user)


@pytest.fixture
def company(org) -> Team:
    return Team.objects.get(organization=org, kind=Team.Kind.COMPANY)


@pytest.fixture
def sales_team(org, sales, alice, bob) -> Team:
    """Sales with bob as a member and alice as its lead."""
    actions.set_team_members(team=sales, members=[bob], leads=[alice])
    return sales


# Teams


def test_it_lists_teams_with_their_leads_and_member_count(
    bob_client, sales_team, company
):
    response = bob_client.get(reverse("teams"))

    assert response.status_code == 200
    page = html(response)
    row = re.search(rf"<tr>.*?>{sales_team.name}</a>.*?</tr>", page, re.S)
    assert row is not None
    assert "Alice Adams" in row[0]
    assert "<td>2</td>" in row[0]
    assert "└" in row[0]  # shown under the company team
    assert company.name in page
    assert reverse("team_create") not in page  # only admins create teams


def test_it_creates_a_team_with_members_and_leads(
    alice_client, org, company, alice, bob
):
    data = {
        "name": "Platform",
        "kind": "team",
        "parent": company.pk,
        "members": [bob.pk],
        "leads": [alice.pk],
    }

    response = alice_client.post(reverse("team_create"), data)

    assert response["Location"] == reverse("teams")
    team = Team.objects.get(organization=org, name="Platform")
    assert team.parent == company
    rows = {(r.user, r.is_lead) for r in TeamMember.objects.filter(team=team)}
    assert rows == {(alice, True), (bob, False)}


def test_it_edits_a_team_and_replaces_its_members(
    alice_client, sales_team, company, viewer, bob
):
    data = {
        "name": "Sales EMEA",
        "kind": "department",
        "parent": company.pk,
        "members": [viewer.pk],
        "leads": [],
    }

    response = alice_client.post(reverse("team_edit", args=[sales_team.pk]), data)

    assert response.status_code == 302
    sales_team.refresh_from_db()
    assert sales_team.name == "Sales EMEA"
    assert {r.user for r in TeamMember.objects.filter(team=sales_team)} == {viewer}


def test_it_refuses_a_second_team_with_the_same_name(alice_client, sales_team, company):
    before = db_state()
    data = {"name": "sales", "kind": "team", "parent": company.pk}

    response = alice_client.post(reverse("team_create"), data)

    assert response.status_code == 200
    assert "already a team with this name" in field_error(html(response), "name")
    assert db_state() == before


def test_it_refuses_to_put_a_team_under_its_own_sub_team(alice_client, org, sales_team):
    smb = actions.create_team(org=org, name="SMB", parent=sales_team)
    before = db_state()
    data = {"name": sales_team.name, "kind": sales_team.kind, "parent": smb.pk}

    response = alice_client.post(reverse("team_edit", args=[sales_team.pk]), data)

    assert response.status_code == 200
    assert "cannot sit under itself" in field_error(html(response), "parent")
    assert db_state() == before


def test_it_refuses_another_organizations_team_as_parent(charlie_client, sales_team):
    before = db_state()

    response = charlie_client.post(
        reverse("team_create"),
        {"name": "Sneaky", "kind": "team", "parent": sales_team.pk},
    )

    assert response.status_code == 200
    assert field_error(html(response), "parent")
    assert db_state() == before


def test_it_shows_the_team_forms_to_an_admin(alice_client, sales_team):
    assert alice_client.get(reverse("team_create")).status_code == 200
    response = alice_client.get(reverse("team_edit", args=[sales_team.pk]))
    assert response.status_code == 200
    assert f'value="{sales_team.name}"' in html(response)


# Members


def test_it_lists_the_members_with_their_roles(bob_client, alice, bob, viewer):
    response = bob_client.get(reverse("members"))

    page = html(response)
    assert response.status_code == 200
    for name, email, role in [
        ("Alice Adams", "alice@acme.test", "Owner"),
        ("Bob Brown", "bob@acme.test", "Member"),
        ("Vera Viewer", "vera@acme.test", "Viewer"),
    ]:
        assert f"<tr><td>{name}</td><td>{email}</td><td>{role}</td>" in page
    assert reverse("member_invite") not in page
    assert "charlie" not in page


# Adding a person is an invitation they accept: landmark/orgs/tests/test_consent.py
# (the old direct add, with an admin-set password, is gone).


def test_it_changes_a_members_role(alice_client, org, bob):
    target = membership(org, bob)

    response = alice_client.post(
        reverse("member_edit", args=[target.pk]), {"role": "admin", "is_active": "on"}
    )

    assert response["Location"] == reverse("members")
    target.refresh_from_db()
    assert (target.role, target.is_active) == (Membership.Role.ADMIN, True)


def test_it_deactivates_a_member(alice_client, org, bob):
    target = membership(org, bob)

    alice_client.post(reverse("member_edit", args=[target.pk]), {"role": "member"})

    target.refresh_from_db()
    assert target.is_active is False
    assert login(bob).get(reverse("focus")).status_code == 403


def test_it_does_not_let_the_last_owner_be_demoted(alice_client, org, alice):
    target = membership(org, alice)
    before = db_state()

    response = alice_client.post(
        reverse("member_edit", args=[target.pk]), {"role": "admin", "is_active": "on"}
    )

    assert response.status_code == 200
    assert "needs at least one owner" in field_error(html(response), "role")
    assert db_state() == before


def test_it_does_not_let_the_last_owner_be_deactivated(alice_client, org, alice):
    target = membership(org, alice)
    before = db_state()

    response = alice_client.post(
        reverse("member_edit", args=[target.pk]), {"role": "owner"}
    )

    assert "needs at least one owner" in field_error(html(response), "role")
    assert db_state() == before


def test_it_lets_an_owner_step_down_once_there_is_another_owner(
    alice_client, org, alice, bob
):
    actions.update_membership(
        membership=membership(org, bob), role="owner", is_active=True
    )

    alice_client.post(
        reverse("member_edit", args=[membership(org, alice).pk]),
        {"role": "member", "is_active": "on"},
    )

    assert membership(org, alice).role == Membership.Role.MEMBER


# Every admin write: member and viewer refused, other organization hidden


@pytest.fixture
def targets(org, sales_team, company, bob) -> dict[str, Any]:
    """URL arguments and a valid POST body for every admin write."""
    return {
        "team_create": ((), {"name": "Ops", "kind": "team", "parent": company.pk}),
        "team_edit": (
            (sales_team.pk,),
            {"name": "Renamed", "kind": "team", "parent": company.pk},
        ),
        "member_invite": ((), {"email": "x@acme.test", "role": "member"}),
        "member_edit": (
            (membership(org, bob).pk,),
            {"role": "admin", "is_active": "on"},
        ),
    }


ADMIN_WRITES = ["team_create", "team_edit", "member_invite", "member_edit"]


@pytest.mark.parametrize("name", ADMIN_WRITES)
def test_it_lets_an_admin_make_every_org_write(name, targets, alice_client):
    args, data = targets[name]
    before = db_state()

    response = alice_client.post(reverse(name, args=args), data)

    assert response.status_code == 302
    assert db_state() != before


@pytest.mark.parametrize("name", ADMIN_WRITES)
@pytest.mark.parametrize("who", ["bob", "viewer"])
def test_it_refuses_every_org_write_to_a_non_admin(request, who, name, targets):
    args, data = targets[name]
    client = login(request.getfixturevalue(who))
    before = db_state()

    posted = client.post(reverse(name, args=args), data)
    fetched = client.get(reverse(name, args=args))

    assert (posted.status_code, fetched.status_code) == (403, 403)
    assert db_state() == before


@pytest.mark.parametrize("name", ["team_edit", "member_edit"])
def test_it_answers_404_to_another_organization_for_every_org_write(
    name, targets, charlie_client
):
    args, data = targets[name]
    before = db_state()

    posted = charlie_client.post(reverse(name, args=args), data)
    fetched = charlie_client.get(reverse(name, args=args))

    assert (posted.status_code, fetched.status_code) == (404, 404)
    assert db_state() == before


@pytest.mark.parametrize("name", ["teams", "members"])
def test_it_sends_an_anonymous_visitor_of_the_admin_pages_to_login(client, name):
    response = client.get(reverse(name))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


# Switching organization


@pytest.fixture
def alice_in_both(alice, other_org) -> User:
    join(other_org, alice, Membership.Role.MEMBER)
    return alice


def test_it_switches_to_another_organization_the_user_belongs_to(
    alice_client, alice_in_both, other_org
):
    response = alice_client.post(reverse("switch_org"), {"organization": other_org.pk})

    assert response["Location"] == reverse("focus")
    page = html(alice_client.get(reverse("focus")))
    assert '<span class="org">Other Co</span>' in page
    assert "Alice Adams · Member" in page


def test_it_does_not_switch_to_an_organization_the_user_is_not_in(
    bob_client, other_org
):
    response = bob_client.post(reverse("switch_org"), {"organization": other_org.pk})

    assert response.status_code == 302
    page = html(bob_client.get(reverse("focus")))
    assert '<span class="org">Acme Test</span>' in page


@pytest.mark.parametrize("value", ["9" * 20, "9" * 5000, "²", "-1", "0"])
def test_an_organization_id_that_is_no_id_is_ignored_not_a_server_error(
    bob_client, value
):
    # 20 digits overflowed SQLite's integers; 5,000 are more than int() reads.
    response = bob_client.post(reverse("switch_org"), {"organization": value})

    assert response.status_code == 302
    page = html(bob_client.get(reverse("focus")))
    assert '<span class="org">Acme Test</span>' in page


def test_it_does_not_switch_to_an_organization_the_user_was_removed_from(
    alice_client, alice_in_both, other_org
):
    membership(other_org, alice_in_both).delete()

    alice_client.post(reverse("switch_org"), {"organization": other_org.pk})

    assert '<span class="org">Acme Test</span>' in html(
        alice_client.get(reverse("focus"))
    )


def test_it_refuses_get_on_switch_organization(alice_client):
    assert alice_client.get(reverse("switch_org")).status_code == 405


def test_it_sends_an_anonymous_switch_to_login(client, other_org):
    response = client.post(reverse("switch_org"), {"organization": other_org.pk})

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


# The settings menu of the top bar


def settings_menu(client) -> str:
    page = html(client.get(reverse("focus")))
    return page.split('data-testid="settings-menu"')[1].split("</details>")[0]


def test_the_settings_menu_shows_an_owner_every_setting(alice_client):
    menu = settings_menu(alice_client)
    for name in ("notification_settings", "mfa_index", "api_tokens"):
        assert f'href="{reverse(name)}"' in menu
    for name in ("reminder_settings", "webhooks", "chat_rooms", "sso_settings"):
        assert f'href="{reverse(name)}"' in menu
    assert f'href="{reverse("organization_api_tokens")}"' in menu
    assert "Log out" in menu


def test_the_settings_menu_shows_a_member_only_their_own_settings(bob_client):
    menu = settings_menu(bob_client)
    for name in ("notification_settings", "mfa_index", "api_tokens"):
        assert f'href="{reverse(name)}"' in menu
    for name in ("reminder_settings", "webhooks", "chat_rooms", "sso_settings"):
        assert f'href="{reverse(name)}"' not in menu
    assert f'href="{reverse("organization_api_tokens")}"' not in menu
