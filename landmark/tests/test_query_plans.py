"""No page or API read scans a table that grows with customers' data, and none
runs more queries than pinned (an N+1 shows up as a higher count).

Every GET route of the permission matrix (landmark/permissions.toml: the web pages
and the API's reads) is requested, as the demo's owner and as one of its members, on
a database seeded with the Acme demo workspace (`build_demo`: 23 objectives, 500
check-ins, 23 KPIs with 4,000 data points, their history). Django's
`CaptureQueriesContext` records each request's SQL, and then:

- **Query counts** are pinned per page and viewpoint (`PINNED` below), on SQLite and
  on PostgreSQL. A count that changes fails until the pin is changed on purpose; the
  benchmark (bench/run.py, run by bin/test) shows the same pages keep their counts on
  a workspace ten to a hundred times larger.
- **Plans (SQLite only):** each SELECT is run again under `EXPLAIN QUERY PLAN`. The
  rule, on SQLite's own words:
  - `SEARCH t USING ... INDEX i (col=?)` or `USING INTEGER PRIMARY KEY (rowid=?)`:
    the database jumps to the rows it needs. Always fine.
  - `SCAN t USING INDEX i` / `SCAN t USING COVERING INDEX i`: a walk driven by an
    index (in its order, typically to serve an ORDER BY ... LIMIT or a GROUP BY
    without sorting). Not a full table scan; accepted.
  - `SCAN t` with nothing after it: every row of the table, in storage order.
    **This fails** when t grows with customers' data (objectives, key results,
    check-ins, KPIs, data points, windows, history tables, memberships, teams...:
    every table but those in `SMALL_TABLES`), unless `ALLOWED_SCANS` names the page
    and the table and says in words why that scan is fine.
  - `SCAN <alias>` of a subquery, a CTE or `CONSTANT ROW` is not a table; ignored.
  - `SCAN t VIRTUAL TABLE INDEX n:M...`: an FTS5 full-text index (search) read
    through a MATCH constraint: the rows matching the words, not the table.
  Tables appear in plans under their aliases (`U0`, `T3`); the aliases are read
  from the statement's FROM and JOIN clauses.

The test database has no planner statistics (no ANALYZE), so SQLite plans as if
every table were large: the plan it prints here is the one it would pick for a big
workspace. (On a small analysed database it may rightly prefer scanning a table of
ten rows; the benchmark runs on an analysed large one.)

PostgreSQL: `EXPLAIN QUERY PLAN` is SQLite's; the plan check is skipped there, with
that reason, and the query counts are checked on both.

django-perf-rec was considered: it records every statement's normalised SQL in a
YAML file per test, which catches more than a count but differs between SQLite and
PostgreSQL and changes with every field added to a model; a pinned count plus the
plan rule catch what this guard is for (an N+1, a scan) with less churn.
"""

import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from landmark.api import actions as api_actions
from landmark.comments import actions as comment_actions
from landmark.conftest import login, shared_rows
from landmark.connectors import actions as connector_actions
from landmark.connectors.models import ConnectorRun
from landmark.demo.acme import build_demo
from landmark.hooks import actions as hook_actions
from landmark.hooks.models import WebhookAttempt, WebhookDelivery
from landmark.kpis.models import KPI, DataPoint
from landmark.notify import actions as notify_actions
from landmark.notify import chat_actions
from landmark.notify.channels import unsubscribe_token
from landmark.okrs.models import CheckIn, Initiative, KeyResult, Objective, Period
from landmark.orgs import actions as org_actions
from landmark.orgs.models import Invitation, Membership, Organization, Team, User

MATRIX_FILE = Path(__file__).resolve().parents[1] / "permissions.toml"
MATRIX: dict[str, Any] = tomllib.loads(MATRIX_FILE.read_text(encoding="utf-8"))
ROUTES: dict[str, dict[str, Any]] = MATRIX["routes"]
API: dict[str, dict[str, Any]] = MATRIX["api"]["operations"]
VIEWPOINTS = ["owner", "member"]

# Tables that stay small whatever the customers do: scanning one is fine.
SMALL_TABLES: dict[str, str] = {
    "django_content_type": "One row per model of the code, not per customer.",
    "django_migrations": "One row per migration of the code.",
}

# (case, table) → why a full scan of that table on that page is fine.
ALLOWED_SCANS: dict[tuple[str, str], str] = {}

