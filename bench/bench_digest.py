"""How fast is the weekly digest of a large workspace, against its people's My focus?

Builds the large synthetic "Globex" workspace's OKRs (500 people, 40,000 key results,
landmark.demo.large; bench_reminders.py builds the same), then, at the first digest
moment (Friday 16:00 UTC) a week after its last check-in, times:

  - the digest: the `digest` job's round (each member's key results with their pace,
    their teams' KPIs with health, the week's check-ins, grades, health changes and
    kudos, one notification and one email delivery each, in one transaction);
  - the baseline: one My focus page view by each of the same people (a logged-in
    GET of "/": what each would look at to learn the same).

It prints both, their ratio (digest / page views: the bar is under 1) and the SQL
queries one person's digest costs (the fewest and the most over every member: a fixed
number whatever they own). Usage:

    python bench/bench_digest.py [--runs 3] [--data-dir DIR]
    python bench/run.py --digest ...     # the same, after the pages, on run.py's data

See bench/README.md.
"""

import argparse
import statistics
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from datetime import time as clock
from typing import TYPE_CHECKING

from run import run_in_scratch, timed

if TYPE_CHECKING:
    from django.test import Client

    from landmark.orgs.models import Organization

BAR = 1.0


@dataclass
class Result:
    people: int
    sent: int
    digest_s: float
    focus_s: float
    round_queries: int
    fewest: int
    most: int

    @property
    def ratio(self) -> float:
        return self.digest_s / self.focus_s

    def lines(self) -> list[str]:
        return [
            f"| digest job, {self.people} people ({self.sent} digests written) "
            f"| {self.digest_s * 1000:.0f} ms | {self.digest_s / self.people * 1000:.2f} ms |",
            f"| {self.people} My focus page views, one per person "
            f"| {self.focus_s * 1000:.0f} ms | {self.focus_s / self.people * 1000:.2f} ms |",
        ]


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--data-dir", help="default: a temporary directory")
    parser.add_argument(
        "--readme", action="store_true", help="write the table into bench/README.md"
    )
    args = parser.parse_args()
    return run_in_scratch(args.data_dir, lambda: run(args.runs, args.readme))


def digest_moment(org: "Organization") -> datetime:
    """The first Friday 16:00 (UTC) a week after the workspace's last check-in,
    inside its current quarter: the week then has check-ins, kudos and the like."""
    from zoneinfo import ZoneInfo

    from landmark.notify.models import ReminderSettings
    from landmark.notify.reminders import latest_occurrence
    from landmark.okrs.models import CheckIn, Period

    period = Period.objects.get(organization=org, state="active", kind="quarter")
    last = CheckIn.objects.filter(organization=org).order_by("-created_at").first()
    assert last is not None
    friday = ReminderSettings(weekday=4, at_time=clock(16, 0), every_weeks=1)
    moment = latest_occurrence(
        friday, ZoneInfo("UTC"), last.created_at + timedelta(days=7)
    )
    if moment.date() > period.end:
        moment -= timedelta(weeks=1)
    return moment


def forget_digests(org: "Organization") -> None:
    from landmark.notify.models import Notification, ReminderRun

    Notification.objects.filter(organization=org, kind="weekly_digest").delete()
    ReminderRun.objects.filter(organization=org, scope="digest").delete()


def digest_round(org: "Organization", at: datetime) -> tuple[float, int, int]:
    """The `digest` job at `at` (given, not a moved clock): seconds, digests written,
    queries."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from landmark.notify.digest import run_due_digests

    forget_digests(org)
    now = at + timedelta(seconds=30)
    started = time.perf_counter()
    results = [r for r in run_due_digests(now) if r.org_id == org.pk]
    seconds = time.perf_counter() - started
    [done] = results
    forget_digests(org)
    with CaptureQueriesContext(connection) as queries:
        run_due_digests(now)
    return seconds, done.sent, len(queries)


def queries_per_person(org: "Organization", at: datetime) -> tuple[int, int]:
    """The fewest and the most queries one member's digest costs."""
    from zoneinfo import ZoneInfo

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from landmark.notify.actions import reminder_settings_of
    from landmark.notify.digest import DigestRound, digest_of
    from landmark.orgs.models import Membership

    round_ = DigestRound(org, reminder_settings_of(org), ZoneInfo("UTC"), at)
    counts = []
    members = Membership.objects.filter(organization=org, is_active=True)
    for membership in members.select_related("organization", "user"):
        with CaptureQueriesContext(connection) as queries:
            digest_of(membership, round_, at)
        counts.append(len(queries))
    return min(counts), max(counts)


