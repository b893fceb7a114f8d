"""Private objectives and KPIs stay private everywhere (docs/permissions.md).

One dataset links a private objective and a private KPI into everything they can be
linked to: a public objective aligned under the private one and the private one
aligned under a public one that counts its children, key results tracking the KPI, the
KPI on public objectives, check-ins, an initiative, kudos, an edit history, a closed
and graded period with a retrospective and a carried-over copy. Then every web page
(GET) of the permission matrix and every GET operation of the API is requested for
every object of its kind, as Bob (a member outside the private items' team) and as Sam
(a member of that team). Bob's answers must hold none of the private items' words, ids
or links; Sam's, on the same pages, hold every one of them (so the check can fail).

The routes come from the URL resolver through landmark/permissions.toml (whose own
meta-test fails on a route it does not list) and from the ninja API's OpenAPI schema:
a new page or operation is covered without touching this file, and a route whose URL
this file cannot build fails the test.
"""

import functools
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from landmark.api.api import api
from landmark.api.models import APIToken
from landmark.api.tests.conftest import ApiClient, token_for
from landmark.conftest import current_quarter, login
from landmark.kpis import actions as kpi_actions
from landmark.kpis.models import KPI, DataPoint
from landmark.okrs import actions as okr_actions
from landmark.okrs.models import (
    Initiative,
    KeyResult,
    Objective,
    Period,
)
from landmark.orgs import actions as org_actions
from landmark.orgs.models import Invitation, Membership, Organization, Team, User
from landmark.tests.test_permissions import MATRIX, ROUTES, member_of

PRIVATE = Objective.Visibility.PRIVATE
D = Decimal

# Words that exist only in the private objectives, their key results, check-ins,
# initiative, kudos, grades, and in the private KPI (name, key, definition, category,
# data point notes). None of them may reach Bob, in any casing.
SECRETS = [
    "Nightjar",  # every private objective's and private key result's title
    "Whippoorwill",  # the private objective's former title (its history)
    "quasar",  # the private objective's description
    "bathyscaphe",  # a check-in note on a private key result
    "Hangar Zulu",  # an initiative of a private key result
    "marzipan",  # kudos on the private objective
    "zeitgeber",  # the private objective's retrospective in a closed period
    "cormorant",  # the reason for overriding its score
    "Cobalt",  # the private KPI's name
    "ultraviolet",  # its definition
    "Clandestine",  # its category
    "mothballed",  # a note on one of its values
]
# The API has no history and no grading fields: it never holds these two.
API_SECRETS = [s for s in SECRETS if s not in {"Whippoorwill", "zeitgeber"}]


@dataclass
class World:
    org: Organization
    bob: User  # a member outside Skunkworks: may not see the private items
    sam: User  # a member of Skunkworks: may see them
    secret_kpi: KPI
    invitation_token: str = ""
    hidden_objectives: set[int] = field(default_factory=set)
    hidden_key_results: set[int] = field(default_factory=set)