# The extra views of a route, besides its plain URL: (case id, route, query string).
VARIANTS = [
    ("tree (department)", "tree", "?team={team}"),
    ("kpi_dashboard (department)", "kpi_dashboard", "?team={team}"),
    ("period_close (closed period)", "period_close", "closed"),
    ("search (q)", "search", "?q=sales"),
    ("search (dropdown)", "search", "?q=sa&htmx"),
    # Filtered and paginated: the same queries as the first page, whatever the page.
    (
        "organization_log (filtered, page 2)",
        "organization_log",
        "?team={team}&kind=checkin&page=2",
    ),
    ("objective_activity (page 2)", "objective_activity", "?kind=checkin&page=2"),
]
# Query strings an API read needs to answer at all ({pk}: the route's object).
API_QUERIES = {"GET /api/v1/search": "?q=sales", "GET /api/v1/coach": "?period={pk}"}

# The API token costs two queries on both databases: look it up, count the call
# (landmark/api/auth.py).
TOKEN = 2

# Queries per request, as the owner and as a member (None: the member may not open it).
# A page with the menu counts one query for its My focus badge.
PINNED: dict[str, tuple[int | None, int | None]] = {
    "api_tokens": (5, 5),
    "connector_settings": (7, None),
    # The owner: one for the getting-started checklist (okrs/onboarding.py); both:
    # one for the KPIs I own or watch.
    "focus": (9, 8),
    "getting_started": (5, 4),  # the owner: one for the checklist
    "initiative_create": (8, 8),
    "initiative_edit": (8, 8),
    "invitation_accept": (6, 6),
    "key_result_create": (8, 8),
    "key_result_edit": (9, 9),
    # One for its connector's state; two for its comments and their history lines,
    # one for the people its comments mention (none when nobody is mentioned).
    # Four for its Coach box (loop/coach.py): the current period, its target's
    # versions in the period, the KPI if a rule names it (no OKR working on it, in
    # the same query), its team's key KPIs (asked even when it is not key, so the
    # count does not depend on the data).
    "kpi": (21, 21),
    "kpi_chart_data": (6, 6),
    "kpi_create": (6, 6),
    # The KPI picker (htmx): the chosen KPIs (none here) and one page of matches.
    "kpi_picker": (4, 4),
    "kpi_dashboard": (13, 13),  # with the "needs attention" strip
    "kpi_dashboard (department)": (17, 17),
    "kpi_edit": (7, 7),
    "kpi_import": (5, 5),
    # Connectors as code: the KPIs, their targets and connectors (three queries).
    "kpi_definitions_export": (6, None),
    "kpi_definitions_import": (4, None),
    "kpi_targets": (6, 6),
    "member_edit": (5, None),
    "member_invite": (5, None),
    "members": (8, 6),  # with the page count
    "no_organization": (3, 3),  # redirects: the caller has an organization
    # Its latest activity: each history source read twice (its newest versions, then
    # their objects' earlier ones); a member also checks the alignments they may see.
    # Four for its comments: the thread, the key results to comment on, the history,
    # the people the comments mention (none when nobody is mentioned).
    # Four for its Coach box (loop/coach.py, the same reads as the coach page): the
    # objective, its key results, earlier objectives of its title, its team's count
    # (a fifth, its KPIs, when it has no parent objective).
    "objective": (30, 31),
    "objective_as_of": (14, 14),
    "objective_activity": (12, 13),
    "objective_activity (page 2)": (8, 8),
    "objective_create": (10, 10),
    "objective_edit": (15, 15),  # the KPI picker: the linked KPIs, a page of others
    "organization_api_tokens": (5, None),
    "organization_log": (24, None),  # with the organization's settings (two queries)
    # With a team chosen, the team filter reads it and its parents (twice: the
    # choices and the check of the choice) to drill down as the OKR tree's does.
    "organization_log (filtered, page 2)": (11, None),
    "period_close": (9, 7),
    "period_close (closed period)": (7, 7),
    "period_create": (5, None),
    "period_edit": (6, None),
    "period_import_checkins": (5, None),
    "periods": (5, 5),
    "sso_settings": (5, None),
    "search": (4, 4),
    # Six kinds, one query each (landmark/search/read.py), with the page's own.
    "search (q)": (10, 10),
    "search (dropdown)": (9, 9),  # a fragment: no menu, no My focus badge
    "strategy_map": (14, 14),
    # The coach (loop/coach.py): the periods; four reads of the OKRs (objectives, key
    # results, alignment, earlier titles), three of the KPIs (their target versions,
    # the teams' key KPIs, the first KPIs each rule names with how many it names).
    "coach": (13, 13),
    "team_create": (7, None),
    "team_edit": (9, None),
    "teams": (7, 7),  # with the page count
    "notifications": (7, 7),  # with the page count and the unread count
    "notifications_bell": (4, 4),
    "notification_settings": (6, 6),  # with the chat rooms (a Chat column or not)
    "webhooks": (5, None),
    "webhook_detail": (8, None),  # with the delivery log and its attempts
    "chat_rooms": (6, None),
    "chat_room": (6, None),
    "unsubscribe": (6, 6),
    "organization_settings": (6, 5),  # admins: with the latest changes
    "reminder_settings": (8, None),  # with the delivery problems and team schedules
    "team_reminders": (7, None),
    "kpi_watch": (5, 5),  # the KPI page's Watch toggle (htmx)
    "tree": (12, 12),
    # Six for the team's Coach box (loop/coach.team_findings): its objectives, their
    # key results, earlier objectives of their titles; its KPIs' target versions, the
    # KPIs a rule names, its key KPIs (a seventh, their KPIs, when one of its
    # objectives has no parent).
    "tree (department)": (21, 21),
    "comment_edit": (None, 7),  # only its author edits it
    # A key result's thread: the key result, its objective (and parent), the comments,
    # the people they mention.
    "key_result_comments": (9, 9),
    # A comment, through its item's access check (the objective and its parent).
    "GET /api/v1/comments/{pk}": (TOKEN + 3, TOKEN + 3),
    "GET /api/v1/objectives/{pk}/comments": (TOKEN + 3, TOKEN + 3),
    "GET /api/v1/key-results/{pk}/comments": (TOKEN + 4, TOKEN + 4),
    "GET /api/v1/kpis/{pk}/comments": (TOKEN + 2, TOKEN + 2),
    "GET /api/v1/kpis/{pk}/watch": (TOKEN + 2, TOKEN + 2),
    "GET /api/v1/check-ins": (TOKEN + 1, TOKEN + 1),
    "GET /api/v1/initiatives": (TOKEN + 1, TOKEN + 1),
    "GET /api/v1/initiatives/{pk}": (TOKEN + 3, TOKEN + 3),
    "GET /api/v1/key-results": (TOKEN + 2, TOKEN + 2),
    "GET /api/v1/key-results/{pk}": (TOKEN + 3, TOKEN + 3),
    # KPIs' numbers: their windows and their targets per window (two queries).
    "GET /api/v1/kpis": (TOKEN + 3, TOKEN + 3),
    "GET /api/v1/kpis/{pk}": (TOKEN + 4, TOKEN + 4),
    "GET /api/v1/kpis/{pk}/connector": (TOKEN + 2, None),
    "GET /api/v1/kpis/definitions": (TOKEN + 3, None),
    "GET /api/v1/kpis/{pk}/connector/runs": (TOKEN + 3, None),
    "GET /api/v1/kpis/{pk}/okrs": (TOKEN + 2, TOKEN + 2),
    "GET /api/v1/kpis/{pk}/points": (TOKEN + 2, TOKEN + 2),
    "GET /api/v1/kpis/{pk}/targets": (TOKEN + 2, TOKEN + 2),
    "GET /api/v1/kudos": (TOKEN + 1, TOKEN + 1),
    "GET /api/v1/members": (TOKEN + 1, TOKEN + 1),
    "GET /api/v1/members/{pk}": (TOKEN + 1, TOKEN + 1),
    # Objectives' numbers: their key results, and the alignments of the periods of
    # those that count their aligned objectives (the demo's company objectives do).
    "GET /api/v1/objectives": (TOKEN + 6, TOKEN + 6),
    "GET /api/v1/objectives/{pk}": (TOKEN + 6, TOKEN + 6),
    "GET /api/v1/organization": (TOKEN + 0, TOKEN + 0),
    "GET /api/v1/periods": (TOKEN + 1, TOKEN + 1),
    "GET /api/v1/periods/{pk}": (TOKEN + 1, TOKEN + 1),
    "GET /api/v1/points/{pk}": (TOKEN + 2, TOKEN + 2),
    "GET /api/v1/teams": (TOKEN + 2, TOKEN + 2),
    "GET /api/v1/search": (TOKEN + 6, TOKEN + 6),
    # The coach page's reads (loop/coach.period_report) less the page's own: the
    # period, four of the OKRs, three of the KPIs.
    "GET /api/v1/coach": (TOKEN + 8, TOKEN + 8),
    "GET /api/v1/webhooks": (TOKEN + 1, None),
    "GET /api/v1/webhooks/{pk}": (TOKEN + 1, None),
    "GET /api/v1/webhooks/{pk}/deliveries": (TOKEN + 3, None),
    "GET /api/v1/teams/{pk}": (TOKEN + 3, TOKEN + 3),
}


