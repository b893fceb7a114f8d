"""No public page tells whether an address has a Landmark account: sign-up, password
reset and login answer a known address exactly as an unknown one; what differs goes by
email to the address itself. Password reset requests are rate-limited."""

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from landmark.conftest import PASSWORD
from landmark.orgs.models import Membership, Organization
from landmark.tests.test_accounts import NEW_PASSWORD, counts, sign_up

KNOWN, UNKNOWN = "alice@acme.test", "nobody@acme.test"


ONE_TIME = re.compile(r'(csrfmiddlewaretoken" value=|X-CSRFToken": )"[^"]+"')


def page_of(response, address: str) -> str:
    """A page's HTML with the typed address and the CSRF tokens (new on every page)
    left out."""
    return ONE_TIME.sub("", response.content.decode()).replace(address, "ADDRESS")


def visible(response, client: Client, address: str) -> dict[str, object]:
    """What the visitor sees of an answer, the typed address and one-time values
    (CSRF tokens, session ids) left out: status, where it leads, the page it leads to,
    and which cookies it sets."""
    location = response.get("Location", "")
    shown = client.get(location) if location else response
    return {
        "status": response.status_code,
        "location": location,
        "cookies": sorted(response.cookies),
        "page status": shown.status_code,
        "page": page_of(shown, address),
    }


def mails_to(address: str) -> list[mail.EmailMessage]:
    return [m for m in mail.outbox if m.to == [address]]


@pytest.mark.django_db
def test_sign_up_with_a_taken_address_answers_as_a_new_one_and_mails_its_owner(
    alice, org
):
    before = counts()
    taken_client, fresh_client = Client(), Client()

    taken = sign_up(taken_client, email="ALICE@acme.test", organization="Acme Again")
    after_taken = counts()
    fresh = sign_up(fresh_client, email=UNKNOWN, organization="Nobody Inc")

    assert visible(taken, taken_client, "alice@acme.test") == visible(
        fresh, fresh_client, UNKNOWN
    )
    assert taken["Location"] == reverse("account_email_verification_sent")
    # Nothing was made for the taken address: no account, organization, membership.
    assert after_taken == before
    assert not Organization.objects.filter(name="Acme Again").exists()
    assert list(
        Membership.objects.filter(user=alice).values_list("role", flat=True)
    ) == [Membership.Role.OWNER]
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD) and alice.full_name == "Alice Adams"
    # Its owner is told by email, with the way back in; the visitor learns nothing.
    (owner_mail,) = mails_to(KNOWN)
    assert "already exists" in owner_mail.body
    assert reverse("account_reset_password") in owner_mail.body
    assert "confirm-email" not in owner_mail.body
    (confirm,) = mails_to(UNKNOWN)
    assert "/accounts/confirm-email/" in confirm.body


@pytest.mark.django_db
def test_a_taken_address_with_a_bad_password_gets_the_same_field_errors(alice):
    taken = sign_up(Client(), email=KNOWN, password1="password", password2="password")
    fresh = sign_up(Client(), email=UNKNOWN, password1="password", password2="password")

    assert taken.status_code == fresh.status_code == 200
    assert "This password is too common." in taken.content.decode()
    assert page_of(taken, KNOWN) == page_of(fresh, UNKNOWN)
    assert mail.outbox == []


@pytest.mark.django_db
def test_password_reset_answers_the_same_for_known_and_unknown_addresses(alice, org):
    known_client, unknown_client = Client(), Client()

    known = known_client.post(reverse("account_reset_password"), {"email": KNOWN})
    unknown = unknown_client.post(reverse("account_reset_password"), {"email": UNKNOWN})

    assert visible(known, known_client, KNOWN) == visible(
        unknown, unknown_client, UNKNOWN
    )
    assert known["Location"] == reverse("account_reset_password_done")
    # Each address gets one email: a reset link for the account, a "no account here"
    # note for the unknown address.
    (reset,) = mails_to(KNOWN)
    assert "/accounts/password/reset/key/" in reset.body
    (note,) = mails_to(UNKNOWN)
    assert "/accounts/password/reset/key/" not in note.body
    assert reverse("account_signup") in note.body


@pytest.mark.django_db
@pytest.mark.parametrize("address", [KNOWN, UNKNOWN])
def test_password_reset_requests_are_limited_per_address(
    alice, org, address, fixed_clock
):
    def request(n: int) -> int:
        return (
            Client(REMOTE_ADDR=f"192.0.2.{n}")
            .post(reverse("account_reset_password"), {"email": address})
            .status_code
        )

    answers = [request(n) for n in range(6)]
    fixed_clock.shift(timedelta(minutes=30))
    later = request(7)
    fixed_clock.shift(timedelta(minutes=31))
    after_an_hour = request(8)

    assert answers == [302] * 5 + [429]
    assert later == 429
    assert after_an_hour == 302
    assert len(mails_to(address)) == 6


@pytest.mark.django_db
def test_password_reset_requests_are_limited_per_client_address(alice, org):
    client = Client(REMOTE_ADDR="192.0.2.1")
    answers = [
        client.post(reverse("account_reset_password"), {"email": f"p{n}@x.test"})
        for n in range(11)
    ]

    assert [a.status_code for a in answers] == [302] * 10 + [429]
    assert "Too many requests" in answers[-1].content.decode()


def log_in(address: str, password: str, ip: str = "203.0.113.7"):
    return Client(REMOTE_ADDR=ip).post(
        reverse("login"), {"login": address, "password": password}
    )


@pytest.mark.django_db
def test_a_wrong_password_reads_the_same_for_known_and_unknown_addresses(alice):
    known = log_in(KNOWN, NEW_PASSWORD)
    unknown = log_in(UNKNOWN, NEW_PASSWORD)

    assert known.status_code == unknown.status_code == 200
    assert page_of(known, KNOWN) == page_of(unknown, UNKNOWN)
    assert "not correct" in known.content.decode()


@pytest.mark.django_db
def test_an_unknown_address_is_locked_out_like_a_known_one(alice):
    for address in (KNOWN, UNKNOWN):
        for _ in range(5):
            log_in(address, "wrong-password")

    known = log_in(KNOWN, PASSWORD)
    unknown = log_in(UNKNOWN, PASSWORD)

    assert known.status_code == unknown.status_code == 429
    assert known["Retry-After"] == unknown["Retry-After"]
    assert page_of(known, KNOWN) == page_of(unknown, UNKNOWN)