def build_world(org: Organization, alice: User, bob: User, sales: Team) -> World:
    today = timezone.localdate()
    sam = member_of(org, "sam@acme.test", Membership.Role.MEMBER)
    root = Team.objects.get(organization=org, kind=Team.Kind.COMPANY)
    skunk = org_actions.create_team(
        org=org, name="Skunkworks", kind=Team.Kind.TEAM, parent=root
    )
    org_actions.set_team_members(team=skunk, members=[sam], leads=[sam])
    org_actions.set_team_members(team=sales, members=[bob], leads=[])
    name, start, end = current_quarter(today)
    now_q = okr_actions.create_period(
        org=org, name=name, start=start, end=end, state=Period.State.ACTIVE
    )
    last_name, last_start, last_end = current_quarter(start - timedelta(days=1))
    last_q = okr_actions.create_period(
        org=org,
        name=last_name,
        start=last_start,
        end=last_end,
        state=Period.State.ACTIVE,
    )

    # KPIs: a public one, and the private one with values (unhealthy: 50, at most 10).
    deals = kpi_actions.create_kpi(
        org=org,
        name="Deals won",
        owner=bob,
        team=sales,
        target_kind=KPI.TargetKind.AT_LEAST,
        target_low=D("100"),
    )
    secret_kpi = kpi_actions.create_kpi(
        org=org,
        name="Cobalt Burn Rate",
        key="cobalt-burn",
        definition="Cash burned by the ultraviolet programme per month.",
        category="Clandestine",
        owner=sam,
        team=skunk,
        visibility=KPI.Visibility.PRIVATE,
        target_kind=KPI.TargetKind.AT_MOST,
        target_high=D("10"),
    )
    for days, value in ((40, "30"), (3, "50")):
        kpi_actions.record_data_point(
            kpi=secret_kpi,
            value=D(value),
            time=timezone.now() - timedelta(days=days),
            note="mothballed line",
            author=sam,
        )
    kpi_actions.record_data_point(
        kpi=deals, value=D("40"), time=timezone.now() - timedelta(days=2), author=bob
    )

    # This quarter: a public company objective counting its children, the private
    # objective aligned under it, a public objective aligned under the private one, and
    # a public objective working on (and tracking) the private KPI.
    company = okr_actions.create_objective(
        org=org,
        period=now_q,
        owner=alice,
        title="Grow the market",
        level=Objective.Level.COMPANY,
        include_children=True,
    )
    secret = okr_actions.create_objective(
        org=org,
        period=now_q,
        owner=sam,
        team=skunk,
        title="Project Whippoorwill",
        description="Build the quasar engine before anyone notices.",
        parent=company,
        visibility=PRIVATE,
        include_children=True,
        kpis=[secret_kpi, deals],
    )
    okr_actions.update_objective(objective=secret, title="Operation Nightjar")
    flights = okr_actions.create_key_result(
        objective=secret,
        title="Nightjar test flights",
        owner=bob,  # Bob owns a key result of an objective he may not see
        start=D("0"),
        target=D("10"),
    )
    okr_actions.create_key_result(
        objective=secret,
        title="Nightjar pipeline",
        kpi=deals,
        start=D("0"),
        target=D("100"),
    )
    okr_actions.record_checkin(
        key_result=flights,
        author=sam,
        status=KeyResult.Status.ON_TRACK,
        value=D("4"),
        moved="The bathyscaphe prototype flew.",
        blocks="bathyscaphe parts",
    )
    okr_actions.create_initiative(key_result=flights, title="Hangar Zulu lease")
    okr_actions.give_kudos(
        sender=sam, recipient=bob, message="marzipan for you", org=org, objective=secret
    )
    child = okr_actions.create_objective(
        org=org,
        period=now_q,
        owner=bob,
        team=sales,
        title="Public child of a secret",
        parent=secret,
    )
    okr_actions.create_key_result(
        objective=child, title="Ship the child", start=D("0"), target=D("1")
    )
    mid = okr_actions.create_objective(
        org=org,
        period=now_q,
        owner=bob,
        team=sales,
        title="Win the mid-market",
        parent=secret,
        kpis=[secret_kpi, deals],
    )
    okr_actions.update_objective(objective=mid, parent=company)  # history: realigned
    burn = okr_actions.create_key_result(
        objective=mid,
        title="Keep the burn in check",
        owner=bob,
        kpi=secret_kpi,
        start=D("60"),
        target=D("10"),
    )
    watch = okr_actions.create_key_result(
        objective=mid,
        title="Watch the deals",
        kpi=secret_kpi,
        start=D("0"),
        target=D("5"),
    )
    okr_actions.update_key_result(key_result=watch, kpi=deals)  # history: re-pointed
    okr_actions.record_checkin(
        key_result=burn, author=bob, status=KeyResult.Status.ON_TRACK, value=D("45")
    )
    okr_actions.give_kudos(
        sender=alice,
        recipient=bob,
        message="Thanks for the burn",
        org=org,
        objective=mid,
    )

    # Last quarter: the private objective's predecessor, graded with a retrospective
    # and an override, carried over into this quarter (a private copy).
    groundwork = okr_actions.create_objective(
        org=org,
        period=last_q,
        owner=sam,
        team=skunk,
        title="Nightjar groundwork",
        visibility=PRIVATE,
        parent=None,
    )
    okr_actions.create_key_result(
        objective=groundwork, title="Nightjar wind tunnel", start=D("0"), target=D("4")
    )
    shown = okr_actions.create_objective(
        org=org, period=last_q, owner=bob, team=sales, title="Open the Lyon office"
    )
    okr_actions.create_key_result(
        objective=shown, title="Sign the lease", kind=KeyResult.Kind.MILESTONE
    )
    okr_actions.close_period(
        period=last_q,
        grades=[
            okr_actions.Grade(
                objective=groundwork,
                score_override=D("0.9"),
                override_reason="cormorant sightings",
                retrospective="zeitgeber drift",
                carry_over=True,
            )
        ],
        retrospective="A calm quarter.",
        carry_into=now_q,
        author=alice,
    )
    # Pages without OKR data still get their object: an invitation, an API token.
    tokens: list[str] = []
    org_actions.invite_member(
        org=org,
        email="invitee@acme.test",
        role=Membership.Role.MEMBER,
        teams=[],
        invited_by=alice,
        build_link=lambda token: tokens.append(token) or f"/invitations/{token}/",
    )
    token_for(alice)
    world = World(
        org=org, bob=bob, sam=sam, secret_kpi=secret_kpi, invitation_token=tokens[0]
    )
    hidden = Objective.objects.filter(organization=org, visibility=PRIVATE)
    world.hidden_objectives = set(hidden.values_list("pk", flat=True))
    world.hidden_key_results = set(
        KeyResult.objects.filter(objective__in=hidden).values_list("pk", flat=True)
    )
    assert len(world.hidden_objectives) == 3  # now, last quarter, carried copy
    return world