@dataclass
class Workspace:
    org: Organization
    users: dict[str, User]
    objects: dict[str, Any]
    tokens: dict[str, str]


def seed() -> Workspace:
    """The Acme demo, plus what the matrix's routes point at and the demo lacks."""
    org = build_demo()
    owner = Membership.objects.get(organization=org, role=Membership.Role.OWNER)
    member = (
        Membership.objects.filter(organization=org, role=Membership.Role.MEMBER)
        .order_by("pk")
        .first()
    )
    assert member is not None
    period = Period.objects.get(
        organization=org, kind=Period.Kind.QUARTER, state=Period.State.ACTIVE
    )
    closed = Period.objects.filter(
        organization=org, kind=Period.Kind.QUARTER, state=Period.State.CLOSED
    ).first()
    # The objective with the most linked KPIs and key results: the fullest page.
    objective = max(
        Objective.objects.filter(organization=org, period=period),
        key=lambda o: (o.kpi_links.count(), o.key_results.count(), -o.pk),
    )
    key_result = KeyResult.objects.filter(objective=objective).order_by("pk").first()
    kpi = max(
        KPI.objects.filter(organization=org), key=lambda k: (k.points.count(), -k.pk)
    )
    tokens: list[str] = []

    def keep(token: str) -> str:
        tokens.append(token)
        return f"https://landmark.test/invitations/{token}/"

    org_actions.invite_member(
        org=org,
        email="newbie@acme.test",
        role=Membership.Role.MEMBER,
        teams=[],
        invited_by=owner.user,
        build_link=keep,
    )
    objects: dict[str, Any] = {
        "none": None,
        "objective": objective,
        "key_result": key_result,
        "initiative": Initiative.objects.filter(organization=org)
        .order_by("pk")
        .first(),
        "period": period,
        "closed": closed,
        "team": Team.objects.get(organization=org, name="Sales"),
        "membership": member,
        "invitation": Invitation.objects.get(organization=org),
        "invitation_token": tokens[0],
        "kpi": kpi,
        "point": DataPoint.objects.filter(kpi=kpi).order_by("pk").first(),
    }
    assert all(v is not None for k, v in objects.items() if k != "none"), objects
    # The KPI has a connector with a run in its history (its source is unreachable:
    # the run recorded the error).
    connector = connector_actions.save_connector(
        kpi=kpi,
        membership=owner,
        data=connector_actions.ConnectorInput(
            kind="csv_url",
            settings={"time_column": "week", "value_column": "signups"},
            secrets={"url": "https://sheets.example.test/signups.csv"},
        ),
    )
    ConnectorRun.objects.create(
        organization=org,
        connector=connector,
        trigger=ConnectorRun.Trigger.SCHEDULE,
        key="plans-run",
        started_at=timezone.now(),
        finished_at=timezone.now(),
        error="sheets.example.test does not resolve.",
    )
    # A check-in reminder for each viewpoint: the notification pages list one.
    notify_actions.notify(
        org=org,
        notes=[
            notify_actions.Note(
                recipient_id=m.user_id,
                kind="checkin_reminder",
                dedupe_key=f"plans:{m.pk}",
                title="2 key results wait for your check-in",
                url=reverse("focus"),
                items=[
                    {"title": kr.title, "url": f"/objectives/{kr.objective_id}/"}
                    for kr in KeyResult.objects.filter(objective=objective)[:2]
                ],
            )
            for m in (owner, member)
        ],
    )
    objects["unsubscribe_token"] = unsubscribe_token(
        user_id=member.user_id, organization_id=org.pk, kind="checkin_reminder"
    )
    # A webhook with a delivery log (three deliveries, two attempts each) and a chat
    # room: the webhook and chat pages list them.
    webhook, _ = hook_actions.create_webhook(
        org=org,
        url="http://127.0.0.1:9/plans",
        events=["objective.created", "checkin.recorded"],
        created_by=owner.user,
    )
    for n in range(3):
        delivery = WebhookDelivery.objects.create(
            organization=org,
            webhook=webhook,
            event_id=f"plans-{n}",
            event="checkin.recorded",
            payload={"n": n},
            give_up_at=timezone.now(),
        )
        for code in (500, 200):
            WebhookAttempt.objects.create(
                organization=org, delivery=delivery, status_code=code, duration_ms=12
            )
    objects["webhook"] = webhook
    objects["webhook_delivery"] = delivery
    objects["chat_room"] = chat_actions.save_room(
        org=org,
        room=None,
        name="Plans",
        service="json",
        url="http://127.0.0.1:9/chat",
        kinds=["checkin_reminder"],
    )
    # Threads on the objective, its key result and the KPI, with an edit and a
    # deletion in their history; the member's first comment is the one to edit.
    comments = [
        comment_actions.post_comment(
            target=target, author=m.user, body=f"Comment {n} @{owner.user.email}"
        )
        for n, (target, m) in enumerate(
            [
                (comment_actions.Target(objective=objective), member),
                (comment_actions.Target(objective=objective), owner),
                (
                    comment_actions.Target(objective=objective, key_result=key_result),
                    member,
                ),
                (comment_actions.Target(kpi=kpi), member),
                (comment_actions.Target(kpi=kpi), owner),
                (comment_actions.Target(kpi=kpi), owner),
                (comment_actions.Target(objective=objective), owner),
            ]
        )
    ]
    comment_actions.edit_comment(comment=comments[0], editor=member.user, body="Edited")
    comment_actions.delete_comment(comment=comments[5], actor=owner.user)
    comment_actions.delete_comment(comment=comments[6], actor=owner.user)
    objects["comment"] = comments[0]
    api_tokens = {
        name: api_actions.create_token(membership=m, name="plans")[1]
        for name, m in (("owner", owner), ("member", member))
    }
    return Workspace(
        org=org,
        users={"owner": owner.user, "member": member.user},
        objects=objects,
        tokens=api_tokens,
    )


