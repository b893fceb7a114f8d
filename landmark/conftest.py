"""Shared personas and OKR data for every test, created through the actions.

Acme Test: alice (owner), bob (member), vera (viewer). Other Co: charlie (owner), the
outsider whose requests must never reach Acme's data.
"""

import os
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from landmark.okrs import actions as okr_actions
from landmark.okrs.models import KeyResult, Objective, Period
from landmark.orgs import actions as org_actions
from landmark.orgs.models import Membership, Organization, Team, User
from landmark.tests.fakes import (  # noqa: F401  # shared fixtures
    dns_server,
    idp,
    other_idp,
)

PASSWORD = "correct-horse-battery"  # noqa: S105  # a test persona's, not a secret


def current_quarter(today: date) -> tuple[str, date, date]:
    """The name, first day and last day of the quarter that contains `today`."""
    quarter = (today.month - 1) // 3
    start = date(today.year, 3 * quarter + 1, 1)
    next_start = (
        date(today.year + 1, 1, 1)
        if quarter == 3
        else date(today.year, 3 * quarter + 4, 1)
    )
    return f"Q{quarter + 1} {today.year}", start, next_start - timedelta(days=1)


# Every test runs at one explicit moment, never at the real clock's. The default is an
# ordinary mid-quarter morning; CI runs the suite again at hostile moments (00:30 UTC on
# the last day of a quarter, 29 February) through LANDMARK_TEST_NOW, to prove that no
# test depends on the day or the hour. Time ticks from there, so durations still pass.
DEFAULT_TEST_NOW = "2026-05-13T09:30:00+00:00"


def moment() -> datetime:
    """The moment every test starts at (LANDMARK_TEST_NOW, an ISO 8601 time)."""
    raw = os.environ.get("LANDMARK_TEST_NOW") or DEFAULT_TEST_NOW
    at = datetime.fromisoformat(raw)
    if at.tzinfo is None:
        raise ValueError(f"LANDMARK_TEST_NOW needs a UTC offset: {raw!r}")
    return at.astimezone(UTC)


def pytest_configure(config: pytest.Config) -> None:
    # Session-wide fixtures (test databases, live servers) are made at the same moment.
    time_machine.travel(moment(), tick=True).start()


def pytest_report_header(config: pytest.Config) -> str:
    return f"landmark: tests run at {moment().isoformat()} (LANDMARK_TEST_NOW)"


@pytest.fixture(autouse=True)
def fixed_clock():
    """Each test starts at exactly moment(), whatever ran before it."""
    with time_machine.travel(moment(), tick=True) as traveller:
        yield traveller


def login(user: User) -> Client:
    """A browser that logs in now: the user is re-read, since a stale row (for example
    from before a deactivation ended their sessions) would make an already-ended session."""
    client = Client()
    client.force_login(User.objects.get(pk=user.pk))
    return client


@pytest.fixture(autouse=True, scope="session")
def jobs_run_in_process():
    """In the test process an enqueued job runs at once, in memory (huey's immediate
    mode): tests that let transactions commit see its effect. The worker tests start
    real workers in their own processes, on SQLite and on Redis."""
    from huey.contrib.djhuey import HUEY

    HUEY.immediate = True


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Real password hashing takes most of a second; tests only need it to work."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def open_sign_up(settings):
    """The suite tests public sign-up, so it opens it here rather than inheriting the
    default (closed) or whatever SIGNUP_OPEN the developer's shell has; tests of a
    closed sign-up set it to False themselves."""
    settings.SIGNUP_OPEN = True


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    """allauth keeps its rate limits (sign-ups, logins per IP) in the cache; every
    test starts with none used, as a fresh server would."""
    cache.clear()


# People and organizations


@pytest.fixture
def alice(db) -> User:
    user = User.objects.create_user(
        "alice@acme.test", PASSWORD, full_name="Alice Adams"
    )
    org_actions.mark_email_verified(user=user)  # personas log in without a mail step
    return user


@pytest.fixture
def org(alice) -> Organization:
    return org_actions.create_organization(name="Acme Test", owner=alice)


@pytest.fixture
def bob(org) -> User:
    membership = org_actions.create_member(
        org=org,
        email="bob@acme.test",
        role=Membership.Role.MEMBER,
        full_name="Bob Brown",
        password=PASSWORD,
    )
    org_actions.mark_email_verified(user=membership.user)
    return membership.user


