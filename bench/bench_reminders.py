"""How fast is the weekly check-in reminder of a large workspace, against bare mail?

Builds the large synthetic "Globex" workspace's OKRs (500 people, 40,000 key results,
landmark.demo.large), then, at the first Monday 09:00 at which its key results are
overdue, times:

  - the reminder fan-out: the `reminders` job's round (which key results are due,
    whose, the streaks, one notification and one email delivery per person, in one
    transaction) and sending every email (claims, HTML and text rendering, the
    one-click unsubscribe link, marking each sent) to Django's locmem backend;
  - the baseline: the same number of bare `send_mail` calls to the locmem backend,
    sending the same emails (subject, text and HTML) to the same people.

It prints both, their ratio (baseline time / fan-out time: 1.0 would be as fast as bare
send_mail; the bar is 0.3), and the SQL queries: those of the round (constant,
whatever the number of people) and those of sending (a constant number per batch of
100, and one per email).

With --smtp, both sides send to a real SMTP server instead (aiosmtpd, in another
process, on the loopback interface; the baseline through one connection, as the
fan-out keeps one per batch): what an operator's worker spends, of which the mail
itself is most. The bar is for the locmem backend; --smtp prints the ratio only.
Usage:

    python bench/bench_reminders.py [--runs 5] [--data-dir DIR] [--smtp]

See bench/README.md.
"""

import argparse
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from run import run_in_scratch, timed

if TYPE_CHECKING:
    from landmark.orgs.models import Organization

BAR = 0.3


@dataclass
class Run:
    seconds: float
    cpu_seconds: float  # this process's CPU time (SQLite runs in it): no neighbours
    round_seconds: float
    round_queries: int
    send_queries: int
    people: int
    key_results: int


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--data-dir", help="default: a temporary directory")
    parser.add_argument(
        "--smtp",
        action="store_true",
        help="send to a loopback SMTP server (another process) instead of locmem",
    )
    args = parser.parse_args()
    return run_in_scratch(args.data_dir, lambda: run(args.runs, smtp=args.smtp))


