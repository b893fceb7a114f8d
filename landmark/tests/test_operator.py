"""Operator pitfalls: the demo in a real database, the demo's published password on a
real server, production mail that goes to the log, and who may sign up by default."""

import secrets

import pytest
from django.contrib.auth.hashers import MD5PasswordHasher
from django.core.checks import run_checks
from django.test import override_settings

from landmark.demo.acme import (
    DEMO_HASHES_CHECKED,
    DEMO_OWNER,
    DEMO_PASSWORD,
    accounts_with_demo_password,
    build_demo,
    why_not_build_demo,
)
from landmark.orgs import actions as org_actions
from landmark.orgs.models import Organization, User
from landmark.tests.console import Machine, machines, serving

CONSOLE = "django.core.mail.backends.console.EmailBackend"
SMTP = "django.core.mail.backends.smtp.EmailBackend"


def production(**extra: str) -> dict[str, str]:
    return {
        "SECRET_KEY": secrets.token_urlsafe(60),
        "ALLOWED_HOSTS": "okr.example.com,127.0.0.1",
        "HTTPS": "1",
        "DEBUG": "0",
        **extra,
    }


def output(result) -> str:
    return result.stdout + result.stderr


# (c) Production mail that would go to the log


def mail_errors() -> list[str]:
    return [
        str(message)
        for message in run_checks(include_deployment_checks=True)
        if message.id == "landmark.E002"
    ]


@pytest.mark.parametrize(
    "backend",
    [
        CONSOLE,
        "django.core.mail.backends.dummy.EmailBackend",
        "django.core.mail.backends.locmem.EmailBackend",
    ],
)
def test_the_deploy_check_fails_when_production_mail_reaches_nobody(backend):
    with override_settings(HTTPS=True, EMAIL_BACKEND=backend):
        errors = mail_errors()

    assert len(errors) == 1
    assert f"EMAIL_BACKEND={backend}" in errors[0]
    assert "password-reset and invitation links" in errors[0]
    assert f"Set EMAIL_BACKEND={SMTP}" in errors[0]
    assert "EMAIL_HOST" in errors[0]


def test_the_deploy_check_accepts_real_mail_in_production():
    with override_settings(HTTPS=True, EMAIL_BACKEND=SMTP):
        assert mail_errors() == []


def test_the_deploy_check_leaves_a_server_without_https_alone():
    with override_settings(HTTPS=False, EMAIL_BACKEND=CONSOLE):
        assert mail_errors() == []


def test_the_check_is_a_deploy_check_only():
    with override_settings(HTTPS=True, EMAIL_BACKEND=CONSOLE):
        ordinary = run_checks(include_deployment_checks=False)

    assert "landmark.E002" not in {message.id for message in ordinary}


def test_check_deploy_and_serve_refuse_production_with_console_mail(tmp_path):
    machine = Machine(tmp_path)

    check = machine.landmark("manage", "check", "--deploy", **production())
    serve = machine.landmark("serve", "--port", "1", **production())

    assert check.returncode != 0
    assert "landmark.E002" in output(check)
    assert "EMAIL_BACKEND" in output(check)
    assert serve.returncode != 0
    assert "refusing to start" in serve.stderr
    assert f"EMAIL_BACKEND={CONSOLE}" in serve.stderr
    assert f"Set EMAIL_BACKEND={SMTP}" in serve.stderr
    # Refused before touching the database.
    assert not (tmp_path / "landmark.sqlite3").exists()


def test_serve_in_production_starts_with_real_mail_and_sign_up_closed(
    tmp_path, migrated
):
    with (
        machines(tmp_path, "prod", copy_of=migrated) as (machine,),
        serving(
            machine,
            "serve",
            "--workers",
            "1",
            # Plain HTTP on loopback: no proxy in front to say the request was HTTPS.
            **production(EMAIL_BACKEND=SMTP, SECURE_SSL_REDIRECT="0"),
        ) as server,
    ):
        signup = server.get("/accounts/signup/")
        login = server.get("/login/")

    assert "Sign-up is closed" in signup
    assert 'name="password1"' not in signup
    assert "/accounts/signup/" not in login
    assert "demo password" not in server.output


# (a) The demo in a database that holds someone's organizations


