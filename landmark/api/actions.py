"""Every write on API tokens. Each action is one transaction."""

import secrets
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from landmark.api.models import TOKEN_PREFIX, APIToken, hash_secret
from landmark.orgs.actions import end_sessions
from landmark.orgs.models import Membership, User

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


@transaction.atomic
def revoke_tokens_of(*, user: User, organization_id: int | None = None) -> int:
    """Revoke every usable token of the person (in one organization, or in all of
    them); returns how many."""
    tokens = APIToken.objects.usable().filter(user=user)
    if organization_id is not None:
        tokens = tokens.filter(organization_id=organization_id)
    return tokens.update(revoked_at=timezone.now())


@transaction.atomic
def end_other_access(*, user: User, sessions: bool, tokens: bool) -> int:
    """After a change of the person's credentials: end their sessions (every browser,
    see orgs.actions.end_sessions; the caller keeps its own alive if it should) and,
    if they chose so, revoke their API tokens in every organization. Returns the
    number of tokens revoked."""
    if sessions:
        end_sessions(user_id=user.pk)
    return revoke_tokens_of(user=user) if tokens else 0
