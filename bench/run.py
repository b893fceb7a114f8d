"""Do pages keep their speed and query count as the data grows?

Builds the small "Acme" demo and the large synthetic "Globex" workspace in one
database, then requests the same pages in both (or, for the KPI page and its chart,
a 1,000-point KPI against the 1,000,000-point one) and prints, for each, the server
time (lower quartile), the ratio large / small and the SQL query counts:

    python bench/run.py                  # full size (a few minutes to build)
    python bench/run.py --quick          # a tenth of the large workspace: what CI runs
    python bench/run.py --data-dir DIR   # keep the database there and reuse it

It exits non-zero when a page does not answer 200, when a page's query count
differs between small and large, or when a ratio is above the bar (2 for the full
run, 3 for --quick, which is noisier). The full run writes its table into
bench/README.md. See bench/README.md.
"""

import argparse
import datetime
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from django.db.models import QuerySet
    from django.test import Client

    from landmark.okrs.models import Period
    from landmark.orgs.models import Membership, Organization, Team

T = TypeVar("T")

ROOT = Path(__file__).resolve().parent.parent
README = Path(__file__).resolve().parent / "README.md"
TABLE_START = "<!-- bench/run.py table: start -->"
TABLE_END = "<!-- bench/run.py table: end -->"
QUICK_SCALE = 0.1
API_LISTS = [
    "/api/v1/teams",
    "/api/v1/members",
    "/api/v1/periods",
    "/api/v1/objectives",
    "/api/v1/key-results",
    "/api/v1/check-ins",
    "/api/v1/kpis",
]
API_LIMIT = 10  # a full page on both sides (Acme has 10 teams)
# Acme's first objectives include a company objective that counts its children, which
# costs two more queries (okrs.tree.evaluate_objectives); Globex's first ten do not.
# Team objectives count none on either side: the same page, in the same queries.
API_FILTERS = {"/api/v1/objectives": "&level=team"}
MAX_RUNS = 300


@dataclass
class Side:
    """One side of a comparison: whose page, which URL, and how it is described."""

    org: "Organization"
    url: str
    label: str
    api: bool = False
    user_id: int | None = None  # who is logged in (default: the owner)


@dataclass
class Pair:
    page: str
    small: Side
    large: Side


@dataclass
class Measure:
    ms: float
    queries: int
    status: int


@dataclass
class Row:
    pair: Pair
    small: Measure
    large: Measure

    @property
    def ratio(self) -> float:
        return self.large.ms / self.small.ms if self.small.ms else float("nan")


def main() -> int:
    args = parse_args()
    return run_in_scratch(args.data_dir, lambda: run(args))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"build the large workspace at {QUICK_SCALE:g} of its size, 5 timed "
        "runs a page, bar 3 (what bin/test runs)",
    )
    parser.add_argument(
        "--scale", type=float, help="size of the large workspace (1 = full)"
    )
    parser.add_argument("--runs", type=int, help="timed requests a page (30; 5 quick)")
    parser.add_argument("--warmup", type=int, help="untimed requests first (2; 1)")
    parser.add_argument(
        "--least-ms",
        type=float,
        help="keep timing a page until each side took this long in all (300; 1000)",
    )
    parser.add_argument("--bar", type=float, help="highest ratio allowed (2; 3 quick)")
    parser.add_argument(
        "--data-dir",
        help="keep the database in this directory and reuse it on later runs "
        "(default: a temporary directory, deleted at the end)",
    )
    parser.add_argument(
        "--digest",
        action="store_true",
        help="also time the weekly digest of the large workspace against its "
        "people's My focus views (bench/bench_digest.py; bar: under 1)",
    )
    parser.add_argument(
        "--no-readme",
        action="store_true",
        help="do not write the full run's table into bench/README.md",
    )
    args = parser.parse_args()
    args.scale = args.scale or (QUICK_SCALE if args.quick else 1.0)
    args.runs = args.runs or (5 if args.quick else 30)
    args.warmup = args.warmup if args.warmup is not None else (1 if args.quick else 2)
    args.bar = args.bar or (3.0 if args.quick else 2.0)
    args.least_ms = args.least_ms or (300.0 if args.quick else 1000.0)
    return args