@pytest.mark.django_db
def test_the_demo_is_refused_beside_another_organization_unless_forced(alice, org):
    refusal = why_not_build_demo(force=False)

    assert refusal is not None
    assert "already holds 1 organization (“Acme Test”)" in refusal
    assert "--force" in refusal
    assert why_not_build_demo(force=True) is None


@pytest.mark.django_db
def test_the_demo_may_build_into_an_empty_database_and_again_into_its_own():
    assert why_not_build_demo(force=False) is None
    build_demo()
    # Someone who tried the demo signed up with their own organization meanwhile.
    visitor = User.objects.create_user("visitor@example.com", "a-long-password")
    org_actions.create_organization(name="Visitor Co", owner=visitor)

    assert why_not_build_demo(force=False) is None


@pytest.mark.django_db
def test_a_real_organization_at_the_demos_address_is_never_taken_for_the_demo(alice):
    org_actions.create_organization(name="Acme", owner=alice, slug="acme")

    refusal = why_not_build_demo(force=True)

    assert refusal is not None
    assert "not the demo workspace" in refusal
    assert Organization.objects.get(slug="acme").memberships.get().user == alice


def test_the_demo_command_refuses_a_database_with_another_organization(
    tmp_path, migrated
):
    with machines(tmp_path, "real", copy_of=migrated) as [machine]:
        made = machine.landmark(
            "createuser", "olga@example.com", "--organization", "Real Co",
            "--password", "olga-long-password",
        )  # fmt: skip
        assert made.returncode == 0, output(made)

        refused = machine.landmark("demo", "--no-serve")

        assert refused.returncode != 0
        assert "already holds 1 organization (“Real Co”)" in refused.stderr
        assert "landmark demo --force" in refused.stderr
        # No login printed: nothing was built.
        assert DEMO_PASSWORD not in refused.stdout
        names = machine.shell(
            "from landmark.orgs.models import Organization, User; "
            "print(sorted(Organization.objects.values_list('name', flat=True)), "
            "User.objects.count())"
        )
        assert names == "['Real Co'] 1"


# (b) The demo's published password on a real server


@pytest.mark.django_db
def test_demo_accounts_with_the_published_password_are_found():
    build_demo()
    changed = User.objects.get(email="oscar@acme.example")
    changed.set_password("oscar-now-has-his-own")
    changed.save()
    gone = User.objects.get(email="vic@acme.example")
    gone.is_active = False
    gone.save()

    found = accounts_with_demo_password()

    assert DEMO_OWNER in found.emails
    assert "oscar@acme.example" not in found.emails
    assert "vic@acme.example" not in found.emails
    assert len(found.emails) == User.objects.filter(is_active=True).count() - 1
    assert found.unchecked == []


@pytest.mark.django_db
def test_only_the_demo_domains_are_checked(alice):
    """A real person's hash is never checked (0.5 s each), even with that password."""
    alice.set_password(DEMO_PASSWORD)
    alice.save()

    assert accounts_with_demo_password().emails == []


class CountingHasher(MD5PasswordHasher):
    """Django's fast test hasher, counting the passwords it checks."""

    checked = 0

    def verify(self, password: str, encoded: str) -> bool:
        CountingHasher.checked += 1
        return bool(super().verify(password, encoded))


@pytest.mark.django_db
def test_demo_accounts_sharing_a_hash_are_checked_once(settings):
    """Many accounts with one shared hash (as the demo makes them) cost one check
    (~0.5 s with the real hasher); past the budget of distinct hashes, the rest are
    named, not checked."""
    settings.PASSWORD_HASHERS = [f"{__name__}.CountingHasher"]
    shared = User.objects.create_user("admin@globex.example", DEMO_PASSWORD).password
    User.objects.bulk_create(
        User(email=f"user{i:03d}@globex.example", password=shared) for i in range(200)
    )
    for i in range(DEMO_HASHES_CHECKED):
        User.objects.create_user(f"own{i}@acme.example", f"own-password-{i}")
    CountingHasher.checked = 0

    found = accounts_with_demo_password()

    assert len(found.emails) == 201
    assert CountingHasher.checked == DEMO_HASHES_CHECKED
    assert len(found.unchecked) == 1
