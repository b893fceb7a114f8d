"""Two-factor codes are throttled like passwords: 5 wrong codes for one account from one
address lock that pair for the cool-off (429, Retry-After, a page saying until when),
even the right code waits; 10 from all addresses lock the account's codes everywhere.
At login's code step and when a code is asked again (reauthentication)."""

from datetime import timedelta

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.test import Client
from django.urls import reverse

from landmark.conftest import PASSWORD, login
from landmark.orgs.models import CodeFailure, User
from landmark.orgs.tests.test_views import html
from landmark.tests.test_accounts_mfa import code_for

HERE, ELSEWHERE = "203.0.113.7", "198.51.100.9"
COOLOFF = timedelta(minutes=15)


def with_totp(user: User) -> str:
    """Turn on the authenticator app and recovery codes (allauth's own activation, as
    the Security page does); returns the secret."""
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    RecoveryCodes.activate(user)
    return secret


def at_code_step(user: User, ip: str) -> Client:
    """A browser from `ip` that typed the right password and is asked for a code."""
    client = Client(REMOTE_ADDR=ip)
    response = client.post(
        reverse("login"), {"login": user.email, "password": PASSWORD}
    )
    assert response["Location"] == reverse("mfa_authenticate"), response
    return client


def wrong_codes(client: Client, n: int, url: str = "") -> None:
    for _ in range(n):
        response = client.post(url or reverse("mfa_authenticate"), {"code": "000000"})
        assert response.status_code == 200
        assert "Incorrect code" in html(response)


def assert_locked(response, *, everywhere: bool = False) -> None:
    assert response.status_code == 429
    wait = int(response["Retry-After"])
    assert 0 < wait <= COOLOFF.total_seconds()
    page = html(response)
    assert "Too many wrong codes" in page
    assert "Codes are refused until" in page
    assert ("from your network" not in page) == everywhere


def logged_in(client: Client) -> bool:
    return client.get(reverse("focus")).status_code == 200


@pytest.fixture
def alice_secret(alice, org) -> str:
    return with_totp(alice)


@pytest.mark.django_db
def test_the_sixth_code_is_refused_even_when_right(alice, alice_secret):
    client = at_code_step(alice, HERE)
    wrong_codes(client, 5)

    refused = client.post(reverse("mfa_authenticate"), {"code": code_for(alice_secret)})

    assert_locked(refused)
    assert not logged_in(client)
    # The refused try was not checked, so it counts for nothing more.
    assert CodeFailure.objects.filter(user=alice).count() == 5
    # Coming back to the code step says so at once.
    assert_locked(client.get(reverse("mfa_authenticate")))


@pytest.mark.django_db
def test_a_recovery_code_waits_too_and_stays_unused(alice, alice_secret):
    client = at_code_step(alice, HERE)
    wrong_codes(client, 5)
    rc = Authenticator.objects.get(user=alice, type=Authenticator.Type.RECOVERY_CODES)
    code = RecoveryCodes(rc).get_unused_codes()[0]

    refused = client.post(reverse("mfa_authenticate"), {"code": code})

    assert_locked(refused)
    rc.refresh_from_db()
    assert code in RecoveryCodes(rc).get_unused_codes()


@pytest.mark.django_db
def test_the_lock_lifts_after_the_cool_off(alice, alice_secret, fixed_clock):
    wrong_codes(at_code_step(alice, HERE), 5)

    fixed_clock.shift(COOLOFF - timedelta(seconds=30))
    still = at_code_step(alice, HERE)
    assert_locked(still.post(reverse("mfa_authenticate"), {"code": "000000"}))

    fixed_clock.shift(timedelta(seconds=31))
    client = at_code_step(alice, HERE)
    response = client.post(
        reverse("mfa_authenticate"), {"code": code_for(alice_secret)}
    )

    assert response["Location"] == reverse("focus")
    assert logged_in(client)


