"""The permission matrix (landmark/permissions.toml), one test per cell.

Each cell sends one request as one persona to one route of Acme (the primary
organization) and checks the outcome the matrix states. A refused POST must leave
Acme's data exactly as it was; an allowed POST from Acme must really write (so the
payloads stay valid), and an allowed POST from another organization must not touch
Acme. A meta-test fails when a route exists that the matrix does not list.
"""

import json
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, models
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from django.urls.exceptions import Resolver404
from django.utils import timezone

from landmark.api import actions as api_actions
from landmark.api.models import APIToken
from landmark.comments import actions as comment_actions
from landmark.comments.models import Comment, CommentEvent
from landmark.conftest import (
    PASSWORD,
    join,
    login,
    make_alice,
    make_bob,
    make_charlie,
    make_key_results,
    make_objective,
    make_org,
    make_other_org,
    make_period,
    make_sales,
    make_viewer,
    shared_rows,
)
from landmark.connectors import actions as connector_actions
from landmark.connectors.models import Connector, ConnectorRun
from landmark.hooks import actions as hook_actions
from landmark.hooks.models import Webhook, WebhookAttempt, WebhookDelivery
from landmark.kpis import actions as kpi_actions
from landmark.kpis.models import KPI, DataPoint, KPITarget, KPIWindow
from landmark.notify import actions as notify_actions
from landmark.notify import chat_actions
from landmark.notify.channels import unsubscribe_token
from landmark.notify.models import (
    ChatPost,
    ChatRoom,
    Delivery,
    KPIAlertState,
    KPIWatch,
    Notification,
    Preference,
    ReminderRun,
    ReminderSettings,
    ReminderStreak,
    TeamCadence,
)
from landmark.okrs import actions as okr_actions
from landmark.okrs.models import (
    CheckIn,
    Initiative,
    KeyResult,
    Kudos,
    Objective,
    ObjectiveKPI,
    Period,
)
from landmark.orgs import actions as org_actions
from landmark.orgs.middleware import SSO_SCOPE_KEY
from landmark.orgs.models import (
    Invitation,
    InvitationTeam,
    Membership,
    Organization,
    OrganizationSSO,
    SSODomain,
    Team,
    TeamMember,
    User,
)
from landmark.tests.fakes import dns_settings, running_dns, running_idp

MATRIX_FILE = Path(__file__).resolve().parents[1] / "permissions.toml"
MATRIX: dict[str, Any] = tomllib.loads(MATRIX_FILE.read_text(encoding="utf-8"))
ROUTES: dict[str, dict[str, Any]] = MATRIX["routes"]
VIEWPOINTS: list[str] = MATRIX["viewpoints"]
METHODS = ["GET", "POST"]
CELLS = [
    pytest.param(name, method, viewpoint, id=f"{name}-{method}-{viewpoint}")
    for name in ROUTES
    for method in METHODS
    for viewpoint in VIEWPOINTS
]
TENANT_MODELS: list[type[models.Model]] = [
    Objective,
    KeyResult,
    CheckIn,
    Initiative,
    Kudos,
    Period,
    Team,
    TeamMember,
    Membership,
    KPI,
    KPITarget,
    DataPoint,
    KPIWindow,
    ObjectiveKPI,
    Invitation,
    InvitationTeam,
    OrganizationSSO,
    SSODomain,
    APIToken,
    Notification,
    Delivery,
    Preference,
    ReminderSettings,
    TeamCadence,
    ReminderRun,
    ReminderStreak,
    Webhook,
    WebhookDelivery,
    WebhookAttempt,
    ChatRoom,
    ChatPost,
    Connector,
    ConnectorRun,
    KPIWatch,
    KPIAlertState,
    Comment,
    CommentEvent,
]
# Allowed POSTs that change a session, not organization data.
WRITES_NOTHING = {"switch_org", "no_organization"}
# Viewpoints that are not (or, in this session, not acting as) members of Acme: what
# they may do, they do in their own organization, never in Acme.
OUTSIDERS = {"other_member", "other_admin", "invitee", "sso_scoped"}


