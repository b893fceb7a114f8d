"""The job registry (schedules, next runs, runs recorded with their errors) and the
housekeeping jobs."""

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.utils import timezone

import landmark.hooks.tasks
import landmark.jobs.tasks  # registers the jobs, as the worker does
import landmark.notify.tasks  # noqa: F401
from landmark.jobs.models import JobRun
from landmark.jobs.registry import JOBS, Job, recorded
from landmark.kpis.ingest import KEY_RETENTION
from landmark.kpis.models import IngestionRequest
from landmark.orgs import actions as org_actions
from landmark.orgs.models import Invitation


def test_every_job_is_registered_with_a_valid_schedule():
    assert set(JOBS) >= {
        "reminders",
        "deliveries",
        "prune-idempotency-keys",
        "prune-invitations",
        "prune-sessions",
        "webhooks",
        "run-connectors",
    }
    for job in JOBS.values():
        assert job.description
        assert job.next_run(datetime(2026, 5, 13, 9, 30, tzinfo=UTC)) is not None


@pytest.mark.parametrize(
    ("cron", "after", "expected"),
    [
        ({"minute": "*"}, "2026-05-13T09:30:10", "2026-05-13T09:31:00"),
        ({"minute": "15", "hour": "3"}, "2026-05-13T09:30:00", "2026-05-14T03:15:00"),
        ({"minute": "15", "hour": "3"}, "2026-05-13T03:14:59", "2026-05-13T03:15:00"),
        # 0 = Sunday in crontab's day of week.
        (
            {"minute": "0", "hour": "6", "day_of_week": "0"},
            "2026-05-13T09:30:00",
            "2026-05-17T06:00:00",
        ),
        (
            {"minute": "0", "hour": "0", "day": "29", "month": "2"},
            "2026-05-13T00:00:00",
            None,
        ),
    ],
)
def test_the_next_run_follows_the_crontab_in_utc(cron, after, expected):
    fields = {f: "*" for f in ("minute", "hour", "day", "month", "day_of_week")}
    job = Job("test", "A test.", {**fields, **cron}, task=None)
    found = job.next_run(datetime.fromisoformat(after).replace(tzinfo=UTC))
    if expected is None:
        assert found is None  # 29 February is more than the look-ahead away
    else:
        assert found == datetime.fromisoformat(expected).replace(tzinfo=UTC)


def test_a_run_is_recorded_with_the_error_that_ended_it(db):
    with recorded("sample"):
        pass
    run = JobRun.objects.get(name="sample")
    assert (run.runs, run.failures, run.last_error) == (1, 0, "")
    assert run.last_finished_at is not None

    with pytest.raises(ConnectionRefusedError), recorded("sample"):
        raise ConnectionRefusedError(111, "Connection refused")
    run.refresh_from_db()
    assert (run.runs, run.failures) == (2, 1)
    assert run.last_error == "ConnectionRefusedError: [Errno 111] Connection refused"

    with recorded("sample"):
        pass
    run.refresh_from_db()
    assert run.last_error == ""


def test_housekeeping_prunes_only_what_is_past_its_retention(org, alice, fixed_clock):

    now = timezone.now()
    # Idempotency keys: one past the 7 days, one within.
    for key, age in (
        ("old", KEY_RETENTION + timedelta(hours=1)),
        ("new", timedelta(days=1)),
    ):
        IngestionRequest.objects.create(
            organization=org,
            key=key,
            created_at=now - age,
            request_hash="x",
            status=200,
            response={},
        )
    # Invitations: expired 31 days ago (gone), expired yesterday (kept, still shown
    # as expired).
    for email in ("old@x.test", "recent@x.test"):
        org_actions.invite_member(
            org=org,
            email=email,
            role="member",
            teams=[],
            invited_by=alice,
            build_link=lambda token: f"/i/{token}/",
        )
    Invitation.objects.filter(email="old@x.test").update(
        expires_at=now - timedelta(days=31)
    )
    Invitation.objects.filter(email="recent@x.test").update(
        expires_at=now - timedelta(days=1)
    )
    # Sessions: one expired, one live.
    for age in (timedelta(days=-1), timedelta(days=1)):
        store = SessionStore()
        store["x"] = 1
        store.set_expiry(now + age)
        store.save()

    for job in ("prune-idempotency-keys", "prune-invitations", "prune-sessions"):
        JOBS[job].task.call_local()
    assert list(IngestionRequest.objects.values_list("key", flat=True)) == ["new"]
    assert list(Invitation.objects.values_list("email", flat=True)) == ["recent@x.test"]
    assert Session.objects.count() == 1
    assert {run.name for run in JobRun.objects.all()} == {
        "prune-idempotency-keys",
        "prune-invitations",
        "prune-sessions",
    }

    # Again: nothing more goes.
    for job in ("prune-idempotency-keys", "prune-invitations", "prune-sessions"):
        JOBS[job].task.call_local()
    assert IngestionRequest.objects.count() == 1
    assert Invitation.objects.count() == 1
    assert Session.objects.count() == 1
