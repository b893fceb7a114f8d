"""Every write on API tokens. Each action is one transaction."""

import secrets
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from landmark.api.models import TOKEN_PREFIX, APIToken, hash_secret
from landmark.orgs.models import Membership

MAX_TOKENS_PER_PERSON = 50


@transaction.atomic
def create_token(
    *,
    membership: Membership,
    name: str,
    scope: str = APIToken.Scope.READ,
    expires_at: datetime | None = None,
) -> tuple[APIToken, str]:
    """Create a token for the member; returns the row and the raw token, which is shown
    once and never stored."""
    name = name.strip()
    if not name:
        raise ValidationError({"name": "Name the token after what will use it."})
    if scope not in APIToken.Scope.values:
        raise ValidationError({"scope": "Choose read only, or read and write."})
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError({"expires_at": "Choose an expiry date in the future."})
    open_tokens = APIToken.objects.usable().filter(
        organization_id=membership.organization_id, user_id=membership.user_id
    )
    if open_tokens.count() >= MAX_TOKENS_PER_PERSON:
        raise ValidationError(
            f"You already have {MAX_TOKENS_PER_PERSON} active tokens; revoke one first."
        )
    prefix = secrets.token_hex(4)
    while APIToken.objects.filter(prefix=prefix).exists():
        prefix = secrets.token_hex(4)
    raw = f"{TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    token = APIToken.objects.create(
        organization_id=membership.organization_id,
        user_id=membership.user_id,
        name=name,
        scope=scope,
        prefix=prefix,
        token_hash=hash_secret(raw),
        expires_at=expires_at,
    )
    return token, raw


@transaction.atomic
def revoke_token(*, token: APIToken) -> APIToken:
    """Revoke a token at once; revoking twice keeps the first time."""
    APIToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    token.refresh_from_db()
    return token
