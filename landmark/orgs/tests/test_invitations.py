"""Invitations and member deactivation through HTTP.

An admin invites an address with a role and teams; the link in the email creates the
account (or joins an existing one) once, until it expires, is resent or is revoked.
Deactivating a member ends every one of their sessions at once.
"""

import re
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from landmark.conftest import PASSWORD, login
from landmark.orgs import actions
from landmark.orgs.models import (
    Invitation,
    InvitationTeam,
    Membership,
    Organization,
    TeamMember,
    User,
    hash_token,
)
from landmark.orgs.tests.test_views import field_error, html

NEW_PASSWORD = "a-long-unusual-passphrase"  # a test persona's


def db_state() -> dict[str, list[dict[str, Any]]]:
    models = [User, Membership, TeamMember, Invitation, InvitationTeam]
    return {
        m.__name__: list(m._default_manager.order_by("pk").values()) for m in models
    }


def link_in(message: mail.EmailMessage) -> str:
    """The accept link's path from an invitation email."""
    match = re.search(r"http://testserver(/invitations/[^/\s]+/)", str(message.body))
    assert match, message.body
    return match.group(1)


@pytest.fixture
def invite(alice_client, django_capture_on_commit_callbacks):
    """Invite through the page as alice; returns the accept link's path."""

    def send(email: str = "erin@acme.test", **data: Any) -> str:
        with django_capture_on_commit_callbacks(execute=True):
            response = alice_client.post(
                reverse("member_invite"), {"email": email, "role": "member", **data}
            )
        assert response.status_code == 302, field_error(html(response), "email")
        return link_in(mail.outbox[-1])

    return send


def log_in(email: str, password: str) -> Client:
    """Through the login page, as a person would (django-axes needs the request)."""
    client = Client()
    response = client.post(reverse("login"), {"login": email, "password": password})
    assert response.status_code == 302, html(response)
    return client


def accept_as_new(link: str, client: Client | None = None, **data: Any):
    client = client or Client()
    return client.post(
        link,
        {
            "full_name": "Erin Example",
            "password": NEW_PASSWORD,
            "password_again": NEW_PASSWORD,
            **data,
        },
    )


def test_it_invites_by_email_and_the_new_person_joins_with_role_and_teams(
    invite, org, sales
):
    link = invite("Erin@Acme.test", role="admin", teams=[sales.pk])

    message = mail.outbox[0]
    assert message.to == ["erin@acme.test"]
    assert "Acme Test" in message.subject
    assert "Alice Adams" in message.body
    page = Client().get(link)
    assert page.status_code == 200
    assert "Join Acme Test" in html(page)
    assert "admin" in html(page)

    response = accept_as_new(link)

    assert response["Location"] == reverse("focus")
    erin = User.objects.get(email="erin@acme.test")
    assert erin.full_name == "Erin Example"
    membership = Membership.objects.get(organization=org, user=erin)
    assert membership.role == Membership.Role.ADMIN and membership.is_active
    assert TeamMember.objects.filter(team=sales, user=erin).exists()
    assert Invitation.objects.get(email="erin@acme.test").accepted_at is not None
    fresh = log_in("erin@acme.test", NEW_PASSWORD)
    assert fresh.get(reverse("focus")).status_code == 200


def test_it_logs_the_new_person_in_when_they_accept(invite):
    client = Client()

    accept_as_new(invite(), client)

    assert client.get(reverse("members")).status_code == 200


def test_the_link_works_only_once(invite):
    link = invite()
    accept_as_new(link)

    response = accept_as_new(link, full_name="Someone Else")

    assert response.status_code == 410
    assert "already been used" in html(response)
    assert User.objects.filter(email="erin@acme.test").count() == 1


def test_it_applies_the_password_rules_next_to_the_field(invite):
    link = invite()
    before = db_state()

    response = accept_as_new(link, password="12345678", password_again="12345678")

    assert response.status_code == 200
    assert field_error(html(response), "password")
    assert db_state() == before


def test_it_refuses_two_different_passwords(invite):
    link = invite()
    before = db_state()

    response = accept_as_new(link, password_again="something-else-entirely")

    assert "not the same" in field_error(html(response), "password_again")
    assert db_state() == before


def test_it_stores_only_a_hash_of_the_token(invite):
    link = invite()

    token = link.split("/")[2]
    invitation = Invitation.objects.get()
    assert invitation.token_hash == hash_token(token)
    stored = str(list(Invitation.objects.values()))
    assert token not in stored


def test_resending_sends_a_new_link_and_the_old_one_stops_working(
    invite, alice_client, django_capture_on_commit_callbacks
):
    old = invite()
    invitation = Invitation.objects.get()
    invitation.expires_at = timezone.now() + timedelta(hours=1)
    invitation.save(update_fields=["expires_at"])

    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post(reverse("invitation_resend", args=[invitation.pk]))

    assert response["Location"] == reverse("members")
    new = link_in(mail.outbox[-1])
    assert new != old
    assert Client().get(old).status_code == 404
    invitation.refresh_from_db()
    assert invitation.expires_at > timezone.now() + timedelta(days=6)
    assert accept_as_new(new)["Location"] == reverse("focus")