@pytest.fixture(scope="module")
def workspace(django_db_setup, django_db_blocker) -> Iterator[Workspace]:
    """Built once per module (and test process), rolled back at the end; each test
    runs inside it in its own savepoint (pytest-django's `db`): shared_rows."""
    yield from shared_rows(django_db_blocker, seed)


@dataclass(frozen=True)
class Case:
    id: str
    route: str  # a route name, or "METHOD /api/v1/..." for the API
    variant: str = ""

    @property
    def headers(self) -> dict[str, str]:
        """An htmx request (a variant ending in "&htmx") asks for the fragment."""
        return {"HX-Request": "true"} if self.variant.endswith("&htmx") else {}

    @property
    def is_api(self) -> bool:
        return self.route.startswith("GET ")

    def outcome(self, viewpoint: str) -> str:
        row = API[self.route] if self.is_api else ROUTES[self.route]["GET"]
        return str(row[viewpoint])

    def object_kind(self) -> str:
        if self.variant == "closed":
            return "closed"
        return str((API if self.is_api else ROUTES)[self.route]["object"])

    def url(self, workspace: Workspace) -> str:
        obj = workspace.objects[self.object_kind()]
        if self.is_api:
            path = self.route.split(" ", 1)[1]
            path = path.replace("{pk}", str(obj.pk)) if obj is not None else path
            query = API_QUERIES.get(self.route, "")
            return path + query.replace("{pk}", str(obj.pk) if obj else "")
        if obj is None:
            url = reverse(self.route)
        else:
            url = reverse(self.route, args=[obj if isinstance(obj, str) else obj.pk])
        if self.variant.startswith("?"):
            url += self.variant.format(team=workspace.objects["team"].pk)
            url = url.removesuffix("&htmx")
        return url


