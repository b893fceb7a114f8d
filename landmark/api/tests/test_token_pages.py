"""Settings → API tokens: create (the secret shown once), list, revoke."""

import re

from django.test import Client

from landmark.api.models import APIToken, hash_secret
from landmark.api.tests.conftest import ApiClient
from landmark.conftest import login


def new_secret(page: str) -> str:
    found = re.search(r'data-testid="new-token">(lmk_[^<]+)<', page)
    assert found is not None, "the new token is not shown"
    return found.group(1)


def test_a_member_creates_a_token_and_sees_the_secret_once(bob, org):
    client = login(bob)

    created = client.post(
        "/settings/tokens/",
        {"name": "Nightly export", "scope": "read", "expires": "30"},
    )
    assert created.status_code == 302
    page = client.get("/settings/tokens/").content.decode()
    secret = new_secret(page)
    token = APIToken.objects.get()

    assert token.token_hash == hash_secret(secret)
    assert token.user == bob and token.scope == "read"
    assert token.expires_at is not None
    assert "Nightly export" in page
    assert secret not in client.get("/settings/tokens/").content.decode()
    assert ApiClient(secret).get("/api/v1/organization").status_code == 200


def test_an_invalid_form_shows_its_errors_and_creates_nothing(bob, org):
    response = login(bob).post(
        "/settings/tokens/", {"name": "", "scope": "admin", "expires": "30"}
    )

    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    assert not APIToken.objects.exists()


def test_revoking_a_token_stops_it(bob, org):
    client = login(bob)
    client.post(
        "/settings/tokens/", {"name": "CI", "scope": "read_write", "expires": "never"}
    )
    page = client.get("/settings/tokens/").content.decode()
    secret = new_secret(page)
    token = APIToken.objects.get()

    response = client.post(f"/settings/tokens/{token.pk}/revoke/")

    assert response.status_code == 302
    assert ApiClient(secret).get("/api/v1/organization").status_code == 401
    assert "Revoked" in client.get("/settings/tokens/").content.decode()


def test_nobody_sees_or_revokes_anothers_tokens(alice, bob, org):
    client = login(alice)
    client.post(
        "/settings/tokens/", {"name": "Alice export", "scope": "read", "expires": "90"}
    )
    token = APIToken.objects.get()
    bob_client = login(bob)

    assert "Alice export" not in bob_client.get("/settings/tokens/").content.decode()
    assert bob_client.post(f"/settings/tokens/{token.pk}/revoke/").status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


def test_the_page_needs_a_login(db):
    assert Client().get("/settings/tokens/").status_code == 302


def test_every_page_links_to_the_token_page(bob, org):
    page = login(bob).get("/").content.decode()
    assert '<a href="/settings/tokens/">API tokens</a>' in page
