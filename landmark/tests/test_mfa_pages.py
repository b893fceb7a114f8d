"""The two-factor pages a person sees (allauth.mfa's templates, overridden under
landmark/templates/mfa/): each in Landmark's frame and words, none of allauth's stock
headings. WebAuthn is not offered (MFA_SUPPORTED_TYPES), so its pages do not exist."""

import pytest
from allauth.mfa.models import Authenticator
from django.test import Client
from django.urls import NoReverseMatch, reverse

from landmark.conftest import PASSWORD
from landmark.orgs.tests.test_views import html
from landmark.tests.test_accounts_mfa import code_for, log_in, turn_on_totp

FRAME = "◆ Landmark"
STOCK = [
    "Two-Factor Authentication",
    "Activate Authenticator App",
    "Authenticator secret",
    "Recovery Codes",
    "Sign In",
    "Generate",
    "Please enter an authenticator code",
    "Enter an authenticator code",
    "Unused codes",
]


def speaks_landmark(page: str, heading: str) -> None:
    assert f"<h1>{heading}</h1>" in page
    assert FRAME in page  # Landmark's header and menu around it
    for stock in STOCK:
        assert stock not in page, stock


def test_turning_two_factor_on_is_in_landmarks_words(alice, org):
    client = log_in(alice.email)
    client.post(
        client.get(reverse("mfa_activate_totp"))["Location"], {"password": PASSWORD}
    )

    page = html(client.get(reverse("mfa_activate_totp")))
    wrong = html(client.post(reverse("mfa_activate_totp"), {"code": "000000"}))

    speaks_landmark(page, "Turn on two-factor")
    assert 'class="qr"' in page and "data:image/svg+xml;base64," in page
    assert "Can't scan? Type this secret instead" in page
    assert f'href="{reverse("mfa_index")}">Cancel</a>' in page
    # A wrong code stays on the same page, the error next to the field.
    speaks_landmark(wrong, "Turn on two-factor")
    assert 'class="error field-error"' in wrong


@pytest.mark.django_db
def test_the_recovery_code_pages_are_in_landmarks_words(alice, org):
    client = log_in(alice.email)
    turn_on_totp(client)

    codes = html(client.get(reverse("mfa_view_recovery_codes")))
    generate = html(client.get(reverse("mfa_generate_recovery_codes")))

    speaks_landmark(codes, "Recovery codes")
    assert "10 of 10 codes left" in codes
    assert codes.count("<li><code>") == 10
    assert "Download as a text file" in codes and "Make new codes" in codes
    download = client.get(reverse("mfa_download_recovery_codes"))
    lines = download.content.decode().splitlines()
    assert download["Content-Type"].startswith("text/plain")
    assert lines[0] == f"Landmark recovery codes for {alice.email}"
    assert len([line for line in lines[3:] if line.strip()]) == 10
    speaks_landmark(generate, "Make new recovery codes")
    assert "Your 10 unused codes stop working" in generate
    assert 'class="danger" type="submit">Make new codes</button>' in generate


@pytest.mark.django_db
def test_turning_two_factor_off_is_in_landmarks_words(alice, org):
    client = log_in(alice.email)
    turn_on_totp(client)

    page = html(client.get(reverse("mfa_deactivate_totp")))

    speaks_landmark(page, "Turn off two-factor")


@pytest.mark.django_db
def test_the_login_code_step_is_in_landmarks_words(alice, org):
    secret = turn_on_totp(log_in(alice.email))
    fresh = Client()
    fresh.post(reverse("login"), {"login": alice.email, "password": PASSWORD})

    page = html(fresh.get(reverse("mfa_authenticate")))
    wrong = html(fresh.post(reverse("mfa_authenticate"), {"code": "000000"}))
    right = fresh.post(reverse("mfa_authenticate"), {"code": code_for(secret)})

    speaks_landmark(page, "Enter your two-factor code")
    assert "Type one of your recovery codes instead" in page
    # Cancel logs the half-logged-in session out.
    assert 'form="logout-from-stage">Cancel</button>' in page
    assert f'action="{reverse("account_logout")}"' in page
    speaks_landmark(wrong, "Enter your two-factor code")
    assert "Incorrect code" in wrong
    assert right["Location"] == reverse("focus")


@pytest.mark.django_db
def test_confirming_a_change_with_a_code_is_in_landmarks_words(alice, org):
    client = log_in(alice.email)
    secret = turn_on_totp(client)
    # A later session (logged in with password and code) asks again before a change.
    later = Client()
    later.post(reverse("login"), {"login": alice.email, "password": PASSWORD})
    later.post(reverse("mfa_authenticate"), {"code": code_for(secret, steps=1)})
    session = later.session
    session.pop("account_authenticated_at", None)  # allauth's "recently"
    session["account_authentication_methods"] = []
    session.save()

    page = html(later.get(reverse("mfa_reauthenticate")))

    assert "<h1>Confirm it's you</h1>" in page and FRAME in page
    assert "This change needs a two-factor code again" in page
    for stock in STOCK:
        assert stock not in page, stock


# allauth adds its messages after the commit: with real transactions.
@pytest.mark.django_db(transaction=True)
def test_the_flash_messages_speak_landmark(alice, org):
    client = log_in(alice.email)
    turn_on_totp(client)

    page = html(client.get(reverse("mfa_view_recovery_codes")))
    off = client.post(reverse("mfa_deactivate_totp"), {})
    after = html(client.get(off["Location"]))

    assert "Two-factor is on: logging in now asks for a code from your app." in page
    assert "New recovery codes made: keep them somewhere safe" in page
    assert "Two-factor is off: logging in needs only your password." in after
    assert not Authenticator.objects.filter(user=alice).exists()


def test_security_keys_are_not_offered():
    with pytest.raises(NoReverseMatch):
        reverse("mfa_add_webauthn")


@pytest.mark.django_db
def test_the_code_field_is_labelled_in_landmarks_words(alice, org):
    turn_on_totp(log_in(alice.email))
    fresh = Client()
    fresh.post(reverse("login"), {"login": alice.email, "password": PASSWORD})

    page = html(fresh.get(reverse("mfa_authenticate")))

    assert '<label for="id_code">Two-factor code:</label>' in page
    assert "or a recovery code" in page
    assert 'placeholder="Code"' not in page