@pytest.mark.django_db
def test_another_account_and_another_address_are_not_locked(alice, alice_secret, bob):
    bob_secret = with_totp(bob)
    wrong_codes(at_code_step(alice, HERE), 5)

    # Bob, from the same address.
    bob_client = at_code_step(bob, HERE)
    bob_in = bob_client.post(
        reverse("mfa_authenticate"), {"code": code_for(bob_secret)}
    )
    # Alice, from her own address (the pair is locked, not the account).
    alice_client = at_code_step(alice, ELSEWHERE)
    alice_in = alice_client.post(
        reverse("mfa_authenticate"), {"code": code_for(alice_secret, steps=1)}
    )

    assert bob_in["Location"] == reverse("focus") and logged_in(bob_client)
    assert alice_in["Location"] == reverse("focus") and logged_in(alice_client)


@pytest.mark.django_db
def test_guesses_spread_over_addresses_lock_the_accounts_codes_everywhere(
    alice, alice_secret
):
    for n in range(5):
        wrong_codes(at_code_step(alice, f"192.0.2.{n + 1}"), 2)

    client = at_code_step(alice, HERE)
    refused = client.post(reverse("mfa_authenticate"), {"code": code_for(alice_secret)})

    assert_locked(refused, everywhere=True)
    assert not logged_in(client)


@pytest.mark.django_db
def test_a_right_code_clears_the_count_of_its_address(alice, alice_secret):
    client = at_code_step(alice, HERE)
    wrong_codes(client, 4)
    client.post(reverse("mfa_authenticate"), {"code": code_for(alice_secret)})
    assert logged_in(client)

    again = at_code_step(alice, HERE)
    wrong_codes(again, 4)

    assert CodeFailure.objects.filter(user=alice).count() == 4
    later = again.post(
        reverse("mfa_authenticate"), {"code": code_for(alice_secret, steps=1)}
    )
    assert later["Location"] == reverse("focus")


@pytest.mark.django_db
def test_a_code_asked_again_before_a_sensitive_change_is_throttled(alice, alice_secret):
    client = login(alice)
    client.defaults["REMOTE_ADDR"] = HERE
    url = reverse("mfa_reauthenticate")
    wrong_codes(client, 5, url)

    refused = client.post(url, {"code": code_for(alice_secret)})

    assert_locked(refused)
    # Turning the authenticator off still needs a reauthentication that never came.
    client.post(reverse("mfa_deactivate_totp"), {"revoke_tokens": "on"})
    assert Authenticator.objects.filter(
        user=alice, type=Authenticator.Type.TOTP
    ).exists()


@pytest.mark.django_db
def test_addresses_behind_a_trusted_proxy_are_told_apart(
    alice, alice_secret, bob, settings
):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    proxy = "10.0.0.2"
    first = Client(REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=HERE)
    first.post(reverse("login"), {"login": alice.email, "password": PASSWORD})
    wrong_codes(first, 5)

    second = Client(REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=ELSEWHERE)
    second.post(reverse("login"), {"login": alice.email, "password": PASSWORD})
    response = second.post(
        reverse("mfa_authenticate"), {"code": code_for(alice_secret)}
    )

    assert response["Location"] == reverse("focus")
    assert set(CodeFailure.objects.values_list("ip_address", flat=True)) == {HERE}


@pytest.mark.django_db
def test_a_password_asked_again_is_throttled_like_the_login(alice, org):
    client = login(alice)
    client.defaults["REMOTE_ADDR"] = HERE
    url = reverse("account_reauthenticate")
    wrong = [client.post(url, {"password": "not-her-password"}) for _ in range(5)]
    # As at login, the fifth failure already locks the pair.
    assert [r.status_code for r in wrong] == [200] * 4 + [429]

    refused = client.post(url, {"password": PASSWORD})

    assert refused.status_code == 429
    assert "Too many failed logins" in html(refused)