def snapshot(org: Organization) -> dict[str, list[dict[str, Any]]]:
    """The organization's own row and every row of its tenant tables, column by
    column as the database holds them: equal means nothing changed.

    Read with one plain SELECT a table (tables and columns named by each model's
    _meta): the matrix takes two snapshots for each POST cell, the API matrix for
    each write, and the ORM's compiling of 39 querysets was two thirds of their time.
    """
    quote = connection.ops.quote_name
    rows: dict[str, list[dict[str, Any]]] = {}
    with connection.cursor() as cursor:
        tables: list[type[models.Model]] = [Organization, *TENANT_MODELS]
        for model in tables:
            meta = model._meta
            # Names from the models, quoted.
            column = {f.name: quote(f.column) for f in meta.concrete_fields}
            by = column["id" if model is Organization else "organization"]
            cursor.execute(
                f"SELECT * FROM {quote(meta.db_table)} WHERE {by} = %s "  # noqa: S608
                f"ORDER BY {column[meta.pk.name]}",
                [org.pk],
            )
            names = [described[0] for described in cursor.description]
            rows[model.__name__] = [
                dict(zip(names, row, strict=True)) for row in cursor
            ]
    return rows


def outcome_of(response: Any) -> str:
    status = response.status_code
    if status in {301, 302, 303, 307, 308}:
        login = reverse("login")
        return "login" if response["Location"].startswith(login) else "ok"
    if 200 <= status < 300:
        return "ok"
    return str(status)


# Acme, the personas and the objects: made once per module (and xdist worker), shared
# by its tests (conftest.shared_rows); each test reads them again from the database.


def member_of(org: Organization, email: str, role: str) -> User:
    return org_actions.create_member(
        org=org, email=email, role=role, full_name=email, password=PASSWORD
    ).user


# The fixture of each viewpoint's persona (anonymous has none; sso_scoped below).
PERSONAS = {
    "viewer": "viewer",
    "member": "bob",
    "team_lead": "team_lead",
    "admin": "admin",
    "owner": "alice",
    "other_member": "other_member",
    "other_admin": "other_admin",
    "invitee": "invitee",
}


@dataclass
class Acme:
    """The shared rows: each under its fixture's name, as its model and pk; and what
    is no row: the tokens of the pending invitation's link and of Bob's unsubscribe
    link, each viewpoint's logged-in browser as its cookies (its session is a shared
    row too) and, for the API's matrix, its bearer token."""

    rows: dict[str, tuple[type[models.Model], int]] = field(default_factory=dict)
    invitation_link: str = ""
    cookies: dict[str, dict[str, str]] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)  # API bearer tokens
    unsubscribe_token: str = ""

    def keep(self, name: str, obj: Any) -> Any:
        self.rows[name] = (type(obj), obj.pk)
        return obj

    def read(self, name: str) -> Any:
        model, pk = self.rows[name]
        return model._default_manager.get(pk=pk)

    def keep_browser(self, viewpoint: str, client: Client) -> None:
        self.cookies[viewpoint] = {
            name: morsel.value for name, morsel in client.cookies.items()
        }

    def browser(self, viewpoint: str) -> Client:
        """A new browser holding the viewpoint's session (anonymous: none)."""
        client = Client()
        for name, value in self.cookies.get(viewpoint, {}).items():
            client.cookies[name] = value
        return client