def test_revoking_makes_the_link_invalid(invite, alice_client):
    link = invite()
    invitation = Invitation.objects.get()

    response = alice_client.post(reverse("invitation_revoke", args=[invitation.pk]))

    assert response["Location"] == reverse("members")
    refused = accept_as_new(link)
    assert refused.status_code == 410
    assert "withdrawn" in html(refused)
    assert not User.objects.filter(email="erin@acme.test").exists()


def test_an_expired_link_is_refused(invite):
    link = invite()
    Invitation.objects.update(expires_at=timezone.now() - timedelta(minutes=1))

    response = accept_as_new(link)

    assert response.status_code == 410
    assert "expired" in html(response)
    assert not User.objects.filter(email="erin@acme.test").exists()


def test_an_unknown_link_is_a_404(db):
    assert Client().get("/invitations/not-a-real-token/").status_code == 404


def test_a_person_with_an_account_logs_in_and_joins(invite, org, charlie):
    link = invite(charlie.email)

    anonymous = Client().get(link)
    assert "Log in to accept" in html(anonymous)
    charlie_client = login(charlie)
    assert "Join Acme Test" in html(charlie_client.get(link))

    response = charlie_client.post(link)

    assert response["Location"] == reverse("focus")
    assert Membership.objects.get(organization=org, user=charlie).is_active
    assert (
        charlie_client.get(reverse("members")).context["membership"].organization == org
    )


def test_someone_logged_in_as_another_address_cannot_accept(invite, bob_client):
    link = invite()
    before = db_state()

    response = bob_client.post(link)

    assert response.status_code == 200
    assert "This invitation is for erin@acme.test" in html(response)
    assert db_state() == before


def test_a_new_account_cannot_take_over_an_existing_address(invite, charlie):
    link = invite(charlie.email)
    before = db_state()

    accept_as_new(link)

    assert db_state() == before
    assert User.objects.get(email=charlie.email).check_password(PASSWORD)


def test_inviting_an_existing_member_shows_an_error_on_the_email(alice_client, bob):
    before = db_state()

    response = alice_client.post(
        reverse("member_invite"), {"email": "BOB@acme.test", "role": "member"}
    )

    assert response.status_code == 200
    assert "already a member" in field_error(html(response), "email")
    assert db_state() == before
    assert mail.outbox == []


def test_inviting_twice_points_to_resend(invite, alice_client):
    invite()
    before = db_state()

    response = alice_client.post(
        reverse("member_invite"), {"email": "erin@acme.test", "role": "member"}
    )

    assert "Resend it" in field_error(html(response), "email")
    assert db_state() == before


def test_an_expired_invitation_can_be_replaced_by_a_new_one(invite):
    old = invite()
    Invitation.objects.update(expires_at=timezone.now() - timedelta(minutes=1))

    new = invite()

    assert new != old
    assert Invitation.objects.open().count() == 1


def test_a_deactivated_member_can_be_invited_back(invite, org, bob):
    actions.deactivate_member(membership=Membership.objects.get(user=bob))

    link = invite(bob.email, role="viewer")
    response = login(User.objects.get(pk=bob.pk)).post(link)

    assert response["Location"] == reverse("focus")
    again = Membership.objects.get(organization=org, user=bob)
    assert again.is_active and again.role == Membership.Role.VIEWER


def test_the_members_page_lists_pending_invitations_for_admins_only(
    invite, alice_client, bob_client
):
    invite("erin@acme.test")
    invite("fred@acme.test")

    page = html(alice_client.get(reverse("members")))
    assert "erin@acme.test" in page and "fred@acme.test" in page
    invitation = Invitation.objects.get(email="erin@acme.test")
    assert reverse("invitation_resend", args=[invitation.pk]) in page
    assert reverse("invitation_revoke", args=[invitation.pk]) in page
    assert "erin@acme.test" not in html(bob_client.get(reverse("members")))


def test_the_members_page_costs_the_same_for_more_invitations(
    invite, alice_client, sales, django_assert_num_queries
):
    invite("erin@acme.test", teams=[sales.pk])
    alice_client.get(reverse("members"))  # warm the session
    # session, user, membership, members (their count, a page), invitations, their
    # teams; the menu's My focus count
    with django_assert_num_queries(8):
        alice_client.get(reverse("members"))
    for n in range(4):
        invite(f"person{n}@acme.test", teams=[sales.pk])

    with django_assert_num_queries(8):
        alice_client.get(reverse("members"))


# Deactivation


def test_deactivating_a_member_ends_their_session_at_once(
    alice_client, bob_client, org, bob
):
    assert bob_client.get(reverse("focus")).status_code == 200
    target = Membership.objects.get(organization=org, user=bob)

    response = alice_client.post(reverse("member_deactivate", args=[target.pk]))

    assert response["Location"] == reverse("members")
    target.refresh_from_db()
    assert target.is_active is False
    kicked = bob_client.get(reverse("focus"))
    assert kicked.status_code == 302
    assert kicked["Location"].startswith(reverse("login"))
    assert alice_client.get(reverse("focus")).status_code == 200


