"""Lists compiled once per shape (landmark/api/compiled.py) answer exactly what the
ORM and the access helpers answer, for every caller, filter, sort and page, and a
shape compiled for one caller never leaks into another's answer."""

import base64
import itertools
import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from landmark.api import compiled
from landmark.api.tests.conftest import api_client
from landmark.kpis import actions as kpi_actions
from landmark.kpis.access import kpis_for_member
from landmark.kpis.models import KPI
from landmark.okrs.models import KeyResult
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


def test_a_shape_is_compiled_once_and_reused_with_other_values(alice, kpis, sales):
    client = api_client(alice)
    walk(client, {"team": sales.pk}, "-created_at", limit=4)
    before = compiled.shapes.compiled

    walk(client, {"team": sales.pk + 1000}, "-created_at", limit=4)
    assert walk(client, {"team": sales.pk}, "-created_at", limit=4) == expected(
        alice, {"team": sales.pk}, "-created_at"
    )

    assert compiled.shapes.compiled == before


def test_a_shape_compiled_for_one_caller_answers_another_with_their_own_rows(
    alice, bob, charlie, kpis, other_org
):
    """Alice and Charlie are both owners (one shape), Bob a member: each sees their own
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


def test_a_value_written_into_the_sql_is_never_cached(org, kpis):
    """A value formatted into the SQL text is not a parameter: that shape is built by
    the ORM on every call, and each call still gets its own answer."""

    def but(org_id: int, pk: int) -> Any:
        return (
            KPI.objects.filter(organization_id=org_id)
            .extra(where=[f"kpis_kpi.id <> {int(pk)}"])  # noqa: S610  # an int
            .values("id")
        )

    with pytest.raises(compiled.NotCompilable, match="SQL text"):
        compiled.compile_shape(but, (org.pk, kpis[0].pk), "default")
    for left_out in kpis[:2]:
        found = compiled.rows("test-extra", but, (org.pk, left_out.pk))
        assert {r["id"] for r in found} == {k.pk for k in kpis} - {left_out.pk}


def test_a_slice_bound_written_into_the_sql_is_never_cached(org, kpis):
    """A slice's bound is written into the SQL text (LIMIT 3): built by the ORM."""

    def first(org_id: int, count: int) -> Any:
        rows = KPI.objects.filter(organization_id=org_id).values("id")
        return rows.order_by("pk")[:count]

    with pytest.raises(compiled.NotCompilable, match="SQL text"):
        compiled.compile_shape(first, (org.pk, 3), "default")
    for count in (3, 2):
        found = compiled.rows("test-slice", first, (org.pk, count))
        assert [r["id"] for r in found] == [k.pk for k in kpis[:count]]


def test_a_stand_in_the_query_refuses_is_tried_again_and_the_orm_answers(org, kpis):
    """A query that refuses a stand-in (here: any id from a billion up) is built by the ORM
    for that call, and that shape is not remembered as uncompilable."""

    def first(org_id: int, count: int) -> Any:
        if count >= 10**9:
            raise ValueError("ids stay below a billion here")
        return KPI.objects.filter(organization_id=org_id, pk__gte=count).values("id")

    with pytest.raises(compiled.NotCompilable, match="could not be compiled") as error:
        compiled.compile_shape(first, (org.pk, 3), "default")
    assert not error.value.lasting
    found = compiled.rows("test-refused", first, (org.pk, kpis[3].pk))
    assert sorted(r["id"] for r in found) == sorted(k.pk for k in kpis[3:])
    assert not any("test-refused" in repr(key) for key in compiled.shapes.entries)


def test_a_condition_the_orm_drops_for_one_value_is_never_cached(key_results):
    """Django drops `position__gte` when the value is below a PositiveIntegerField's
    range: the stand-ins and the values must compile alike before a shape is cached
    (it was once cached without the condition, answering every row)."""
    org_id = key_results[0].organization_id
    positions = sorted(kr.position for kr in key_results)
    assert len(set(positions)) > 1

    def from_position(org: int, position: int) -> Any:
        rows = KeyResult.objects.filter(organization_id=org, position__gte=position)
        return rows.values("id")

    for position in (-5, positions[-1], positions[-1]):
        found = compiled.rows("test-gte", from_position, (org_id, position))
        expected = [kr for kr in key_results if kr.position >= position]
        assert sorted(r["id"] for r in found) == sorted(kr.pk for kr in expected)


def test_a_value_converted_to_another_type_is_never_cached(org, kpis):
    """An int compared with a DecimalField becomes a Decimal parameter: not a slot,
    so the shape is not cached with the stand-in frozen in as a constant."""
    KPI.objects.filter(pk=kpis[0].pk).update(tolerance=Decimal("5"))

    def tolerant_above(org_id: int, above: int) -> Any:
        rows = KPI.objects.filter(organization_id=org_id, tolerance__gt=above)
        return rows.values("id")

    with pytest.raises(compiled.NotCompilable):
        compiled.compile_shape(tolerant_above, (org.pk, 1), "default")
    for _ in range(2):
        found = compiled.rows("test-int-decimal", tolerant_above, (org.pk, 1))
        assert [r["id"] for r in found] == [kpis[0].pk]


@pytest.mark.parametrize(
    "value, pk",
    [("KPI 0", 2**70), ("KPI 0", 0), (None, 1), ("2025-01-01T00:00:00", 1)],
)
def test_a_forged_cursor_is_refused_with_a_problem(alice, kpis, value, pk):
    """Ids out of range, a null sort value, a time without its offset: 422, never a
    server error (the compiled query would send them to the database as they are)."""
    client = api_client(alice)
    raw = json.dumps([value, pk], separators=(",", ":")).encode()
    forged = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    sort = "created_at" if value and value.startswith("2025") else "name"

    for _ in range(2):  # the shape is compiled after the first call
        response = client.get(
            "/api/v1/kpis", {"limit": "1", "sort": sort, "cursor": forged}
        )
        assert response.status_code == 422, response.content[:300]
        assert "cursor" in response.json()["errors"][0]["field"]


def test_a_transformed_value_is_never_cached(org, kpis):
    """`icontains` wraps the value in % signs: not a parameter of its own."""

    def named(org_id: int, text: str) -> Any:
        return KPI.objects.filter(organization_id=org_id, name__icontains=text).values(
            "id"
        )

    with pytest.raises(compiled.NotCompilable):
        compiled.compile_shape(named, (org.pk, "kpi 1"), "default")
    found = compiled.rows("test-icontains", named, (org.pk, "kpi 1"))
    assert {r["id"] for r in found} == {k.pk for k in kpis if k.name == "KPI 1"}


def test_values_without_a_stand_in_are_built_by_the_orm(org, kpis):
    def tolerant(org_id: int, tolerance: Decimal) -> Any:
        return KPI.objects.filter(organization_id=org_id, tolerance=tolerance).values(
            "id"
        )

    with pytest.raises(compiled.NotCompilable):
        compiled.compile_shape(tolerant, (org.pk, Decimal("0.1")), "default")
    found = compiled.rows("test-decimal", tolerant, (org.pk, kpis[0].tolerance))
    assert {r["id"] for r in found} == {
        k.pk for k in kpis if k.tolerance == kpis[0].tolerance
    }


def test_the_least_recently_used_shape_is_dropped_first():
    shapes = compiled.Shapes(size=2)
    shapes.put("a", None)
    shapes.put("b", None)
    assert shapes.get("a") == (True, None)  # "a" is now the most recent
    shapes.put("c", None)

    assert list(shapes.entries) == ["a", "c"]
    assert shapes.get("b") == (False, None)
