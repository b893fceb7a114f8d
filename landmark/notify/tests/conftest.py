"""Acme's reminder set-up: a period under way for weeks to come, Sales' objective owned
by Bob with three key results, Tina leading Sales, Alice the owner; and helpers to move
the clock to a reminder moment."""

from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from landmark.notify.models import ReminderSettings
from landmark.notify.reminders import (
    RoundResult,
    latest_occurrence,
    run_due_reminders,
)
from landmark.notify.tests.smtp import Inbox, smtp_server
from landmark.okrs import actions as okr_actions
from landmark.okrs.models import KeyResult, Objective, Period
from landmark.orgs import actions as org_actions
from landmark.orgs.models import Membership, User


def monday_nine_after(moment: datetime, zone: str = "UTC") -> datetime:
    """The first Monday 09:00 (in `zone`) after `moment`."""
    return latest_occurrence(ReminderSettings(), ZoneInfo(zone), moment + timedelta(7))


@pytest.fixture
def long_period(org) -> Period:
    """A period that began a month ago and lasts three more: every reminder moment
    of a test falls inside it, whatever day the suite runs."""
    today = timezone.localdate()
    return okr_actions.create_period(
        org=org,
        name="Reminder season",
        kind=Period.Kind.CUSTOM,
        start=today - timedelta(days=30),
        end=today + timedelta(days=90),
        state=Period.State.ACTIVE,
    )


@pytest.fixture
def tina(org, sales) -> User:
    """Tina leads Sales."""
    user = org_actions.create_member(
        org=org,
        email="tina@acme.test",
        role=Membership.Role.MEMBER,
        full_name="Tina Lead",
        password="correct-horse-battery",
    ).user
    org_actions.mark_email_verified(user=user)  # logs in without a mail step
    org_actions.set_team_members(team=sales, members=[user], leads=[user])
    return user


@pytest.fixture
def bobs_krs(org, long_period, bob, sales) -> list[KeyResult]:
    objective = okr_actions.create_objective(
        org=org,
        period=long_period,
        owner=bob,
        title="Win the mid-market",
        level=Objective.Level.TEAM,
        team=sales,
    )
    return [
        okr_actions.create_key_result(
            objective=objective,
            title=title,
            kind=KeyResult.Kind.METRIC,
            start=Decimal(0),
            target=Decimal(10),
            owner=bob,
        )
        for title in ("Sign ten customers", "Book twenty demos", "Hire two reps")
    ]


@pytest.fixture
def first_due_monday(bobs_krs) -> datetime:
    """The first Monday 09:00 UTC at which Bob's new key results are overdue: a full
    week after they were made."""
    return monday_nine_after(timezone.now() + timedelta(days=7))


@pytest.fixture
def remind_at(fixed_clock, django_capture_on_commit_callbacks):
    """Move the clock to `at` and run the reminders job there, letting its
    transaction's after-commit sends run (huey's immediate mode: in this process)."""

    def remind(at: datetime) -> list[RoundResult]:
        fixed_clock.move_to(at + timedelta(seconds=30), tick=False)
        with django_capture_on_commit_callbacks(execute=True):
            return run_due_reminders()

    return remind


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    with smtp_server() as received:
        yield received


@pytest.fixture
def smtp_settings(settings, inbox):
    """Landmark's mail goes to the loopback SMTP server."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = inbox.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_TIMEOUT = 5
    return settings