@pytest.fixture
def viewer(org) -> User:
    membership = org_actions.create_member(
        org=org,
        email="vera@acme.test",
        role=Membership.Role.VIEWER,
        full_name="Vera Viewer",
        password=PASSWORD,
    )
    org_actions.mark_email_verified(user=membership.user)
    return membership.user


def join(org: Organization, user: User, role: str) -> Membership:
    """An existing account joins another organization the only way there is: an
    owner invites its address and its owner accepts, logged in as themselves."""
    tokens: list[str] = []

    def keep(token: str) -> str:
        tokens.append(token)
        return f"https://landmark.test/invitations/{token}/"

    owner = Membership.objects.filter(organization=org, role=Membership.Role.OWNER)
    org_actions.invite_member(
        org=org,
        email=user.email,
        role=role,
        teams=[],
        invited_by=owner.select_related("user").first().user,  # type: ignore[union-attr]  # every test org has an owner
        build_link=keep,
    )
    return org_actions.accept_invitation(token=tokens[0], user=user)


@pytest.fixture
def charlie(db) -> User:
    user = User.objects.create_user(
        "charlie@other.test", PASSWORD, full_name="Charlie Chen"
    )
    org_actions.mark_email_verified(user=user)
    return user


@pytest.fixture
def other_org(charlie) -> Organization:
    return org_actions.create_organization(name="Other Co", owner=charlie)


# Logged-in browsers


@pytest.fixture
def alice_client(alice, org) -> Client:
    return login(alice)


@pytest.fixture
def bob_client(bob) -> Client:
    return login(bob)


@pytest.fixture
def viewer_client(viewer) -> Client:
    return login(viewer)


@pytest.fixture
def charlie_client(charlie, other_org) -> Client:
    return login(charlie)


# Teams, periods and OKRs


@pytest.fixture
def sales(org) -> Team:
    """The "Sales" department under Acme's company team."""
    root = Team.objects.get(organization=org, kind=Team.Kind.COMPANY)
    return org_actions.create_team(
        org=org, name="Sales", kind=Team.Kind.DEPARTMENT, parent=root
    )


@pytest.fixture
def period(org) -> Period:
    """Acme's active quarter, covering today."""
    name, start, end = current_quarter(timezone.localdate())
    return okr_actions.create_period(
        org=org, name=name, start=start, end=end, state=Period.State.ACTIVE
    )


@pytest.fixture
def other_period(other_org) -> Period:
    name, start, end = current_quarter(timezone.localdate())
    return okr_actions.create_period(
        org=other_org, name=name, start=start, end=end, state=Period.State.ACTIVE
    )


@pytest.fixture
def objective(org, period, bob, sales) -> Objective:
    return okr_actions.create_objective(
        org=org,
        period=period,
        owner=bob,
        title="Become the obvious choice for mid-market buyers",
        level=Objective.Level.TEAM,
        team=sales,
    )


@pytest.fixture
def key_results(objective) -> list[KeyResult]:
    """A metric (0 → 5), a threshold (at least 95 %) and a milestone, in that order."""
    return [
        okr_actions.create_key_result(
            objective=objective,
            title="Sign new mid-market customers",
            kind=KeyResult.Kind.METRIC,
            unit="customers",
            start=Decimal("0"),
            target=Decimal("5"),
        ),
        okr_actions.create_key_result(
            objective=objective,
            title="Keep renewal rate at or above 95 %",
            kind=KeyResult.Kind.THRESHOLD,
            unit="%",
            threshold_op=KeyResult.ThresholdOp.AT_LEAST,
            threshold_low=Decimal("95"),
        ),
        okr_actions.create_key_result(
            objective=objective,
            title="Publish the mid-market pricing page",
            kind=KeyResult.Kind.MILESTONE,
        ),
    ]


@pytest.fixture
def other_objective(other_org, other_period, charlie) -> Objective:
    objective = okr_actions.create_objective(
        org=other_org,
        period=other_period,
        owner=charlie,
        title="Delight every Other Co customer",
    )
    okr_actions.create_key_result(
        objective=objective,
        title="Raise NPS",
        kind=KeyResult.Kind.METRIC,
        start=Decimal("20"),
        target=Decimal("40"),
    )
    return objective


@pytest.fixture(autouse=True)
def outbound_allows_loopback_idps(settings):
    """The identity providers the tests run listen on http://127.0.0.1, as an
    operator's internal one might on a private address: allowed the way an operator
    would, with OUTBOUND_ALLOWED_HOSTS. Tests of the SSRF guard set their own list."""
    settings.OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]