def test_deactivating_through_the_edit_form_also_ends_the_sessions(
    alice_client, bob_client, org, bob
):
    target = Membership.objects.get(organization=org, user=bob)

    alice_client.post(reverse("member_edit", args=[target.pk]), {"role": "member"})

    assert bob_client.get(reverse("focus"))["Location"].startswith(reverse("login"))


def test_a_deactivated_member_who_logs_in_again_has_no_access(alice_client, org, bob):
    target = Membership.objects.get(organization=org, user=bob)
    alice_client.post(reverse("member_deactivate", args=[target.pk]))

    client = log_in(bob.email, PASSWORD)
    assert client.get(reverse("focus")).status_code == 403


def test_a_member_can_be_reactivated(alice_client, org, bob):
    target = Membership.objects.get(organization=org, user=bob)
    alice_client.post(reverse("member_deactivate", args=[target.pk]))

    alice_client.post(reverse("member_reactivate", args=[target.pk]))

    target.refresh_from_db()
    assert target.is_active
    assert log_in(bob.email, PASSWORD).get(reverse("focus")).status_code == 200


def test_the_last_owner_cannot_be_deactivated(alice_client, org, alice):
    target = Membership.objects.get(organization=org, user=alice)
    before = db_state()

    response = alice_client.post(
        reverse("member_deactivate", args=[target.pk]), follow=True
    )

    assert "needs at least one owner" in html(response)
    assert db_state() == before
    assert alice_client.get(reverse("focus")).status_code == 200


# Admins only; another organization's objects are hidden


@pytest.fixture
def invitation(org, alice, sales) -> Invitation:
    return actions.invite_member(
        org=org,
        email="erin@acme.test",
        role="member",
        teams=[sales],
        invited_by=alice,
        build_link=lambda token: f"/invitations/{token}/",
    )


def other_invitation(other_org: Organization, charlie: User) -> Invitation:
    return actions.invite_member(
        org=other_org,
        email="dana@other.test",
        role="member",
        teams=[],
        invited_by=charlie,
        build_link=lambda token: f"/invitations/{token}/",
    )


@pytest.mark.parametrize("client_name", ["bob_client", "viewer_client"])
@pytest.mark.parametrize(
    ("name", "method"),
    [
        ("member_invite", "get"),
        ("member_invite", "post"),
        ("invitation_resend", "post"),
        ("invitation_revoke", "post"),
        ("member_deactivate", "post"),
        ("member_reactivate", "post"),
    ],
)
def test_only_admins_manage_invitations_and_members(
    request, client_name, name, method, invitation, org, alice
):
    client = request.getfixturevalue(client_name)
    args = (
        []
        if name == "member_invite"
        else [
            invitation.pk
            if name.startswith("invitation")
            else Membership.objects.get(organization=org, user=alice).pk
        ]
    )
    before = db_state()

    response = getattr(client, method)(
        reverse(name, args=args), {"email": "x@acme.test", "role": "owner"}
    )

    assert response.status_code == 403
    assert db_state() == before


@pytest.mark.parametrize(
    "name",
    [
        "invitation_resend",
        "invitation_revoke",
        "member_deactivate",
        "member_reactivate",
    ],
)
def test_another_organizations_objects_are_a_404(
    name, charlie_client, invitation, org, bob
):
    pk = (
        invitation.pk
        if name.startswith("invitation")
        else Membership.objects.get(organization=org, user=bob).pk
    )
    before = db_state()

    response = charlie_client.post(reverse(name, args=[pk]))

    assert response.status_code == 404
    assert db_state() == before


def test_an_admin_cannot_reach_another_organizations_invitation(
    alice_client, other_org, charlie
):
    theirs = other_invitation(other_org, charlie)

    for name in ["invitation_resend", "invitation_revoke"]:
        assert alice_client.post(reverse(name, args=[theirs.pk])).status_code == 404
    theirs.refresh_from_db()
    assert theirs.revoked_at is None


@pytest.mark.parametrize(
    "name", ["invitation_resend", "invitation_revoke", "member_deactivate"]
)
def test_buttons_reject_get(name, alice_client, invitation, org, bob):
    pk = (
        invitation.pk
        if name.startswith("invitation")
        else Membership.objects.get(organization=org, user=bob).pk
    )

    assert alice_client.get(reverse(name, args=[pk])).status_code == 405


def test_invite_refuses_another_organizations_team(alice_client, other_org):
    theirs = other_org.teams.get()
    before = db_state()

    response = alice_client.post(
        reverse("member_invite"),
        {"email": "erin@acme.test", "role": "member", "teams": [theirs.pk]},
    )

    assert field_error(html(response), "teams")
    assert db_state() == before


def test_anonymous_visitors_are_sent_to_log_in(client, invitation):
    for name, args in [
        ("member_invite", []),
        ("invitation_revoke", [invitation.pk]),
    ]:
        response = client.post(reverse(name, args=args))
        assert response["Location"].startswith(reverse("login"))
