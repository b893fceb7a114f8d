"""API tokens and sessions: who may call, with which rights, how often."""

import json
import time
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from landmark.api import actions
from landmark.api.models import APIToken, hash_secret
from landmark.api.tests.conftest import ApiClient, token_for
from landmark.conftest import join, login
from landmark.orgs import actions as org_actions
from landmark.orgs.models import Membership, Team


def problem_of(response: Any) -> Any:
    assert response["Content-Type"] == "application/problem+json"
    body = json.loads(response.content)
    assert {"type", "title", "status", "detail"} <= set(body)
    assert body["status"] == response.status_code
    return body


def test_a_token_reads_its_owners_organization(alice, org):
    response = ApiClient(token_for(alice)).get("/api/v1/organization")

    assert response.status_code == 200
    assert response.json()["name"] == "Acme Test"
    assert response.json()["role"] == "owner"


def test_only_a_hash_of_the_token_is_stored(alice, org):
    raw = token_for(alice)
    row = APIToken.objects.get()

    assert raw.startswith(f"lmk_{row.prefix}_")
    assert row.token_hash == hash_secret(raw)
    assert raw not in json.dumps(list(APIToken.objects.values()), default=str)


def test_the_last_use_is_recorded(alice, org):
    raw = token_for(alice)
    assert APIToken.objects.get().last_used_at is None

    ApiClient(raw).get("/api/v1/organization")

    assert APIToken.objects.get().last_used_at is not None


@pytest.mark.parametrize(
    "header",
    ["", "Bearer", "Bearer lmk_nothing_here", "Basic YWxpY2U6eA==", "Bearer x"],
)
def test_a_missing_or_unknown_token_is_401_with_a_problem(db, header):
    client = Client(headers={"Authorization": header} if header else {})
    response = client.get("/api/v1/teams")

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert problem_of(response)["type"] == "urn:landmark:problem:unauthenticated"


def test_a_revoked_token_stops_working_at_once(alice, org):
    client = ApiClient(token_for(alice))
    assert client.get("/api/v1/organization").status_code == 200

    actions.revoke_token(token=APIToken.objects.get())

    assert client.get("/api/v1/organization").status_code == 401


def test_an_expired_token_is_refused(alice, org):
    client = ApiClient(token_for(alice))
    APIToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    assert client.get("/api/v1/organization").status_code == 401


def test_a_token_of_a_deactivated_member_is_refused_on_the_next_call(bob, org):
    client = ApiClient(token_for(bob))
    assert client.get("/api/v1/organization").status_code == 200

    org_actions.deactivate_member(
        membership=Membership.objects.get(user=bob, organization=org)
    )

    assert client.get("/api/v1/organization").status_code == 401


def test_a_token_of_a_deactivated_user_is_refused(bob, org):
    client = ApiClient(token_for(bob))
    assert client.get("/api/v1/organization").status_code == 200

    type(bob).objects.filter(pk=bob.pk).update(is_active=False)

    assert client.get("/api/v1/organization").status_code == 401


def test_a_token_that_expires_later_works_and_reads_its_org_and_user(alice, org):
    raw = token_for(alice)
    APIToken.objects.update(expires_at=timezone.now() + timedelta(minutes=5))

    body = ApiClient(raw).get("/api/v1/organization").json()

    assert (body["name"], body["role"]) == ("Acme Test", "owner")


def test_a_read_token_may_not_write_even_for_an_owner(alice, org):
    client = ApiClient(token_for(alice, scope=APIToken.Scope.READ))

    response = client.send("POST", "/api/v1/teams", {"name": "Marketing"})

    assert response.status_code == 403
    assert "read-only" in problem_of(response)["detail"]
    assert not Team.objects.filter(name="Marketing").exists()
    assert client.get("/api/v1/teams").status_code == 200


def test_a_token_has_its_owners_rights_and_no_more(bob, org):
    response = ApiClient(token_for(bob)).send(
        "POST", "/api/v1/teams", {"name": "Marketing"}
    )

    assert response.status_code == 403
    assert not Team.objects.filter(name="Marketing").exists()


def test_another_organizations_objects_are_404(charlie, other_org, sales):
    response = ApiClient(token_for(charlie)).get(f"/api/v1/teams/{sales.pk}")

    assert response.status_code == 404
    assert problem_of(response)["detail"]
    listed = ApiClient(token_for(charlie)).get("/api/v1/teams").json()["items"]
    assert [t["name"] for t in listed] == ["Other Co"]


def waits_until_the_hour_window_ends(retry_after: str) -> bool:
    """Retry-After is the time left in the fixed one-hour window, in whole seconds
    (within 2 s of now, also when the window turned over in between)."""
    off = (int(retry_after) - (3600 - time.time() % 3600)) % 3600
    return min(off, 3600 - off) <= 2


def test_the_rate_limit_answers_429_with_retry_after(alice, org, settings):
    settings.API_RATE_LIMIT = 3
    settings.API_RATE_WINDOW = 3600
    client = ApiClient(token_for(alice))

    statuses = [client.get("/api/v1/organization").status_code for _ in range(4)]

    assert statuses == [200, 200, 200, 429]
    response = client.get("/api/v1/organization")
    assert response.status_code == 429
    assert waits_until_the_hour_window_ends(response["Retry-After"])
    assert problem_of(response)["type"] == "urn:landmark:problem:rate-limited"


