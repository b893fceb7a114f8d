"""Sessions and API tokens follow credentials: changing or resetting the password and
turning two-factor off end the person's other sessions and (a box ticked by default)
revoke their API tokens. Owners see and revoke every token of their organization."""

import re

import pytest
from allauth.mfa.models import Authenticator
from django.core import mail
from django.test import Client
from django.urls import reverse

from landmark.api.models import APIToken
from landmark.api.tests.conftest import ApiClient, token_for
from landmark.conftest import PASSWORD, login
from landmark.orgs import actions as org_actions
from landmark.orgs.models import Membership, Organization, User
from landmark.tests.test_accounts import NEW_PASSWORD, link_in
from landmark.tests.test_accounts_mfa import log_in, turn_on_totp

BOX = 'name="revoke_tokens"'


def works(token: str) -> bool:
    status = ApiClient(token).get("/api/v1/organization").status_code
    assert status in {200, 401}
    return status == 200


def logged_in(client: Client) -> bool:
    return client.get(reverse("focus")).status_code == 200


def box_is_ticked(page: str) -> bool:
    found = re.search(r"<input[^>]*" + BOX + r"[^>]*>", page)
    assert found, "the form does not ask about the API tokens"
    return "checked" in found.group(0)


@pytest.fixture
def alice_tokens(alice, org) -> list[str]:
    """Two tokens of Alice: one in Acme, one in a second organization she owns."""
    side = org_actions.create_organization(name="Side Co", owner=alice)
    return [token_for(alice, org=org), token_for(alice, org=side)]


# Changing the password


@pytest.mark.django_db
def test_changing_the_password_ends_other_sessions_keeps_this_one_and_revokes_tokens(
    alice, alice_tokens
):
    here, elsewhere = login(alice), login(alice)
    form = here.get(reverse("account_change_password")).content.decode()
    assert box_is_ticked(form)
    assert "Also revoke my 2 API tokens" in form

    response = here.post(
        reverse("account_change_password"),
        {
            "oldpassword": PASSWORD,
            "password1": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
            "revoke_tokens": "on",
        },
    )

    assert response.status_code == 302
    assert logged_in(here)
    assert not logged_in(elsewhere)
    assert not any(works(t) for t in alice_tokens)
    assert APIToken.objects.filter(user=alice, revoked_at__isnull=True).count() == 0


@pytest.mark.django_db
def test_unticking_the_box_keeps_the_tokens(alice, alice_tokens):
    here, elsewhere = login(alice), login(alice)

    here.post(
        reverse("account_change_password"),
        {"oldpassword": PASSWORD, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )

    assert logged_in(here) and not logged_in(elsewhere)
    assert all(works(t) for t in alice_tokens)


@pytest.mark.django_db
def test_a_wrong_current_password_changes_nothing(alice, alice_tokens):
    here = login(alice)

    response = here.post(
        reverse("account_change_password"),
        {
            "oldpassword": "not-the-password",
            "password1": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
            "revoke_tokens": "on",
        },
    )

    assert response.status_code == 200
    assert all(works(t) for t in alice_tokens)
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)


@pytest.mark.django_db
def test_someone_without_tokens_is_not_asked(bob):
    page = login(bob).get(reverse("account_change_password")).content.decode()

    assert 'name="password1"' in page and BOX not in page


# Resetting it


@pytest.mark.django_db
def test_resetting_the_password_ends_every_session_and_revokes_tokens(
    alice, alice_tokens
):
    elsewhere = login(alice)
    client = Client()
    client.post(reverse("account_reset_password"), {"email": alice.email})
    link = link_in(mail.outbox[0], "/accounts/password/reset/key/")
    form = client.get(link, follow=True)
    assert box_is_ticked(form.content.decode())

    done = client.post(
        form.redirect_chain[-1][0],
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "revoke_tokens": "on"},
    )

    assert done.status_code == 302
    assert not logged_in(elsewhere)
    assert not any(works(t) for t in alice_tokens)


# Turning two-factor off


