"""Real sources for the connectors' tests: a PostgreSQL database and a MariaDB
database of their own (one per xdist worker), SQLite files, and a loopback web
server serving JSON and CSV. No source is mocked."""

import os
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal

import psycopg
import pymysql
import pytest
from django.utils import timezone

from landmark.conftest import moment
from landmark.kpis import actions as kpi_actions
from landmark.kpis.models import KPI
from landmark.lib.tests.loopback import WebServer

PG = "postgresql://postgres@127.0.0.1:5432"


def worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def days_before(n: int) -> str:
    """A day n days before the test's moment (SQL text, in UTC)."""
    return (moment() - timedelta(days=n)).date().isoformat()


@pytest.fixture(scope="session")
def pg_source() -> Iterator[str]:
    """A PostgreSQL source database with `signups(day date, n int)`: 5 daily rows."""
    name = f"lm_src_s14_{worker()}"
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    url = f"{PG}/{name}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE signups (day date PRIMARY KEY, n integer)")
        for i in range(1, 6):
            conn.execute(
                "INSERT INTO signups VALUES (%s, %s)", (days_before(i), 10 * i)
            )
    yield url
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def maria_source() -> Iterator[str]:
    """A MariaDB source database with `tickets(opened datetime, n int)`."""
    name = f"lm_src_s14_{worker()}"
    conn = pymysql.connect(host="127.0.0.1", port=3306, user="root", password="")
    with conn.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
        cursor.execute(f"CREATE DATABASE `{name}`")
        cursor.execute(
            f"CREATE TABLE `{name}`.tickets (opened date PRIMARY KEY, n int)"
        )
        for i in range(1, 4):
            cursor.execute(
                f"INSERT INTO `{name}`.tickets VALUES (%s, %s)",  # noqa: S608  # the test database name
                (days_before(i), i),
            )
    conn.commit()
    yield f"mysql://root@127.0.0.1:3306/{name}"
    with conn.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
    conn.close()


@pytest.fixture
def allow_loopback(settings):
    settings.CONNECTOR_ALLOWED_HOSTS = ["127.0.0.1"]


@pytest.fixture
def web() -> Iterator[WebServer]:
    with WebServer().running() as server:
        yield server


@pytest.fixture
def kpi(org, alice) -> KPI:
    return kpi_actions.create_kpi(
        org=org,
        name="Signups",
        owner=alice,
        frequency=KPI.Frequency.DAILY,
        aggregation=KPI.Aggregation.SUM,
        target_kind=KPI.TargetKind.AT_LEAST,
        target_low=Decimal("20"),
    )


def now():
    return timezone.now()
