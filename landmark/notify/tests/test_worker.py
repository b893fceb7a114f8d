"""The job worker as operators run it: real `landmark worker`, `landmark jobs` and
`landmark demo` processes, the queue on SQLite (the data directory) and on Redis, mail
to a loopback SMTP server. Each process runs at a moment set by the test (time-machine
in the process, ticking from there: one clock for the processes of one machine, see
bench/kill9_jobs.py), never at the real clock's.

The kill -9 harness is bench/kill9_jobs.py (also runnable on its own, on PostgreSQL and
with the queue on Redis)."""

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from landmark.api.tests.conftest import load_bench
from landmark.conftest import current_quarter, moment
from landmark.notify.tests.smtp import Inbox, smtp_server, text_of
from landmark.tests.console import Machine, free_port, machines

REDIS_URL = os.environ.get("LANDMARK_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")

# The scenarios below run real processes that mostly wait: for the job queue's
# once-a-minute look at its schedules (a minute after a start at HH:59), for a held
# SMTP server, for claims to lapse. Run one after the other they took five minutes of
# one test worker (three of them ~78 s each); the module starts every selected
# scenario at once, in threads, and each test checks its own when it is done: together
# they take about as long as the longest. The whole module runs on one test worker
# (its xdist group, with `--dist loadgroup` in the pytest options).
pytestmark = pytest.mark.xdist_group("worker_processes")


def redis_is_up() -> None:
    """The Redis tests need Redis on 127.0.0.1:6379 (.ci/run starts it): without it
    they fail, loudly, rather than skip."""
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=2) as s:
            s.sendall(b"PING\r\n")
            assert s.recv(16).startswith(b"+PONG"), "Redis did not answer PONG"
    except OSError as error:
        pytest.fail(f"Redis is not running on 127.0.0.1:6379 ({error}); start it.")


@dataclass
class Outcome:
    """What a scenario's processes did: the mail received, what they printed (for a
    failing assertion's message), and what else its test checks."""

    mails: list[EmailMessage]
    said: str
    start: datetime
    facts: dict[str, Any] = field(default_factory=dict)


def kill_9_mid_send(root: Path, migrated: Machine) -> Outcome:
    kill9 = load_bench("kill9_jobs")
    with machines(root, "kill9", copy_of=migrated) as [machine]:
        report = kill9.run(
            machine.data_dir,
            people=16,
            delay=0.1,
            kill_after=3,
            database_url=machine.database_url,
            moment=moment().isoformat(),
        )
    return Outcome([], kill9.describe(report), moment(), {"report": report})


def reminders_through_a_worker(root: Path, migrated: Machine, queue: str) -> Outcome:
    kill9 = load_bench("kill9_jobs")
    with (
        machines(root, queue, copy_of=migrated) as [machine],
        smtp_server() as inbox,
    ):
        harness = kill9.Harness(
            machine.data_dir,
            inbox,
            redis_url=REDIS_URL if queue == "redis" else None,
            database_url=machine.database_url,
            moment=moment().isoformat(),
        )
        harness.shell(kill9.SETUP.replace("PEOPLE", "3"))
        harness.start_worker()
        try:
            # No command needed: the worker's scheduler runs `reminders` itself.
            mails = inbox.wait_for(3, timeout=kill9.WAIT)
            listed = harness.run("jobs") if len(mails) == 3 else ""
        finally:
            harness.stop()
        return Outcome(mails, harness.said(), moment(), {"listed": listed})


def friday_before_four(now: datetime) -> datetime:
    """The first Friday 15:59 UTC after `now`: a minute before the digest's default
    moment."""
    day = now.date() + timedelta(days=1)
    day += timedelta(days=(4 - day.weekday()) % 7)
    return datetime(day.year, day.month, day.day, 15, 59, tzinfo=UTC)


def digest_through_a_worker(root: Path, migrated: Machine) -> Outcome:
    kill9 = load_bench("kill9_jobs")
    start = friday_before_four(moment())
    with (
        machines(root, "digest", copy_of=migrated) as [machine],
        smtp_server() as inbox,
    ):
        harness = kill9.Harness(
            machine.data_dir,
            inbox,
            database_url=machine.database_url,
            moment=start.isoformat(),
        )
        harness.shell(kill9.SETUP.replace("PEOPLE", "2"))
        harness.set_clock(start)  # however long the setting up took: 15:59 again
        harness.start_worker()
        try:
            mails = inbox.wait_for(4, timeout=240)
        finally:
            harness.stop()
        return Outcome(mails, harness.said(), start)


