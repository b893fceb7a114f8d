"""SSO client secrets are encrypted in the database, shown back to nobody, kept out of
the audit history, decrypted only for allauth's OAuth client, and re-encrypted with
the newest key on request."""

import json
from collections.abc import Iterator
from io import StringIO

import pytest
from allauth.socialaccount.models import SocialApp
from cryptography.fernet import Fernet
from django.apps import apps
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.operations import RunPython
from django.test import Client
from django.urls import reverse

from landmark.lib.encryption import Sealed, SealedField
from landmark.lib.tests.loopback import WebServer, send
from landmark.orgs import actions
from landmark.orgs.models import OrganizationSSO, User
from landmark.orgs.tests.test_views import html
from landmark.tests.fakes import proven
from landmark.tests.test_sso_outbound import sign_in

OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()


def stored_columns(config: OrganizationSSO) -> tuple[str | None, str]:
    """What the database itself holds: OrganizationSSO.client_secret and
    SocialApp.secret, read with SQL, past every Python layer."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT client_secret FROM {OrganizationSSO._meta.db_table} WHERE id = %s",  # noqa: S608  # a table name from the model
            [config.pk],
        )
        sealed = cursor.fetchone()[0]
        cursor.execute(
            f"SELECT secret FROM {SocialApp._meta.db_table} WHERE id = %s",  # noqa: S608  # a table name from the model
            [config.social_app_id],
        )
        plain = cursor.fetchone()[0]
    return sealed, plain


def sso_form(**changes: str) -> dict[str, str]:
    return {
        "server_url": "https://login.acme.test/realms/acme",
        "client_id": "landmark",
        "client_secret": "s3cret-value-1234",
        "domains": "acme.test",
        "enabled": "on",
        **changes,
    }


@pytest.mark.django_db
def test_the_settings_page_stores_the_secret_encrypted_and_never_shows_it(
    alice_client, org, settings
):
    settings.ENCRYPTION_KEYS = [NEW_KEY]

    alice_client.post(reverse("sso_settings"), sso_form())

    config = OrganizationSSO.objects.get(organization=org)
    sealed, plain = stored_columns(config)
    assert plain == ""
    assert sealed is not None and "s3cret" not in sealed
    assert Fernet(NEW_KEY.encode()).decrypt(sealed.encode()) == b"s3cret-value-1234"
    page = html(alice_client.get(reverse("sso_settings")))
    assert "A client secret is set" in page
    assert "s3cret" not in page and "1234" not in page and sealed not in page

    # Empty keeps it; a new one replaces it.
    alice_client.post(reverse("sso_settings"), sso_form(client_secret=""))
    assert stored_columns(config)[0] == sealed
    alice_client.post(reverse("sso_settings"), sso_form(client_secret="rotated-2"))
    config.refresh_from_db()
    assert config.client_secret is not None
    assert config.client_secret.reveal() == "rotated-2"


@pytest.mark.django_db
def test_a_plain_secret_cannot_be_saved_by_mistake(org):
    config = actions.save_sso(
        org=org,
        server_url="https://login.acme.test",
        client_id="landmark",
        client_secret="first",
        domains=["acme.test"],
        enabled=True,
    )
    config.client_secret = "in clear"  # type: ignore[assignment]  # the mistake itself

    with pytest.raises(TypeError, match=r"Sealed\.seal"):
        config.save()


@pytest.fixture
def strict_idp(settings) -> Iterator[WebServer]:
    """A provider on 127.0.0.1 that gives a token only for the right client secret."""
    idp = WebServer()
    own = idp.url("127.0.0.1").rstrip("/")
    document = {
        "issuer": own,
        "authorization_endpoint": f"{own}/authorize",
        "token_endpoint": f"{own}/token",
        "userinfo_endpoint": f"{own}/userinfo",
        "token_endpoint_auth_methods_supported": ["client_secret_post"],
    }
    idp.routes["/.well-known/openid-configuration"] = lambda h: send(
        h, json.dumps(document).encode()
    )

    def token(handler) -> None:
        if b"client_secret=acme-client-secret" in idp.hits[-1][2]:
            send(handler, b'{"access_token": "at-1", "token_type": "Bearer"}')
        else:
            send(handler, b'{"error": "invalid_client"}', status=401)

    idp.routes["/token"] = token
    idp.routes["/userinfo"] = lambda h: send(
        h, b'{"sub": "nina", "email": "nina@acme.test"}'
    )
    with idp.running():
        yield idp


def strict_sso(org, idp: WebServer) -> OrganizationSSO:
    """The organization's SSO through `idp`, its domain proven."""
    return proven(
        actions.save_sso(
            org=org,
            server_url=idp.url("127.0.0.1").rstrip("/"),
            client_id="landmark-acme",
            client_secret="acme-client-secret",
            domains=["acme.test"],
            enabled=True,
        )
    )


@pytest.mark.django_db
def test_allauth_gets_the_secret_in_clear_only_for_the_token_request(org, strict_idp):
    config = strict_sso(org, strict_idp)

    done = sign_in(Client(), "nina@acme.test")

    assert done["Location"] == reverse("focus"), html(done)
    token_request = next(body for path, _, body in strict_idp.hits if path == "/token")
    assert b"client_secret=acme-client-secret" in token_request
    # The clear copy lived in memory only: the database still has none.
    sealed, plain = stored_columns(config)
    assert plain == "" and sealed is not None and "acme-client" not in sealed


