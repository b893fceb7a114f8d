"""Connectors end to end against real sources: PostgreSQL, MariaDB, a SQLite file and
a loopback HTTP server (JSON and CSV), through the job that runs due connectors."""

import json
import sqlite3
from datetime import time, timedelta
from decimal import Decimal

import psycopg
import pymysql
import pytest
import time_machine
from django.utils import timezone

from landmark.connectors import actions, schedule, tasks
from landmark.connectors.actions import ConnectorInput, ConnectorInvalid
from landmark.connectors.models import Connector, ConnectorRun
from landmark.connectors.tests.conftest import days_before
from landmark.kpis.models import DataPoint, KPIWindow
from landmark.lib.tests.loopback import send
from landmark.notify.models import Notification
from landmark.orgs.models import Membership

pytestmark = pytest.mark.django_db(transaction=True)


def membership(org, user) -> Membership:
    return Membership.objects.get(organization=org, user=user)


def sql_connector(kpi, alice, url, query, **more) -> Connector:
    return actions.save_connector(
        kpi=kpi,
        membership=membership(kpi.organization, alice),
        data=ConnectorInput(
            kind=Connector.Kind.SQL,
            settings={"query": query},
            secrets={"database_url": url},
            **more,
        ),
    )


def run_now(connector) -> ConnectorRun:
    run = actions.start_run(connector, trigger=ConnectorRun.Trigger.MANUAL)
    assert run is not None
    tasks.execute_run(run.pk)  # the queue runs it at once in tests
    return ConnectorRun.objects.get(pk=run.pk)


def current_points(kpi) -> list[tuple[str, Decimal]]:
    return sorted(
        (p.time.date().isoformat(), p.value)
        for p in DataPoint.objects.filter(kpi=kpi, is_current=True)
    )


# PostgreSQL


def test_postgresql_rows_arrive_through_the_scheduled_job_and_rereading_never_duplicates(
    kpi, alice, pg_source, allow_loopback
):
    connector = sql_connector(
        kpi, alice, pg_source, "SELECT day, n FROM signups ORDER BY day"
    )
    assert connector.next_run_at is not None
    assert connector.next_run_at > timezone.now()
    with time_machine.travel(connector.next_run_at + timedelta(seconds=1), tick=False):
        tasks.run_connectors.call_local()
    run = ConnectorRun.objects.get(connector=connector)
    assert (run.rows_read, run.created, run.updated, run.error) == (5, 5, 0, "")
    assert run.trigger == "schedule"
    assert current_points(kpi) == sorted(
        (days_before(i), Decimal(10 * i)) for i in range(1, 6)
    )
    assert KPIWindow.objects.filter(kpi=kpi).count() == 5
    assert all(p.source == "connector" for p in DataPoint.objects.filter(kpi=kpi))
    # Re-reading the same rows changes nothing; a changed row is a correction.
    again = run_now(connector)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 5)
    with psycopg.connect(pg_source, autocommit=True) as conn:
        conn.execute("UPDATE signups SET n = 99 WHERE day = %s", (days_before(1),))
    third = run_now(connector)
    assert (third.created, third.updated, third.unchanged) == (0, 1, 4)
    assert DataPoint.objects.filter(kpi=kpi, is_current=True).count() == 5
    assert (days_before(1), Decimal(99)) in current_points(kpi)
    connector.refresh_from_db()
    assert connector.failures == 0
    assert connector.next_run_at is not None
    assert connector.next_run_at > timezone.now()
    with psycopg.connect(pg_source, autocommit=True) as conn:
        conn.execute("UPDATE signups SET n = 10 WHERE day = %s", (days_before(1),))


@pytest.mark.parametrize(
    "query",
    [
        "UPDATE signups SET n = 0 RETURNING day, n",
        "DROP TABLE signups",
        "SELECT 1; DROP TABLE signups",
        "COMMIT; DELETE FROM signups",
    ],
)
def test_postgresql_queries_that_write_fail_and_change_nothing(
    kpi, alice, pg_source, allow_loopback, query
):
    connector = sql_connector(kpi, alice, pg_source, query)
    run = run_now(connector)
    assert run.error, run
    assert run.created == 0
    with psycopg.connect(pg_source) as conn:
        rows = conn.execute("SELECT count(*), sum(n) FROM signups").fetchone()
    assert rows == (5, 150)
    assert not DataPoint.objects.filter(kpi=kpi).exists()


def test_postgresql_write_attempt_names_read_only(
    kpi, alice, pg_source, allow_loopback
):
    run = run_now(sql_connector(kpi, alice, pg_source, "DELETE FROM signups"))
    assert "connectors only read" in run.error
    assert "read-only transaction" in run.error


