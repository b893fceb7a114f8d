"""Personal API tokens: shown once, stored hashed, scoped, expiring, revocable."""

import hashlib

from django.db import models
from django.utils import timezone

from landmark.orgs.models import Organization, User

TOKEN_PREFIX = "lmk_"  # noqa: S105  # the visible start of every token, not a secret


def hash_secret(raw: str) -> str:
    """What a token row stores instead of the token: a leaked database gives no access."""
    return hashlib.sha256(raw.encode()).hexdigest()


def usable_q(prefix: str = "") -> models.Q:
    """Neither revoked nor expired, for tokens reached through `prefix` (e.g.
    "user__api_tokens__" from a membership)."""
    now = timezone.now()
    return models.Q(**{f"{prefix}revoked_at__isnull": True}) & (
        models.Q(**{f"{prefix}expires_at__isnull": True})
        | models.Q(**{f"{prefix}expires_at__gt": now})
    )


class APITokenQuerySet(models.QuerySet["APIToken"]):
    def usable(self) -> "APITokenQuerySet":
        """Neither revoked nor expired."""
        return self.filter(usable_q())


class APIToken(models.Model):
    """A personal API token. It acts as its owner in one organization, with the
    owner's role there and nothing more; a read token may only read.

    Only the SHA-256 of the token is kept; `prefix` (shown in lists and in the token
    itself) tells tokens apart. The rate-limit counter of the current window lives on
    the row and is moved by one conditional UPDATE per request, committed without
    waiting for the disk (see auth.py).
    """

    class Scope(models.TextChoices):
        READ = "read", "Read only"
        READ_WRITE = "read_write", "Read and write"

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="api_tokens"
    )
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    scope = models.CharField(max_length=10, choices=Scope.choices, default=Scope.READ)
    prefix = models.CharField(max_length=16, unique=True)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    rate_window = models.BigIntegerField(default=0)
    rate_count = models.PositiveIntegerField(default=0)

    objects = APITokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["organization", "user"])]

    def __str__(self) -> str:
        return f"{self.name} ({TOKEN_PREFIX}{self.prefix}…)"

    @property
    def can_write(self) -> bool:
        return self.scope == self.Scope.READ_WRITE

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()

    @property
    def status(self) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.is_expired:
            return "expired"
        return "active"