def test_the_rate_limit_is_per_token(alice, org, settings):
    settings.API_RATE_LIMIT = 1
    settings.API_RATE_WINDOW = 3600
    first, second = ApiClient(token_for(alice)), ApiClient(token_for(alice))

    assert first.get("/api/v1/organization").status_code == 200
    assert first.get("/api/v1/organization").status_code == 429
    assert second.get("/api/v1/organization").status_code == 200


def test_a_new_window_starts_a_new_count(alice, org, settings):
    settings.API_RATE_LIMIT = 1
    client = ApiClient(token_for(alice))
    assert client.get("/api/v1/organization").status_code == 200
    assert client.get("/api/v1/organization").status_code == 429

    APIToken.objects.update(rate_window=0)  # the counted window is long past

    assert client.get("/api/v1/organization").status_code == 200
    assert APIToken.objects.get().rate_count == 1


def test_clients_sharing_a_token_share_its_limit(alice, org, settings):
    """Calls with one token from several clients count in one window, and the count
    never passes the limit: it only moves while there is room."""
    settings.API_RATE_LIMIT = 5
    settings.API_RATE_WINDOW = 3600
    clients = [ApiClient(token) for token in [token_for(alice)] * 3]

    statuses = [c.get("/api/v1/organization").status_code for c in clients * 3]

    assert statuses.count(200) == 5
    assert statuses[5:] == [429] * 4
    assert APIToken.objects.get().rate_count == 5


@pytest.mark.django_db(transaction=True)
def test_the_count_commits_on_its_own_without_waiting_for_the_disk(
    alice, org, settings
):
    """Outside a transaction (as in the server) the counter UPDATE is its own commit,
    without an fsync; the connection then goes back to durable commits."""
    settings.API_RATE_LIMIT = 2
    settings.API_RATE_WINDOW = 3600
    client = ApiClient(token_for(alice))

    with CaptureQueriesContext(connection) as queries:
        assert client.get("/api/v1/organization").status_code == 200

    sql = [q["sql"] for q in queries.captured_queries]
    update = next(i for i, s in enumerate(sql) if 'UPDATE "api_apitoken"' in s)
    if connection.vendor == "sqlite":
        assert sql[update - 1] == "PRAGMA synchronous = 1"
        assert sql[update + 1] == "PRAGMA synchronous = 2"
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA synchronous")
            assert cursor.fetchone()[0] == 2  # FULL again, as settings.py asks
    else:
        # The counting UPDATE is its own autocommit transaction, committed without a
        # flush.
        assert "set_config('synchronous_commit', 'off', true)" in sql[update]
        with connection.cursor() as cursor:
            cursor.execute("SHOW synchronous_commit")
            assert cursor.fetchone()[0] == "on"  # only that commit was unsynced
    assert connection.get_autocommit() and not connection.in_atomic_block
    token = APIToken.objects.get()
    assert (token.rate_count, token.last_used_at is not None) == (1, True)
    assert client.get("/api/v1/organization").status_code == 200
    refused = client.get("/api/v1/organization")
    assert refused.status_code == 429
    assert waits_until_the_hour_window_ends(refused["Retry-After"])
    assert APIToken.objects.get().rate_count == 2


def test_a_browser_session_reads_and_writes_with_csrf(alice, org):
    client = login(alice)
    client.handler.enforce_csrf_checks = True
    assert client.get("/api/v1/teams").status_code == 200

    refused = client.post(
        "/api/v1/teams", json.dumps({"name": "Marketing"}), "application/json"
    )
    assert refused.status_code == 403
    assert "CSRF" in problem_of(refused)["detail"]

    client.get("/settings/tokens/")  # any page sets the CSRF cookie
    csrf = client.cookies["csrftoken"].value
    allowed = client.post(
        "/api/v1/teams",
        json.dumps({"name": "Marketing"}),
        "application/json",
        headers={"X-CSRFToken": csrf},
    )
    assert allowed.status_code == 201, allowed.content
    assert Team.objects.filter(organization=org, name="Marketing").exists()


def test_a_session_of_a_deactivated_member_is_refused(bob, org):
    client = login(bob)
    Membership.objects.filter(user=bob).update(is_active=False)

    assert client.get("/api/v1/teams").status_code == 401


def test_a_token_is_bound_to_its_organization(alice, org, charlie, other_org):
    """Alice also belongs to Other Co; her Acme token still sees only Acme."""
    join(other_org, alice, "admin")
    acme = ApiClient(token_for(alice, org=org))
    other = ApiClient(token_for(alice, org=other_org))

    assert acme.get("/api/v1/organization").json()["name"] == "Acme Test"
    assert other.get("/api/v1/organization").json()["name"] == "Other Co"


def test_creating_a_token_validates_its_input(alice, org):
    membership = Membership.objects.get(user=alice)
    with pytest.raises(Exception, match="Name the token"):
        actions.create_token(membership=membership, name="  ")
    with pytest.raises(Exception, match="future"):
        actions.create_token(membership=membership, name="x", expires_at=timezone.now())
    assert not APIToken.objects.exists()