def test_postgresql_statement_timeout(kpi, alice, pg_source, allow_loopback, settings):
    settings.CONNECTOR_TIMEOUT = 1
    run = run_now(
        sql_connector(kpi, alice, pg_source, "SELECT now(), 1 FROM pg_sleep(3)")
    )
    assert "longer than the connector's time limit" in run.error
    assert "statement timeout" in run.error


def test_one_value_is_stamped_with_the_run_time(kpi, alice, pg_source, allow_loopback):
    run = run_now(sql_connector(kpi, alice, pg_source, "SELECT sum(n) FROM signups"))
    assert (run.created, run.error) == (1, "")
    point = DataPoint.objects.get(kpi=kpi)
    assert point.value == 150 and point.time == run.started_at


def test_malformed_rows_are_named_and_nothing_is_half_saved(
    kpi, alice, pg_source, allow_loopback
):
    query = (
        "SELECT day, CASE WHEN n = 30 THEN 'lots' WHEN n = 50 THEN '1.23456' "
        "ELSE n::text END FROM signups ORDER BY day"
    )
    run = run_now(sql_connector(kpi, alice, pg_source, query))
    assert "2 row(s) could not be imported, so nothing was saved" in run.error
    assert "row 1, value:" in run.error  # 50: five days ago, the first row
    assert "row 3, value:" in run.error
    assert run.created == 0
    assert not DataPoint.objects.filter(kpi=kpi).exists()
    assert not KPIWindow.objects.filter(kpi=kpi).exists()


def test_a_source_that_is_down_fails_backs_off_then_tells_the_owner(
    kpi, alice, allow_loopback, client, caplog
):
    connector = sql_connector(
        kpi, alice, "postgresql://postgres:pa55-word-x@127.0.0.1:1/nothing", "SELECT 1"
    )
    errors = []
    for _ in range(3):
        errors.append(run_now(connector).error)
        connector.refresh_from_db()
    # The password is in no run's error and no log line.
    assert "Connector %s failed: %s" in [r.msg for r in caplog.records]
    assert "pa55-word-x" not in caplog.text
    assert not any("pa55-word-x" in e for e in errors)
    assert "Connection refused" in errors[0] or "connection failed" in errors[0]
    assert connector.failures == 3
    # Backoff: the next attempt comes before the daily schedule would.
    assert connector.next_run_at is not None
    assert connector.next_run_at <= timezone.now() + timedelta(minutes=30)
    [note] = Notification.objects.filter(recipient=alice, kind="connector_failing")
    assert note.title == "The connector of Signups is failing"
    assert "127.0.0.1" in note.body
    client.force_login(alice)
    page = client.get(f"/kpis/{kpi.pk}/").content.decode()
    assert "Connector failing" in page
    # A fourth failure does not notify again; a success resets the streak.
    run_now(connector)
    assert Notification.objects.filter(kind="connector_failing").count() == 1


def test_crash_mid_run_then_retry_saves_nothing_twice(
    kpi, alice, pg_source, allow_loopback
):
    connector = sql_connector(kpi, alice, pg_source, "SELECT day, n FROM signups")
    run = actions.start_run(connector, trigger=ConnectorRun.Trigger.SCHEDULE)
    assert run is not None
    # The worker read the rows and committed them under the run's key, then died
    # before recording the run.
    rows = actions.read_source(connector)
    points = actions.points_of(connector, rows, run.started_at)
    actions.ingest_run(
        membership(kpi.organization, alice), points, key=run.key, now=timezone.now()
    )
    assert DataPoint.objects.filter(kpi=kpi).count() == 5
    assert ConnectorRun.objects.get(pk=run.pk).finished_at is None
    # Meanwhile a row changed in the source; the retry replays the committed batch.
    with psycopg.connect(pg_source, autocommit=True) as conn:
        conn.execute("UPDATE signups SET n = 77 WHERE day = %s", (days_before(2),))
    try:
        later = timezone.now() + actions.STALE_RUN + timedelta(minutes=1)
        with time_machine.travel(later, tick=False):
            assert actions.due_runs() == [run.pk]
            tasks.execute_run(run.pk)
        retried = ConnectorRun.objects.get(pk=run.pk)
        assert retried.finished_at is not None and retried.error == ""
        assert retried.attempts == 1
        assert DataPoint.objects.filter(kpi=kpi).count() == 5  # nothing twice
        # The next run reads the change, as a correction.
        fresh = run_now(connector)
        assert (fresh.created, fresh.updated) == (0, 1)
        assert DataPoint.objects.filter(kpi=kpi, is_current=True).count() == 5
    finally:
        with psycopg.connect(pg_source, autocommit=True) as conn:
            conn.execute("UPDATE signups SET n = 20 WHERE day = %s", (days_before(2),))


