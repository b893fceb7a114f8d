"""Shared personas and OKR data for every test, created through the actions.

Acme Test: alice (owner), bob (member), vera (viewer). Other Co: charlie (owner), the
outsider whose requests must never reach Acme's data.
"""

import os
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import TypeVar

import pytest
import time_machine
from django.core.cache import cache
from django.db import transaction
from django.test import Client, override_settings
from django.utils import timezone
from pytest_django import DjangoDbBlocker

from landmark.okrs import actions as okr_actions
from landmark.okrs.models import KeyResult, Objective, Period
from landmark.orgs import actions as org_actions
from landmark.orgs.models import Membership, Organization, Team, User
from landmark.tests.console import Machine, migrated_machine
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
    # WhiteNoise lists every static file when its middleware is made, and every test
    # Client makes the middleware again: ~7 ms of CPU per Client, minutes per suite.
    # Looking a file up when it is asked for (its development mode) serves the same
    # files and skips the listing. Production settings are untouched.
    override_settings(WHITENOISE_AUTOREFRESH=True).enable()


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


@pytest.fixture(scope="session")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Machine]:
    """A migrated machine, made once per test process when a test first asks, for
    the real-process tests' machines to start as copies of (tests/console.py)."""
    with migrated_machine(tmp_path_factory.mktemp("migrated")) as machine:
        yield machine


FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Real password hashing takes most of a second; tests only need it to work."""
    settings.PASSWORD_HASHERS = FAST_HASHERS


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
#
# Each persona is made by a plain function, which its fixture calls: modules whose
# tests share rows made once (shared_rows below) make the same people the same way.


def make_alice() -> User:
    user = User.objects.create_user(
        "alice@acme.test", PASSWORD, full_name="Alice Adams"
    )
    org_actions.mark_email_verified(user=user)  # personas log in without a mail step
    return user


def make_org(alice: User) -> Organization:
    return org_actions.create_organization(name="Acme Test", owner=alice)


def make_member(org: Organization, email: str, role: str, full_name: str) -> User:
    membership = org_actions.create_member(
        org=org, email=email, role=role, full_name=full_name, password=PASSWORD
    )
    org_actions.mark_email_verified(user=membership.user)
    return membership.user


def make_bob(org: Organization) -> User:
    return make_member(org, "bob@acme.test", Membership.Role.MEMBER, "Bob Brown")


def make_viewer(org: Organization) -> User:
    return make_member(org, "vera@acme.test", Membership.Role.VIEWER, "Vera Viewer")


@pytest.fixture
def alice(db) -> User:
    return make_alice()


@pytest.fixture
def org(alice) -> Organization:
    return make_org(alice)


@pytest.fixture
def bob(org) -> User:
    return make_bob(org)


@pytest.fixture
def viewer(org) -> User:
    return make_viewer(org)


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


def make_charlie() -> User:
    user = User.objects.create_user(
        "charlie@other.test", PASSWORD, full_name="Charlie Chen"
    )
    org_actions.mark_email_verified(user=user)
    return user


def make_other_org(charlie: User) -> Organization:
    return org_actions.create_organization(name="Other Co", owner=charlie)


@pytest.fixture
def charlie(db) -> User:
    return make_charlie()


@pytest.fixture
def other_org(charlie) -> Organization:
    return make_other_org(charlie)


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


def make_sales(org: Organization) -> Team:
    root = Team.objects.get(organization=org, kind=Team.Kind.COMPANY)
    return org_actions.create_team(
        org=org, name="Sales", kind=Team.Kind.DEPARTMENT, parent=root
    )


def make_period(org: Organization) -> Period:
    name, start, end = current_quarter(timezone.localdate())
    return okr_actions.create_period(
        org=org, name=name, start=start, end=end, state=Period.State.ACTIVE
    )


def make_objective(
    org: Organization, period: Period, bob: User, sales: Team
) -> Objective:
    return okr_actions.create_objective(
        org=org,
        period=period,
        owner=bob,
        title="Become the obvious choice for mid-market buyers",
        level=Objective.Level.TEAM,
        team=sales,
    )


def make_key_results(objective: Objective) -> list[KeyResult]:
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
def sales(org) -> Team:
    """The "Sales" department under Acme's company team."""
    return make_sales(org)


@pytest.fixture
def period(org) -> Period:
    """Acme's active quarter, covering today."""
    return make_period(org)


@pytest.fixture
def other_period(other_org) -> Period:
    name, start, end = current_quarter(timezone.localdate())
    return okr_actions.create_period(
        org=other_org, name=name, start=start, end=end, state=Period.State.ACTIVE
    )


@pytest.fixture
def objective(org, period, bob, sales) -> Objective:
    return make_objective(org, period, bob, sales)


@pytest.fixture
def key_results(objective) -> list[KeyResult]:
    """A metric (0 → 5), a threshold (at least 95 %) and a milestone, in that order."""
    return make_key_results(objective)


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


LOOPBACK_IDP_HOSTS = ["127.0.0.1"]


@pytest.fixture(autouse=True)
def outbound_allows_loopback_idps(settings):
    """The identity providers the tests run listen on http://127.0.0.1, as an
    operator's internal one might on a private address: allowed the way an operator
    would, with OUTBOUND_ALLOWED_HOSTS. Tests of the SSRF guard set their own list."""
    settings.OUTBOUND_ALLOWED_HOSTS = LOOPBACK_IDP_HOSTS


# Rows shared by the tests of a module

T = TypeVar("T")


def shared_rows(
    django_db_blocker: DjangoDbBlocker, build: Callable[[], T]
) -> Iterator[T]:
    """For a module-scoped fixture (`yield from shared_rows(django_db_blocker, build)`):
    what `build()` makes, made once per module and xdist worker, for the module's tests
    that use `db`.

    The rows are made in a transaction that stays open while the module's tests run.
    Each test's `db` fixture opens a savepoint inside it and rolls back to it after the
    test (pytest-django's TestCase leaves out the class-level transaction so that tests
    can be wrapped this way), so every test starts from exactly these rows whatever the
    test before it wrote, in any order; after the module's last test the transaction is
    rolled back, and no other module ever sees the rows. Between tests the database
    stays blocked, as it is for any test without `db`.

    `build()` runs at moment() with the clock stopped (nothing it makes is later than
    any test's now), under the settings the suite's autouse fixtures give every test.
    Tests must read the rows again (by pk), never share the Python objects, and must
    name the module fixture in their arguments (a fixture that pytest sets up only when
    a test asks for it with getfixturevalue() comes after `db`: too late). Not for
    `transactional_db` or `live_server` tests: those empty the database afterwards.
    """
    with django_db_blocker.unblock():
        if transaction.get_connection().in_atomic_block:
            raise RuntimeError(
                "shared rows made inside a test's transaction would be rolled back "
                "with it: name the module fixture in the test's arguments, so that "
                "pytest sets it up before `db`"
            )
    with django_db_blocker.unblock(), transaction.atomic():
        with (
            time_machine.travel(moment(), tick=False),
            override_settings(
                PASSWORD_HASHERS=FAST_HASHERS,
                SIGNUP_OPEN=True,
                OUTBOUND_ALLOWED_HOSTS=LOOPBACK_IDP_HOSTS,
            ),
        ):
            cache.clear()
            built = build()
        with django_db_blocker.block():
            yield built
        transaction.set_rollback(True)