def build_acme() -> Acme:
    """Every persona of VIEWPOINTS and every object a route of the matrix acts on."""
    acme = Acme()
    keep = acme.keep
    alice = keep("alice", make_alice())
    org = keep("org", make_org(alice))
    bob = keep("bob", make_bob(org))
    keep("viewer", make_viewer(org))
    sales = keep("sales", make_sales(org))
    period = keep("period", make_period(org))
    objective = keep("objective", make_objective(org, period, bob, sales))
    key_results = make_key_results(objective)
    keep("key_result", key_results[0])

    # Tina leads Sales, the objective's team.
    team_lead = keep(
        "team_lead", member_of(org, "tina@acme.test", Membership.Role.MEMBER)
    )
    TeamMember.objects.create(
        organization=org, team=sales, user=team_lead, is_lead=True
    )
    # Adam, an admin of Acme.
    keep("admin", member_of(org, "adam@acme.test", Membership.Role.ADMIN))
    # Monthly deals won, at least 100: unhealthy once its value (50) is in.
    kpi = keep(
        "kpi",
        kpi_actions.create_kpi(
            org=org,
            name="Deals won",
            owner=alice,
            team=sales,
            frequency=KPI.Frequency.MONTHLY,
            target_kind=KPI.TargetKind.AT_LEAST,
            target_low=Decimal("100"),
        ),
    )
    keep(
        "point",
        kpi_actions.record_data_point(
            kpi=kpi,
            value=Decimal("50"),
            time=timezone.now() - timedelta(minutes=5),
            author=alice,
        ),
    )
    # Mo, the member whose membership the member routes change.
    mo = member_of(org, "mo@acme.test", Membership.Role.MEMBER)
    keep("someone", Membership.objects.get(organization=org, user=mo))
    # A pending invitation for newbie@acme.test (no account yet), and its link's token.
    tokens: list[str] = []

    def link(token: str) -> str:
        tokens.append(token)
        return f"https://landmark.test/invitations/{token}/"

    org_actions.invite_member(
        org=org,
        email="newbie@acme.test",
        role=Membership.Role.MEMBER,
        teams=[],
        invited_by=alice,
        build_link=link,
    )
    acme.invitation_link = tokens[0]
    keep(
        "invitation", Invitation.objects.get(organization=org, email="newbie@acme.test")
    )
    keep(
        "initiative",
        okr_actions.create_initiative(
            key_result=key_results[0], title="Call every lead within a day"
        ),
    )
    # Bob's comment on the objective: what the comment routes act on.
    keep(
        "comment",
        comment_actions.post_comment(
            target=comment_actions.Target(objective=objective),
            author=bob,
            body="Kick-off on Monday",
        ),
    )
    # API tokens: Alice's (the owner's), and Bob's (a member's: what owners may revoke).
    for name, user, label in [
        ("alice_api_token", alice, "Exports"),
        ("bob_api_token", bob, "Bob's sync"),
    ]:
        membership = Membership.objects.get(organization=org, user=user)
        keep(name, api_actions.create_token(membership=membership, name=label)[0])
    # An unread check-in reminder of Bob (the member) in Acme, and the token of his
    # link that stops check-in reminders by email there.
    [pk] = notify_actions.notify(
        org=org,
        notes=[
            notify_actions.Note(
                recipient_id=bob.pk,
                kind="checkin_reminder",
                dedupe_key="matrix-reminder",
                title="1 key result waits for your check-in",
            )
        ],
    )
    keep("bobs_notification", Notification.objects.get(pk=pk))
    acme.unsubscribe_token = unsubscribe_token(
        user_id=bob.pk, organization_id=org.pk, kind="checkin_reminder"
    )
    # A webhook of Acme (to a loopback port nothing listens on) and one delivery that
    # failed: what the webhook routes act on.
    webhook, _ = hook_actions.create_webhook(
        org=org,
        url="http://127.0.0.1:9/hook",
        events=["period.closed"],
        created_by=alice,
    )
    keep("webhook", webhook)
    keep(
        "chat_room",
        chat_actions.save_room(
            org=org,
            room=None,
            name="Sales room",
            service="json",
            url="http://127.0.0.1:9/chat",
            kinds=["checkin_reminder"],
        ),
    )
    keep(
        "webhook_delivery",
        WebhookDelivery.objects.create(
            organization=org,
            webhook=webhook,
            event_id="matrix-event",
            event="period.closed",
            payload={"event": "period.closed"},
            status=WebhookDelivery.Status.FAILED,
            attempts=3,
            give_up_at=timezone.now(),
        ),
    )

    # Other Co, its member and its admin.
    other_org = keep("other_org", make_other_org(make_charlie()))
    keep(
        "other_member",
        member_of(other_org, "other_member@other.test", Membership.Role.MEMBER),
    )
    keep("other_admin", member_of(other_org, "other_admin@other.test", "admin"))
    # Ivy: a member of Other Co whom Acme invited as an admin; she has not accepted.
    ivy = keep(
        "invitee", member_of(other_org, "ivy@other.test", Membership.Role.MEMBER)
    )
    org_actions.invite_member(
        org=org,
        email=ivy.email,
        role=Membership.Role.ADMIN,
        teams=[],
        invited_by=alice,
        build_link=lambda token: f"https://landmark.test/invitations/{token}/",
    )
    # Sam: an admin of Acme whose account Other Co's SSO made (he is a member there),
    # in a browser that logged in through Other Co's single sign-on.
    from landmark.tests.test_accounts_sso import set_up_sso, sign_in

    with (
        running_idp() as idp,
        running_dns() as dns_server,
        override_settings(**dns_settings(dns_server)),
    ):
        set_up_sso(other_org, idp, dns_server, ["other.test"])
        client = Client()
        done = sign_in(client, idp, "sam@other.test", sub="sam-at-other")
    assert done["Location"] == reverse("focus"), done
    sam = keep("sso_scoped", User.objects.get(email="sam@other.test"))
    join(org, sam, Membership.Role.ADMIN)
    assert client.session[SSO_SCOPE_KEY] == other_org.pk
    acme.keep_browser("sso_scoped", client)
    # Everyone else with a plain session.
    for viewpoint, fixture in PERSONAS.items():
        acme.keep_browser(viewpoint, login(acme.read(fixture)))
    return acme


