"""API clients: a bearer token per persona, created through the token action."""

from typing import Any

import pytest
from django.test import Client

from landmark.api import actions
from landmark.api.models import APIToken
from landmark.orgs.models import Membership, User


def token_for(
    user: User, *, scope: str = APIToken.Scope.READ_WRITE, org: Any = None
) -> str:
    membership = Membership.objects.select_related("organization", "user").get(
        user=user, **({"organization": org} if org is not None else {})
    )
    return actions.create_token(membership=membership, name="tests", scope=scope)[1]


class ApiClient(Client):
    """A Django test client that sends a bearer token and JSON bodies."""

    def __init__(self, token: str | None = None) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        super().__init__(headers=headers)

    def send(self, method: str, path: str, body: Any = None, **extra: Any) -> Any:
        return self.generic(
            method,
            path,
            data="" if body is None else __import__("json").dumps(body),
            content_type="application/json",
            **extra,
        )


def api_client(user: User | None, **kwargs: Any) -> ApiClient:
    return ApiClient(token_for(user, **kwargs) if user is not None else None)


@pytest.fixture
def alice_api(alice, org) -> ApiClient:
    return api_client(alice)


@pytest.fixture
def bob_api(bob) -> ApiClient:
    return api_client(bob)


@pytest.fixture
def viewer_api(viewer) -> ApiClient:
    return api_client(viewer)


@pytest.fixture
def charlie_api(charlie, other_org) -> ApiClient:
    return api_client(charlie)
