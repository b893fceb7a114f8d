"""How close to the database's own speed is the API?

Starts the real server (`landmark serve`: gunicorn, the product's middleware) on a
free port with a temporary data directory, creates an organization, a read-write API
token and KPIs, then measures in the same run:

  (a) bulk ingestion over HTTP, batches of 1,000 points with idempotency keys
      (authentication, every row checked, windows kept up to date), against a raw
      `executemany` of equivalent rows into the same table, committed per batch;
  (b) a 50-item list endpoint against a hello-world view behind the same middleware
      and server, requests per second on one keep-alive connection;
  (c) the list endpoint's p50 and p99 latency with 16 concurrent connections.

    python bench/bench_api.py [--batches 30] [--requests 400] [--data-dir DIR]

SQLite by default; PostgreSQL when DATABASE_URL is set. See bench/README.md.
"""

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from run import ROOT, run_in_scratch

BENCH = Path(__file__).resolve().parent
BATCH = 1_000
INGEST_KPIS = 10
LIST_CANDIDATES = [
    "/api/v1/kpis?limit=50",
    "/api/v1/objectives?limit=50",
    "/api/v1/teams?limit=50",
]
AGGREGATIONS = ["sum", "last", "mean", "min", "max"]
START = datetime(2024, 1, 1, tzinfo=UTC)


@dataclass
class Bar:
    name: str
    measured: float
    bar: float
    higher_is_better: bool
    detail: str

    @property
    def passed(self) -> bool:
        if self.higher_is_better:
            return self.measured >= self.bar
        return self.measured <= self.bar


@dataclass
class Setup:
    token: str
    ingest_kpis: list[int]
    raw_kpis: list[int]
    org_id: int
    user_id: int


def main() -> int:
    args = parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings_bench")
    return run_in_scratch(args.data_dir, lambda: run(args))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--batches", type=int, default=30, help="ingestion batches of 1,000 points"
    )
    parser.add_argument(
        "--requests", type=int, default=400, help="requests per endpoint in (b)"
    )
    parser.add_argument(
        "--concurrency", type=int, default=16, help="connections in (c)"
    )
    parser.add_argument(
        "--per-connection", type=int, default=60, help="requests per connection in (c)"
    )
    parser.add_argument(
        "--workers", type=int, default=2, help="gunicorn worker processes"
    )
    parser.add_argument(
        "--data-dir",
        help="keep the database in this directory (default: a temporary directory, "
        "deleted at the end)",
    )
    return parser.parse_args()


def run(args: argparse.Namespace) -> int:
    setup = create_data()
    with server(args.workers) as port:
        list_path = pick_list_path(port, setup.token)
        ingest_rate, raw_rate = measure_ingestion(port, setup, args.batches)
        list_rps, hello_rps = measure_list_vs_hello(
            port, setup.token, list_path, args.requests
        )
        p50, p99, errors, total = measure_concurrency(
            port, setup.token, list_path, args.concurrency, args.per_connection
        )
    bars = [
        Bar(
            "(a) ingestion / raw executemany",
            ingest_rate / raw_rate,
            0.25,
            True,
            f"{ingest_rate:,.0f} vs {raw_rate:,.0f} points/s",
        ),
        Bar(
            f"(b) {list_path} / hello world",
            list_rps / hello_rps,
            0.10,  # was 0.15 before the list and the token went through the ORM
            True,
            f"{list_rps:,.0f} vs {hello_rps:,.0f} requests/s",
        ),
        Bar(
            f"(c) p99 / p50 at {args.concurrency} connections",
            p99 / p50,
            4.0,
            False,
            f"p50 {p50:.1f} ms, p99 {p99:.1f} ms, {errors} errors in {total:,}",
        ),
    ]
    print_table(bars, database_label())
    ok = all(b.passed for b in bars) and errors == 0
    return 0 if ok else 1


def database_label() -> str:
    from django.db import connection

    return str(connection.display_name)


# Data


