"""The KPI list answers exactly what the ORM and the access helpers answer, for every
caller, filter, sort and page, and each caller sees only their own rows."""

import base64
import itertools
import json
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from landmark.api.tests.conftest import api_client
from landmark.kpis import actions as kpi_actions
from landmark.kpis.access import kpis_for_member
from landmark.kpis.models import KPI
from landmark.orgs import actions as org_actions
from landmark.orgs.models import Membership

SORTS = ["name", "-name", "created_at", "-created_at", "updated_at", "-updated_at"]


@pytest.fixture
def kpis(org, alice, bob, viewer, sales, other_org) -> list[KPI]:
    """Acme: public and private KPIs across owners, teams, categories and flags, some
    with equal names (the cursor's tie-break) and equal times; Other Co: one KPI."""
    org_actions.set_team_members(team=sales, members=[bob], leads=[])
    made = []
    for i, (owner, team, visibility, category, is_key, archived) in enumerate(
        itertools.product(
            [alice, bob, None],
            [sales, None],
            [KPI.Visibility.PUBLIC, KPI.Visibility.PRIVATE],
            ["Sales", "Support"],
            [True, False],
            [False, True],
        )
    ):
        made.append(
            kpi_actions.create_kpi(
                org=org,
                name=f"KPI {i % 7}",  # repeated names: ties broken by id
                owner=owner,
                team=team,
                visibility=visibility,
                category=category,
                is_key=is_key,
                archived=archived,
            )
        )
    # Some share a creation time to the microsecond: the cursor's tie-break again.
    same = timezone.now() - timedelta(days=1)
    KPI.objects.filter(pk__in=[k.pk for k in made[:5]]).update(created_at=same)
    kpi_actions.create_kpi(org=other_org, name="KPI 0")
    return made


def expected(user, params: dict[str, Any], sort: str) -> list[int]:
    membership = Membership.objects.select_related("organization", "user").get(
        user=user
    )
    rows = kpis_for_member(membership)
    filters = {"archived": False, **params}
    rows = rows.filter(**filters)
    name = sort.lstrip("-")
    order = [sort, "-pk" if sort.startswith("-") else "pk"]
    assert name in {"name", "created_at", "updated_at"}
    return list(rows.order_by(*order).values_list("pk", flat=True))


def walk(client, params: dict[str, Any], sort: str, limit: int) -> list[int]:
    """Every page of the list, following next_cursor."""
    seen: list[int] = []
    query = {**params, "sort": sort, "limit": limit}
    while True:
        response = client.get("/api/v1/kpis", query)
        assert response.status_code == 200, response.content
        page = response.json()
        seen += [item["id"] for item in page["items"]]
        if page["next_cursor"] is None:
            return seen
        query["cursor"] = page["next_cursor"]


FILTERS: list[dict[str, Any]] = [
    {},
    {"is_key": True},
    {"archived": True},
    {"category": "Support"},
    {"category": "Sales", "is_key": False},
]


@pytest.mark.parametrize("who", ["alice", "bob", "viewer"])
def test_every_page_of_every_sort_and_filter_is_what_the_orm_answers(
    who, request, kpis, sales
):
    user = request.getfixturevalue(who)
    client = api_client(user)
    owner_filters: list[dict[str, Any]] = [{"owner": user.pk}, {"team": sales.pk}]

    for params, sort in itertools.product(FILTERS + owner_filters, SORTS):
        assert walk(client, params, sort, limit=4) == expected(user, params, sort), (
            params,
            sort,
        )


def test_each_caller_sees_their_own_organizations_rows(
    alice, bob, charlie, kpis, other_org
):
    """Alice and Charlie are both owners, Bob a member: each sees their own
    organization's KPIs and, for Bob, only the private ones he may see."""
    assert walk(api_client(alice), {}, "name", 50) == expected(alice, {}, "name")
    charlie_sees = walk(api_client(charlie), {}, "name", 50)
    bob_sees = walk(api_client(bob), {}, "name", 50)

    assert charlie_sees == list(
        KPI.objects.filter(organization=other_org).values_list("pk", flat=True)
    )
    assert bob_sees == expected(bob, {}, "name")
    private = KPI.objects.filter(visibility=KPI.Visibility.PRIVATE, archived=False)
    hidden_from_bob = private.exclude(owner=bob).exclude(team__team_members__user=bob)
    assert hidden_from_bob.exists()
    assert not set(bob_sees) & set(hidden_from_bob.values_list("pk", flat=True))


@pytest.mark.parametrize(
    "value, pk",
    [("KPI 0", 2**70), ("KPI 0", 0), (None, 1), ("2025-01-01T00:00:00", 1)],
)
def test_a_forged_cursor_is_refused_with_a_problem(alice, kpis, value, pk):
    """Ids out of range, a null sort value, a time without its offset: 422, never a
    server error."""
    client = api_client(alice)
    raw = json.dumps([value, pk], separators=(",", ":")).encode()
    forged = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    sort = "created_at" if value and value.startswith("2025") else "name"

    for _ in range(2):
        response = client.get(
            "/api/v1/kpis", {"limit": "1", "sort": sort, "cursor": forged}
        )
        assert response.status_code == 422, response.content[:300]
        assert "cursor" in response.json()["errors"][0]["field"]