# Setting up


def prepare_environment(data_dir: str | None) -> str:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "landmark.settings")
    # The API lists are requested hundreds of times a minute with one token.
    os.environ["API_RATE_LIMIT"] = "1000000000"
    if os.environ.get("DATABASE_URL"):
        # The database named there is used as it is: point it at a scratch database.
        print(f"database: {os.environ['DATABASE_URL'].split('@')[-1]}", file=sys.stderr)
    directory = data_dir or tempfile.mkdtemp(prefix="landmark-bench-")
    Path(directory).mkdir(parents=True, exist_ok=True)
    os.environ["LANDMARK_DATA_DIR"] = directory
    print(f"data directory: {directory}", file=sys.stderr)
    return directory


def run_in_scratch(data_dir: str | None, run: Callable[[], int]) -> int:
    """Run a benchmark on a migrated database in `data_dir` (default: a temporary
    directory, deleted at the end). Django and the app are imported only now: settings
    read the data directory from the environment when they load."""
    directory = prepare_environment(data_dir)
    try:
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        return run()
    finally:
        if data_dir is None:
            shutil.rmtree(directory, ignore_errors=True)


def timed(label: str, build: Callable[[], T]) -> T:
    started = time.perf_counter()
    result = build()
    print(f"{label}: {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return result


def check_scale(scale: float) -> None:
    """A data directory holds one size of the large workspace: refuse another."""
    from django.conf import settings

    marker = Path(settings.DATA_DIR) / "bench-scale.txt"
    if marker.exists() and float(marker.read_text()) != scale:
        raise SystemExit(
            f"{settings.DATA_DIR} holds a large workspace built at scale "
            f"{marker.read_text().strip()}, not {scale:g}: use another --data-dir."
        )
    marker.write_text(f"{scale:g}\n")


def run(args: argparse.Namespace) -> int:
    from landmark.demo.acme import build_demo
    from landmark.demo.large import build_large
    from landmark.lib.db import refresh_statistics

    check_scale(args.scale)
    demo = timed("build demo", build_demo)
    large = timed(
        f"build large (scale {args.scale:g})", lambda: build_large(scale=args.scale)
    )
    # What `landmark demo` does after a bulk build: give the planner statistics.
    timed("analyze", lambda: refresh_statistics(full=True))

    pairs = plan_pairs(demo, large)
    load_before = os.getloadavg()
    rows, failures = measure_all(pairs, args.runs, args.warmup, args.least_ms)
    load = (*load_before, *os.getloadavg())
    table = table_of(rows, args.bar)
    print(header(args, load))
    print(table)
    for row in rows:
        print(f"  {row.pair.page}: {row.pair.small.url}  vs  {row.pair.large.url}")
    for row in rows:
        if row.small.queries != row.large.queries:
            failures.append(
                f"{row.pair.page}: {row.small.queries} queries small, "
                f"{row.large.queries} large"
            )
        if not row.ratio <= args.bar:
            failures.append(f"{row.pair.page}: ratio {row.ratio:.2f} > {args.bar:g}")
    if args.scale == 1 and not args.no_readme:
        write_readme(f"{header(args, load)}\n\n{table}")
        print(f"table written into {README}", file=sys.stderr)
    if args.digest:
        from bench_digest import BAR, compare, report, write_digest_readme

        digest = compare(large, 1 if args.quick else 3)
        print(report(digest))
        if digest.ratio >= BAR:
            failures.append(f"weekly digest: ratio {digest.ratio:.2f} ≥ {BAR:g}")
        if args.scale == 1 and not args.no_readme:
            write_digest_readme(digest)
    for failure in failures:
        print(f"MISS {failure}", file=sys.stderr)
    print("FAIL" if failures else "PASS", file=sys.stderr)
    return 1 if failures else 0


# What is compared


def plan_pairs(demo: "Organization", large: "Organization") -> list[Pair]:
    from landmark.demo.large import BIG_KPI, SMALL_KPI, SMALL_PERIODS
    from landmark.kpis.models import KPI
    from landmark.okrs.models import Period

    big = KPI.objects.get(organization=large, key=BIG_KPI)
    small = KPI.objects.get(organization=large, key=SMALL_KPI)
    acme_kpi = max(
        KPI.objects.filter(organization=demo), key=lambda k: (k.points.count(), -k.pk)
    )
    quarter = {org.pk: active_quarter(org) for org in (demo, large)}
    acme_closed = Period.objects.filter(
        organization=demo, kind=Period.Kind.QUARTER, state=Period.State.CLOSED
    ).first()
    assert acme_closed is not None
    sprint = {
        p.name: p
        for p in Period.objects.filter(organization=large, name__in=SMALL_PERIODS)
    }
    closed_sprint, running_sprint = (sprint[name] for name in SMALL_PERIODS)
    acme_sales = department(demo, "Sales")
    globex_department = closest_department(large, acme_sales, quarter[large.pk])
    acme_support = department(demo, "Support")
    kpi_team = big.team
    assert kpi_team is not None

    def same(page: str, url: str, small_label: str, large_label: str) -> Pair:
        return Pair(page, Side(demo, url, small_label), Side(large, url, large_label))

    def objective_page(org: "Organization", team: "Team") -> str:
        return f"/objectives/{objective_with_key_results(org, team)}/"

    n_acme = objectives_in(quarter[demo.pk])
    acme_owner = owner_of(demo).user
    focus_like = focus_user(large, active_load(demo, acme_owner.pk), admin=True)
    pairs = [
        Pair(
            "my focus",
            Side(demo, "/", "Acme owner"),
            Side(large, "/", "a Globex admin as busy", user_id=focus_like),
        ),
        Pair(
            "OKR tree, department",
            Side(demo, tree_url(quarter[demo.pk], acme_sales), "Acme Sales"),
            Side(
                large,
                tree_url(quarter[large.pk], globex_department),
                globex_department.name,
            ),
        ),
        Pair(
            "OKR tree, whole company",
            Side(demo, tree_url(quarter[demo.pk]), f"Acme, {n_acme} obj."),
            Side(
                large,
                tree_url(running_sprint),
                f"Globex {running_sprint.name}, {objectives_in(running_sprint)} obj.",
            ),
        ),
        Pair(
            "objective page",
            Side(demo, objective_page(demo, acme_sales), "Acme Sales"),
            Side(large, objective_page(large, globex_department), "Globex"),
        ),
        Pair(
            "period close page",
            Side(demo, f"/periods/{quarter[demo.pk].pk}/close/", "Acme quarter"),
            Side(large, f"/periods/{running_sprint.pk}/close/", running_sprint.name),
        ),
        Pair(
            "period review (closed)",
            Side(demo, f"/periods/{acme_closed.pk}/close/", acme_closed.name),
            Side(large, f"/periods/{closed_sprint.pk}/close/", closed_sprint.name),
        ),
        Pair(
            "strategy map",
            Side(demo, f"/strategy/?period={quarter[demo.pk].pk}", "Acme quarter"),
            Side(large, f"/strategy/?period={running_sprint.pk}", running_sprint.name),
        ),
        Pair(
            "coach",
            Side(demo, f"/coach/?period={quarter[demo.pk].pk}", "Acme quarter"),
            Side(large, f"/coach/?period={running_sprint.pk}", running_sprint.name),
        ),
        same("activity", "/activity/", "Acme", "Globex"),
        same("KPI dashboard", "/kpis/", "Acme", "Globex"),
        Pair(
            "KPI dashboard, department",
            Side(demo, f"/kpis/?team={acme_support.pk}", "Acme Support"),
            Side(large, f"/kpis/?team={kpi_team.pk}", kpi_team.name),
        ),
        Pair(
            "KPI page",
            Side(large, f"/kpis/{small.pk}/", f"{small.points.count():,} points"),
            Side(large, f"/kpis/{big.pk}/", f"{big.points.count():,} points"),
        ),
        Pair(
            "KPI chart data",
            Side(large, f"/kpis/{small.pk}/chart.json", f"{small.points.count():,}"),
            Side(large, f"/kpis/{big.pk}/chart.json", f"{big.points.count():,}"),
        ),
        same("members", "/members/", "Acme", "Globex"),
        same("teams", "/teams/", "Acme", "Globex"),
    ]
    for path in API_LISTS:
        url = f"{path}?limit={API_LIMIT}{API_FILTERS.get(path, '')}"
        pairs.append(
            Pair(
                f"API {path}",
                Side(demo, url, "Acme", True),
                Side(large, url, "Globex", True),
            )
        )
    points = f"?limit={API_LIMIT}"
    pairs.append(
        Pair(
            "API /api/v1/kpis/{pk}/points",
            Side(demo, f"/api/v1/kpis/{acme_kpi.pk}/points{points}", "Acme", True),
            Side(large, f"/api/v1/kpis/{big.pk}/points{points}", "1M points", True),
        )
    )
    return pairs


def active_load(org: "Organization", user_id: int) -> tuple[int, int, bool]:
    """How many objectives and key results of running periods the user owns (what
    their focus page lists), and whether any of those key results tracks a KPI (the
    page then reads those KPIs: one query more)."""
    from landmark.okrs.models import KeyResult, Objective, Period

    running = Objective.objects.filter(
        organization=org, period__state=Period.State.ACTIVE
    ).exclude(state=Objective.State.CLOSED)
    owned = running.filter(owner_id=user_id)
    key_results = KeyResult.objects.filter(objective__in=running, owner_id=user_id)
    return (
        owned.count(),
        key_results.count(),
        key_results.filter(kpi__isnull=False).exists(),
    )


def focus_user(org: "Organization", like: tuple[int, int, bool], *, admin: bool) -> int:
    """The member of `org` whose focus page lists about as much as `like` and has
    the same parts (KPIs tracked), made an admin when `admin` (an admin's
    page also reads the getting-started checklist; the large workspace has too few
    admins for one to be as busy as `like`)."""
    from django.db.models import Count

    from landmark.okrs.models import KeyResult, Objective, Period
    from landmark.orgs.models import Membership

    running = Objective.objects.filter(
        organization=org, period__state=Period.State.ACTIVE
    ).exclude(state=Objective.State.CLOSED)

    def per_owner(rows: "QuerySet[Any]") -> dict[int, int]:
        counted = rows.values("owner_id").annotate(n=Count("pk")).order_by()
        return {row["owner_id"]: row["n"] for row in counted}

    objectives = per_owner(running)
    key_results = per_owner(KeyResult.objects.filter(objective__in=running))
    tracking = set(
        KeyResult.objects.filter(objective__in=running, kpi__isnull=False)
        .values_list("owner_id", flat=True)
        .distinct()
    )
    members = Membership.objects.filter(organization=org).exclude(
        role=Membership.Role.OWNER
    )
    people = list(members.order_by("user_id").values_list("user_id", flat=True))
    # Owning something of each kind, as `like` does, and tracking KPIs as `like`
    # does: the page then has the same parts.
    candidates = [
        pk
        for pk in people
        if (pk in objectives) == (like[0] > 0)
        and (pk in key_results) == (like[1] > 0)
        and (pk in tracking) == like[2]
    ] or people
    chosen = min(
        candidates,
        key=lambda pk: (
            abs(objectives.get(pk, 0) - like[0]) + abs(key_results.get(pk, 0) - like[1])
        ),
    )
    role = Membership.Role.ADMIN if admin else Membership.Role.MEMBER
    members.filter(user_id=chosen).update(role=role)
    return chosen


def active_quarter(org: "Organization") -> "Period":
    from landmark.okrs.models import Period

    return Period.objects.get(
        organization=org, kind=Period.Kind.QUARTER, state=Period.State.ACTIVE
    )


def objectives_in(period: "Period") -> int:
    from landmark.okrs.models import Objective

    return Objective.objects.filter(period=period).count()


def tree_url(period: "Period", team: "Team | None" = None) -> str:
    return f"/okrs/?period={period.pk}" + (f"&team={team.pk}" if team else "")


def department(org: "Organization", name: str) -> "Team":
    from landmark.orgs.models import Team

    return Team.objects.get(organization=org, name=name)


def subtree_count(team: "Team", period: "Period") -> int:
    from landmark.okrs.models import Objective

    teams = team.descendants(include_self=True)
    return Objective.objects.filter(team__in=teams, period=period).count()


def closest_department(org: "Organization", like: "Team", period: "Period") -> "Team":
    """The department of `org` whose objective count in the period (its sub-teams
    included) is closest to `like`'s in Acme's quarter: both pages show as much."""
    from landmark.orgs.models import Team

    wanted = subtree_count(like, active_quarter(like.organization))
    departments = Team.objects.filter(
        organization=org, kind=Team.Kind.DEPARTMENT
    ).order_by("pk")
    return min(departments, key=lambda t: abs(subtree_count(t, period) - wanted))


def objective_with_key_results(org: "Organization", team: "Team") -> int:
    """An objective of the team in the current quarter with 3 or 4 key results."""
    from landmark.okrs.models import Objective

    period = active_quarter(org)
    candidates = Objective.objects.filter(organization=org, period=period, team=team)
    return next(
        o.pk
        for o in candidates.order_by("pk")
        if 3 <= o.key_results.count() <= 4 and o.parent_id is not None
    )


# Measuring


def login(org: "Organization", user_id: int | None = None) -> "Client":
    """A browser logged in as the organization's owner (or the user given)."""
    from django.test import Client

    from landmark.orgs.middleware import SESSION_KEY
    from landmark.orgs.models import User

    client = Client(raise_request_exception=False)  # a failing page is reported
    user = owner_of(org).user if user_id is None else User.objects.get(pk=user_id)
    client.force_login(user)
    session = client.session
    session[SESSION_KEY] = org.pk
    session.save()
    return client


def api_client(org: "Organization") -> "Client":
    """An API client with a read token of the organization's owner."""
    from django.test import Client

    from landmark.api import actions
    from landmark.api.models import APIToken

    owner = owner_of(org)
    APIToken.objects.filter(
        organization=org, user_id=owner.user_id, name="bench"
    ).delete()
    raw = actions.create_token(membership=owner, name="bench")[1]
    return Client(
        headers={"Authorization": f"Bearer {raw}"}, raise_request_exception=False
    )


def owner_of(org: "Organization") -> "Membership":
    from landmark.orgs.models import Membership

    owner = (
        Membership.objects.filter(organization=org, role=Membership.Role.OWNER)
        .select_related("user", "organization")
        .order_by("pk")
        .first()
    )
    assert owner is not None
    return owner


def measure_all(
    pairs: list[Pair], runs: int, warmup: int, least_ms: float
) -> tuple[list[Row], list[str]]:
    clients: dict[tuple[int, bool, int | None], Client] = {}

    def client_for(side: Side) -> "Client":
        key = (side.org.pk, side.api, side.user_id)
        if key not in clients:
            clients[key] = (
                api_client(side.org) if side.api else login(side.org, side.user_id)
            )
        return clients[key]

    rows, failures = [], []
    for pair in pairs:
        small, large = client_for(pair.small), client_for(pair.large)
        a, b = measure_pair(
            (small, pair.small.url), (large, pair.large.url), runs, warmup, least_ms
        )
        for side, measure in ((pair.small, a), (pair.large, b)):
            if measure.status != 200:
                failures.append(f"{side.org.slug} {side.url}: HTTP {measure.status}")
        rows.append(Row(pair, a, b))
        print(
            f"{pair.page}: {a.ms:.1f} / {b.ms:.1f} ms, {a.queries} / {b.queries} q",
            file=sys.stderr,
            flush=True,
        )
    return rows, failures


def measure_pair(
    small: tuple["Client", str],
    large: tuple["Client", str],
    runs: int,
    warmup: int,
    least_ms: float,
) -> tuple[Measure, Measure]:
    """Server time of each side (lower quartile), the two sides' requests interleaved
    so that the machine's load weighs on both alike."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    statuses = [client.get(url).status_code for client, url in (small, large)]
    if statuses != [200, 200]:
        return Measure(float("nan"), 0, statuses[0]), Measure(
            float("nan"), 0, statuses[1]
        )
    for _ in range(warmup):
        small[0].get(small[1])
        large[0].get(large[1])
    times: list[list[float]] = [[], []]
    # At least `runs` each, and more for a quick page, until each side has taken
    # `least_ms` in all (at most MAX_RUNS): a median of five 2 ms requests is at the
    # mercy of one time slice of another process.
    while len(times[0]) < runs or (
        min(sum(times[0]), sum(times[1])) < least_ms and len(times[0]) < MAX_RUNS
    ):
        for i, (client, url) in enumerate((small, large)):
            started = time.perf_counter()
            client.get(url)
            times[i].append((time.perf_counter() - started) * 1000)
    measures = []
    for i, (client, url) in enumerate((small, large)):
        # Counted apart from the timed runs: capturing queries slows every one down.
        with CaptureQueriesContext(connection) as queries:
            client.get(url)
        measures.append(Measure(lower_quartile(times[i]), len(queries), 200))
    return measures[0], measures[1]


def lower_quartile(times: list[float]) -> float:
    """The time a quarter of the requests beat. On a machine shared with other work a
    2 ms request often waits for another process's time slice (10 ms or more); the
    median of such times says more about the neighbours than about the page."""
    return statistics.quantiles(times, n=4, method="inclusive")[0]


# Reporting


def header(args: argparse.Namespace, load: tuple[float, ...]) -> str:
    from django.db import connection

    vendor = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}.get(
        connection.vendor, connection.vendor
    )
    return (
        f"{datetime.date.today():%Y-%m-%d}, {vendor}, large workspace at scale "
        f"{args.scale:g}, lower quartile of {args.runs} requests a page or more "
        f"(until each side took {args.least_ms:g} ms; small and large interleaved), load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} "
        f"before and {load[3]:.1f} / {load[4]:.1f} / {load[5]:.1f} after, bar "
        f"ratio ≤ {args.bar:g} with equal query counts."
    )


def table_of(rows: list[Row], bar: float) -> str:
    lines = [
        "| page | small | large | ms small | ms large | ratio | queries | |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        a, b = row.small, row.large
        same = a.queries == b.queries
        ok = same and row.ratio <= bar and a.status == b.status == 200
        queries = f"{a.queries} = {b.queries}" if same else f"{a.queries} ≠ {b.queries}"
        lines.append(
            f"| {row.pair.page} | {row.pair.small.label} | {row.pair.large.label} "
            f"| {a.ms:.1f} | {b.ms:.1f} | {row.ratio:.2f} | {queries} "
            f"| {'PASS' if ok else 'MISS'} |"
        )
    return "\n".join(lines)


def write_readme(text: str) -> None:
    readme = README.read_text(encoding="utf-8")
    pattern = re.compile(
        re.escape(TABLE_START) + ".*?" + re.escape(TABLE_END), flags=re.DOTALL
    )
    if not pattern.search(readme):
        raise SystemExit(f"{README} has no {TABLE_START} … {TABLE_END} section")
    replaced = pattern.sub(lambda _: f"{TABLE_START}\n{text}\n{TABLE_END}", readme)
    README.write_text(replaced, encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
