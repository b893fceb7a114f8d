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
from landmark.comments import actions as comment_actions
from landmark.comments.models import Comment
from landmark.conftest import current_quarter, login
from landmark.hooks.models import Webhook, WebhookDelivery
from landmark.kpis import actions as kpi_actions
from landmark.kpis.models import KPI, DataPoint
from landmark.notify.channels import unsubscribe_token
from landmark.notify.kinds import KINDS
from landmark.notify.models import ChatRoom, Notification
from landmark.okrs import actions as okr_actions
from landmark.okrs.models import (
    CheckIn,
    Initiative,
    KeyResult,
    Objective,
    ObjectiveKPI,
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
    "narwhal",  # a private key result's description
    "gazpacho",  # comments on the private objective and on its key result
    "tamarind",  # a comment on the private KPI
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
        description="Counted by the narwhal telemetry.",
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
    # Comments: on the private objective, its key result and the private KPI (Sam's),
    # and one of Bob's on a public objective (the comment routes' objects).
    for target, body in [
        (comment_actions.Target(objective=secret), "The gazpacho plan holds."),
        (
            comment_actions.Target(objective=secret, key_result=flights),
            "Flight two, gazpacho-free.",
        ),
        (comment_actions.Target(kpi=secret_kpi), "Burn is tamarind-high."),
    ]:
        comment_actions.post_comment(target=target, author=sam, body=body)
    comment_actions.post_comment(
        target=comment_actions.Target(objective=company), author=bob, body="Public"
    )
    # Pages without OKR data still get their object: an invitation, an API token.
    tokens: list[str] = []

    def keep(token: str) -> str:
        tokens.append(token)
        return f"/invitations/{token}/"

    org_actions.invite_member(
        org=org,
        email="invitee@acme.test",
        role=Membership.Role.MEMBER,
        teams=[],
        invited_by=alice,
        build_link=keep,
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
    if kind == "unsubscribe_token":
        return [
            unsubscribe_token(
                user_id=world.bob.pk, organization_id=world.org.pk, kind=k
            )
            for k in KINDS
        ]
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
        "notification": Notification,
        "webhook": Webhook,
        "webhook_delivery": WebhookDelivery,
        "chat_room": ChatRoom,
        "comment": Comment,
    }
    if kind not in models:
        pytest.fail(
            f"test_privacy cannot build URLs for objects of kind {kind!r}: "
            "add the kind to objects_of()."
        )
    return list(models[kind].objects.filter(organization=world.org).order_by("pk"))


def query_variants(name: str, world: World) -> list[str]:
    """Filters a page takes in its query string, tried with the values that could
    pull a private item in (the page's defaults are tried too)."""
    org = world.org
    periods = Period.objects.filter(organization=org).values_list("pk", flat=True)
    teams = Team.objects.filter(organization=org).values_list("pk", flat=True)
    objectives = Objective.objects.filter(organization=org).values_list("pk", flat=True)
    return {
        "tree": [
            "",
            *(f"?period={pk}" for pk in periods),
            *(f"?team={pk}" for pk in teams),
            f"?owner={world.sam.pk}",
        ],
        "strategy_map": ["", *(f"?period={pk}" for pk in periods)],
        "kpi_dashboard": ["", "?health=unhealthy", *(f"?team={pk}" for pk in teams)],
        "objective_create": ["", *(f"?parent={pk}" for pk in objectives)],
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
        data = json.loads(answer.body) if answer.body else {}
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
        data = json.loads(answer.body) if answer.body else {}
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


# Numbers: what a member may not open counts in nothing they are shown.


def by_title(title: str) -> Objective:
    return Objective.objects.get(title=title)


def test_roll_ups_and_counts_leave_out_what_the_reader_may_not_see(world):
    company, mid = by_title("Grow the market"), by_title("Win the mid-market")
    secret = by_title("Operation Nightjar")
    period = f"?period={company.period_id}"

    def tree_of(user: User) -> tuple[Any, dict[int, Any]]:
        tree = login(user).get(reverse("tree") + period).context["tree"]
        return tree, {v.objective.pk: v for v in tree.shown}

    bob_tree, bob_views = tree_of(world.bob)
    sam_tree, sam_views = tree_of(world.sam)

    # The company objective counts its aligned children: for Bob, only the one he
    # may see; for Sam, the private one too.
    assert secret.pk not in bob_views
    assert bob_views[company.pk].progress == bob_views[mid.pk].progress
    assert sam_views[company.pk].progress == pytest.approx(
        (sam_views[mid.pk].progress + sam_views[secret.pk].progress) / 2
    )
    assert sam_views[company.pk].progress != bob_views[company.pk].progress
    # The period's objectives and average progress: Bob's three, Sam's five.
    assert len(bob_tree.shown) == 3 and len(sam_tree.shown) == 5
    assert bob_tree.progress == pytest.approx(
        sum(v.progress or 0 for v in bob_tree.shown) / 3
    )
    # The KPI dashboard's counts, and the strategy map's.
    for user, kpis, objectives in ((world.bob, 1, 3), (world.sam, 2, 5)):
        client = login(user)
        board = client.get(reverse("kpi_dashboard")).context
        assert board["total"] == kpis
        assert dict((h, n) for h, _, n, _ in board["health_counts"]) == {
            "unhealthy": kpis
        }
        strategy = client.get(reverse("strategy_map") + period).context["map"]
        assert strategy.objectives_total == objectives


# Writes by someone who may not see a link keep it (and never show it).


def form_data(response: Any, **changes: Any) -> dict[str, Any]:
    """What the browser posts back from an edit form as rendered, with changes."""
    data: dict[str, Any] = {}
    for bound in response.context["form"]:
        value = bound.value()
        data[bound.html_name] = "" if value is None else value
    return {**data, **changes}


def test_editing_on_the_web_keeps_links_the_editor_may_not_see(world):
    child, mid = by_title("Public child of a secret"), by_title("Win the mid-market")
    secret, burn = (
        by_title("Operation Nightjar"),
        KeyResult.objects.get(title="Keep the burn in check"),
    )
    deals = KPI.objects.get(name="Deals won")
    bob = login(world.bob)

    page = bob.get(reverse("objective_edit", args=[child.pk]))
    assert page.context["form"]["parent"].value() is None
    saved = bob.post(page.request["PATH_INFO"], form_data(page, title="Child, renamed"))
    assert saved.status_code == 302
    child.refresh_from_db()
    assert (child.title, child.parent_id) == ("Child, renamed", secret.pk)

    page = bob.get(reverse("objective_edit", args=[mid.pk]))
    assert page.context["form"]["kpis"].value() == [deals.pk]
    bob.post(page.request["PATH_INFO"], form_data(page, kpis=[]))
    assert list(
        ObjectiveKPI.objects.filter(objective=mid).values_list("kpi_id", flat=True)
    ) == [world.secret_kpi.pk]

    page = bob.get(reverse("key_result_edit", args=[burn.pk]))
    assert page.context["form"]["kpi"].value() is None
    bob.post(page.request["PATH_INFO"], form_data(page, title="Burn, renamed"))
    burn.refresh_from_db()
    assert (burn.title, burn.kpi_id) == ("Burn, renamed", world.secret_kpi.pk)


def test_the_api_keeps_hidden_links_and_its_etags_do_not_follow_them(world, alice):
    child, mid = by_title("Public child of a secret"), by_title("Win the mid-market")
    burn = KeyResult.objects.get(title="Keep the burn in check")
    deals = KPI.objects.get(name="Deals won")
    bob, boss = ApiClient(token_for(world.bob)), ApiClient(token_for(alice))
    url = f"/api/v1/objectives/{mid.pk}"
    seen = bob.get(url)
    assert seen.json()["kpi_ids"] == [deals.pk]
    boss_tag = boss.get(url)["ETag"]

    # Another private KPI joins the objective: Bob's view of it, and so its ETag,
    # stay the same; the admin's change.
    ledger = kpi_actions.create_kpi(
        org=world.org, name="Ledger", owner=alice, visibility=KPI.Visibility.PRIVATE
    )
    okr_actions.set_objective_kpis(
        objective=mid, kpis=[deals, world.secret_kpi, ledger]
    )
    assert bob.get(url)["ETag"] == seen["ETag"]
    assert boss.get(url)["ETag"] != boss_tag

    # Bob's writes with his ETag succeed and keep what he cannot see.
    changed = bob.send("PATCH", url, {"kpis": []}, HTTP_IF_MATCH=seen["ETag"])
    assert changed.status_code == 200 and changed.json()["kpi_ids"] == []
    assert set(
        ObjectiveKPI.objects.filter(objective=mid).values_list("kpi_id", flat=True)
    ) == {world.secret_kpi.pk, ledger.pk}
    child_url = f"/api/v1/objectives/{child.pk}"
    tag = bob.get(child_url)["ETag"]
    renamed = bob.send("PATCH", child_url, {"title": "Renamed"}, HTTP_IF_MATCH=tag)
    assert renamed.status_code == 200 and renamed.json()["parent_id"] is None
    child.refresh_from_db()
    assert child.parent_id == by_title("Operation Nightjar").pk
    kr_url = f"/api/v1/key-results/{burn.pk}"
    moved = bob.send("PATCH", kr_url, {"title": "Burn", "kpi": None})
    assert moved.status_code == 200 and moved.json()["kpi_id"] is None
    burn.refresh_from_db()
    assert burn.kpi_id == world.secret_kpi.pk


def test_a_check_in_fragment_names_the_tracked_kpi_only_to_who_may_see_it(world):
    burn = KeyResult.objects.get(title="Keep the burn in check")
    url = reverse("key_result_checkin", args=[burn.pk])
    for user, shown in ((world.bob, False), (world.sam, True)):
        response = login(user).post(
            url, {"value": "40", "status": "on_track"}, HTTP_HX_REQUEST="true"
        )
        assert response.status_code == 200
        assert response.context["just_saved"]
        assert ("Cobalt" in response.content.decode()) is shown


def test_fix_with_an_okr_and_keep_as_a_kpi_keep_a_private_origin_private(world):
    sam, bob = login(world.sam), login(world.bob)
    drafted = sam.post(reverse("kpi_fix_with_okr", args=[world.secret_kpi.pk]))
    draft = Objective.objects.get(pk=drafted["Location"].split("/")[-2])
    assert "Cobalt" in draft.title
    assert (draft.visibility, draft.team) == (PRIVATE, world.secret_kpi.team)
    assert bob.get(reverse("objective", args=[draft.pk])).status_code == 404

    flights = KeyResult.objects.get(title="Nightjar test flights")
    okr_actions.record_checkin(
        key_result=flights, author=world.sam, status="on_track", value=D("10")
    )
    kept = sam.post(reverse("key_result_keep_as_kpi", args=[flights.pk]))
    kpi = KPI.objects.get(pk=kept["Location"].split("/")[-2])
    assert (kpi.visibility, kpi.team) == (
        KPI.Visibility.PRIVATE,
        flights.objective.team,
    )
    assert "Operation Nightjar" not in kpi.definition
    assert kpi.owner == world.sam  # who kept it, not the key result's owner (Bob)
    assert bob.get(reverse("kpi", args=[kpi.pk])).status_code == 404


# The rule itself


def test_the_rule_owner_team_members_and_admins_through_one_condition(
    org, alice, sales
):
    """Who sees a private objective and a private KPI of Sales: its owner, Sales'
    members, admins and owners. Not a member of the parent department, a member of
    a sub-team, nor a viewer outside the team; and the same for objectives and KPIs."""
    from landmark.kpis.access import kpis_for_member
    from landmark.okrs.access import objectives_for_member

    people = {
        role: member_of(org, f"{role}@acme.test", kind)
        for role, kind in (
            ("owner_of_it", Membership.Role.MEMBER),
            ("in_team", Membership.Role.VIEWER),
            ("in_parent", Membership.Role.MEMBER),
            ("in_sub_team", Membership.Role.MEMBER),
            ("outsider", Membership.Role.MEMBER),
            ("admin", Membership.Role.ADMIN),
        )
    }
    people["owner"] = alice
    sub = org_actions.create_team(org=org, name="Inside sales", parent=sales)
    org_actions.set_team_members(team=sales, members=[people["in_team"]], leads=[])
    org_actions.set_team_members(team=sub, members=[people["in_sub_team"]], leads=[])
    org_actions.set_team_members(
        team=sales.parent, members=[people["in_parent"]], leads=[]
    )
    name, start, end = current_quarter(timezone.localdate())
    period = okr_actions.create_period(org=org, name=name, start=start, end=end)
    objective = okr_actions.create_objective(
        org=org,
        period=period,
        owner=people["owner_of_it"],
        team=sales,
        title="Private plan",
        visibility=PRIVATE,
    )
    kpi = kpi_actions.create_kpi(
        org=org,
        name="Private gauge",
        owner=people["owner_of_it"],
        team=sales,
        visibility=KPI.Visibility.PRIVATE,
    )
    sees = {}
    for role, user in people.items():
        membership = Membership.objects.get(organization=org, user=user)
        sees[role] = (
            objectives_for_member(membership).filter(pk=objective.pk).exists(),
            kpis_for_member(membership).filter(pk=kpi.pk).exists(),
        )
    assert sees == {
        "owner_of_it": (True, True),
        "in_team": (True, True),
        "in_parent": (False, False),
        "in_sub_team": (False, False),
        "outsider": (False, False),
        "admin": (True, True),
        "owner": (True, True),
    }


def test_old_check_in_notes_naming_a_kpi_are_rewritten(world):
    from importlib import import_module

    from django.apps import apps

    burn = KeyResult.objects.get(title="Keep the burn in check")
    old = okr_actions.record_checkin(
        key_result=burn,
        author=world.bob,
        status="on_track",
        value=D("44"),
        moved="Updated from the KPI “Cobalt Burn Rate”.",
    )
    mine = okr_actions.record_checkin(
        key_result=burn, author=world.bob, status="on_track", value=D("43"), moved="Hi"
    )
    migration = import_module(
        "landmark.okrs.migrations.0006_checkin_note_without_kpi_name"
    )

    migration.forwards(apps, None)

    old.refresh_from_db()
    mine.refresh_from_db()
    assert (old.moved, mine.moved) == (okr_actions.TRACKED_KPI_NOTE, "Hi")
    assert not CheckIn.history.filter(moved__contains="Cobalt").exists()