def focus_views(clients: list["Client"]) -> float:
    started = time.perf_counter()
    for client in clients:
        response = client.get("/")
        assert response.status_code == 200, response.status_code
    return time.perf_counter() - started


def compare(org: "Organization", runs: int) -> Result:
    """The digest job against one My focus view per member, `runs` times each
    (after one untimed run of each), interleaved; medians."""
    from run import login

    from landmark.notify.models import ReminderSettings
    from landmark.orgs.models import Membership

    at = digest_moment(org)
    print(f"digest moment: {at.isoformat()}", file=sys.stderr)
    # The workspace was built just now with months of history: its digest counts
    # from before that moment (a new organization's first digest is its first
    # moment after it was created).
    ReminderSettings.objects.update_or_create(
        organization=org,
        defaults={
            "effective_from": org.created_at,
            "digest_from": at - timedelta(weeks=1),
        },
    )
    members = list(
        Membership.objects.filter(organization=org, is_active=True)
        .order_by("pk")
        .values_list("user_id", flat=True)
    )
    clients = timed("log in every member", lambda: [login(org, u) for u in members])
    digests, views = [], []
    sent = round_queries = 0
    for _ in range(runs + 1):  # the first warms caches and the planner
        seconds, sent, round_queries = digest_round(org, at)
        digests.append(seconds)
        views.append(focus_views(clients))
    fewest, most = queries_per_person(org, at)
    forget_digests(org)
    return Result(
        people=len(members),
        sent=sent,
        digest_s=statistics.median(digests[1:]),
        focus_s=statistics.median(views[1:]),
        round_queries=round_queries,
        fewest=fewest,
        most=most,
    )


def report(result: Result) -> str:
    return "\n".join(
        [
            "| measured | time | per person |",
            "|---|---|---|",
            *result.lines(),
            "",
            f"Ratio digest / page views: {result.ratio:.2f} (bar: under {BAR:g}). "
            f"Queries: {result.fewest} to {result.most} per person's digest "
            f"(whatever they own), {result.round_queries} for the whole round.",
        ]
    )


def write_digest_readme(result: Result) -> None:
    """The measured table, dated, into bench/README.md (between its markers)."""
    import datetime as dt

    from django.db import connection
    from run import README

    start, end = (
        "<!-- bench_digest.py table: start -->",
        ("<!-- bench_digest.py table: end -->"),
    )
    readme = README.read_text(encoding="utf-8")
    before, found, rest = readme.partition(start)
    if not found or end not in rest:
        raise SystemExit(f"{README} has no {start} … {end} section")
    text = f"{dt.date.today():%Y-%m-%d}, {connection.vendor}:\n\n{report(result)}"
    after = rest.partition(end)[2]
    README.write_text(f"{before}{start}\n{text}\n{end}{after}", encoding="utf-8")


def run(runs: int, write: bool = False) -> int:
    from bench_reminders import large_okrs
    from django.conf import settings

    settings.DEBUG = False
    org = timed("build large OKRs", large_okrs)
    from landmark.lib.db import refresh_statistics

    timed("analyze", lambda: refresh_statistics(full=True))
    result = compare(org, runs)
    print(report(result))
    if write:
        write_digest_readme(result)
    return 0 if result.ratio < BAR else 1


if __name__ == "__main__":
    sys.exit(main())
