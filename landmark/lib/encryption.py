"""Secrets at rest: an SSO client secret today, webhook and connector secrets later.

A secret is stored as a Fernet token (AES-128-CBC with HMAC-SHA256, `cryptography`)
in a `SealedField`, and read back in clear only by `Sealed.reveal()`, where the code
that needs it (allauth's OAuth client, for one) is about to use it.

Keys come from ENCRYPTION_KEYS, Fernet keys separated by commas, newest first: the
newest encrypts, every one decrypts (MultiFernet), so keys can be rotated: put a new
key first, run `landmark manage reencrypt_secrets`, then drop the old one. A key
derived from SECRET_KEY (HKDF-SHA256) always comes last: with no ENCRYPTION_KEYS it
is the only key, so a fresh install (`landmark demo`) needs no setting, and an
install that later sets ENCRYPTION_KEYS can still read what it encrypted before.
"""

import base64
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.db import models


class Unreadable(Exception):
    """A stored secret that no configured key decrypts (a key went missing)."""


def derived_key(secret_key: str) -> bytes:
    """The Fernet key that SECRET_KEY stands for (never SECRET_KEY itself)."""
    hkdf = HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=b"landmark",
        info=b"landmark secrets at rest v1",
    )
    return base64.urlsafe_b64encode(hkdf.derive(secret_key.encode()))


def keys() -> list[Fernet]:
    """The configured keys, newest first, then the one derived from SECRET_KEY."""
    found: list[Fernet] = []
    for number, key in enumerate(getattr(settings, "ENCRYPTION_KEYS", []), start=1):
        try:
            found.append(Fernet(key.strip()))
        except ValueError as error:
            raise ImproperlyConfigured(
                f"ENCRYPTION_KEYS: key {number} is not a Fernet key (32 bytes in "
                "url-safe base64, as Fernet.generate_key() makes)."
            ) from error
    found.append(Fernet(derived_key(settings.SECRET_KEY)))
    return found


def encrypt(plain: str) -> str:
    return MultiFernet(keys()).encrypt(plain.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return MultiFernet(keys()).decrypt(token.encode()).decode()
    except InvalidToken as error:
        raise Unreadable(
            "A stored secret cannot be decrypted with any key in ENCRYPTION_KEYS "
            "(or the key derived from SECRET_KEY)."
        ) from error


def reencrypt(token: str) -> str:
    """The same secret encrypted with the newest key."""
    try:
        return MultiFernet(keys()).rotate(token.encode()).decode()
    except InvalidToken as error:
        raise Unreadable("A stored secret cannot be decrypted.") from error


def newest_key_reads(token: str) -> bool:
    try:
        keys()[0].decrypt(token.encode())
    except InvalidToken:
        return False
    return True


class Sealed:
    """An encrypted secret. It never shows its clear text: not in str() or repr(),
    not in a template, not in a log line; only `reveal()` gives it."""

    __slots__ = ("token",)

    def __init__(self, token: str) -> None:
        self.token = token

    @classmethod
    def seal(cls, plain: str) -> "Sealed":
        return cls(encrypt(plain))

    def reveal(self) -> str:
        return decrypt(self.token)

    def __str__(self) -> str:
        return "••••••••"

    def __repr__(self) -> str:
        return "Sealed(…)"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sealed) and other.token == self.token

    def __hash__(self) -> int:
        return hash(self.token)


class SealedField(models.TextField[Sealed | None, Sealed | None]):
    """A secret column: a Fernet token in the database, a `Sealed` in Python, None
    when no secret is set. Assigning a plain str is refused: seal it first, so a
    secret can never reach the database in clear by mistake.

    Keep it out of django-simple-history (`excluded_fields`): secrets are no part of
    the audit trail (a test checks every model)."""

    def from_db_value(self, value: str | None, *args: Any) -> Sealed | None:
        return Sealed(value) if value else None

    def to_python(self, value: Any) -> Sealed | None:
        if value is None or value == "" or isinstance(value, Sealed):
            return value or None
        return Sealed(str(value))  # a token, from a fixture or a serialized row

    def get_prep_value(self, value: Any) -> str | None:
        if value is None or value == "":
            return None
        if isinstance(value, Sealed):
            return value.token
        raise TypeError(f"{self.name} takes a Sealed secret: use Sealed.seal(text).")

    def value_to_string(self, obj: models.Model) -> str:
        value = self.value_from_object(obj)
        return value.token if isinstance(value, Sealed) else ""


@checks.register(checks.Tags.security)
def check_encryption_keys(**kwargs: Any) -> list[checks.CheckMessage]:
    try:
        keys()
    except ImproperlyConfigured as error:
        return [checks.Error(str(error), id="landmark.E001")]
    return []