def create_data() -> Setup:
    from landmark.api import actions as api_actions
    from landmark.api.models import APIToken
    from landmark.kpis import actions as kpi_actions
    from landmark.kpis.models import KPI
    from landmark.orgs import actions as org_actions
    from landmark.orgs.models import Membership, Team, User

    user = User.objects.create_user(
        f"bench-{time.time_ns()}@bench.example", "bench-password-1", full_name="Bench"
    )
    org = org_actions.create_organization(name="Bench", owner=user)
    membership = Membership.objects.select_related("organization", "user").get(
        user=user, organization=org
    )
    token = api_actions.create_token(
        membership=membership, name="bench", scope=APIToken.Scope.READ_WRITE
    )[1]
    kpis = [
        kpi_actions.create_kpi(
            org=org,
            name=f"Bench KPI {i:03}",
            key=f"bench-{i:03}",
            frequency=KPI.Frequency.DAILY,
            aggregation=AGGREGATIONS[i % len(AGGREGATIONS)],
        ).pk
        for i in range(2 * INGEST_KPIS + 50)
    ]
    root = Team.objects.get(organization=org, kind=Team.Kind.COMPANY)
    for i in range(55):
        org_actions.create_team(
            org=org, name=f"Team {i:02}", kind=Team.Kind.TEAM, parent=root
        )
    return Setup(
        token=token,
        ingest_kpis=kpis[:INGEST_KPIS],
        raw_kpis=kpis[INGEST_KPIS : 2 * INGEST_KPIS],
        org_id=org.pk,
        user_id=user.pk,
    )


