"""Two-factor authentication (allauth.mfa): turn on an authenticator app from the Security
page, then logging in asks for its code; recovery codes work once each."""

import time

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import (
    SECRET_SESSION_KEY,
    format_hotp_value,
    hotp_value,
)
from django.test import Client
from django.urls import reverse

from landmark.conftest import PASSWORD
from landmark.orgs.tests.test_views import field_error, html


def code_for(secret: str, *, steps: int = 0) -> str:
    """The authenticator app's code now (or `steps` 30-second steps away)."""
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30 + steps))


def log_in(email: str) -> Client:
    client = Client()
    response = client.post(reverse("login"), {"login": email, "password": PASSWORD})
    assert response.status_code == 302, html(response)
    return client


def turn_on_totp(client: Client) -> str:
    """Through the Security page, as a person would; returns the secret."""
    asked = client.get(reverse("mfa_activate_totp"))
    # Changing two-factor asks for the password again first.
    assert asked["Location"].startswith(reverse("account_reauthenticate"))
    confirmed = client.post(asked["Location"], {"password": PASSWORD})
    assert confirmed["Location"] == reverse("mfa_activate_totp")
    page = client.get(reverse("mfa_activate_totp"))
    assert page.status_code == 200
    secret = client.session[SECRET_SESSION_KEY]
    # The QR code is drawn on the server (an SVG data URI, no outside service).
    assert "data:image/svg+xml;base64," in html(page)
    assert secret in html(page)
    response = client.post(reverse("mfa_activate_totp"), {"code": code_for(secret)})
    assert response.status_code == 302, html(response)
    return str(secret)


@pytest.mark.django_db
def test_the_security_page_is_in_the_user_menu_and_shows_two_factor_off(alice_client):
    focus = html(alice_client.get(reverse("focus")))
    assert reverse("mfa_index") in focus

    page = html(alice_client.get(reverse("mfa_index")))

    assert "Security" in page
    assert "Turn on two-factor" in page
    assert reverse("account_change_password") in page


@pytest.mark.django_db
def test_a_wrong_code_does_not_turn_two_factor_on(alice, org):
    client = log_in(alice.email)
    asked = client.get(reverse("mfa_activate_totp"))
    client.post(asked["Location"], {"password": PASSWORD})
    client.get(reverse("mfa_activate_totp"))

    response = client.post(reverse("mfa_activate_totp"), {"code": "000000"})

    assert response.status_code == 200
    assert "Incorrect code" in html(response)
    assert not Authenticator.objects.filter(user=alice).exists()


@pytest.mark.django_db
def test_turning_on_totp_makes_recovery_codes_and_login_asks_for_a_code(alice, org):
    client = log_in(alice.email)
    secret = turn_on_totp(client)

    assert Authenticator.objects.filter(
        user=alice, type=Authenticator.Type.TOTP
    ).exists()
    codes = client.get(reverse("mfa_view_recovery_codes"))
    assert codes.status_code == 200
    rc = Authenticator.objects.get(user=alice, type=Authenticator.Type.RECOVERY_CODES)
    unused = RecoveryCodes(rc).get_unused_codes()
    assert len(unused) == 10 and unused[0] in html(codes)
    assert "On." in html(client.get(reverse("mfa_index")))

    # Logging in again: the password alone is not enough.
    fresh = Client()
    step = fresh.post(reverse("login"), {"login": alice.email, "password": PASSWORD})
    assert step["Location"] == reverse("mfa_authenticate")
    assert fresh.get(reverse("focus"))["Location"].startswith(reverse("login"))

    wrong = fresh.post(reverse("mfa_authenticate"), {"code": "123456"})
    assert wrong.status_code == 200
    assert "Incorrect code" in field_error(html(wrong), "code")
    assert "_auth_user_id" not in fresh.session

    right = fresh.post(reverse("mfa_authenticate"), {"code": code_for(secret)})
    assert right["Location"] == reverse("focus")
    assert fresh.get(reverse("focus")).status_code == 200


@pytest.mark.django_db
def test_a_recovery_code_logs_in_once_only(alice, org):
    turn_on_totp(log_in(alice.email))
    rc = Authenticator.objects.get(user=alice, type=Authenticator.Type.RECOVERY_CODES)
    code = RecoveryCodes(rc).get_unused_codes()[0]

    first = Client()
    first.post(reverse("login"), {"login": alice.email, "password": PASSWORD})
    used = first.post(reverse("mfa_authenticate"), {"code": code})
    assert used["Location"] == reverse("focus")
    rc.refresh_from_db()
    assert code not in RecoveryCodes(rc).get_unused_codes()

    second = Client()
    second.post(reverse("login"), {"login": alice.email, "password": PASSWORD})
    again = second.post(reverse("mfa_authenticate"), {"code": code})

    assert again.status_code == 200
    assert "Incorrect code" in html(again)
    assert "_auth_user_id" not in second.session


@pytest.mark.django_db
def test_turning_two_factor_off_lets_the_password_alone_log_in(alice, org):
    client = log_in(alice.email)
    turn_on_totp(client)

    response = client.post(reverse("mfa_deactivate_totp"))

    assert response.status_code == 302
    assert not Authenticator.objects.filter(
        user=alice, type=Authenticator.Type.TOTP
    ).exists()
    again = Client().post(
        reverse("login"), {"login": alice.email, "password": PASSWORD}
    )
    assert again["Location"] == reverse("focus")
