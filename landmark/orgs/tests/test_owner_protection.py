"""Owners are protected from admins: only an owner may grant or remove the owner role,
deactivate or reactivate an owner, or invite someone as owner (or invite a deactivated
owner back). Refused outright with 403 when the target is an owner; as a field error
when an admin picks the owner role; the last-owner guard stays."""

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from landmark.conftest import PASSWORD, login
from landmark.orgs import actions
from landmark.orgs.models import Invitation, Membership, Organization, User
from landmark.orgs.tests.test_views import field_error, html

OWNER, ADMIN, MEMBER = (
    Membership.Role.OWNER,
    Membership.Role.ADMIN,
    Membership.Role.MEMBER,
)


def person(org: Organization, email: str, role: str, *, active: bool = True) -> User:
    user = User.objects.create_user(email, PASSWORD, full_name=email.split("@")[0])
    Membership.objects.create(organization=org, user=user, role=role, is_active=active)
    return user


def membership(org: Organization, user: User) -> Membership:
    return Membership.objects.get(organization=org, user=user)


def state(org: Organization) -> list[tuple[str, str, bool]]:
    return list(
        Membership.objects.filter(organization=org)
        .order_by("user__email")
        .values_list("user__email", "role", "is_active")
    )


@pytest.fixture
def adam(org) -> User:
    """An admin of Acme."""
    return person(org, "adam@acme.test", ADMIN)


@pytest.fixture
def olga(org) -> User:
    """A second owner of Acme (so that no change trips the last-owner guard)."""
    return person(org, "olga@acme.test", OWNER)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("route", "data"),
    [
        ("member_edit", None),
        ("member_edit", {"role": ADMIN, "is_active": "on"}),
        ("member_edit", {"role": OWNER}),
        ("member_deactivate", {}),
    ],
)
def test_an_admin_cannot_change_or_deactivate_an_owner(
    org, alice, adam, olga, route, data
):
    before = state(org)
    url = reverse(route, args=[membership(org, olga).pk])
    client = login(adam)

    response = client.get(url) if data is None else client.post(url, data)

    assert response.status_code == 403
    assert "Only an owner can change another owner" in html(response)
    assert state(org) == before


@pytest.mark.django_db
def test_an_admin_cannot_reactivate_an_owner(org, alice, adam):
    gone = person(org, "gone@acme.test", OWNER, active=False)

    response = login(adam).post(
        reverse("member_reactivate", args=[membership(org, gone).pk])
    )

    assert response.status_code == 403
    assert not membership(org, gone).is_active


@pytest.mark.django_db
def test_an_admin_is_not_offered_the_owner_role_and_cannot_post_it(
    org, alice, adam, bob
):
    url = reverse("member_edit", args=[membership(org, bob).pk])
    client = login(adam)

    page = html(client.get(url))
    response = client.post(url, {"role": OWNER, "is_active": "on"})

    assert 'value="owner"' not in page and 'value="admin"' in page
    assert response.status_code == 200
    assert "only an owner can make someone an owner" in field_error(
        html(response), "role"
    )
    assert membership(org, bob).role == MEMBER


@pytest.mark.django_db
def test_an_admin_still_manages_everyone_else(org, alice, adam, bob):
    client = login(adam)
    url = reverse("member_edit", args=[membership(org, bob).pk])

    promoted = client.post(url, {"role": ADMIN, "is_active": "on"})
    deactivated = client.post(
        reverse("member_deactivate", args=[membership(org, bob).pk])
    )

    assert promoted.status_code == deactivated.status_code == 302
    assert (membership(org, bob).role, membership(org, bob).is_active) == (
        ADMIN,
        False,
    )


@pytest.mark.django_db
def test_the_members_page_offers_admins_no_buttons_on_owners(org, alice, adam, bob):
    page = html(login(adam).get(reverse("members")))
    owners_page = html(login(alice).get(reverse("members")))

    for target, shown_to_admin in ((alice, False), (bob, True)):
        pk = membership(org, target).pk
        edit, deactivate = (
            reverse("member_edit", args=[pk]),
            reverse("member_deactivate", args=[pk]),
        )
        assert (edit in page) is shown_to_admin
        assert (deactivate in page) is shown_to_admin
        assert edit in owners_page


@pytest.mark.django_db
def test_an_owner_grants_and_removes_the_owner_role(org, alice, bob):
    client = login(alice)
    url = reverse("member_edit", args=[membership(org, bob).pk])
    assert 'value="owner"' in html(client.get(url))

    granted = client.post(url, {"role": OWNER, "is_active": "on"})
    assert granted.status_code == 302 and membership(org, bob).role == OWNER
    removed = client.post(url, {"role": MEMBER, "is_active": "on"})

    assert removed.status_code == 302 and membership(org, bob).role == MEMBER


@pytest.mark.django_db
def test_the_last_owner_guard_still_holds_for_owners(org, alice):
    url = reverse("member_edit", args=[membership(org, alice).pk])

    response = login(alice).post(url, {"role": ADMIN, "is_active": "on"})

    assert "at least one owner" in field_error(html(response), "role")
    assert membership(org, alice).role == OWNER


# Invitations


def invite(client, email: str, role: str):
    return client.post(reverse("member_invite"), {"email": email, "role": role})


@pytest.mark.django_db
def test_an_admin_cannot_invite_someone_as_owner(org, alice, adam):
    response = invite(login(adam), "boss@elsewhere.test", OWNER)

    assert response.status_code == 200
    assert "only an owner can make someone an owner" in field_error(
        html(response), "role"
    )
    assert not Invitation.objects.exists()


@pytest.mark.django_db
def test_an_owner_invites_someone_as_owner(org, alice):
    response = invite(login(alice), "boss@elsewhere.test", OWNER)

    assert response.status_code == 302
    assert Invitation.objects.get().role == OWNER


@pytest.mark.django_db
def test_an_admin_cannot_invite_a_deactivated_owner_back(org, alice, adam):
    gone = person(org, "gone@acme.test", OWNER, active=False)

    response = invite(login(adam), gone.email, MEMBER)

    assert response.status_code == 403
    assert not Invitation.objects.exists()


@pytest.mark.django_db
def test_only_an_owner_sends_a_new_link_for_an_owner_invitation(org, alice, adam):
    invite(login(alice), "boss@elsewhere.test", OWNER)
    invitation = Invitation.objects.get()
    url = reverse("invitation_resend", args=[invitation.pk])

    refused = login(adam).post(url)
    sent = login(alice).post(url)

    assert refused.status_code == 403
    assert sent.status_code == 302
    assert "Resend" not in html(login(adam).get(reverse("members")))


# The rule lives in the actions, for every caller (web, API, and whatever comes next)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("target_role", "role", "is_active"),
    [(OWNER, ADMIN, True), (OWNER, OWNER, False), (MEMBER, OWNER, True)],
)
def test_the_action_refuses_an_admin_whatever_the_caller(
    org, alice, adam, target_role, role, is_active
):
    target = person(org, "t@acme.test", target_role)

    with pytest.raises(PermissionDenied):
        actions.update_membership(
            membership=membership(org, target),
            role=role,
            is_active=is_active,
            by=membership(org, adam),
        )
    assert membership(org, target).role == target_role


@pytest.mark.django_db
def test_an_operator_without_a_membership_may_still_change_owners(org, alice, olga):
    actions.update_membership(
        membership=membership(org, olga), role=ADMIN, is_active=True
    )

    assert membership(org, olga).role == ADMIN