@pytest.fixture(scope="module")
def acme(django_db_setup, django_db_blocker) -> Iterator[Acme]:
    yield from shared_rows(django_db_blocker, build_acme)


class Rows:
    """One test's shared rows, each read from the database when first asked for (and
    the same object after that, as a fixture would be)."""

    def __init__(self, acme: Acme) -> None:
        self.acme = acme
        self.read: dict[str, Any] = {}

    def __getitem__(self, name: str) -> Any:
        if name not in self.read:
            self.read[name] = self.acme.read(name)
        return self.read[name]


@pytest.fixture(name="rows")
def rows_fixture(acme: Acme, db: None) -> Rows:
    return Rows(acme)


OBJECTS: dict[str, Callable[[Rows], Any]] = {
    "none": lambda rows: None,
    "objective": lambda rows: rows["objective"],
    "key_result": lambda rows: rows["key_result"],
    "initiative": lambda rows: rows["initiative"],
    "period": lambda rows: rows["period"],
    "team": lambda rows: rows["sales"],
    "membership": lambda rows: rows["someone"],
    "invitation": lambda rows: rows["invitation"],
    "invitation_token": lambda rows: rows.acme.invitation_link,
    "kpi": lambda rows: rows["point"].kpi,
    "point": lambda rows: rows["point"],
    "api_token": lambda rows: rows["alice_api_token"],
    "member_api_token": lambda rows: rows["bob_api_token"],
    "notification": lambda rows: rows["bobs_notification"],
    "unsubscribe_token": lambda rows: rows.acme.unsubscribe_token,
    "webhook": lambda rows: rows["webhook"],
    "webhook_delivery": lambda rows: rows["webhook_delivery"],
    "chat_room": lambda rows: rows["chat_room"],
    "comment": lambda rows: rows["comment"],
}


def persona(rows: Rows, viewpoint: str) -> User | None:
    if viewpoint == "anonymous":
        return None
    user: User = rows[PERSONAS.get(viewpoint, viewpoint)]
    return user


def browser_of(rows: Rows, viewpoint: str) -> Client:
    """The viewpoint's logged-in browser (the SSO-scoped one logged in through Other
    Co's single sign-on; everyone else with a plain session; anonymous with none)."""
    return rows.acme.browser(viewpoint)


# A valid body for each route's POST (minimal: only what the form needs)


