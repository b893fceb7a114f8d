"""Secrets at rest (landmark/lib/encryption.py): Fernet tokens, key rotation, and the
default key derived from SECRET_KEY."""

import os
import subprocess
import sys

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from landmark.lib import encryption
from landmark.lib.encryption import Sealed, Unreadable

OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()


def test_a_sealed_secret_reads_back_and_never_shows_its_text(settings):
    settings.ENCRYPTION_KEYS = [NEW_KEY]

    sealed = Sealed.seal("client-secret-123")

    assert sealed.reveal() == "client-secret-123"
    assert "client-secret-123" not in sealed.token
    assert "client-secret-123" not in f"{sealed} {sealed!r} {[sealed]}"
    # Each sealing is fresh (random IV): equal secrets are not equal tokens.
    assert Sealed.seal("client-secret-123").token != sealed.token
    assert Fernet(NEW_KEY.encode()).decrypt(sealed.token.encode()) == (
        b"client-secret-123"
    )


def test_the_newest_key_encrypts_and_every_key_decrypts(settings):
    settings.ENCRYPTION_KEYS = [OLD_KEY]
    before = Sealed.seal("s-1")

    settings.ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    after = Sealed.seal("s-2")

    assert before.reveal() == "s-1"
    assert Fernet(NEW_KEY.encode()).decrypt(after.token.encode()) == b"s-2"
    assert not encryption.newest_key_reads(before.token)
    rotated = encryption.reencrypt(before.token)
    assert encryption.newest_key_reads(rotated)

    settings.ENCRYPTION_KEYS = [NEW_KEY]  # the old key is gone
    assert Sealed(rotated).reveal() == "s-1"
    with pytest.raises(Unreadable):
        before.reveal()


def test_without_keys_the_key_comes_from_secret_key(settings):
    settings.ENCRYPTION_KEYS = []
    settings.SECRET_KEY = "one-secret-key-" * 4
    sealed = Sealed.seal("s-3")

    derived = encryption.derived_key(settings.SECRET_KEY)
    assert Fernet(derived).decrypt(sealed.token.encode()) == b"s-3"
    assert settings.SECRET_KEY.encode() not in derived
    # Setting ENCRYPTION_KEYS later still reads what was sealed before.
    settings.ENCRYPTION_KEYS = [NEW_KEY]
    assert sealed.reveal() == "s-3"
    # Another SECRET_KEY is another key.
    settings.ENCRYPTION_KEYS = []
    settings.SECRET_KEY = "another-secret-key-" * 4
    with pytest.raises(Unreadable):
        sealed.reveal()


def test_a_malformed_key_is_a_clear_configuration_error(settings):
    settings.ENCRYPTION_KEYS = [NEW_KEY, "not-a-key"]

    with pytest.raises(ImproperlyConfigured, match="key 2 is not a Fernet key"):
        Sealed.seal("s")
    errors = encryption.check_encryption_keys()
    assert [e.id for e in errors] == ["landmark.E001"]

    settings.ENCRYPTION_KEYS = [NEW_KEY]
    assert encryption.check_encryption_keys() == []


def test_a_fresh_install_with_no_environment_keeps_reading_its_secrets(tmp_path):
    """No SECRET_KEY, no ENCRYPTION_KEYS (as `landmark demo` on a new machine): the
    key derived from the SECRET_KEY kept in the data directory reads, after a
    restart, what was sealed before it."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"SECRET_KEY", "ENCRYPTION_KEYS", "DATABASE_URL"}
    }
    env.update(
        LANDMARK_DATA_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="landmark.settings"
    )

    def run(code: str) -> str:
        out = subprocess.run(  # noqa: S603  # this interpreter, fixed code
            [
                sys.executable,
                "-c",
                "import django; django.setup(); "
                f"from landmark.lib.encryption import Sealed; {code}",
            ],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        return out.stdout.strip()

    token = run("print(Sealed.seal('demo-secret').token)")
    assert run(f"print(Sealed({token!r}).reveal())") == "demo-secret"
    assert (tmp_path / "secret_key").exists()