@contextmanager
def smtp_sink() -> Iterator[None]:
    """An SMTP server that accepts and drops every message (aiosmtpd's Sink), in its
    own process so that it takes no CPU from this one; Django's mail goes there."""
    from django.test import override_settings

    from landmark.tests.console import free_port

    port = free_port()
    server = subprocess.Popen(  # noqa: S603  # a fixed command line
        [
            *(sys.executable, "-m", "aiosmtpd", "-n"),
            *("-l", f"127.0.0.1:{port}", "-c", "aiosmtpd.handlers.Sink"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("the SMTP server did not start") from None
                time.sleep(0.1)
        with override_settings(
            EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
            EMAIL_HOST="127.0.0.1",
            EMAIL_PORT=port,
            EMAIL_USE_TLS=False,
            EMAIL_USE_SSL=False,
            EMAIL_HOST_USER="",
            EMAIL_HOST_PASSWORD="",
        ):
            yield
    finally:
        server.terminate()
        server.wait(timeout=10)


def large_okrs() -> "Organization":
    """Globex's OKRs (without the 5,000,000 KPI points bench_kpis.py adds): built
    once, reused from a --data-dir that holds it."""
    from django.db import transaction
    from django.utils import timezone

    from landmark.demo.large import LargeBuilder
    from landmark.orgs.models import Organization

    existing = Organization.objects.filter(slug="globex").first()
    if existing is not None:
        return existing
    with transaction.atomic():
        return LargeBuilder(timezone.now(), "Globex", "globex").build()


def reminder_moment(org: "Organization") -> datetime:
    """The first Monday 09:00 (UTC) a week or more after the workspace's last
    check-in, inside its current quarter: most of its key results are then overdue."""
    from zoneinfo import ZoneInfo

    from landmark.notify.models import ReminderSettings
    from landmark.notify.reminders import latest_occurrence
    from landmark.okrs.models import CheckIn, Period

    period = Period.objects.get(organization=org, state="active", kind="quarter")
    last = CheckIn.objects.filter(organization=org).order_by("-created_at").first()
    assert last is not None
    moment = latest_occurrence(
        ReminderSettings(), ZoneInfo("UTC"), last.created_at + timedelta(days=14)
    )
    if moment.date() > period.end:
        moment -= timedelta(weeks=1)
    return moment


def forget_round(org: "Organization") -> None:
    from landmark.notify.models import (
        Delivery,
        Notification,
        ReminderRun,
        ReminderStreak,
    )

    for model in (Delivery, Notification, ReminderRun, ReminderStreak):
        model.objects.filter(organization=org).delete()


def fan_out(org: "Organization", at: datetime, *, count_queries: bool = False) -> Run:
    """The `reminders` job at `at` (given, not a moved clock: the real clock's
    patching would slow this side only), then sending everything.

    Queries are counted only when asked, in an untimed run: counting makes Django
    format every statement with its parameters (on SQLite, one more query each to
    quote them), work production never does."""
    from django.core import mail
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from landmark.notify.delivery import deliver_all_due
    from landmark.notify.reminders import run_due_reminders

    def capture() -> "CaptureQueriesContext | nullcontext[None]":
        return CaptureQueriesContext(connection) if count_queries else nullcontext()

    forget_round(org)
    mail.outbox = []
    now = at + timedelta(seconds=30)
    started = time.perf_counter()
    cpu_started = time.process_time()
    with capture() as round_queries:
        rounds = [r for r in run_due_reminders(now) if r.org_id == org.pk]
    round_seconds = time.perf_counter() - started
    with capture() as send_queries:
        outcome = deliver_all_due(now=now)
    seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu_started
    [done] = rounds
    assert outcome.sent == done.reminded, (outcome, done)
    if to_locmem():
        assert len(mail.outbox) == outcome.sent, (outcome, len(mail.outbox))
    return Run(
        seconds,
        cpu_seconds,
        round_seconds,
        len(round_queries) if round_queries is not None else 0,
        len(send_queries) if send_queries is not None else 0,
        done.reminded,
        due_count(org, at),
    )


def settle_others(at: datetime) -> None:
    """Do the rounds of the data directory's other organizations (Acme, when
    bench/run.py built it) and send their emails once, untimed: each run below then
    reminds and sends Globex's alone."""
    from landmark.notify.delivery import deliver_all_due
    from landmark.notify.reminders import run_due_reminders

    now = at + timedelta(seconds=30)
    run_due_reminders(now)
    deliver_all_due(now=now)


def due_count(org: "Organization", at: datetime) -> int:
    from zoneinfo import ZoneInfo

    from landmark.notify.actions import reminder_settings_of
    from landmark.notify.reminders import ORG_SCOPE, Round, due_key_results

    settings = reminder_settings_of(org)
    zone = ZoneInfo(org.time_zone)
    return due_key_results(
        Round(org, ORG_SCOPE, None, settings, zone, settings, at)
    ).count()


def to_locmem() -> bool:
    from django.conf import settings

    return str(settings.EMAIL_BACKEND).endswith("locmem.EmailBackend")


def baseline(messages: list[tuple[str, str, str, str]]) -> tuple[float, float]:
    """Bare send_mail, one call per message, to the locmem backend (or, with --smtp,
    through one connection to the SMTP server): the same emails (subject, text and
    HTML, to the same people), with nothing else done."""
    from django.conf import settings
    from django.core import mail

    mail.outbox = []
    started = time.perf_counter()
    cpu_started = time.process_time()
    # locmem: a backend per call, as bare send_mail makes (it costs next to nothing).
    with nullcontext() if to_locmem() else mail.get_connection() as connection:
        for subject, body, html, to in messages:
            mail.send_mail(
                subject,
                body,
                settings.DEFAULT_FROM_EMAIL,
                [to],
                html_message=html,
                connection=connection,
            )
    seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu_started
    if to_locmem():
        assert len(mail.outbox) == len(messages)
    return seconds, cpu_seconds


def run(runs: int, *, smtp: bool = False) -> int:
    from django.conf import settings
    from django.core import mail
    from django.core.mail import EmailMultiAlternatives

    settings.DEBUG = False
    # Django's in-memory backend (mail.outbox), without the test runner's template
    # instrumentation (production renders without it).
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    mail.outbox = []

    org = timed("build large OKRs", large_okrs)
    from landmark.lib.db import refresh_statistics

    timed("analyze", lambda: refresh_statistics(full=True))
    at = reminder_moment(org)
    print(f"reminder moment: {at.isoformat()}", file=sys.stderr)

    settle_others(at)
    # The first run (to locmem) warms caches and the planner, counts the queries and
    # keeps the emails for the baseline.
    fan_outs = [fan_out(org, at, count_queries=True)]
    sent = [
        (str(m.subject), str(m.body), str(m.alternatives[0][0]), m.to[0])
        for m in mail.outbox
        if isinstance(m, EmailMultiAlternatives)
    ]
    with smtp_sink() if smtp else nullcontext():
        for _ in range(runs):
            fan_outs.append(fan_out(org, at))
        baselines = [baseline(sent) for _ in range(runs + 1)]
    where = "a loopback SMTP server" if smtp else "locmem"
    fan_out_s = statistics.median(r.seconds for r in fan_outs[1:])
    base_s = statistics.median(b[0] for b in baselines[1:])
    fan_out_cpu = statistics.median(r.cpu_seconds for r in fan_outs[1:])
    base_cpu = statistics.median(b[1] for b in baselines[1:])
    last = fan_outs[-1]
    counted = fan_outs[0]
    ratio = base_s / fan_out_s
    per_email = (counted.send_queries - counted.people) / max(
        1, -(-counted.people // 100)
    )
    print(
        f"weekly reminder of {org.name}: {last.people} people reminded of "
        f"{last.key_results:,} key results\n"
        f"  fan-out (round + sending {last.people} emails): "
        f"{fan_out_s * 1000:.0f} ms, {fan_out_s / last.people * 1e6:.0f} µs per email "
        f"(the round {statistics.median(r.round_seconds for r in fan_outs[1:]) * 1000:.0f} ms)\n"
        f"  baseline ({last.people} bare send_mail to {where}): {base_s * 1000:.0f} ms, "
        f"{base_s / last.people * 1e6:.0f} µs per email\n"
        f"  ratio baseline / fan-out: {ratio:.2f}"
        f"{' (the bar is for locmem)' if smtp else f' (bar {BAR})'}\n"
        f"  CPU time of this process (without the waits for the disk and for other "
        f"processes): fan-out {fan_out_cpu * 1000:.0f} ms, baseline "
        f"{base_cpu * 1000:.0f} ms, ratio {base_cpu / fan_out_cpu:.2f}\n"
        f"  queries (counted in the untimed first run): round "
        f"{counted.round_queries} (whatever the people), sending "
        f"{counted.send_queries} = one per email + {per_email:.0f} per batch of 100"
    )
    return 0 if smtp or ratio >= BAR else 1


if __name__ == "__main__":
    sys.exit(main())