def kpi_form(kpi: KPI | None, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "Median response time",
        "definition": "",
        "owner": "",
        "team": "",
        "category": "Support",
        "unit": "min",
        "indicator": "lag",
        "frequency": "monthly",
        "aggregation": "last",
        "target_kind": "at_most",
        "target_low": "",
        "target_high": "20",
        "tolerance": "10",
        "visibility": "public",
        "key": "",
    }
    if kpi is not None:
        data.update(
            owner=kpi.owner_id or "",
            team=kpi.team_id or "",
            frequency=kpi.frequency,
            aggregation=kpi.aggregation,
            target_kind=kpi.target_kind,
            target_low=kpi.target_low or "",
            target_high=kpi.target_high or "",
        )
    data.update(changes)
    return data


def objective_form(objective: Objective | None, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "title": "Win the mid-market",
        "description": "",
        "level": Objective.Level.COMPANY,
        "team": "",
        "parent": "",
        "type": Objective.Type.BUILD,
        "commitment": Objective.Commitment.COMMITTED,
        "visibility": Objective.Visibility.PUBLIC,
        "state": Objective.State.ACTIVE,
    }
    if objective is not None:
        data.update(
            period=objective.period_id,
            owner=objective.owner_id,
            level=objective.level,
            team=objective.team_id or "",
        )
    data.update(changes)
    return data


def key_result_form(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "title": "Sign ten customers",
        "kind": KeyResult.Kind.METRIC,
        "owner": "",
        "unit": "customers",
        "start": "0",
        "target": "10",
        "threshold_op": "",
        "threshold_low": "",
        "threshold_high": "",
        "weight": "1",
        "due_date": "",
        "kpi": "",
    }
    data.update(changes)
    return data