# A demo builds its workspace with its clock BUILDING + LEAD before the test's moment,
# and then, however long building took, serves (its web server and worker) with its
# clock LEAD before it: a round counts from the organization's creation, so Acme must
# be made before the moment (on a slow 2-core machine, beside the other scenarios and
# a busy suite, building it took over a minute), and the test waits only LEAD in real
# time for the moment, not a slow machine's building time on every machine.
BUILDING = timedelta(minutes=5)
LEAD = timedelta(seconds=30)
# How long a demo's first mail may take from its start: building, its lead, then a
# step of the kill -9 harness's length (the worker's look at the clock, the round, the
# sending).
FIRST_MAIL = (BUILDING + LEAD).total_seconds() + load_bench("kill9_jobs").WAIT
# `landmark demo` (argv[3:]) with its clock at argv[1] (ticking) until it starts
# serving, then at argv[2] (ticking): the worker it forks keeps that clock.
DEMO_AT_MOMENTS = (
    "import sys, datetime, time_machine; from landmark import cli; "
    "at = lambda s: time_machine.travel(datetime.datetime.fromisoformat(s), tick=True).start(); "
    "at(sys.argv[1]); serve = cli.serve_with_worker; "
    "cli.serve_with_worker = lambda args: (at(sys.argv[2]), serve(args)); "
    "cli.main(sys.argv[3:])"
)


def demo_monday(now: datetime) -> datetime:
    """The fifth Monday, 09:00 UTC, of the quarter after `now`'s: always after `now`,
    and always weeks into a quarter, so the demo built then has weeks of check-in
    history (a Monday in the first days of a quarter would find every key result
    freshly checked in, and nothing to remind anybody of)."""
    _, _, end = current_quarter(now.date())
    day = end + timedelta(days=1 + 28)
    day += timedelta(days=(7 - day.weekday()) % 7)
    return datetime(day.year, day.month, day.day, 9, 0, tzinfo=now.tzinfo)


@dataclass
class Demo:
    machine: Any
    port: str
    process: "subprocess.Popen[bytes]"

    def stop(self) -> str:
        """Stop it; what it printed (the end)."""
        os.killpg(self.process.pid, signal.SIGTERM)
        output, _ = self.process.communicate(timeout=60)
        return output.decode(errors="replace")[-4000:]

    def count(self, code: str) -> int:
        """A number the demo's database answers (`code` prints it)."""
        return int(self.machine.shell(code))

    def built(self, at: datetime) -> str:
        """When its workspace was made, for a failure's message: made after the moment
        the test waits for (a machine too slow to build it in BUILDING), the moment's
        round counts from then, and nothing is sent at it."""
        made = self.machine.shell(
            "from landmark.orgs.models import Organization; "
            "o = Organization.objects.filter(slug='acme').first(); "
            "print(o.created_at.isoformat() if o else 'never')"
        )
        building = (at - LEAD - BUILDING).isoformat()
        serving = (at - LEAD).isoformat()
        return (
            f"the demo started at {building} (its clock) and served from {serving}; "
            f"Acme made: {made}"
        )

    def written(self, kind: str) -> int:
        """How many notifications of `kind` it wrote (a round is one transaction:
        once one of its mails is out, all of them are written)."""
        return self.count(
            "from landmark.notify.models import Notification; "
            f"print(Notification.objects.filter(kind={kind!r}).count())"
        )