# Which objects each kind of URL argument is tried with: all of the organization's.


def objects_of(kind: str, world: World) -> list[Any]:
    if kind == "none":
        return [None]
    if kind == "invitation_token":
        return [world.invitation_token]
    models: dict[str, Any] = {
        "objective": Objective,
        "key_result": KeyResult,
        "initiative": Initiative,
        "period": Period,
        "planning_period": Period,
        "closed_period": Period,
        "team": Team,
        "membership": Membership,
        "kpi": KPI,
        "point": DataPoint,
        "invitation": Invitation,
        "api_token": APIToken,
    }
    if kind not in models:
        pytest.fail(
            f"test_privacy cannot build URLs for objects of kind {kind!r}: "
            "add the kind to objects_of()."
        )
    return list(models[kind].objects.filter(organization=world.org).order_by("pk"))


def query_variants(name: str, world: World) -> list[str]:
    """Filters a page takes in its query string, tried with every value that could
    pull a private item in."""
    org = world.org
    periods = [
        f"?period={p}"
        for p in Period.objects.filter(organization=org).values_list("pk", flat=True)
    ]
    teams = [
        f"?team={t}"
        for t in Team.objects.filter(organization=org).values_list("pk", flat=True)
    ]
    today = timezone.localdate()
    return {
        "tree": ["", *periods, *teams, f"?owner={world.sam.pk}", "?status=on_track"],
        "strategy_map": ["", *periods],
        "kpi_dashboard": ["", *teams, "?health=unhealthy", "?archived=1", "?key=1"],
        "objective_as_of": ["", f"?date={today.isoformat()}"],
    }.get(name, [""])


@dataclass
class Answer:
    url: str
    status: int
    body: str


def web_answers(client: Client, world: World, alice: User) -> Iterator[Answer]:
    for name, route in ROUTES.items():
        if "GET" not in route["methods"]:
            continue
        for obj in objects_of(route["object"], world):
            try:
                base = (
                    reverse(name)
                    if obj is None
                    else reverse(name, args=[obj if isinstance(obj, str) else obj.pk])
                )
            except Exception as error:  # any failure names the route
                pytest.fail(f"Cannot build the URL of {name} for {obj!r}: {error}")
            for query in query_variants(name, world):
                response = client.get(base + query)
                assert response.status_code < 500, base + query
                yield Answer(
                    base + query, response.status_code, response.content.decode()
                )


@functools.cache
def api_schema() -> dict[str, Any]:
    return dict(api.get_openapi_schema(path_prefix="/api/v1/"))


def api_get_operations() -> list[str]:
    schema = api_schema()
    return sorted(
        path
        for path, item in schema["paths"].items()
        for method in item
        if method == "get"
    )


def list_filters(path: str) -> list[str]:
    schema = api_schema()
    params = schema["paths"][path]["get"].get("parameters", [])
    return [p["name"] for p in params if p.get("in") == "query"]