def payload(name: str, obj: Any, user: User | None, rows: Rows) -> dict[str, Any]:
    """The POST body for `name` on `obj` (Acme's), as `user` would send it."""
    org: Organization = rows["org"]
    if "POST" not in ROUTES[name]["methods"]:
        return {}  # refused before the body is read
    if name == "objective_create":
        objective = rows["objective"]
        return objective_form(objective, title="Own the mid-market")
    if name == "objective_edit":
        return objective_form(obj, title="Renamed objective")
    if name == "key_result_create":
        return key_result_form()
    if name == "key_result_edit":
        return key_result_form(title="Sign six customers", target="6")
    if name == "key_result_checkin":
        return {"value": "3", "status": KeyResult.Status.ON_TRACK}
    if name in {"initiative_create", "initiative_edit"}:
        return {"title": "Run a webinar", "status": Initiative.Status.IN_PROGRESS}
    if name == "kpi_watch":
        return {"watch": "1"}
    if name in {
        "comment_objective",
        "comment_kpi",
        "comment_edit",
        "key_result_comments",
    }:
        return {"body": "Looks good to me"}
    if name == "comment_delete":
        return {}
    if name == "kudos_create":
        bob: User = rows["bob"]
        recipient = rows["team_lead"] if user == bob else bob
        return {"recipient": recipient.pk, "message": "Thanks for the push"}
    if name == "period_create":
        return {
            "name": "FY 2031",
            "kind": Period.Kind.YEAR,
            "start": "2031-01-01",
            "end": "2031-12-31",
            "state": Period.State.PLANNING,
            "parent": "",
        }
    if name == "period_edit":
        return {
            "name": "Renamed quarter",
            "kind": obj.kind,
            "start": obj.start.isoformat(),
            "end": obj.end.isoformat(),
            "parent": "",
        }
    if name == "period_set_state":
        return {"state": Period.State.PLANNING}  # the period is active
    if name == "period_import_checkins":
        day = max(obj.start, timezone.localdate() - timedelta(days=1))
        csv = f"key_result,time,value\n{rows['key_result'].pk},{day.isoformat()},2\n"
        return {"file": SimpleUploadedFile("history.csv", csv.encode(), "text/csv")}
    if name == "period_close":
        graded = Objective.objects.filter(period=obj).order_by("pk")
        data: dict[str, Any] = {
            "grade-TOTAL_FORMS": str(len(graded)),
            "grade-INITIAL_FORMS": str(len(graded)),
            "retrospective": "",
            "carry_into": "",
            "confirm_early": "on",  # the period covers today
        }
        for i, objective in enumerate(graded):
            data[f"grade-{i}-objective"] = str(objective.pk)
        return data
    root = Team.objects.get(organization=org, kind=Team.Kind.COMPANY)
    if name == "team_create":
        return {"name": "Marketing", "kind": Team.Kind.DEPARTMENT, "parent": root.pk}
    if name == "team_edit":
        return {"name": "Sales and Success", "kind": obj.kind, "parent": root.pk}
    if name == "member_edit":
        return {"role": Membership.Role.VIEWER, "is_active": "on"}
    if name == "member_invite":
        return {"email": "invitee@acme.test", "role": Membership.Role.MEMBER}
    if name == "invitation_accept":
        password = "a-long-enough-passphrase"
        return {
            "full_name": "New Bie",
            "password": password,
            "password_again": password,
        }
    if name in {
        "member_deactivate",
        "member_reactivate",
        "invitation_resend",
        "invitation_revoke",
    }:
        return {}
    if name == "switch_org":
        return {"organization": org.pk}
    if name == "no_organization":
        return {"organization": "Brand New Co"}
    if name == "sso_settings":
        return {
            "server_url": "https://login.example.test/realms/staff",
            "client_id": "landmark",
            "client_secret": "client-secret-value",
            "domains": "staff.example.test",
            "enabled": "on",
        }
    if name == "api_tokens":
        return {"name": "Nightly export", "scope": "read", "expires": "90"}
    if name in {"api_token_revoke", "organization_api_token_revoke", "sso_check"}:
        return {}
    if name in {"notification_read", "notifications_read_all", "unsubscribe"}:
        return {}
    if name == "notification_settings":
        return {"checkin_reminder__email": "on"}  # escalations off by email
    if name == "organization_settings":
        return {
            "name": org.name,
            "time_zone": "Europe/Paris",
            "week_start": "6",
            "on_track_gap": "0.05",
            "off_track_gap": "0.20",
            "checkin_cadence_days": "14",
            "checkin_grace_days": "2",
            "locale": "de_DE",
            "coach_rules_off": ["kr-stale"],
            "coach_min_key_results": "2",
            "coach_max_key_results": "6",
            "coach_max_team_objectives": "5",
            "coach_max_key_kpis": "5",
        }
    if name == "reminder_settings":
        return {
            "enabled": "on",
            "weekday": "1",
            "at_time": "08:30",
            "every_weeks": "2",
            "escalate_after": "3",
            "alert_hold_minutes": "15",
            "digest_enabled": "on",
            "digest_weekday": "0",
            "digest_at_time": "08:00",
        }
    if name in {"webhooks", "webhook_detail"}:
        return {
            "url": "http://127.0.0.1:9/other-hook",
            "events": ["objective.created", "member.joined"],
            "description": "Chat bridge",
            "is_active": "on",
        }
    if name in {"webhook_delete", "webhook_redeliver", "chat_room_delete"}:
        return {}
    if name == "chat_room_test":
        return {}
    if name in {"chat_rooms", "chat_room"}:
        return {
            "name": "Leads room",
            "service": "json",
            "url": "http://127.0.0.1:9/leads",
            "kinds": ["checkin_escalation"],
            "is_active": "on",
        }
    if name == "team_reminders":
        return {"own": "on", "weekday": "3", "at_time": "14:00", "every_weeks": "1"}
    if name == "kpi_create":
        return kpi_form(None)
    if name == "kpi_edit":
        return kpi_form(obj, name="Deals won (signed)")
    if name == "kpi_targets":
        month = timezone.localdate().replace(day=1)
        return {"schedule": f"{month.isoformat()} 120"}
    if name in {"kpi_fix_with_okr", "key_result_keep_as_kpi"}:
        return {}
    if name == "kpi_point_add":
        when = timezone.localtime() - timedelta(minutes=1)
        return {"value": "70", "time": when.strftime("%Y-%m-%dT%H:%M"), "note": ""}
    if name == "kpi_point_correct":
        return {"value": "55", "note": "typo"}
    if name == "kpi_import":
        day = timezone.localdate() - timedelta(days=1)
        return {"content": f"{day.isoformat()},60\n", "confirm": "1"}
    if name in {"connector_settings", "connector_test"}:
        return {
            "kind": "csv_url",
            "url": "https://sheets.example.test/signups.csv",
            "time_column": "week",
            "value_column": "signups",
            "schedule": "daily",
            "at_time": "06:00",
            "weekday": "0",
            "enabled": "on",
        }
    if name in {"connector_run", "objective_activate"}:
        return {}
    if name in {"getting_started_dismiss", "getting_started_examples"}:
        return {}  # Acme is not empty: loading examples answers and adds nothing
    if name == "kpi_definitions_import":
        document = {
            "format": "landmark-kpi-definitions",
            "version": 1,
            "kpis": [{"key": "imported-kpi", "name": "Imported KPI"}],
        }
        return {"content": json.dumps(document), "confirm": "1"}
    raise AssertionError(f"No payload for {name}: add one to payload().")