@pytest.mark.django_db
@pytest.mark.parametrize("revoke", [True, False])
def test_turning_two_factor_off_ends_other_sessions_and_revokes_tokens_if_asked(
    alice, org, revoke
):
    here = log_in(alice.email)
    turn_on_totp(here)
    tokens = [token_for(alice, org=org)]
    elsewhere = login(alice)
    assert logged_in(elsewhere)
    page = here.get(reverse("mfa_deactivate_totp")).content.decode()
    assert box_is_ticked(page)
    assert "Every other browser logged in as you is logged out" in page

    response = here.post(
        reverse("mfa_deactivate_totp"), {"revoke_tokens": "on"} if revoke else {}
    )

    assert response.status_code == 302
    assert not Authenticator.objects.filter(
        user=alice, type=Authenticator.Type.TOTP
    ).exists()
    assert logged_in(here)
    assert not logged_in(elsewhere)
    assert works(tokens[0]) is not revoke


# The organization's tokens, for its owners


@pytest.fixture
def others_tokens(org, bob, viewer, charlie, other_org) -> dict[str, str]:
    return {
        "bob": token_for(bob, org=org),
        "vera": token_for(viewer, org=org, scope=APIToken.Scope.READ),
        "charlie": token_for(charlie, org=other_org),
    }


@pytest.mark.django_db
def test_an_owner_sees_every_token_of_the_organization_but_no_secret(
    alice, org, others_tokens
):
    page = login(alice).get(reverse("organization_api_tokens")).content.decode()

    for person in ("bob@acme.test", "vera@acme.test"):
        assert person in page
    assert "charlie@other.test" not in page
    for name, secret in others_tokens.items():
        token = APIToken.objects.get(prefix=secret.split("_")[1])
        assert secret not in page and token.token_hash not in page
        assert (f"lmk_{token.prefix}_…" in page) is (name != "charlie")


@pytest.mark.django_db
def test_the_organizations_token_list_costs_the_same_queries_however_many(
    alice, org, bob, django_assert_num_queries
):
    client = login(alice)
    token_for(bob, org=org)
    client.get(reverse("organization_api_tokens"))  # sessions and caches warm
    # (Session, user, membership, tokens; the menu's My focus count.)
    with django_assert_num_queries(5) as few:
        client.get(reverse("organization_api_tokens"))
    for n in range(5):
        user = User.objects.create_user(f"p{n}@acme.test", PASSWORD)
        Membership.objects.create(organization=org, user=user)
        token_for(user, org=org)

    with django_assert_num_queries(len(few.captured_queries)):
        page = client.get(reverse("organization_api_tokens")).content.decode()
    assert "p4@acme.test" in page


@pytest.mark.django_db
def test_an_owner_revokes_a_members_token(alice, org, bob, others_tokens):
    token = APIToken.objects.get(user=bob)

    response = login(alice).post(
        reverse("organization_api_token_revoke", args=[token.pk])
    )

    assert response.status_code == 302
    assert not works(others_tokens["bob"])
    assert works(others_tokens["vera"])
    assert "Revoked" in login(bob).get(reverse("api_tokens")).content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Membership.Role.ADMIN, Membership.Role.MEMBER])
def test_admins_and_members_can_neither_list_nor_revoke_others_tokens(
    alice, org, bob, others_tokens, role
):
    Membership.objects.filter(organization=org, user=bob).update(role=role)
    alice_token = token_for(alice, org=org)
    target = APIToken.objects.get(user=alice)
    client = login(bob)

    listed = client.get(reverse("organization_api_tokens"))
    revoked = client.post(reverse("organization_api_token_revoke", args=[target.pk]))

    assert listed.status_code == revoked.status_code == 403
    assert works(alice_token)
    assert reverse("organization_api_tokens") not in (
        client.get(reverse("api_tokens")).content.decode()
    )


@pytest.mark.django_db
def test_an_owner_cannot_reach_another_organizations_token(alice, org, others_tokens):
    charlie_token = APIToken.objects.get(user__email="charlie@other.test")

    response = login(alice).post(
        reverse("organization_api_token_revoke", args=[charlie_token.pk])
    )

    assert response.status_code == 404
    assert works(others_tokens["charlie"])
    assert Organization.objects.count() == 2
