"""Each kind end to end through a real `landmark worker` process: its scheduler runs
the `run-connectors` job, which queues the due runs; the rows arrive from a real
PostgreSQL database, a SQLite file and a loopback web server (JSON and CSV)."""

import json
import sqlite3
import time

from landmark.api.tests.conftest import load_bench
from landmark.conftest import moment
from landmark.connectors.tests.conftest import days_before
from landmark.lib.tests.loopback import send
from landmark.notify.tests.smtp import smtp_server
from landmark.tests.console import machines

SETUP = """
import json
from datetime import timedelta
from django.utils import timezone
from landmark.connectors.actions import ConnectorInput, save_connector
from landmark.connectors.models import Connector
from landmark.kpis.actions import create_kpi
from landmark.orgs.actions import create_organization
from landmark.orgs.models import Membership, User
owner = User.objects.create_user("owner@worker.example", None, full_name="Owner")
org = create_organization(name="Worker", owner=owner)
member = Membership.objects.get(organization=org, user=owner)
for name, kind, settings, secrets in SPECS:
    kpi = create_kpi(org=org, name=name, owner=owner, frequency="daily")
    save_connector(kpi=kpi, membership=member, data=ConnectorInput(
        kind=kind, settings=settings, secrets=secrets))
Connector.objects.update(next_run_at=timezone.now() - timedelta(minutes=1))
print(json.dumps({"connectors": Connector.objects.count()}))
"""

STATE = """
import json
from landmark.connectors.models import ConnectorRun
from landmark.kpis.models import DataPoint
print(json.dumps({
    "runs": {r.connector.kpi.name: [r.created, r.error] for r in ConnectorRun.objects.select_related("connector__kpi").filter(finished_at__isnull=False)},
    "points": {n: DataPoint.objects.filter(kpi__name=n, is_current=True).count() for n in ["sql", "sqlite", "json", "csv"]},
}))
"""


def test_every_kind_through_a_worker_process(tmp_path, pg_source, web, migrated):
    path = tmp_path / "source.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE m (t text, v integer)")
    conn.executemany(
        "INSERT INTO m VALUES (?, ?)", [(days_before(i), i) for i in range(1, 4)]
    )
    conn.commit()
    conn.close()
    web.routes["/stats"] = lambda h: send(
        h, json.dumps({"open": [[days_before(1), 7], [days_before(2), 8]]}).encode()
    )
    web.routes["/sheet.csv"] = lambda h: send(
        h,
        f"Week,Signups\n{days_before(7)},40\n".encode(),
        headers={"Content-Type": "text/csv"},
    )
    specs = [
        (
            "sql",
            "sql",
            {"query": "SELECT day, n FROM signups"},
            {"database_url": pg_source},
        ),
        (
            "sqlite",
            "sql",
            {"query": "SELECT t, v FROM m"},
            {"database_url": f"sqlite:///{path}"},
        ),
        (
            "json",
            "http_json",
            {"expression": "open"},
            {"url": web.url("127.0.0.1", "/stats")},
        ),
        (
            "csv",
            "csv_url",
            {"time_column": "Week", "value_column": "Signups"},
            {"url": web.url("127.0.0.1", "/sheet.csv")},
        ),
    ]
    kill9 = load_bench("kill9_jobs")
    with (
        machines(tmp_path, "worker", copy_of=migrated) as [machine],
        smtp_server() as inbox,
    ):
        harness = kill9.Harness(
            machine.data_dir,
            inbox,
            database_url=machine.database_url,
            moment=moment().isoformat(),
        )
        harness.env["LANDMARK_CONNECTOR_ALLOW_HOSTS"] = "127.0.0.1"
        harness.env["LANDMARK_CONNECTOR_SQLITE_DIRS"] = str(tmp_path)
        # All four at the scheduler's first look: with the default of two at once per
        # organization, the last two wait for its next look, a minute later (the
        # limit itself: test_runs.py::test_per_organization_concurrency_limit).
        harness.env["LANDMARK_CONNECTOR_CONCURRENCY"] = "4"
        made = harness.shell(SETUP.replace("SPECS", repr(specs)))
        assert made == {"connectors": 4}
        harness.start_worker()
        try:
            deadline = time.monotonic() + 150
            state = harness.shell(STATE)
            while len(state["runs"]) < 4 and time.monotonic() < deadline:
                time.sleep(2)
                state = harness.shell(STATE)
        finally:
            harness.stop()
    assert state["runs"] == {
        "sql": [5, ""],
        "sqlite": [3, ""],
        "json": [2, ""],
        "csv": [1, ""],
    }, harness.said()
    assert state["points"] == {"sql": 5, "sqlite": 3, "json": 2, "csv": 1}
