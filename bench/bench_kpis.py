"""Do KPI pages keep their speed and query count as KPIs and data points grow?

Builds the small "Acme" demo (23 KPIs, a year of history) and the large "Globex"
workspace (2,000 KPIs, 5,000,000 data points, one KPI with 1,000,000 of them) in one
database, then times the KPI dashboard and KPI pages in both and prints the ratios:

    python bench/bench_kpis.py [--runs 30] [--data-dir DIR]

See bench/README.md.
"""

import argparse
import statistics
import sys
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bench_okrs import run_in_scratch, timed

if TYPE_CHECKING:
    from django.test import Client

    from landmark.orgs.models import Organization


@dataclass
class Measure:
    url: str
    ms: float
    queries: int
    status: int


@dataclass
class Row:
    page: str
    small: Measure
    large: Measure
    small_label: str
    large_label: str


def main() -> int:
    args = parse_args()
    return run_in_scratch(args.data_dir, lambda: run(args))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=30, help="timed requests per page")
    parser.add_argument("--warmup", type=int, default=3, help="untimed requests first")
    parser.add_argument(
        "--data-dir",
        help="keep the database in this directory and reuse it on later runs "
        "(default: a temporary directory, deleted at the end)",
    )
    return parser.parse_args()


def run(args: argparse.Namespace) -> int:
    from landmark.demo.acme import build_demo
    from landmark.demo.large import BIG_KPI, SMALL_KPI, build_large
    from landmark.kpis.models import KPI
    from landmark.lib.db import refresh_statistics

    demo = timed("build demo", build_demo)
    large = timed("build large", build_large)
    timed("analyze", lambda: refresh_statistics(full=True))

    big = KPI.objects.get(organization=large, key=BIG_KPI)
    small = KPI.objects.get(organization=large, key=SMALL_KPI)
    demo_team, large_team = department(demo, "Support"), department(large, None)
    pairs = [
        ("KPI dashboard", demo, "/kpis/", "Acme", large, "/kpis/", "Globex"),
        (
            "dashboard, one department",
            demo,
            f"/kpis/?team={demo_team[0]}",
            f"Acme {demo_team[1]}",
            large,
            f"/kpis/?team={large_team[0]}",
            f"Globex {large_team[1]}",
        ),
        (
            "KPI page",
            large,
            f"/kpis/{small.pk}/",
            f"{small.points.count():,} points",
            large,
            f"/kpis/{big.pk}/",
            f"{big.points.count():,} points",
        ),
        (
            "KPI chart.json",
            large,
            f"/kpis/{small.pk}/chart.json",
            "1k points",
            large,
            f"/kpis/{big.pk}/chart.json",
            "1M points",
        ),
    ]
    rows, failures = [], []
    clients: dict[str, Client] = {}
    for page, org_a, url_a, label_a, org_b, url_b, label_b in pairs:
        measures = []
        for org, url in ((org_a, url_a), (org_b, url_b)):
            client = clients.get(org.slug) or login(org)
            clients[org.slug] = client
            measure = measure_page(client, url, args.runs, args.warmup)
            if measure.status != 200:
                failures.append(f"{org.slug} {url}: HTTP {measure.status}")
            measures.append(measure)
        rows.append(Row(page, measures[0], measures[1], label_a, label_b))
    print_table(rows, args.runs)
    for failure in failures:
        print(failure, file=sys.stderr)
    return 1 if failures else 0


def department(org: "Organization", name: str | None) -> tuple[int, str]:
    """A department to filter the dashboard by: Acme's by name; in Globex the one
    holding the benchmark KPIs (as many KPIs as any other department)."""
    from landmark.demo.large import BIG_KPI
    from landmark.kpis.models import KPI
    from landmark.orgs.models import Team

    if name is None:
        big = KPI.objects.select_related("team").get(organization=org, key=BIG_KPI)
        assert big.team is not None
        return big.team.pk, big.team.name
    team = Team.objects.get(organization=org, name=name)
    return team.pk, team.name


def login(org: "Organization") -> "Client":
    from django.test import Client

    from landmark.orgs.middleware import SESSION_KEY
    from landmark.orgs.models import Membership

    owner = (
        Membership.objects.filter(organization=org, role=Membership.Role.OWNER)
        .select_related("user")
        .order_by("pk")
        .first()
    )
    assert owner is not None
    client = Client(raise_request_exception=False)  # a failing page is reported
    client.force_login(owner.user)
    session = client.session
    session[SESSION_KEY] = org.pk
    session.save()
    return client


def measure_page(client: "Client", url: str, runs: int, warmup: int) -> Measure:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    response = client.get(url)
    if response.status_code != 200:
        return Measure(url, float("nan"), 0, response.status_code)
    for _ in range(warmup):
        client.get(url)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        client.get(url)
        times.append((time.perf_counter() - started) * 1000)
    # Counted apart from the timed runs: capturing queries slows every one down.
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    return Measure(url, statistics.median(times), len(queries), 200)


def print_table(rows: list[Row], runs: int) -> None:
    header = (
        f"{'page':<28}{'small':>22}{'large':>22}{'ms small':>10}{'ms large':>10}"
        f"{'ratio':>7}{'q small':>9}{'q large':>9}"
    )
    print(f"median of {runs} runs; queries counted on one request")
    print(header)
    print("-" * len(header))
    for row in rows:
        a, b = row.small, row.large
        ratio = b.ms / a.ms if a.ms else float("nan")
        print(
            f"{row.page:<28}{row.small_label[:21]:>22}{row.large_label[:21]:>22}"
            f"{a.ms:>10.1f}{b.ms:>10.1f}{ratio:>7.2f}{a.queries:>9}{b.queries:>9}"
        )
    for row in rows:
        print(f"  {row.page}: {row.small.url}  vs  {row.large.url}")


if __name__ == "__main__":
    sys.exit(main())
