"""Nobody joins an organization without consenting (docs/members.md).

Members → Add always makes an invitation, whether or not the address has an account,
with the same answer, the same email and the same database work, so neither the page
nor its timing tells the admin whether an account exists. The person becomes a member
only by accepting, logged in as themselves or by making their own account from the
link; until then nothing of theirs changes. An admin never sets anyone's password."""

import re

import pytest
from django.contrib.messages import get_messages
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from landmark.conftest import PASSWORD, login
from landmark.orgs.models import Invitation, Membership, TeamMember, User
from landmark.orgs.tests.test_views import field_error, html

pytestmark = pytest.mark.django_db


@pytest.fixture
def add(django_capture_on_commit_callbacks):
    """Members → Add, as an admin; the mail leaves when the transaction commits."""

    def send(client: Client, email: str, **extra: object):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(
                reverse("member_invite"), {"email": email, "role": "admin", **extra}
            )

    return send


def link_in(message) -> str:
    return re.search(r"https?://\S+/invitations/(\S+)/", message.body)[0]  # type: ignore[index]


def test_adding_an_existing_account_makes_an_invitation_and_changes_nothing_of_theirs(
    add, alice_client, org, charlie, other_org
):
    before = User.objects.filter(pk=charlie.pk).values().get()

    response = add(alice_client, charlie.email)

    assert response["Location"] == reverse("members")
    assert not Membership.objects.filter(organization=org, user=charlie).exists()
    invitation = Invitation.objects.get(organization=org)
    assert (invitation.email, invitation.role) == (charlie.email, "admin")
    assert User.objects.filter(pk=charlie.pk).values().get() == before
    assert list(Membership.objects.filter(user=charlie).values_list("organization"))
    assert [m.to for m in mail.outbox] == [[charlie.email]]
    # Charlie's own session still sees only Other Co.
    assert login(charlie).get("/api/v1/organization").json()["name"] == other_org.name


def test_known_and_unknown_addresses_get_the_same_answer_mail_and_work(
    add, alice_client, org, charlie, other_org
):
    """Same redirect, same message, same email (but the address), same SQL."""
    answers = []
    for email in [charlie.email, "nobody-yet@other.test"]:
        with CaptureQueriesContext(connection) as queries:
            response = add(alice_client, email)
        messages = [str(m) for m in get_messages(response.wsgi_request)]
        alice_client.get(reverse("members"))  # shows (and uses up) the message
        sent = mail.outbox[-1]
        answers.append(
            {
                "status": response.status_code,
                "location": response["Location"],
                "messages": [m.replace(email, "ADDRESS") for m in messages],
                "subject": sent.subject,
                "body": sent.body.replace(email, "ADDRESS").replace(
                    link_in(sent), "LINK"
                ),
                "queries": [
                    re.sub(r"'[^']*'|\b\d+\b", "?", q["sql"])
                    for q in queries.captured_queries
                ],
            }
        )

    for key in answers[0]:
        assert answers[0][key] == answers[1][key], key
    assert "become a member when they accept" in answers[0]["messages"][0]


def test_the_add_form_has_no_password_and_ignores_one(add, alice_client, org):
    page = html(alice_client.get(reverse("member_invite")))
    assert 'name="password"' not in page

    add(alice_client, "erin@acme.test", password="admin-chosen-passphrase")

    assert not User.objects.filter(email="erin@acme.test").exists()
    assert Invitation.objects.filter(email="erin@acme.test").exists()


def test_the_invited_account_joins_only_by_accepting_as_itself(
    add, alice_client, org, charlie, sales
):
    add(alice_client, charlie.email, teams=[sales.pk])
    link = link_in(mail.outbox[-1])
    path = link[link.index("/invitations/") :]

    anonymous = Client().post(path)  # someone holding the link, not logged in
    assert not Membership.objects.filter(organization=org, user=charlie).exists()
    assert "already has a Landmark account" in html(anonymous)

    joined = login(charlie).post(path)

    assert joined["Location"] == reverse("focus")
    membership = Membership.objects.get(organization=org, user=charlie)
    assert membership.role == "admin"
    assert TeamMember.objects.filter(team=sales, user=charlie).exists()
    charlie.refresh_from_db()
    assert charlie.check_password(PASSWORD)


def test_a_new_person_makes_their_own_account_from_the_link(add, alice_client, org):
    add(alice_client, "erin@acme.test")
    link = link_in(mail.outbox[-1])
    path = link[link.index("/invitations/") :]

    Client().post(
        path,
        {
            "full_name": "Erin Example",
            "password": "erin-own-passphrase",
            "password_again": "erin-own-passphrase",
        },
    )

    erin = User.objects.get(email="erin@acme.test")
    assert erin.check_password("erin-own-passphrase")
    assert Membership.objects.get(organization=org, user=erin).role == "admin"


def test_the_members_page_shows_invitations_apart_from_members(
    add, alice_client, bob_client, org, charlie
):
    add(alice_client, charlie.email)
    alice_client.get(reverse("members"))  # shows (and uses up) the "sent" message

    admin_page = html(alice_client.get(reverse("members")))
    member_rows = admin_page.split("<h2>Invitations</h2>")[0]
    invitations = admin_page.split("<h2>Invitations</h2>")[1]
    assert charlie.email not in member_rows
    assert charlie.email in invitations and "Pending, sent" in invitations
    assert charlie.email not in html(bob_client.get(reverse("members")))


def test_inviting_someone_who_is_already_a_member_says_so(add, alice_client, bob):
    response = add(alice_client, "BOB@acme.test")

    assert "already a member" in field_error(html(response), "email")
    assert not Invitation.objects.exists()
    assert mail.outbox == []


def test_the_old_direct_add_page_is_gone(alice_client):
    assert alice_client.get("/members/new/").status_code == 404


def test_the_api_has_no_way_to_add_a_member(alice, org):
    from landmark.api.tests.conftest import api_client

    response = api_client(alice).send(
        "POST", "/api/v1/members", {"email": "x@acme.test", "role": "admin"}
    )

    assert response.status_code == 405
    assert not Membership.objects.filter(user__email="x@acme.test").exists()