def prepare(name: str, obj: Any, rows: Rows, request: Any) -> None:
    """State some routes need before an allowed request can succeed."""
    if name == "key_result_keep_as_kpi":
        # Only a reached key result can become a KPI: 0 → 5, now at 5.
        okr_actions.record_checkin(
            key_result=obj,
            author=rows["bob"],
            status=KeyResult.Status.ON_TRACK,
            value=Decimal("5"),
        )
    if name == "objective_activate":
        # Only a draft is activated: the objective starts as one.
        Objective.objects.filter(pk=obj.pk).update(state=Objective.State.DRAFT)
    if name == "member_reactivate":
        org_actions.deactivate_member(membership=obj)
    if name == "getting_started_examples":
        # Examples load only into an organization with no objectives and no KPIs.
        Objective.objects.filter(organization=rows["org"]).delete()
        KPI.objects.filter(organization=rows["org"]).delete()
    if name == "connector_run":
        # Acme's KPI has a connector (its source is unreachable: the run records
        # the error, which is the write an allowed POST makes).
        connector_actions.save_connector(
            kpi=obj,
            membership=Membership.objects.get(
                organization=obj.organization, user=rows["alice"]
            ),
            data=connector_actions.ConnectorInput(
                kind="csv_url",
                settings={"time_column": "week", "value_column": "signups"},
                secrets={"url": "https://sheets.example.test/signups.csv"},
            ),
        )
    if name == "sso_check":
        # Acme claims a domain; the check asks the loopback DNS server (no record).
        request.getfixturevalue("dns_server")
        org_actions.save_sso(
            org=rows["org"],
            server_url="https://login.acme.test",
            client_id="landmark",
            client_secret="client-secret-value",
            domains=["acme.test"],
            enabled=True,
        )


def url_of(name: str, obj: Any) -> str:
    if obj is None:
        return reverse(name)
    return reverse(name, args=[obj if isinstance(obj, str) else obj.pk])


@pytest.mark.parametrize(("name", "method", "viewpoint"), CELLS)
def test_the_route_answers_as_the_matrix_says(rows, request, name, method, viewpoint):
    route = ROUTES[name]
    expected = route[method][viewpoint]
    # Every page has something to show: the shared rows hold a period, the Sales
    # objective and its lead, and every object and persona of the matrix.
    org: Organization = rows["org"]
    obj = OBJECTS[route["object"]](rows)
    prepare(name, obj, rows, request)
    user = persona(rows, viewpoint)
    client = browser_of(rows, viewpoint)
    if method == "POST":
        data = payload(name, obj, user, rows)
        before = snapshot(org)
        response = client.post(url_of(name, obj), data)
    else:
        response = client.get(url_of(name, obj))

    got = outcome_of(response)
    assert got == expected, (
        f"{method} {url_of(name, obj)} as {viewpoint}: expected {expected}, "
        f"got {got} (HTTP {response.status_code})"
    )
    if method != "POST":
        return
    after = snapshot(org)
    writes = viewpoint in route.get("writes_for", VIEWPOINTS)
    if expected != "ok" or viewpoint in OUTSIDERS or not writes:
        assert after == before, f"{viewpoint} changed Acme's data through {name}"
    elif name not in WRITES_NOTHING:
        # An allowed write really writes: the payload is valid, the test is not
        # passing on a form re-rendered with errors.
        assert response.status_code == 302, response.content.decode()[:1500]
        messages = [str(m) for m in get_messages(response.wsgi_request)]
        assert after != before, f"{name} as {viewpoint} saved nothing: {messages}"


