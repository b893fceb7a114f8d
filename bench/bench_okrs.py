"""Do OKR pages keep their speed and query count as the data grows?

Builds the small "Acme" demo and the large synthetic "Globex" workspace in one
database, then times the same pages in both and prints the ratios. Usage:

    python bench/bench_okrs.py [--runs 30] [--data-dir DIR]

See bench/README.md.
"""

import argparse
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
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from landmark.orgs.models import Organization, Team

T = TypeVar("T")

ROOT = Path(__file__).resolve().parent.parent
OBJECTIVE_LINK = re.compile(r"/objectives/(\d+)/")


@dataclass
class Measure:
    page: str
    url: str
    ms: float
    queries: int
    objectives: int


def main() -> int:
    args = parse_args()
    return run_in_scratch(args.data_dir, lambda: run(args))


def run(args: argparse.Namespace) -> int:
    from landmark.demo.acme import build_demo
    from landmark.demo.large import build_large

    demo = timed("build demo", build_demo)
    large = timed("build large", build_large)
    from landmark.lib.db import refresh_statistics

    # What `landmark demo` does after a bulk build: give the planner statistics.
    timed("analyze", lambda: refresh_statistics(full=True))

    rows: list[tuple[Measure, Measure]] = []
    failures: list[str] = []
    targets = {org.slug: pick_targets(org) for org in (demo, large)}
    for page in ("OKR tree (department)", "objective page"):
        pair = []
        for org in (demo, large):
            url = targets[org.slug][page]
            measure, error = measure_page(org, page, url, args.runs, args.warmup)
            pair.append(measure)
            if error:
                failures.append(error)
        rows.append((pair[0], pair[1]))

    print_table(rows, args.runs)
    for failure in failures:
        print(failure, file=sys.stderr)
    return 1 if failures else 0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30, help="timed requests per page")
    parser.add_argument("--warmup", type=int, default=3, help="untimed requests first")
    parser.add_argument(
        "--data-dir",
        help="keep the database in this directory and reuse it on later runs "
        "(default: a temporary directory, deleted at the end)",
    )
    return parser.parse_args()


def prepare_environment(data_dir: str | None) -> str:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "landmark.settings")
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


def pick_targets(org: "Organization") -> dict[str, str]:
    """The department tree page and an objective page to time in one organization.

    The department in the large workspace is the one whose current-quarter objective
    count is closest to Acme's Sales, so both pages show about as much.
    """
    from landmark.okrs.models import Objective, Period
    from landmark.orgs.models import Team

    period = Period.objects.get(
        organization=org, kind=Period.Kind.QUARTER, state=Period.State.ACTIVE
    )
    in_period = Objective.objects.filter(organization=org, period=period)
    if org.slug == "acme":
        department = Team.objects.get(organization=org, name="Sales")
    else:
        wanted = subtree_count(acme_sales())
        departments = Team.objects.filter(
            organization=org, kind=Team.Kind.DEPARTMENT
        ).order_by("pk")
        department = min(departments, key=lambda t: abs(subtree_count(t) - wanted))
    objective = next(
        o
        for o in in_period.filter(team=department).order_by("pk")
        if 3 <= o.key_results.count() <= 4
    )
    return {
        "OKR tree (department)": f"/okrs/?period={period.pk}&team={department.pk}",
        "objective page": f"/objectives/{objective.pk}/",
    }


def acme_sales() -> "Team":
    from landmark.orgs.models import Team

    return Team.objects.get(organization__slug="acme", name="Sales")


def subtree_count(team: "Team") -> int:
    from landmark.okrs.models import Objective, Period

    teams = team.descendants(include_self=True)
    return Objective.objects.filter(
        team__in=teams,
        period__state=Period.State.ACTIVE,
        period__kind=Period.Kind.QUARTER,
    ).count()


def measure_page(
    org: "Organization",
    page: str,
    url: str,
    runs: int,
    warmup: int,
) -> tuple[Measure, str]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from landmark.orgs.middleware import SESSION_KEY
    from landmark.orgs.models import Membership

    owner = (
        Membership.objects.filter(organization=org, role=Membership.Role.OWNER)
        .select_related("user")
        .order_by("pk")
        .first()
    )
    assert owner is not None
    client = Client()
    client.force_login(owner.user)
    session = client.session
    session[SESSION_KEY] = org.pk
    session.save()

    response = client.get(url)
    if response.status_code != 200:
        error = f"{org.slug} {url}: HTTP {response.status_code}"
        return Measure(page, url, float("nan"), 0, 0), error
    objectives = len(set(OBJECTIVE_LINK.findall(response.content.decode())))
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
    return Measure(page, url, statistics.median(times), len(queries), objectives), ""


def print_table(rows: list[tuple[Measure, Measure]], runs: int) -> None:
    header = (
        f"{'page':<24}{'demo ms':>9}{'large ms':>10}{'ratio':>7}"
        f"{'q demo':>8}{'q large':>9}{'obj demo':>10}{'obj large':>11}"
    )
    print(f"median of {runs} runs; queries and objectives counted on one request")
    print(header)
    print("-" * len(header))
    for demo, large in rows:
        ratio = large.ms / demo.ms if demo.ms else float("nan")
        print(
            f"{demo.page:<24}{demo.ms:>9.1f}{large.ms:>10.1f}{ratio:>7.2f}"
            f"{demo.queries:>8}{large.queries:>9}{demo.objectives:>10}"
            f"{large.objectives:>11}"
        )
    for demo, large in rows:
        print(f"  {demo.page}: demo {demo.url}  large {large.url}")


if __name__ == "__main__":
    sys.exit(main())
