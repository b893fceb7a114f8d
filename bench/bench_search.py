"""How fast is search on the large workspace, against the small one?

Builds (or reuses, with --data-dir) the Acme demo and the large Globex workspace as
bench/run.py does, then searches both for the same words: the results page
`/search/?q=`, the box's dropdown (the same view asked by htmx: 5 a kind) and
`GET /api/v1/search?q=`, as each organization's owner (who may open everything) and
as a member (for whom private objectives and KPIs are filtered out). Prints for each
the server time (lower quartile, small and large interleaved), the ratio and the
query counts:

    python bench/bench_search.py [--scale 1] [--data-dir DIR] [--runs 20]

Each search is also timed alone (`landmark.search.read.search` in this process: its
six queries and the hits, without the page, session and template around them). Bar:
the search alone under 100 ms at the large workspace, the same query count on both
sides; the page times are printed beside it (on a loaded machine a page's floor, the
same page finding nothing in the small workspace, is the table's "no match" row). The run at full scale writes its table into
bench/README.md. SQLite by default; PostgreSQL when DATABASE_URL is set.
"""

import argparse
import datetime
import os
import re
import sys
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote

from run import (
    README,
    check_scale,
    login,
    lower_quartile,
    measure_pair,
    owner_of,
    run_in_scratch,
    timed,
)
from run import api_client as api_client_of

if TYPE_CHECKING:
    from django.test import Client

    from landmark.orgs.models import Organization

TABLE_START = "<!-- bench/bench_search.py table: start -->"
TABLE_END = "<!-- bench/bench_search.py table: end -->"
# (what it shows, q): a word found in every kind, the broadest prefix there is, a
# prefix, two prefixes, a person's name, and a word nothing holds.
QUERIES = [
    ("a common word", "sales"),
    ("one letter", "s"),
    ("a prefix", "pipe"),
    ("two prefixes", "grow sal"),
    ("a name", "dana"),
    ("no match", "zyxwv"),
]


@dataclass
class Row:
    what: str
    url: str
    viewer: str
    ms_small: float
    ms_large: float
    q_small: int
    q_large: int
    status: int
    search_small: float  # ms of landmark.search.read.search alone (its six queries)
    search_large: float

    def passed(self, bar_ms: float) -> bool:
        return (
            self.status == 200
            and self.q_small == self.q_large
            and self.search_large < bar_ms
        )


def main() -> int:
    args = parse_args()
    return run_in_scratch(args.data_dir, lambda: run(args))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--least-ms", type=float, default=300.0)
    parser.add_argument("--bar-ms", type=float, default=100.0)
    parser.add_argument("--data-dir")
    parser.add_argument("--no-readme", action="store_true")
    return parser.parse_args()


def member_of(org: "Organization") -> int:
    """A member (not an admin) in a team: private rows of other teams are hidden."""
    from landmark.orgs.models import Membership, TeamMember

    in_team = TeamMember.objects.filter(organization=org).values("user_id")
    member = (
        Membership.objects.filter(
            organization=org, role=Membership.Role.MEMBER, user_id__in=in_team
        )
        .order_by("pk")
        .first()
    )
    assert member is not None, org
    return member.user_id


def search_alone(
    orgs: tuple["Organization", "Organization"],
    q: str,
    viewer: str,
    runs: int,
    users: tuple[int | None, int | None],
) -> tuple[float, float]:
    """The search itself, without the page around it: `read.search` in this process
    (the six queries and the hits), lower quartile, small and large interleaved."""
    from landmark.orgs.models import Membership
    from landmark.search import read

    limit = 10 if viewer.endswith("API") else 5 if viewer.endswith("htmx") else 20
    members = [
        Membership.objects.select_related("organization", "user").get(
            organization=org,
            user_id=user_id if user_id is not None else owner_of(org).user_id,
        )
        for org, user_id in zip(orgs, users, strict=True)
    ]
    times: list[list[float]] = [[], []]
    for _ in range(max(runs, 20)):
        for i, membership in enumerate(members):
            started = time.perf_counter()
            read.search(membership, q, limit=limit)
            times[i].append((time.perf_counter() - started) * 1000)
    return lower_quartile(times[0]), lower_quartile(times[1])