def test_per_organization_concurrency_limit(
    org, alice, pg_source, allow_loopback, settings
):
    from landmark.kpis import actions as kpi_actions

    settings.CONNECTOR_CONCURRENCY = 2
    connectors = []
    for i in range(3):
        kpi = kpi_actions.create_kpi(org=org, name=f"K{i}", owner=alice)
        connectors.append(sql_connector(kpi, alice, pg_source, "SELECT 1"))
    due = max(c.next_run_at or timezone.now() for c in connectors)
    due += timedelta(seconds=1)
    with time_machine.travel(due, tick=False):
        first = actions.due_runs()
        assert len(first) == 2  # the third waits for a free slot
        assert actions.due_runs() == []
        for run_id in first:
            actions.execute_run(run_id)
        assert len(actions.due_runs()) == 1


# MariaDB


def test_mariadb_end_to_end_read_only_and_timeout(
    kpi, alice, maria_source, allow_loopback, settings
):
    connector = sql_connector(kpi, alice, maria_source, "SELECT opened, n FROM tickets")
    run = run_now(connector)
    assert (run.rows_read, run.created, run.error) == (3, 3, "")
    assert current_points(kpi) == sorted(
        (days_before(i), Decimal(i)) for i in range(1, 4)
    )
    for query in ["UPDATE tickets SET n = 0", "DROP TABLE tickets"]:
        failed = run_now(sql_connector(kpi, alice, maria_source, query))
        assert "READ ONLY" in failed.error or "only read" in failed.error, failed.error
    name = maria_source.rsplit("/", 1)[1]
    conn = pymysql.connect(host="127.0.0.1", user="root", password="", database=name)
    with conn.cursor() as cursor:
        cursor.execute("SELECT count(*), sum(n) FROM tickets")
        assert cursor.fetchone() == (3, Decimal(6))
    conn.close()
    settings.CONNECTOR_TIMEOUT = 1
    slow = run_now(
        sql_connector(
            kpi, alice, maria_source, "SELECT now(), SLEEP(3) + 1 FROM tickets"
        )
    )
    assert "time limit" in slow.error, slow.error


# SQLite


def test_sqlite_file_read_only_and_only_where_the_operator_allows(
    kpi, alice, tmp_path, settings
):
    path = tmp_path / "metrics.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE m (t text, v real)")
    conn.execute(
        "INSERT INTO m VALUES (?, 4.5), (?, 5.25)", (days_before(2), days_before(1))
    )
    conn.commit()
    conn.close()
    url = f"sqlite:///{path}"
    with pytest.raises(ConnectorInvalid) as refused:
        sql_connector(kpi, alice, url, "SELECT t, v FROM m")
    assert "LANDMARK_CONNECTOR_SQLITE_DIRS" in refused.value.errors["database_url"]
    settings.CONNECTOR_SQLITE_DIRS = [str(tmp_path)]
    run = run_now(sql_connector(kpi, alice, url, "SELECT t, v FROM m"))
    assert (run.created, run.error) == (2, "")
    assert current_points(kpi) == [
        (days_before(2), Decimal("4.5")),
        (days_before(1), Decimal("5.25")),
    ]
    failed = run_now(sql_connector(kpi, alice, url, "DELETE FROM m RETURNING t, v"))
    assert "only read" in failed.error or "readonly" in failed.error, failed.error
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT count(*) FROM m").fetchone() == (2,)
    conn.close()
    settings.CONNECTOR_TIMEOUT = 0.2
    slow = run_now(
        sql_connector(
            kpi,
            alice,
            url,
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
            "SELECT max(x) FROM c",
        )
    )
    assert "time limit" in slow.error


# HTTP JSON and CSV at a URL


def test_http_json_with_a_secret_header(kpi, alice, web, allow_loopback):
    seen = []

    def tickets(handler):
        seen.append(handler.headers.get("Authorization"))
        body = {
            "data": [
                {"day": days_before(2), "open": 12},
                {"day": days_before(1), "open": 9},
            ]
        }
        send(handler, json.dumps(body).encode())

    web.routes["/tickets"] = tickets
    connector = actions.save_connector(
        kpi=kpi,
        membership=membership(kpi.organization, alice),
        data=ConnectorInput(
            kind=Connector.Kind.HTTP_JSON,
            settings={"expression": "data[].{time: day, value: open}"},
            secrets={
                "url": web.url("127.0.0.1", "/tickets"),
                "headers": {"Authorization": "Bearer s3cret-token"},
            },
        ),
    )
    assert connector.secret is not None
    assert "s3cret-token" not in connector.secret.token
    run = run_now(connector)
    assert (run.created, run.error) == (2, "")
    assert seen == ["Bearer s3cret-token"]
    assert current_points(kpi) == [
        (days_before(2), Decimal(12)),
        (days_before(1), Decimal(9)),
    ]