CASES = [
    *(Case(name, name) for name, route in ROUTES.items() if "GET" in route["methods"]),
    *(Case(case_id, route, variant) for case_id, route, variant in VARIANTS),
    *(Case(op, op) for op in API if op.startswith("GET ")),
]


def browser(workspace: Workspace, case: Case, viewpoint: str) -> Client:
    if case.is_api:
        token = workspace.tokens[viewpoint]
        return Client(headers={"Authorization": f"Bearer {token}"})
    return login(workspace.users[viewpoint])


# Plans


ALIAS = re.compile(r'(?:FROM|JOIN)\s+"(\w+)"(?:\s+([A-Z]\d+)\b)?')
SCAN = re.compile(r"^SCAN (\S+)(.*)$")
# FTS5 names its plan by letters after the colon: M for a MATCH constraint.
FTS5_MATCH = re.compile(r"^ VIRTUAL TABLE INDEX \d+:\S*M")


def tables_of(sql: str) -> dict[str, str]:
    """Name as a plan shows it (the alias, if any) → table (CTEs left out)."""
    tables = set(connection.introspection.table_names())
    names: dict[str, str] = {}
    for table, alias in ALIAS.findall(sql):
        if table in tables:
            names[alias or table] = table
    return names


def full_scans(sql: str) -> list[str]:
    """The growing tables this statement reads in full, with the plan line."""
    names = tables_of(sql)
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {sql}")
        plan = [row[3] for row in cursor.fetchall()]
    found = []
    for line in plan:
        match = SCAN.match(line)
        if match is None:
            continue
        name, rest = match.groups()
        table = names.get(name)
        if table is None or table in SMALL_TABLES:
            continue  # a subquery, a CTE, a constant row, or a small table
        if rest.startswith(" USING "):
            continue  # driven by an index
        if FTS5_MATCH.match(rest):
            continue  # a full-text index (search's FTS5 tables) read by MATCH
        found.append(table)
    return found