def run(args: argparse.Namespace) -> int:
    from landmark.demo.acme import build_demo
    from landmark.demo.large import build_large
    from landmark.lib.db import refresh_statistics

    check_scale(args.scale)
    demo = timed("build demo", build_demo)
    large = timed(
        f"build large ({args.scale:g})", lambda: build_large(scale=args.scale)
    )
    timed("analyze", lambda: refresh_statistics(full=True))

    clients: dict[str, tuple[Client, Client]] = {
        "owner": (login(demo), login(large)),
        "member": (login(demo, member_of(demo)), login(large, member_of(large))),
        "owner, htmx": (login(demo), login(large)),
        "owner, API": (api_client_of(demo), api_client_of(large)),
    }
    users: dict[str, tuple[int | None, int | None]] = {
        "owner": (None, None),
        "member": (member_of(demo), member_of(large)),
        "owner, htmx": (None, None),
        "owner, API": (None, None),
    }
    for client in clients["owner, htmx"]:
        client.defaults["HTTP_HX_REQUEST"] = "true"
    plan = [
        (what, q, viewer)
        for what, q in QUERIES
        for viewer in ("owner", "member", "owner, htmx", "owner, API")
        if viewer in ("owner", "owner, API") or q in ("sales", "s")
    ]
    load_before = os.getloadavg()
    rows = []
    for what, q, viewer in plan:
        base = "/api/v1/search" if viewer.endswith("API") else "/search/"
        url = f"{base}?q={quote(q)}"
        small, large_client = clients[viewer]
        a, b = measure_pair(
            (small, url), (large_client, url), args.runs, args.warmup, args.least_ms
        )
        alone = search_alone((demo, large), q, viewer, args.runs, users[viewer])
        rows.append(
            Row(
                what,
                url,
                viewer,
                a.ms,
                b.ms,
                a.queries,
                b.queries,
                max(a.status, b.status),
                *alone,
            )
        )
        print(f"{url} ({viewer}): {a.ms:.1f} / {b.ms:.1f} ms", file=sys.stderr)
    load = (*load_before, *os.getloadavg())
    text = f"{header(args, load, large)}\n\n{table(rows, args.bar_ms)}"
    print(text)
    if args.scale == 1 and not args.no_readme:
        write_readme(text)
    missed = [row for row in rows if not row.passed(args.bar_ms)]
    for row in missed:
        print(f"MISS {row.url} ({row.viewer})", file=sys.stderr)
    print("FAIL" if missed else "PASS", file=sys.stderr)
    return 1 if missed else 0


def header(
    args: argparse.Namespace, load: tuple[float, ...], large: "Organization"
) -> str:
    from django.db import connection

    from landmark.okrs.models import KeyResult, Objective

    vendor = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}[connection.vendor]
    objectives = Objective.objects.filter(organization=large).count()
    key_results = KeyResult.objects.filter(organization=large).count()
    return (
        f"{datetime.date.today():%Y-%m-%d}, {vendor}, large workspace at scale "
        f"{args.scale:g} ({objectives:,} objectives, {key_results:,} key results), "
        f"lower quartile of {args.runs} requests or more, small and large interleaved, "
        f"load average {load[0]:.1f} before and {load[3]:.1f} after; bar: the search "
        f"alone under {args.bar_ms:g} ms at the large workspace, equal query counts."
    )


def table(rows: list[Row], bar_ms: float) -> str:
    lines = [
        "| search | request | as | ms small | ms large | ratio | queries "
        "| search() alone, ms small / large | |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        ratio = row.ms_large / row.ms_small if row.ms_small else float("nan")
        queries = (
            f"{row.q_small} = {row.q_large}"
            if row.q_small == row.q_large
            else f"{row.q_small} ≠ {row.q_large}"
        )
        lines.append(
            f"| {row.what} | `{row.url}` | {row.viewer} | {row.ms_small:.1f} "
            f"| {row.ms_large:.1f} | {ratio:.2f} | {queries} "
            f"| {row.search_small:.1f} / {row.search_large:.1f} "
            f"| {'PASS' if row.passed(bar_ms) else 'MISS'} |"
        )
    return "\n".join(lines)


def write_readme(text: str) -> None:
    readme = README.read_text(encoding="utf-8")
    pattern = re.compile(
        re.escape(TABLE_START) + ".*?" + re.escape(TABLE_END), flags=re.DOTALL
    )
    if not pattern.search(readme):
        raise SystemExit(f"{README} has no {TABLE_START} … {TABLE_END} section")
    README.write_text(
        pattern.sub(lambda _: f"{TABLE_START}\n{text}\n{TABLE_END}", readme),
        encoding="utf-8",
    )


if __name__ == "__main__":
    sys.exit(main())
