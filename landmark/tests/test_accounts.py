"""Accounts through HTTP (django-allauth): sign-up with a new organization, email
verification, password reset and change, the login page, and what happens to someone
whose memberships are all deactivated."""

import re
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.test import Client
from django.urls import reverse

from landmark.conftest import PASSWORD, login
from landmark.okrs.models import Period
from landmark.orgs import actions
from landmark.orgs.models import Membership, Organization, Team, User
from landmark.orgs.tests.test_views import field_error, html

NEW_PASSWORD = "a-long-unusual-passphrase"  # a test persona's


def sign_up(client: Client, **changes: Any):
    data = {
        "full_name": "Nora North",
        "organization": "Northwind",
        "email": "nora@northwind.test",
        "password1": NEW_PASSWORD,
        "password2": NEW_PASSWORD,
    }
    data.update(changes)
    return client.post(reverse("account_signup"), data)


def link_in(message: mail.EmailMessage, path: str) -> str:
    match = re.search(rf"https?://testserver({path}[^\s]+)", str(message.body))
    assert match, message.body
    return match.group(1)


def counts() -> tuple[int, int, int, int]:
    return (
        User.objects.count(),
        Organization.objects.count(),
        Membership.objects.count(),
        EmailAddress.objects.count(),
    )


@pytest.mark.django_db
def test_sign_up_creates_the_account_the_organization_its_owner_and_a_first_quarter():
    client = Client()

    response = sign_up(client)

    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    user = User.objects.get(email="nora@northwind.test")
    assert user.full_name == "Nora North"
    assert user.check_password(NEW_PASSWORD)
    membership = Membership.objects.get(user=user)
    assert membership.role == Membership.Role.OWNER and membership.is_active
    org = membership.organization
    assert org.name == "Northwind"
    assert Team.objects.filter(organization=org, kind=Team.Kind.COMPANY).count() == 1
    period = Period.objects.get(organization=org)
    assert period.state == Period.State.ACTIVE
    assert period.start <= period.end
    assert period.name.startswith("Q")
    address = EmailAddress.objects.get(user=user)
    assert address.email == "nora@northwind.test" and not address.verified
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["nora@northwind.test"]


@pytest.mark.django_db
def test_the_app_waits_until_the_address_is_verified_then_the_link_logs_in():
    client = Client()
    sign_up(client)
    # Mandatory verification: not logged in yet, and logging in is refused (the link
    # is not sent again within allauth's three-minute cooldown).
    assert client.get(reverse("focus"))["Location"].startswith(reverse("login"))
    blocked = Client().post(
        reverse("login"), {"login": "nora@northwind.test", "password": NEW_PASSWORD}
    )
    assert blocked["Location"] == reverse("account_email_verification_sent")
    assert "_auth_user_id" not in blocked.wsgi_request.session
    assert len(mail.outbox) == 1

    link = link_in(mail.outbox[0], "/accounts/confirm-email/")
    page = client.get(link)
    assert "nora@northwind.test" in html(page)
    confirmed = client.post(link)

    assert confirmed.status_code == 302
    assert EmailAddress.objects.get(email="nora@northwind.test").verified
    focus = client.get(reverse("focus"))
    assert focus.status_code == 200
    assert "Northwind" in html(focus)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"organization": "   "}, "organization", "This field is required."),
        ({"full_name": ""}, "full_name", "This field is required."),
        ({"password1": "password", "password2": "password"}, "password1", "common"),
        ({"password2": "something-else-entirely"}, "password2", "same password"),
        ({"email": "not-an-email"}, "email", "valid email"),
    ],
)
def test_bad_sign_up_input_is_a_field_error_and_saves_nothing(changes, field, message):
    before = counts()

    response = sign_up(Client(), **changes)

    assert response.status_code == 200
    assert message in field_error(html(response), field)
    assert counts() == before
    assert mail.outbox == []


@pytest.mark.django_db
def test_a_taken_address_saves_nothing_and_answers_as_a_new_one(alice, org):
    """No "already registered" field error (it told anyone which addresses have an
    account): the visitor is asked to check their email, and the address's owner
    gets the email (see test_enumeration.py)."""
    before = counts()

    response = sign_up(Client(), email="ALICE@acme.test", organization="Acme Again")

    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    assert counts() == before
    assert not Organization.objects.filter(name="Acme Again").exists()
    assert [m.to for m in mail.outbox] == [["alice@acme.test"]]
    assert "already exists" in str(mail.outbox[0].body)


@pytest.mark.django_db
def test_sign_up_can_be_closed_by_the_operator(settings):
    settings.SIGNUP_OPEN = False
    before = counts()

    response = sign_up(Client())

    assert "closed" in html(response).lower()
    assert counts() == before
    # The login page no longer offers it.
    assert reverse("account_signup") not in html(Client().get(reverse("login")))


@pytest.mark.django_db
def test_the_login_page_offers_sso_sign_up_and_password_reset():
    page = html(Client().get(reverse("login")))

    assert 'name="login"' in page and 'name="password"' in page
    assert reverse("sso_login") in page
    assert reverse("account_signup") in page
    assert reverse("account_reset_password") in page


