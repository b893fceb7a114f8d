"""Does a job worker killed with `kill -9` mid-send lose a reminder, or send one twice?

Sets up an organization whose people all have key results due for a check-in reminder,
starts a real `landmark worker` (huey's consumer) on a temporary data directory with
mail going to a slow loopback SMTP server, kills the worker's whole process group with
SIGKILL while it sends, starts a new worker and checks that:

  - every person gets their reminder (nothing lost: the round and its deliveries were
    committed before sending, the queue and the claims survive the kill),
  - each reminder is one message (one Message-ID); a message the server had accepted
    when the worker died may come a second time with the same Message-ID (the worker
    never heard the server's answer: at-least-once), at most one per worker thread,
  - running the reminders and deliveries jobs again sends nothing more.

    python bench/kill9_jobs.py [--people 40] [--delay 0.05] [--redis]

SQLite by default; PostgreSQL when DATABASE_URL is set (use a scratch database); the
queue on Redis (REDIS_URL, default redis://127.0.0.1:6379/0) with --redis.
landmark/notify/tests/test_jobs_durability.py runs the same check in the test suite.
"""

import argparse
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
# The longest a step may take (a worker starting and sending, runs being recorded):
# waits end as soon as what they wait for is there; this is for a slow 2-core
# machine beside a busy test suite.
WAIT = 180
sys.path.insert(0, str(ROOT))

from landmark.notify.tests.smtp import Inbox, smtp_server  # noqa: E402  # after the path

SETUP = """
import json
from datetime import timedelta
from decimal import Decimal
from django.utils import timezone
from landmark.okrs.actions import create_key_result, create_objective, create_period
from landmark.okrs.models import KeyResult
from landmark.orgs.actions import create_member, create_organization
from landmark.orgs.models import Organization, User
now = timezone.now()
owner = User.objects.create_user("owner@kill9.example", None, full_name="Owner")
org = create_organization(name="Kill 9 Jobs", owner=owner)
# Weeks old, with key results a month old and never checked in: due at the last
# reminder moment, whenever this runs.
Organization.objects.filter(pk=org.pk).update(created_at=now - timedelta(days=60))
today = timezone.localdate()
period = create_period(
    org=org, name="Now", kind="custom", start=today - timedelta(days=40),
    end=today + timedelta(days=60), state="active",
)
for n in range(PEOPLE):
    user = create_member(
        org=org, email=f"person{n}@kill9.example", role="member", full_name=f"Person {n}"
    ).user
    objective = create_objective(org=org, period=period, owner=user, title=f"Objective {n}")
    for k in range(2):
        create_key_result(
            objective=objective, title=f"KR {n}.{k}", start=Decimal(0),
            target=Decimal(10), owner=user,
        )
KeyResult.objects.filter(organization=org).update(created_at=now - timedelta(days=30))
print(json.dumps({"org": org.pk}))
"""

STATE = """
import json
from django.db.models import Count
from landmark.jobs.models import JobRun
from landmark.notify.models import Delivery, Notification
print(json.dumps({
    "notifications": Notification.objects.filter(kind="checkin_reminder").count(),
    "deliveries": dict(
        Delivery.objects.order_by().values_list("status").annotate(n=Count("pk"))
    ),
    "runs": {run.name: run.runs for run in JobRun.objects.all()},
}))
"""

# Runs the `landmark` command at a moved clock (time-machine, ticking from there):
# python -c CODE MOMENT ARGS...
AT_MOMENT = (
    "import sys, datetime, time_machine; "
    "time_machine.travel(datetime.datetime.fromisoformat(sys.argv[1]), tick=True).start(); "
    "from landmark.cli import main; main(sys.argv[2:])"
)


@dataclass
class Report:
    people: int
    received_before_kill: int = 0
    received: int = 0
    unique: int = 0
    duplicates: dict[str, int] = field(default_factory=dict)
    lost: list[str] = field(default_factory=list)
    notifications: int = 0
    unsent: dict[str, int] = field(default_factory=dict)
    new_after_rerun: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return (
            not self.lost
            and not self.problems
            and not self.unsent
            and self.unique == self.people
            and self.notifications == self.people
            and self.new_after_rerun == 0
            and sum(self.duplicates.values()) <= WORKER_THREADS
        )