def test_csv_at_a_url(kpi, alice, web, allow_loopback):
    csv_text = f"Week,Signups,Note\n{days_before(3)},40,x\n{days_before(2)},41,y\n"
    web.routes["/sheet.csv"] = lambda h: send(
        h, csv_text.encode(), headers={"Content-Type": "text/csv"}
    )
    connector = actions.save_connector(
        kpi=kpi,
        membership=membership(kpi.organization, alice),
        data=ConnectorInput(
            kind=Connector.Kind.CSV_URL,
            settings={"time_column": "week", "value_column": "Signups"},
            secrets={"url": web.url("127.0.0.1", "/sheet.csv")},
        ),
    )
    run = run_now(connector)
    assert (run.created, run.error) == (2, "")
    web.routes["/sheet.csv"] = lambda h: send(h, b"Week,Other\n2026-01-01,1\n")
    bad = run_now(connector)
    assert "no column named Signups" in bad.error


def test_ssrf_private_hosts_are_refused_without_the_operator_allow_list(
    kpi, alice, web, pg_source
):
    member = membership(kpi.organization, alice)
    with pytest.raises(ConnectorInvalid) as refused:
        actions.save_connector(
            kpi=kpi,
            membership=member,
            data=ConnectorInput(
                kind=Connector.Kind.HTTP_JSON,
                settings={"expression": "a"},
                secrets={"url": web.url("127.0.0.1", "/x")},
            ),
        )
    assert "LANDMARK_CONNECTOR_ALLOW_HOSTS" in refused.value.errors["url"]
    for url in [pg_source, "mysql://root@169.254.169.254/x", "postgresql://u@[::1]/x"]:
        with pytest.raises(ConnectorInvalid) as refused:
            sql_connector(kpi, alice, url, "SELECT 1")
        assert "private, local or reserved" in refused.value.errors["database_url"]
    assert web.hits == []


def test_ssrf_refused_at_run_time_when_the_allow_list_is_withdrawn(
    kpi, alice, web, settings, pg_source
):
    settings.CONNECTOR_ALLOWED_HOSTS = ["127.0.0.1"]
    connector = sql_connector(kpi, alice, pg_source, "SELECT 1")
    settings.CONNECTOR_ALLOWED_HOSTS = []
    run = run_now(connector)
    assert "private, local or reserved" in run.error
    assert not DataPoint.objects.filter(kpi=kpi).exists()


# Test connection


def test_preview_shows_rows_windows_and_health_and_saves_nothing(
    kpi, alice, pg_source, allow_loopback
):
    connector = Connector(
        organization=kpi.organization,
        kpi=kpi,
        kind=Connector.Kind.SQL,
        settings={"query": "SELECT day, n FROM signups ORDER BY day"},
    )
    connector.set_secret_parts({"database_url": pg_source})
    preview = actions.preview_connector(
        connector=connector, membership=membership(kpi.organization, alice)
    )
    assert preview.ok and preview.rows_read == 5
    assert [r.value for r in preview.rows] == ["50", "40", "30", "20", "10"]
    assert [w.health for w in preview.windows] == [
        "healthy",
        "healthy",
        "healthy",
        "healthy",
        "unhealthy",
    ]
    assert preview.counts.created == 5
    assert not DataPoint.objects.filter(kpi=kpi).exists()
    assert not KPIWindow.objects.filter(kpi=kpi).exists()
    assert not Connector.objects.exists()


def test_preview_gives_the_exact_error(kpi, alice, allow_loopback):
    connector = Connector(
        organization=kpi.organization,
        kpi=kpi,
        kind=Connector.Kind.SQL,
        settings={"query": "SELECT nope FROM nowhere"},
    )
    connector.set_secret_parts(
        {"database_url": "postgresql://postgres@127.0.0.1:5432/postgres"}
    )
    preview = actions.preview_connector(
        connector=connector, membership=membership(kpi.organization, alice)
    )
    assert 'relation "nowhere" does not exist' in preview.error


# Schedules


def test_schedules_in_the_organizations_time_zone():
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    paris = ZoneInfo("Europe/Paris")
    line = schedule.cron_line("daily", time(6, 0), 0, "")
    # The night daylight saving starts in Paris (29 March 2026): 06:00 is 04:00 UTC.
    after = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)
    assert schedule.next_run(line, after, paris) == datetime(
        2026, 3, 29, 4, 0, tzinfo=UTC
    )
    weekly = schedule.cron_line("weekly", time(9, 30), 0, "")
    assert schedule.next_run(weekly, after, paris) == datetime(
        2026, 3, 30, 7, 30, tzinfo=UTC
    )
    hourly = schedule.cron_line("hourly", time(0, 15), 0, "")
    assert schedule.next_run(hourly, after, paris) == datetime(
        2026, 3, 28, 12, 15, tzinfo=UTC
    )
    assert schedule.cron_problem("61 * * * *")
    assert schedule.cron_problem("* * *")
    assert schedule.cron_problem("*/15 8-18 * * 1-5") == ""