@pytest.mark.django_db
def test_a_wrong_password_is_refused_in_plain_words(alice):
    response = Client().post(
        reverse("login"), {"login": alice.email, "password": "not-her-password"}
    )

    assert response.status_code == 200
    assert "not correct" in html(response)
    assert "_auth_user_id" not in response.wsgi_request.session


@pytest.mark.django_db
def test_password_reset_by_email_sets_a_new_password(alice, org):
    client = Client()
    response = client.post(reverse("account_reset_password"), {"email": alice.email})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    link = link_in(mail.outbox[0], "/accounts/password/reset/key/")

    form = client.get(link, follow=True)
    assert form.status_code == 200
    set_url = form.redirect_chain[-1][0] if form.redirect_chain else link
    done = client.post(set_url, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})

    assert done.status_code == 302
    alice.refresh_from_db()
    assert alice.check_password(NEW_PASSWORD)
    old = Client().post(reverse("login"), {"login": alice.email, "password": PASSWORD})
    assert old.status_code == 200
    new = Client().post(
        reverse("login"), {"login": alice.email, "password": NEW_PASSWORD}
    )
    assert new["Location"] == reverse("focus")


@pytest.mark.django_db
def test_a_reset_link_works_once(alice, org):
    client = Client()
    client.post(reverse("account_reset_password"), {"email": alice.email})
    link = link_in(mail.outbox[0], "/accounts/password/reset/key/")
    form = client.get(link, follow=True)
    set_url = form.redirect_chain[-1][0]
    client.post(set_url, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})

    again = Client().get(link, follow=True)

    assert "invalid" in html(again).lower()


@pytest.mark.django_db
def test_changing_the_password_logs_out_every_other_browser(alice, org):
    here, elsewhere = login(alice), login(alice)

    response = here.post(
        reverse("account_change_password"),
        {"oldpassword": PASSWORD, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )

    assert response.status_code == 302
    assert elsewhere.get(reverse("focus"))["Location"].startswith(reverse("login"))


@pytest.mark.django_db
def test_a_login_through_allauth_still_ends_when_the_member_is_deactivated(
    alice, org, bob
):
    client = Client()
    response = client.post(reverse("login"), {"login": bob.email, "password": PASSWORD})
    assert response["Location"] == reverse("focus")
    assert client.get(reverse("focus")).status_code == 200

    actions.deactivate_member(
        membership=Membership.objects.get(organization=org, user=bob)
    )

    kicked = client.get(reverse("focus"))
    assert kicked["Location"].startswith(reverse("login"))


@pytest.mark.django_db
def test_someone_whose_memberships_are_all_deactivated_gets_a_clear_page(
    alice, org, bob
):
    actions.deactivate_member(
        membership=Membership.objects.get(organization=org, user=bob)
    )
    client = Client()

    response = client.post(reverse("login"), {"login": bob.email, "password": PASSWORD})

    assert response["Location"] == reverse("no_organization")
    page = client.get(reverse("no_organization"))
    assert page.status_code == 200
    assert "was deactivated" in html(page) and "Acme Test" in html(page)
    # Other pages refuse in plain words rather than failing.
    refused = client.get(reverse("focus"))
    assert refused.status_code == 403
    assert "not a member of any organization" in html(refused)


@pytest.mark.django_db
def test_someone_without_an_organization_can_start_one(alice, org, bob):
    actions.deactivate_member(
        membership=Membership.objects.get(organization=org, user=bob)
    )
    client = login(bob)

    empty = client.post(reverse("no_organization"), {"organization": ""})
    assert "required" in field_error(html(empty), "organization")
    response = client.post(reverse("no_organization"), {"organization": "Bikes by Bob"})

    assert response["Location"] == reverse("focus")
    owned = Membership.objects.get(user=bob, organization__name="Bikes by Bob")
    assert owned.role == Membership.Role.OWNER
    assert "Bikes by Bob" in html(client.get(reverse("focus")))


@pytest.mark.django_db
def test_an_invited_person_who_made_their_account_from_the_link_is_verified(
    alice, org, django_capture_on_commit_callbacks
):
    tokens: list[str] = []

    def keep(token: str) -> str:
        tokens.append(token)
        return f"/invitations/{token}/"

    actions.invite_member(
        org=org,
        email="ines@acme.test",
        role=Membership.Role.MEMBER,
        teams=[],
        invited_by=alice,
        build_link=keep,
    )
    Client().post(
        reverse("invitation_accept", args=[tokens[0]]),
        {
            "full_name": "Ines Iverson",
            "password": NEW_PASSWORD,
            "password_again": NEW_PASSWORD,
        },
    )

    address = EmailAddress.objects.get(email="ines@acme.test")
    assert address.verified and address.primary
    # Logging in later needs no verification email.
    response = Client().post(
        reverse("login"), {"login": "ines@acme.test", "password": NEW_PASSWORD}
    )
    assert response["Location"] == reverse("focus")