WORKER_THREADS = 2


class Harness:
    """A data directory, its environment, and `landmark` commands run on it."""

    def __init__(
        self,
        data_dir: Path,
        inbox: Inbox,
        *,
        redis_url: str | None = None,
        database_url: str | None = None,
        moment: str | None = None,
    ) -> None:
        self.env = {**os.environ, **inbox.settings}
        for name in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE", "REDIS_URL"):
            self.env.pop(name, None)
        self.env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # set by the browser tests
        self.env["LANDMARK_DATA_DIR"] = str(data_dir)
        self.env["NOTIFY_LEASE_SECONDS"] = "2"
        self.env["JOBS_LOG_LEVEL"] = "INFO"
        if database_url:
            self.env["DATABASE_URL"] = database_url
        if redis_url:
            self.env["REDIS_URL"] = redis_url
            self.env["JOBS_QUEUE"] = f"kill9-{secrets.token_hex(4)}"
        # The machine's clock: at `moment` now, and running on from there in every
        # process started later (each starts its own clock where this one is then).
        # Restarting each process's clock at `moment` would set a worker started later
        # behind the claims an earlier one wrote: they would lapse late in its eyes.
        self.moment = datetime.fromisoformat(moment) if moment else None
        self.started = time.monotonic()
        self.log = data_dir / "worker.log"
        self.worker: subprocess.Popen[bytes] | None = None

    def set_clock(self, moment: datetime) -> None:
        """Set the machine's clock to `moment` now (for the processes started next)."""
        self.moment, self.started = moment, time.monotonic()

    def command(self, *args: str) -> list[str]:
        if self.moment:
            now = self.moment + timedelta(seconds=time.monotonic() - self.started)
            return [sys.executable, "-c", AT_MOMENT, now.isoformat(), *args]
        return [sys.executable, "-m", "landmark.cli", *args]

    def run(self, *args: str) -> str:
        result = subprocess.run(  # noqa: S603  # our own command line, no shell
            self.command(*args),
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"landmark {' '.join(args)} failed:\n{result.stdout}{result.stderr}"
            )
        return result.stdout

    def shell(self, code: str) -> dict[str, object]:
        out = self.run("manage", "shell", "--no-imports", "-c", code)
        data: dict[str, object] = json.loads(out.strip().splitlines()[-1])
        return data

    def start_worker(self) -> None:
        with self.log.open("ab") as log:
            self.worker = subprocess.Popen(  # noqa: S603  # our own command line
                self.command("worker", "--workers", str(WORKER_THREADS)),
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: kill -9 takes all
            )

    def kill9(self) -> None:
        assert self.worker is not None
        os.killpg(self.worker.pid, signal.SIGKILL)
        self.worker.wait()
        self.worker = None

    def stop(self) -> None:
        if self.worker is None:
            return
        try:
            os.killpg(self.worker.pid, signal.SIGTERM)
            self.worker.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(self.worker.pid, signal.SIGKILL)
            self.worker.wait()
        self.worker = None

    def said(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]

    def wait_for_runs(self, name: str, at_least: int, timeout: float = WAIT) -> None:
        """Until job `name` has finished `at_least` runs in all (JobRun)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            runs = self.shell(STATE)["runs"]
            if int(runs.get(name, 0)) >= at_least:  # type: ignore[attr-defined]  # JSON object
                return
            time.sleep(0.5)
        raise RuntimeError(f"{name} did not run {at_least} times:\n{self.said()}")


def run(
    data_dir: Path,
    *,
    people: int = 40,
    delay: float = 0.05,
    kill_after: int = 5,
    redis_url: str | None = None,
    database_url: str | None = None,
    moment: str | None = None,
) -> Report:
    report = Report(people=people)
    with smtp_server(delay=delay, hold_after=kill_after) as inbox:
        harness = Harness(
            data_dir,
            inbox,
            redis_url=redis_url,
            database_url=database_url,
            moment=moment,
        )
        harness.run("manage", "migrate", "--verbosity", "0")
        harness.shell(SETUP.replace("PEOPLE", str(people)))
        harness.start_worker()
        try:
            # The worker's scheduler runs `reminders` as it starts; say it too.
            harness.run("jobs", "run", "reminders")
            arrived = inbox.wait_for(kill_after, timeout=WAIT)
            if len(arrived) < kill_after:
                report.problems.append(f"only {len(arrived)} mails before the kill")
            harness.kill9()  # while it waits to send the next one
            report.received_before_kill = len(inbox.snapshot())
            inbox.release()

            harness.start_worker()  # sends what the queue still holds
            time.sleep(2.5)  # the killed worker's claims (2 s) lapse
            harness.run("jobs", "run", "deliveries")  # as each minute would
            deadline = time.monotonic() + WAIT
            while time.monotonic() < deadline:
                if len({m["Message-ID"] for m in inbox.snapshot()}) >= people:
                    break
                time.sleep(0.2)
            # Every job again, twice: nothing new may come.
            time.sleep(0.5)
            before = len(inbox.snapshot())
            runs = harness.shell(STATE)["runs"]
            for name in ("reminders", "deliveries"):
                harness.run("jobs", "run", name)
                harness.run("jobs", "run", name)
            harness.wait_for_runs(
                "reminders",
                int(runs.get("reminders", 0)) + 2,  # type: ignore[attr-defined]
            )
            harness.wait_for_runs(
                "deliveries",
                int(runs.get("deliveries", 0)) + 2,  # type: ignore[attr-defined]
            )
            report.new_after_rerun = len(inbox.snapshot()) - before
            state = harness.shell(STATE)
        finally:
            harness.stop()
        messages = inbox.snapshot()
    report.received = len(messages)
    counts: dict[str, int] = {}
    to: dict[str, str] = {}
    for message in messages:
        key = str(message["Message-ID"])
        counts[key] = counts.get(key, 0) + 1
        to[key] = str(message["To"])
    report.unique = len(counts)
    report.duplicates = {to[key]: n - 1 for key, n in counts.items() if n > 1}
    reached = " ".join(to.values())
    report.lost = [
        f"person{n}@kill9.example"
        for n in range(people)
        if f"<person{n}@kill9.example>" not in reached
    ]
    report.notifications = int(state["notifications"])  # type: ignore[call-overload]
    deliveries: dict[str, int] = state["deliveries"]  # type: ignore[assignment]
    report.unsent = {k: v for k, v in deliveries.items() if k != "sent"}
    return report


def describe(report: Report) -> str:
    return "\n".join(
        [
            f"people with a reminder due: {report.people}; reminders written: "
            f"{report.notifications}",
            f"mails accepted before the kill: {report.received_before_kill}",
            f"after a new worker: {report.received} mails, {report.unique} distinct "
            f"(lost: {report.lost or 'none'}; sent again with the same Message-ID: "
            f"{report.duplicates or 'none'}; not sent: {report.unsent or 'none'})",
            f"new mails after running both jobs twice more: {report.new_after_rerun}",
            f"other problems: {report.problems or 'none'}",
            "RESULT: " + ("PASS" if report.ok else "FAIL"),
        ]
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--people", type=int, default=40)
    parser.add_argument("--delay", type=float, default=0.05)
    parser.add_argument("--kill-after", type=int, default=5)
    parser.add_argument("--redis", action="store_true")
    parser.add_argument("--data-dir", help="default: a temporary directory")
    args = parser.parse_args()
    directory = Path(args.data_dir or tempfile.mkdtemp(prefix="landmark-kill9-jobs-"))
    directory.mkdir(parents=True, exist_ok=True)
    redis_url = (
        os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0") if args.redis else None
    )
    try:
        report = run(
            directory,
            people=args.people,
            delay=args.delay,
            kill_after=args.kill_after,
            redis_url=redis_url,
            database_url=os.environ.get("DATABASE_URL"),
        )
    finally:
        if args.data_dir is None:
            shutil.rmtree(directory, ignore_errors=True)
    print(describe(report))
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
