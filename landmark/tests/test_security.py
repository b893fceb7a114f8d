"""Hardening: deploy checks, security headers, cookies and login throttling."""

import os
import secrets
import subprocess
import sys
from datetime import timedelta

import pytest
from django.test import Client, override_settings
from django.urls import reverse

from landmark.conftest import PASSWORD


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    env = {
        **os.environ,
        "LANDMARK_DATA_DIR": str(tmp_path),
        "SECRET_KEY": secrets.token_urlsafe(60),
        "ALLOWED_HOSTS": "okr.example.com",
        "HTTPS": "1",
        "DEBUG": "0",
        # Production mail must be delivered (landmark.E002 otherwise, test_operator.py).
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # set by the browser tests only
    result = subprocess.run(  # our own console script, fixed arguments
        [
            sys.executable,
            "-m",
            "landmark.cli",
            "manage",
            "check",
            "--deploy",
            "--fail-level",
            "WARNING",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


@pytest.mark.django_db
def test_pages_send_the_security_headers(alice_client):
    response = alice_client.get(reverse("focus"))

    csp = response["Content-Security-Policy"]
    assert "object-src 'none'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "script-src 'self'" in csp
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"


@pytest.mark.django_db
@override_settings(SECURE_HSTS_SECONDS=31536000, SECURE_HSTS_INCLUDE_SUBDOMAINS=True)
def test_https_responses_carry_hsts(alice_client):
    response = alice_client.get(reverse("focus"), secure=True)

    assert response["Strict-Transport-Security"].startswith("max-age=31536000")


@pytest.mark.django_db
def test_the_session_cookie_is_httponly_and_same_site(alice):
    client = Client()
    response = client.post(
        reverse("login"), {"login": alice.email, "password": PASSWORD}
    )

    cookie = response.cookies["sessionid"]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"


@pytest.mark.django_db
@override_settings(SESSION_COOKIE_SECURE=True, CSRF_COOKIE_SECURE=True)
def test_cookies_are_secure_when_served_over_https(alice):
    client = Client()
    response = client.post(
        reverse("login"), {"login": alice.email, "password": PASSWORD}, secure=True
    )

    assert response.cookies["sessionid"]["secure"] is True


def attempt(email: str, password: str, ip: str):
    return Client(REMOTE_ADDR=ip).post(
        reverse("login"), {"login": email, "password": password}
    )


@pytest.mark.django_db
def test_it_locks_a_username_from_one_address_after_five_failures(alice):
    for _ in range(4):
        assert attempt(alice.email, "wrong-password", "203.0.113.7").status_code == 200
    # The fifth failure locks the pair; from then on even the right password waits.
    assert attempt(alice.email, "wrong-password", "203.0.113.7").status_code == 429

    locked = attempt(alice.email, PASSWORD, "203.0.113.7")

    assert locked.status_code == 429
    assert "Too many failed logins" in locked.content.decode()


@pytest.mark.django_db
def test_an_attacker_elsewhere_cannot_lock_the_victim_out(alice, bob):
    for _ in range(8):
        attempt(alice.email, "wrong-password", "198.51.100.9")

    # The victim, from her own address, logs in; another user from the attacker's
    # address is not affected either.
    assert attempt(alice.email, PASSWORD, "203.0.113.7").status_code == 302
    assert attempt(bob.email, PASSWORD, "198.51.100.9").status_code == 302


@pytest.mark.django_db
def test_a_spoofed_forwarded_for_header_does_not_buy_fresh_attempts(alice):
    for n in range(5):
        Client(REMOTE_ADDR="203.0.113.7", HTTP_X_FORWARDED_FOR=f"10.0.0.{n}").post(
            reverse("login"), {"login": alice.email, "password": "wrong-password"}
        )

    assert attempt(alice.email, PASSWORD, "203.0.113.7").status_code == 429


@pytest.mark.django_db
def test_a_locked_login_says_until_when_and_sends_retry_after(alice):
    for _ in range(5):
        attempt(alice.email, "wrong-password", "203.0.113.7")

    locked = attempt(alice.email, PASSWORD, "203.0.113.7")

    assert locked.status_code == 429
    assert int(locked["Retry-After"]) == 15 * 60
    page = locked.content.decode()
    assert "Logging in is refused until" in page
    assert "every attempt before then starts the wait again" in page


@pytest.mark.django_db
def test_each_try_during_a_lock_starts_the_wait_again(alice, fixed_clock):
    for _ in range(5):
        attempt(alice.email, "wrong-password", "203.0.113.7")
    fixed_clock.shift(timedelta(minutes=10))
    assert attempt(alice.email, PASSWORD, "203.0.113.7").status_code == 429

    fixed_clock.shift(timedelta(minutes=10))  # 20 minutes after the lock, 10 after
    assert attempt(alice.email, PASSWORD, "203.0.113.7").status_code == 429

    fixed_clock.shift(timedelta(minutes=15, seconds=1))
    assert attempt(alice.email, PASSWORD, "203.0.113.7").status_code == 302


@pytest.mark.django_db
def test_addresses_behind_a_trusted_proxy_are_counted_apart(alice, settings):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    for _ in range(5):
        Client(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="198.51.100.9").post(
            reverse("login"), {"login": alice.email, "password": "wrong-password"}
        )

    other = Client(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="203.0.113.7").post(
        reverse("login"), {"login": alice.email, "password": PASSWORD}
    )

    assert other.status_code == 302


@pytest.mark.django_db
def test_the_django_admin_logs_in_through_landmarks_own_login(alice):
    """Django admin's own form checked only the password (no two-factor, no
    throttling); it now hands over to Landmark's login."""
    alice.is_staff = True
    alice.save(update_fields=["is_staff"])

    page = Client().get("/django-admin/login/")
    posted = Client().post(
        "/django-admin/login/", {"username": alice.email, "password": PASSWORD}
    )

    assert page.status_code == posted.status_code == 302
    assert page["Location"].startswith(reverse("login"))
    assert "_auth_user_id" not in posted.wsgi_request.session