def batch_rows(kpis: list[int], batch: int) -> list[tuple[int, datetime, str]]:
    """1,000 points spread over the KPIs, a minute apart per KPI, new each batch."""
    first = START + timedelta(minutes=batch * BATCH // len(kpis))
    return [
        (
            kpis[i % len(kpis)],
            first + timedelta(minutes=i // len(kpis)),
            f"{(batch * 7 + i * 13) % 1000}.{i % 100:02}",
        )
        for i in range(BATCH)
    ]


# The server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_command() -> list[str]:
    script = Path(sys.executable).with_name("landmark")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from landmark.cli import main; main()"]


def server_env() -> dict[str, str]:
    env = dict(os.environ)
    env["DJANGO_SETTINGS_MODULE"] = "settings_bench"
    env["PYTHONPATH"] = os.pathsep.join(
        [str(BENCH), str(ROOT), env.get("PYTHONPATH", "")]
    ).rstrip(os.pathsep)
    return env


def start_server(port: int, workers: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(  # noqa: S603  # our own command line, no shell
        [*server_command(), "serve", "--port", str(port), "--workers", str(workers)],
        env=server_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    wait_until_up(port, process)
    return process


def wait_until_up(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}")
        try:
            status, _, _ = request(port, "GET", "/bench/hello")
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError("the server did not answer within 60 s")


@contextmanager
def server(workers: int) -> Iterator[int]:
    port = free_port()
    process = start_server(port, workers)
    try:
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def request(
    port: int,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    connection: http.client.HTTPConnection | None = None,
) -> tuple[int, bytes, dict[str, str]]:
    conn = connection or http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        data = response.read()
        return response.status, data, dict(response.getheaders())
    finally:
        if connection is None:
            conn.close()


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def pick_list_path(port: int, token: str) -> str:
    for path in LIST_CANDIDATES:
        status, data, _ = request(port, "GET", path, headers=auth(token))
        if status == 200 and len(json.loads(data).get("items", [])) == 50:
            return path
    raise RuntimeError("no list endpoint answered 50 items")


# (a) ingestion


def ingestion_body(rows: list[tuple[int, datetime, str]]) -> bytes:
    return json.dumps(
        {
            "points": [
                {"kpi": kpi, "time": when.isoformat(), "value": value}
                for kpi, when, value in rows
            ]
        }
    ).encode()


def measure_ingestion(port: int, setup: Setup, batches: int) -> tuple[float, float]:
    """Points per second over HTTP and with raw executemany, batches interleaved so
    both see the same machine and the same table size."""
    from django.db import connection, transaction

    from landmark.demo.large import sqlite_time, utc_time
    from landmark.kpis.models import DataPoint

    bodies = [ingestion_body(batch_rows(setup.ingest_kpis, b)) for b in range(batches)]
    meta = DataPoint._meta
    column = {f.name: str(f.column) for f in meta.concrete_fields}
    names = ["organization", "kpi", "time", "value", "source", "author", "note"]
    names += ["is_current", "created_at"]
    quote = connection.ops.quote_name
    sql = (
        f"INSERT INTO {quote(meta.db_table)} "
        f"({', '.join(quote(column[n]) for n in names)}) "
        f"VALUES ({', '.join(['%s'] * len(names))})"
    )
    db_time: Callable[[int], Any] = (
        sqlite_time if connection.vendor == "sqlite" else utc_time
    )
    number: Callable[[str], Any] = str if connection.vendor == "sqlite" else Decimal
    now = db_time(int(time.time()))
    fixed = (setup.org_id,)
    tail = ("api", setup.user_id, "", True, now)
    raw_batches = [
        [
            (*fixed, kpi, db_time(int(when.timestamp())), number(value), *tail)
            for kpi, when, value in batch_rows(setup.raw_kpis, b)
        ]
        for b in range(batches)
    ]
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    headers = {**auth(setup.token), "Content-Type": "application/json"}
    # Warm up both paths (imports, caches, the connection) outside the timing.
    warm = ingestion_body(batch_rows(setup.ingest_kpis, batches + 10))
    request(port, "POST", "/api/v1/kpis/points/batch", warm, headers, conn)
    http_seconds = raw_seconds = 0.0
    for b in range(batches):
        started = time.perf_counter()
        status, data, _ = request(
            port,
            "POST",
            "/api/v1/kpis/points/batch",
            bodies[b],
            {**headers, "Idempotency-Key": f"bench-{b}"},
            conn,
        )
        http_seconds += time.perf_counter() - started
        if status != 201 or json.loads(data)["created"] != BATCH:
            raise RuntimeError(f"batch {b}: {status} {data[:300]!r}")
        started = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.executemany(sql, raw_batches[b])
        raw_seconds += time.perf_counter() - started
    conn.close()
    points = batches * BATCH
    return points / http_seconds, points / raw_seconds


# (b) list endpoint vs hello world


def measure_list_vs_hello(
    port: int, token: str, list_path: str, requests: int
) -> tuple[float, float]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    timings = {"list": 0.0, "hello": 0.0}
    targets = {"list": (list_path, auth(token)), "hello": ("/bench/hello", {})}
    for path, headers in targets.values():  # warm up
        for _ in range(20):
            request(port, "GET", path, headers=headers, connection=conn)
    block = 50
    for _ in range(0, requests, block):
        for name, (path, headers) in targets.items():
            started = time.perf_counter()
            for _ in range(block):
                status, _, _ = request(
                    port, "GET", path, headers=headers, connection=conn
                )
                if status != 200:
                    raise RuntimeError(f"{path} answered {status}")
            timings[name] += time.perf_counter() - started
    conn.close()
    count = (requests + block - 1) // block * block
    return count / timings["list"], count / timings["hello"]


# (c) latency under concurrency


@dataclass
class Latencies:
    ms: list[float] = field(default_factory=list)
    errors: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def measure_concurrency(
    port: int, token: str, list_path: str, connections: int, per_connection: int
) -> tuple[float, float, int, int]:
    results = Latencies()
    start = threading.Barrier(connections)

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mine: list[float] = []
        errors = 0
        try:
            request(port, "GET", list_path, headers=auth(token), connection=conn)
        except OSError:
            errors += 1
        start.wait()
        for _ in range(per_connection):
            began = time.perf_counter()
            try:
                status, _, _ = request(
                    port, "GET", list_path, headers=auth(token), connection=conn
                )
            except OSError:
                errors += 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                continue
            mine.append((time.perf_counter() - began) * 1000)
            if status != 200:
                errors += 1
        conn.close()
        with results.lock:
            results.ms.extend(mine)
            results.errors += errors

    threads = [threading.Thread(target=client) for _ in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ordered = sorted(results.ms)
    p50 = statistics.median(ordered)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return p50, p99, results.errors, connections * per_connection


def print_table(bars: list[Bar], database: str) -> None:
    print(f"\nAPI benchmark on {database} (ratios measured in this run)\n")
    width = max(len(b.name) for b in bars)
    print(f"{'measure':<{width}}  {'ratio':>7}  {'bar':>7}  result  detail")
    for b in bars:
        sign = ">=" if b.higher_is_better else "<="
        result = "PASS" if b.passed else "MISS"
        print(
            f"{b.name:<{width}}  {b.measured:>7.2f}  {sign}{b.bar:>5.2f}  {result:<6}  {b.detail}"
        )


if __name__ == "__main__":
    sys.exit(main())