def api_answers(client: ApiClient, world: World, alice: User) -> Iterator[Answer]:
    operations: dict[str, dict[str, str]] = MATRIX["api"]["operations"]
    hidden_filters = {
        "objective": sorted(world.hidden_objectives),
        "parent": sorted(world.hidden_objectives),
        "key_result": sorted(world.hidden_key_results),
        "kpi": [world.secret_kpi.pk],
    }
    for path in api_get_operations():
        kind = operations[f"GET {path}"]["object"]
        for obj in objects_of(kind, world):
            url = path if obj is None else path.replace("{pk}", str(obj.pk))
            queries = [""]
            for name in list_filters(path):
                queries += [f"?{name}={pk}" for pk in hidden_filters.get(name, [])]
            for query in queries:
                response = client.get(url + query)
                assert response.status_code < 500, url + query
                body = response.content.decode()
                if query and response.status_code == 200:
                    # Filtering by something you may not see matches nothing (Sam's
                    # answers are checked the other way round below).
                    yield Answer(url + query + "#filtered", response.status_code, body)
                else:
                    yield Answer(url + query, response.status_code, body)


def secrets_in(body: str) -> list[str]:
    lowered = body.lower()
    return [word for word in SECRETS if word.lower() in lowered]


def hidden_links_in(answer: Answer, world: World) -> list[str]:
    found = []
    for pk in world.hidden_objectives:
        for pattern in (f"/objectives/{pk}/", f'data-objective="{pk}"'):
            if pattern in answer.body and f"/objectives/{pk}/" not in answer.url:
                found.append(pattern)
    kpi = world.secret_kpi.pk
    if f"/kpis/{kpi}/" in answer.body and f"/kpis/{kpi}/" not in answer.url:
        found.append(f"/kpis/{kpi}/")
    return found


def hidden_ids_in(data: Any, world: World) -> list[str]:
    """Fields of an API answer that name a private objective, key result or KPI."""
    hidden: dict[str, set[int]] = {
        "objective_id": world.hidden_objectives,
        "parent_id": world.hidden_objectives,
        "carried_from_id": world.hidden_objectives,
        "key_result_id": world.hidden_key_results,
        "kpi_id": {world.secret_kpi.pk},
        "kpi_ids": {world.secret_kpi.pk},
    }
    found: list[str] = []
    if isinstance(data, list):
        for item in data:
            found += hidden_ids_in(item, world)
    elif isinstance(data, dict):
        for key, value in data.items():
            values = value if isinstance(value, list) else [value]
            if key in hidden and hidden[key] & set(values):
                found.append(f"{key}={value}")
            else:
                found += hidden_ids_in(value, world)
    return found


@pytest.fixture
def world(org, alice, bob, sales) -> World:
    return build_world(org, alice, bob, sales)


def test_no_web_page_shows_a_private_objective_or_kpi_to_a_member_who_may_not_see_it(
    world, alice
):
    leaks = []
    for answer in web_answers(login(world.bob), world, alice):
        if words := secrets_in(answer.body) + hidden_links_in(answer, world):
            leaks.append(f"{answer.url} ({answer.status}): {words}")

    assert leaks == [], "\n".join(leaks)

    # The positive control: Sam, in the private items' team, sees every one of them on
    # the same pages, so this test would catch a leak.
    seen: set[str] = set()
    links: set[str] = set()
    for answer in web_answers(login(world.sam), world, alice):
        seen.update(secrets_in(answer.body))
        links.update(hidden_links_in(answer, world))
    assert sorted(set(SECRETS) - seen) == []
    assert f"/kpis/{world.secret_kpi.pk}/" in links
    assert {f"/objectives/{pk}/" for pk in world.hidden_objectives} <= links


def test_no_api_answer_shows_a_private_objective_or_kpi_to_a_member_who_may_not_see_it(
    world, alice
):
    leaks = []
    for answer in api_answers(ApiClient(token_for(world.bob)), world, alice):
        data = json.loads(answer.body) if answer.body else None
        problems = secrets_in(answer.body) + hidden_ids_in(data, world)
        if answer.url.endswith("#filtered") and data.get("items"):
            problems.append(f"{len(data['items'])} items")
        if problems:
            leaks.append(f"{answer.url} ({answer.status}): {problems}")

    assert leaks == [], "\n".join(leaks)

    seen: set[str] = set()
    ids: list[str] = []
    filtered = 0
    for answer in api_answers(ApiClient(token_for(world.sam)), world, alice):
        data = json.loads(answer.body) if answer.body else None
        seen.update(secrets_in(answer.body))
        ids += hidden_ids_in(data, world)
        filtered += bool(answer.url.endswith("#filtered") and data.get("items"))
    assert sorted(set(API_SECRETS) - seen) == []
    assert {i.partition("=")[0] for i in ids} >= {
        "objective_id",
        "parent_id",
        "carried_from_id",
        "key_result_id",
        "kpi_id",
        "kpi_ids",
    }
    assert filtered >= 4
