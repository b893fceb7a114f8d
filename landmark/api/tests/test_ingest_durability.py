"""kill -9 of the real server in the middle of an ingestion run loses no acknowledged
point, leaves no batch in part, and a replay with the same idempotency keys adds no
row. The harness is bench/kill9.py (also runnable on its own); here it runs with
small batches on the suite's database engine: SQLite in a temporary data directory,
or, when the suite runs on PostgreSQL, a scratch database beside the suite's; both
start migrated (a copy of the `migrated` fixture's database)."""

import psycopg
from psycopg import sql

from landmark.api.tests.conftest import load_bench
from landmark.kpis.models import DataPoint
from landmark.tests.console import machines


def test_kill_9_mid_ingestion_loses_no_acknowledged_point(tmp_path, migrated):
    kill9 = load_bench("kill9")
    with machines(tmp_path, "kill9", copy_of=migrated) as [machine]:
        database_url = machine.database_url
        report = kill9.run(
            machine.data_dir,
            batches=12,
            points=100,
            kill_after=3,
            keep_database_url=False,
            database_url=database_url,
        )
        if database_url:
            # The server wrote into the scratch PostgreSQL database, not SQLite.
            with psycopg.connect(database_url) as conn:
                table = sql.Identifier(DataPoint._meta.db_table)
                query = sql.SQL("SELECT count(*) FROM {}").format(table)
                assert conn.execute(query).fetchone() == (12 * 100,)
    assert report.problems == []
    assert len(report.acknowledged) >= 3
    # Every acknowledged batch is there in full; nothing is there in part.
    assert report.lost == []
    assert report.partial == []
    assert set(report.acknowledged) <= set(report.present_after_kill)
    # The replay answers saved batches from their key and saves the others once.
    assert report.replayed == len(report.present_after_kill)
    assert report.total_after_replay == 12 * 100
    assert report.total_after_second_replay == 12 * 100
    assert report.window_mismatch == []
    assert report.ok