@contextmanager
def running_demo(machine: Any, inbox: Inbox, at: datetime) -> Iterator[Demo]:
    """`landmark demo` (one command: the web server and a worker) building and then
    serving before the moment `at` (BUILDING, LEAD), mailing to `inbox`. The caller
    stops it (and keeps what it printed); stopped here if the caller could not.

    The machine comes migrated (a copy of the `migrated` fixture's database, which
    `landmark demo` then finds nothing to apply to)."""
    env = machine.env(**inbox.settings)
    port = str(free_port())
    process = subprocess.Popen(  # noqa: S603  # our own console script
        [
            sys.executable,
            "-c",
            DEMO_AT_MOMENTS,
            (at - LEAD - BUILDING).isoformat(),
            (at - LEAD).isoformat(),
            "demo",
            "--port",
            port,
            "--workers",
            "1",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    demo = Demo(machine, port, process)
    try:
        yield demo
    finally:
        if process.returncode is None:
            demo.stop()


def mondays_reminders_of_a_fresh_demo(root: Path, migrated: Machine) -> Outcome:
    at = demo_monday(moment())
    with (
        machines(root, "demo", copy_of=migrated) as [machine],
        smtp_server() as inbox,
        running_demo(machine, inbox, at) as demo,
    ):
        count, built = -1, ""
        if inbox.wait_for(1, timeout=FIRST_MAIL):
            count = demo.written("checkin_reminder")
        else:
            built = demo.built(at)
        mails = inbox.wait_for(count, timeout=60)
        said = f"{demo.stop()}\n{built}"
        return Outcome(mails, said, at - LEAD, {"port": demo.port, "count": count})


def digests_in(mails: list[EmailMessage]) -> list[EmailMessage]:
    return [m for m in mails if "Your week in" in str(m["Subject"])]


def fridays_digests_of_a_fresh_demo(root: Path, migrated: Machine) -> Outcome:
    at = demo_monday(moment()) + timedelta(days=4, hours=7)  # Friday 16:00
    with (
        machines(root, "demo", copy_of=migrated) as [machine],
        smtp_server() as inbox,
        running_demo(machine, inbox, at) as demo,
    ):
        count = members = -1
        built = ""
        if digests_in(
            inbox.wait_until(lambda ms: bool(digests_in(ms)), timeout=FIRST_MAIL)
        ):
            count = demo.written("weekly_digest")
            # (While the machine is up: on PostgreSQL its database goes with it.)
            members = demo.count(
                "from landmark.orgs.models import Membership; "
                "print(Membership.objects.filter(organization__slug='acme', "
                "is_active=True).count())"
            )
        else:
            built = demo.built(at)
        mails = inbox.wait_until(lambda ms: len(digests_in(ms)) >= count, timeout=60)
        said = f"{demo.stop()}\n{built}"
        return Outcome(mails, said, at - LEAD, {"count": count, "members": members})


# Test name -> its scenario (and its arguments after its directory and the migrated
# machine its machines copy).
SCENARIOS: dict[str, tuple[Callable[..., Outcome], tuple[Any, ...]]] = {
    "test_kill_9_mid_send_loses_no_reminder_and_sends_none_twice": (
        kill_9_mid_send,
        (),
    ),
    "test_a_worker_process_sends_the_reminders_and_jobs_lists_its_runs[sqlite]": (
        reminders_through_a_worker,
        ("sqlite",),
    ),
    "test_a_worker_process_sends_the_reminders_and_jobs_lists_its_runs[redis]": (
        reminders_through_a_worker,
        ("redis",),
    ),
    "test_a_worker_process_sends_the_weekly_digest_at_its_moment": (
        digest_through_a_worker,
        (),
    ),
    "test_a_fresh_demo_sends_mondays_reminders_on_its_own": (
        mondays_reminders_of_a_fresh_demo,
        (),
    ),
    "test_a_fresh_demo_sends_fridays_digests_on_its_own": (
        fridays_digests_of_a_fresh_demo,
        (),
    ),
}


@pytest.fixture(scope="module")
def under_way(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    migrated: Machine,
) -> Iterator[dict[str, "Future[Outcome]"]]:
    """The scenarios of this module's selected tests, all started at once."""
    mine = [item for item in request.session.items if item.path == request.path]
    if os.environ.get("PYTEST_XDIST_WORKER") and not all(
        item.nodeid.endswith("@worker_processes") for item in mine
    ):
        # Each test worker would start every scenario: twice the processes, and no
        # error to say why the suite got slower.
        pytest.fail("test_worker.py needs pytest-xdist's --dist loadgroup to work")
    selected = [item.name for item in mine if item.name in SCENARIOS]
    if any(name.endswith("[redis]") for name in selected):
        redis_is_up()
    with ThreadPoolExecutor(max_workers=len(SCENARIOS)) as pool:
        yield {
            name: pool.submit(
                SCENARIOS[name][0],
                tmp_path_factory.mktemp("scenario"),
                migrated,
                *SCENARIOS[name][1],
            )
            for name in selected
        }


def outcome_of(
    request: pytest.FixtureRequest, under_way: dict[str, "Future[Outcome]"]
) -> Outcome:
    """This test's scenario, once it is done (it raises what the scenario raised)."""
    return under_way[request.node.name].result(timeout=600)


def test_kill_9_mid_send_loses_no_reminder_and_sends_none_twice(request, under_way):
    outcome = outcome_of(request, under_way)
    report = outcome.facts["report"]
    assert report.problems == [], outcome.said
    assert report.received_before_kill >= 3
    assert report.received_before_kill < 16  # the kill came mid-send
    assert report.notifications == 16
    assert report.lost == []
    assert report.unsent == {}
    assert report.unique == 16
    # A message the server accepted as the worker died may come again, with the same
    # Message-ID; at most one per worker thread.
    assert sum(report.duplicates.values()) <= load_bench("kill9_jobs").WORKER_THREADS
    assert report.new_after_rerun == 0
    assert report.ok, outcome.said


@pytest.mark.parametrize("queue", ["sqlite", "redis"])
def test_a_worker_process_sends_the_reminders_and_jobs_lists_its_runs(
    request, under_way, queue
):
    outcome = outcome_of(request, under_way)
    mails, listed = outcome.mails, outcome.facts["listed"]
    assert len(mails) == 3, outcome.said
    assert sorted(m["To"] for m in mails) == [
        f"Person {n} <person{n}@kill9.example>" for n in range(3)
    ]
    assert "2 key results wait for your check-in" in text_of(mails[0])
    assert ("Redis 127.0.0.1:6379" if queue == "redis" else "SQLite") in listed
    lines = {line.split()[0]: line for line in listed.splitlines()[2:]}
    assert set(lines) == {
        "deliveries",
        "digest",
        "kpi-alerts",
        "prune-idempotency-keys",
        "prune-invitations",
        "prune-sessions",
        "reminders",
        "webhooks",
        "run-connectors",
    }
    assert "* * * * *" in lines["reminders"]
    assert "never" not in lines["reminders"].split("* * * * *")[1].split()[0]
    assert "15 3 * * *" in lines["prune-idempotency-keys"]


def test_a_worker_process_sends_the_weekly_digest_at_its_moment(request, under_way):
    """A real `landmark worker` started on a Friday at 15:59 sends each person's
    digest at 16:00 on its own (and the week's reminders, long due, at once)."""
    outcome = outcome_of(request, under_way)
    digests = digests_in(outcome.mails)
    assert sorted(str(m["To"]) for m in digests) == [
        "Person 0 <person0@kill9.example>",
        "Person 1 <person1@kill9.example>",
    ], outcome.said
    text = text_of(digests[0])
    assert "Your key results\r\n----------------\r\n- KR " in text
    assert "/notifications/unsubscribe/" in text
    # Sent at 16:00, not before: the worker ran since 15:59.
    sent = min(m["Date"].datetime.replace(tzinfo=UTC) for m in digests)
    assert sent >= outcome.start + timedelta(minutes=1)


def test_jobs_run_refuses_a_job_that_does_not_exist(tmp_path):
    with machines(tmp_path, "jobs") as [machine]:
        result = machine.landmark("jobs", "run", "reminderz")
    assert result.returncode != 0
    assert "no job named 'reminderz'" in result.stderr
    assert "reminders" in result.stderr


def test_a_fresh_demo_sends_mondays_reminders_on_its_own(request, under_way):
    """`landmark demo` started on a Monday morning (serving from 08:59:30) mails the
    check-in reminders at 09:00, with nobody doing anything."""
    outcome = outcome_of(request, under_way)
    mails, count = outcome.mails, outcome.facts["count"]
    assert count > 0, f"no reminder came\n{outcome.said}"
    assert len(mails) == count, outcome.said
    subjects = {str(m["Subject"]) for m in mails}
    assert all(
        s.startswith("[Acme] ") and s.endswith(" for your check-in") for s in subjects
    ), subjects
    text = text_of(mails[0])
    port = outcome.facts["port"]
    assert f"http://127.0.0.1:{port}/objectives/" in text
    assert f"http://127.0.0.1:{port}/notifications/unsubscribe/" in text
    # Sent at 09:00, not before: the demo served since 08:59:30.
    # Django dates mail in UTC ("-0000"), which reads back without a zone.
    sent = min(m["Date"].datetime.replace(tzinfo=UTC) for m in mails)
    assert sent >= outcome.start + LEAD


def test_a_fresh_demo_sends_fridays_digests_on_its_own(request, under_way):
    """`landmark demo` started on a Friday afternoon (serving from 15:59:30) mails
    every member's weekly digest at 16:00 (the default moment), with nobody doing
    anything."""
    outcome = outcome_of(request, under_way)
    count, members = outcome.facts["count"], outcome.facts["members"]
    assert count > 0, f"no digest came\n{outcome.said}"
    mails = digests_in(outcome.mails)
    assert len(mails) == count, outcome.said
    # Every member who has anything to read gets one, once.
    assert 0 < len(mails) <= members
    assert len({str(m["To"]) for m in mails}) == len(mails)
    assert all(str(m["Subject"]).startswith("[Acme] ") for m in mails)
    text = text_of(mails[0])
    assert "/notifications/unsubscribe/" in text
    # Sent at 16:00, not before: the demo served since 15:59:30.
    sent = min(m["Date"].datetime.replace(tzinfo=UTC) for m in mails)
    assert sent >= outcome.start + LEAD