# The matrix itself


def named_routes(
    resolver: URLResolver | None = None, prefix: str = "", namespace: str = ""
) -> dict[str, str]:
    """Every route of the project: its (namespaced) name and its path pattern.

    A route without a name is listed under its path, so it cannot hide."""
    resolver = resolver or get_resolver()
    found: dict[str, str] = {}
    for pattern in resolver.url_patterns:
        path = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            inner = (
                f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            )
            found.update(named_routes(pattern, path, inner))
        elif isinstance(pattern, URLPattern):
            found[namespace + (pattern.name or f"<unnamed {path}>")] = path
    return found


def test_every_route_is_in_the_matrix_or_excluded_with_a_reason():
    routes = named_routes()
    namespaces = MATRIX["excluded_namespaces"]
    uncovered = {
        name
        for name in routes
        if name not in ROUTES
        and name not in MATRIX["excluded"]
        and name.partition(":")[0] not in namespaces
    }

    assert not uncovered, (
        f"Routes missing from landmark/permissions.toml: {sorted(uncovered)}. "
        "Add each with its expected outcome for every viewpoint."
    )
    assert any(name.partition(":")[0] in namespaces for name in routes if ":" in name)


def test_the_matrix_lists_only_routes_that_exist_at_their_paths():
    routes = named_routes()
    listed = {**ROUTES, **MATRIX["excluded"]}

    assert sorted(set(listed) - set(routes)) == []
    for name, route in ROUTES.items():
        assert routes[name] == route["path"], name


def test_excluded_paths_are_not_routes():
    for path in MATRIX["excluded_paths"]:
        with pytest.raises(Resolver404):
            resolve(path + "landmark.css")


def test_every_cell_is_filled_with_a_known_outcome():
    for name, route in ROUTES.items():
        assert set(route["methods"]) <= set(METHODS), name
        for method in METHODS:
            assert list(route[method]) == VIEWPOINTS, (name, method)
            assert set(route[method].values()) <= set(MATRIX["outcomes"]), name
            accepted = method in route["methods"]
            refused = set(route[method].values()) == {"405"}
            assert accepted != refused, (name, method)


def test_cross_organization_access_to_an_object_is_always_404():
    for name, route in ROUTES.items():
        if route["object"] == "none" or "public" in route:
            continue
        for method in route["methods"]:
            row = route[method]
            assert row["other_member"] == row["other_admin"] == "404", name


def test_a_pending_invitation_or_another_organizations_sso_opens_nothing_more():
    """An invitation not yet accepted, or an admin's session that Other Co's SSO
    started, reaches Acme exactly as far as a member of another organization."""
    for name, route in ROUTES.items():
        for method in METHODS:
            row = route[method]
            assert row["invitee"] == row["sso_scoped"] == row["other_member"], name


def test_anonymous_is_sent_to_log_in_except_on_public_routes():
    for name, route in ROUTES.items():
        if "public" in route:
            assert route["public"].strip() and route["writes_for"], name
            continue
        for method in route["methods"]:
            assert route[method]["anonymous"] == "login", name


def test_kpi_point_and_initiative_fixtures_belong_to_the_primary_org(rows):
    org, point, initiative = rows["org"], rows["point"], rows["initiative"]
    assert point.organization_id == point.kpi.organization_id == org.pk
    assert initiative.organization_id == org.pk