def is_select(sql: str) -> bool:
    return sql.lstrip().upper().startswith(("SELECT", "WITH"))


@pytest.mark.parametrize("viewpoint", VIEWPOINTS)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_a_page_reads_no_growing_table_in_full_and_keeps_its_query_count(
    db, workspace, case, viewpoint
):
    if case.outcome(viewpoint) != "ok":
        assert PINNED[case.id][VIEWPOINTS.index(viewpoint)] is None, case.id
        return
    client = browser(workspace, case, viewpoint)
    url = case.url(workspace)

    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, headers=case.headers)

    # "ok" in the matrix: an answer, or a redirect that is not to the login page.
    assert response.status_code < 400, f"GET {url}: {response.status_code}"
    assert not response.get("Location", "").startswith(reverse("login")), url
    statements = [q["sql"] for q in queries.captured_queries]
    pinned = PINNED[case.id][VIEWPOINTS.index(viewpoint)]
    assert len(statements) == pinned, (
        f"GET {url} as {viewpoint}: {len(statements)} queries, pinned {pinned}:\n"
        + "\n".join(s[:200] for s in statements)
    )
    if connection.vendor != "sqlite":
        return  # plans are SQLite's: see test_plans_are_read_on_sqlite_only
    scans = {
        (table, sql)
        for sql in statements
        if is_select(sql)
        for table in full_scans(sql)
        if (case.id, table) not in ALLOWED_SCANS
    }
    assert not scans, f"GET {url} as {viewpoint} scans whole tables:\n" + "\n".join(
        f"- {table}: {sql}" for table, sql in sorted(scans)
    )


def test_the_guard_covers_every_read_of_the_matrix():
    """A GET route or API read added to the matrix gets a pin here, or this fails."""
    assert sorted(PINNED) == sorted(c.id for c in CASES)
    for table, reason in SMALL_TABLES.items():
        assert reason.strip(), table
    for key, reason in ALLOWED_SCANS.items():
        assert key[0] in PINNED and reason.strip(), key


def test_the_plan_rule_tells_a_full_scan_from_an_indexed_read(db):
    """The rule itself, on statements whose plans are known."""
    if connection.vendor != "sqlite":
        pytest.skip("EXPLAIN QUERY PLAN is SQLite's")

    def scans(queryset: Any) -> list[str]:
        with CaptureQueriesContext(connection) as queries:
            list(queryset)
        return full_scans(queries.captured_queries[0]["sql"])

    objectives = Objective._meta.db_table
    # No index on the title: every objective of every organization is read.
    assert scans(Objective.objects.filter(title="x")) == [objectives]
    # The same in a subquery, where the plan names the table by its alias (U0).
    in_subquery = Objective.objects.filter(title="x").values("pk")
    assert scans(Objective.objects.filter(pk__in=in_subquery)) == [objectives]
    # Indexed: by primary key, by organization, or walking an index in its order.
    assert scans(Objective.objects.filter(pk=1)) == []
    assert scans(Objective.objects.filter(organization_id=1)) == []
    assert scans(CheckIn.objects.order_by("-created_at")[:5]) == []
    # A table that does not grow with customers' data.
    assert scans(ContentType.objects.all()) == []
