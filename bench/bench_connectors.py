"""Is a SQL connector as fast as the batch API? One run of a SQL connector pulling
100,000 `time, value` rows from a PostgreSQL table into one KPI, against the batch API
(`POST /api/v1/kpis/points/batch`, batches of 10,000 with idempotency keys, through
Django's test client in the same process) ingesting the same rows into another KPI.
Bar: the connector reaches at least 0.7 of the API's rate.

    python bench/bench_connectors.py [--rows 100000] [--bar 0.7]

Landmark's own database: SQLite by default, PostgreSQL when DATABASE_URL is set. The
source is a scratch database `lm_src_bench_connectors` on 127.0.0.1:5432 (dropped at
the end). See bench/README.md.
"""

import argparse
import json
import sys
import time
from datetime import UTC, datetime, timedelta

import psycopg
from run import run_in_scratch

SOURCE_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
SOURCE_NAME = "lm_src_bench_connectors"
START = datetime(2024, 1, 1, tzinfo=UTC)
BATCH = 10_000


def rows(n: int) -> list[tuple[datetime, str]]:
    return [
        (START + timedelta(minutes=i), f"{(i * 7) % 1000}.{i % 100:02}")
        for i in range(n)
    ]


def make_source(n: int) -> str:
    with psycopg.connect(SOURCE_ADMIN, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {SOURCE_NAME} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {SOURCE_NAME}")
    url = f"postgresql://postgres@127.0.0.1:5432/{SOURCE_NAME}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE metric (t timestamptz PRIMARY KEY, v numeric(20, 4))"
        )
        with conn.cursor().copy("COPY metric (t, v) FROM STDIN") as copy:
            for row in rows(n):
                copy.write_row(row)
    return url


def drop_source() -> None:
    with psycopg.connect(SOURCE_ADMIN, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {SOURCE_NAME} WITH (FORCE)")


def bench(args: argparse.Namespace) -> int:
    from django.conf import settings
    from django.test import Client

    from landmark.api import actions as api_actions
    from landmark.api.models import APIToken
    from landmark.connectors import actions
    from landmark.connectors.models import ConnectorRun
    from landmark.kpis import actions as kpi_actions
    from landmark.kpis.models import KPI, DataPoint
    from landmark.orgs import actions as org_actions
    from landmark.orgs.models import Membership, User

    settings.CONNECTOR_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.CONNECTOR_MAX_ROWS = max(args.rows, 100_000)
    settings.ALLOWED_HOSTS = ["*"]
    url = make_source(args.rows)
    try:
        user = User.objects.create_user("bench@bench.example", "bench-password-1")
        org = org_actions.create_organization(name="Bench", owner=user)
        membership = Membership.objects.select_related("organization", "user").get(
            user=user, organization=org
        )
        token = api_actions.create_token(
            membership=membership, name="bench", scope=APIToken.Scope.READ_WRITE
        )[1]
        api_kpi, sql_kpi = (
            kpi_actions.create_kpi(
                org=org, name=name, frequency=KPI.Frequency.DAILY, aggregation="sum"
            )
            for name in ("Through the API", "Through a connector")
        )
        data = rows(args.rows)
        bodies = [
            json.dumps(
                {
                    "points": [
                        {"kpi": api_kpi.pk, "time": t.isoformat(), "value": v}
                        for t, v in data[i : i + BATCH]
                    ]
                }
            ).encode()
            for i in range(0, len(data), BATCH)
        ]
        client = Client()
        started = time.perf_counter()
        for i, body in enumerate(bodies):
            response = client.post(
                "/api/v1/kpis/points/batch",
                body,
                content_type="application/json",
                headers={
                    "Authorization": f"Bearer {token}",
                    "Idempotency-Key": f"b{i}",
                },
            )
            if response.status_code not in {200, 201}:
                raise RuntimeError(response.content[:500])
        api_seconds = time.perf_counter() - started

        connector = actions.save_connector(
            kpi=sql_kpi,
            membership=membership,
            data=actions.ConnectorInput(
                kind="sql",
                settings={"query": "SELECT t, v FROM metric ORDER BY t"},
                secrets={"database_url": url},
            ),
        )
        run = actions.start_run(connector, trigger=ConnectorRun.Trigger.MANUAL)
        assert run is not None
        started = time.perf_counter()
        done = actions.execute_run(run.pk)
        sql_seconds = time.perf_counter() - started
        if done.error or done.created != args.rows:
            raise RuntimeError(
                f"connector run: {done.created} created, {done.error[:500]}"
            )
        for kpi in (api_kpi, sql_kpi):
            count = DataPoint.objects.filter(kpi=kpi).count()
            if count != args.rows:
                raise RuntimeError(f"{kpi.name}: {count} points")
    finally:
        drop_source()
    api_rate = args.rows / api_seconds
    sql_rate = args.rows / sql_seconds
    ratio = sql_rate / api_rate
    db = (
        "PostgreSQL"
        if "postgresql" in settings.DATABASES["default"]["ENGINE"]
        else "SQLite"
    )
    print(f"Landmark on {db}, {args.rows:,} rows into one daily KPI")
    print(
        f"| batch API ({BATCH:,} a batch) | {api_rate:,.0f} points/s | {api_seconds:.1f} s |"
    )
    print(
        f"| SQL connector (one run)      | {sql_rate:,.0f} points/s | {sql_seconds:.1f} s |"
    )
    verdict = "PASS" if ratio >= args.bar else "FAIL"
    print(f"connector / API: {ratio:.2f} (bar >= {args.bar}) {verdict}")
    return 0 if ratio >= args.bar else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--bar", type=float, default=0.7)
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args()
    return run_in_scratch(args.data_dir, lambda: bench(args))


if __name__ == "__main__":
    sys.exit(main())