@pytest.mark.django_db
def test_a_secret_no_key_can_read_ends_the_sign_in_with_an_error_not_a_crash(
    org, strict_idp, settings, caplog
):
    settings.ENCRYPTION_KEYS = [OLD_KEY]
    strict_sso(org, strict_idp)
    settings.ENCRYPTION_KEYS = [NEW_KEY]  # OLD_KEY went missing

    refused = sign_in(Client(), "nina@acme.test")

    assert refused.status_code == 401  # allauth's authentication error page
    assert "Third-Party Login Failure" in html(refused)
    assert not User.objects.filter(email="nina@acme.test").exists()
    assert "cannot be decrypted; check ENCRYPTION_KEYS" in caplog.text


def test_no_secret_is_kept_in_the_audit_history():
    """django-simple-history copies a model's fields into its history table: a
    SealedField must be excluded there, and allauth's SocialApp is not historized."""
    models = apps.get_models()
    historical = [m for m in models if hasattr(m, "instance_type")]
    with_secrets = [
        m
        for m in models
        if any(isinstance(f, SealedField) for f in m._meta.get_fields())
    ]
    assert historical and OrganizationSSO in with_secrets  # the check can fail
    for history in historical:
        assert not any(
            isinstance(f, SealedField) for f in history._meta.get_fields()
        ), history
    assert not any(h.instance_type is SocialApp for h in historical)


@pytest.mark.django_db
def test_the_data_migration_encrypts_a_secret_kept_in_clear(org, settings):
    settings.ENCRYPTION_KEYS = [NEW_KEY]
    config = actions.save_sso(
        org=org,
        server_url="https://login.acme.test",
        client_id="landmark",
        client_secret="ignored",
        domains=["acme.test"],
        enabled=True,
    )
    # As before this change: the secret in clear in allauth's table, none of ours.
    SocialApp.objects.filter(pk=config.social_app_id).update(secret="legacy-plain")
    OrganizationSSO.objects.filter(pk=config.pk).update(client_secret=None)
    loader = MigrationLoader(None, ignore_no_migrations=True)
    migration = next(
        m
        for (app, name), m in loader.disk_migrations.items()
        if app == "orgs" and name.endswith("_sso_client_secret_encrypted")
    )
    run = next(op for op in migration.operations if isinstance(op, RunPython))
    state = loader.project_state(("orgs", migration.name)).apps  # as migrate has it

    run.code(state, None)  # type: ignore[arg-type]  # it needs no schema editor

    sealed, plain = stored_columns(config)
    assert plain == ""
    assert sealed is not None
    assert Fernet(NEW_KEY.encode()).decrypt(sealed.encode()) == b"legacy-plain"
    # And back, should the migration be undone.
    assert run.reverse_code is not None
    run.reverse_code(state, None)  # type: ignore[arg-type]  # no schema editor either
    assert stored_columns(config)[1] == "legacy-plain"


@pytest.mark.django_db
def test_reencrypt_secrets_moves_every_secret_to_the_newest_key(
    org, other_org, settings
):
    settings.ENCRYPTION_KEYS = [OLD_KEY]
    configs = [
        actions.save_sso(
            org=o,
            server_url="https://login.example.test",
            client_id="landmark",
            client_secret=f"secret-of-{o.pk}",
            domains=[f"org{o.pk}.test"],
            enabled=True,
        )
        for o in (org, other_org)
    ]
    settings.ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    out = StringIO()

    call_command("reencrypt_secrets", stdout=out)

    assert "Re-encrypted 2 secret(s)" in out.getvalue()
    settings.ENCRYPTION_KEYS = [NEW_KEY]  # the old key can go now
    for config in configs:
        config.refresh_from_db()
        assert config.client_secret is not None
        assert config.client_secret.reveal() == f"secret-of-{config.organization_id}"


@pytest.mark.django_db
def test_reencrypt_secrets_changes_nothing_when_a_secret_is_unreadable(
    org, other_org, settings
):
    settings.ENCRYPTION_KEYS = [OLD_KEY]
    readable = actions.save_sso(
        org=org,
        server_url="https://login.example.test",
        client_id="landmark",
        client_secret="readable",
        domains=["org-a.test"],
        enabled=True,
    )
    settings.ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    lost = actions.save_sso(
        org=other_org,
        server_url="https://login.example.test",
        client_id="landmark",
        client_secret="lost",
        domains=["org-b.test"],
        enabled=True,
    )
    before = stored_columns(readable)[0]
    settings.ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]  # the second key went missing

    with pytest.raises(CommandError, match=f"OrganizationSSO {lost.pk}"):
        call_command("reencrypt_secrets", stdout=StringIO())

    assert stored_columns(readable)[0] == before


def test_sealed_values_survive_a_database_round_trip_unchanged(db, org):
    config = actions.save_sso(
        org=org,
        server_url="https://login.acme.test",
        client_id="landmark",
        client_secret="round-trip",
        domains=["acme.test"],
        enabled=True,
    )
    fetched = OrganizationSSO.objects.get(pk=config.pk)

    assert isinstance(fetched.client_secret, Sealed)
    assert fetched.client_secret == config.client_secret
    assert fetched.client_secret.reveal() == "round-trip"
