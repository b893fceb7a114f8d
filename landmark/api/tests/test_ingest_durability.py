"""kill -9 of the real server in the middle of an ingestion run loses no acknowledged
point, leaves no batch in part, and a replay with the same idempotency keys adds no
row. The harness is bench/kill9.py (also runnable on its own, and on PostgreSQL);
here it runs on SQLite in a temporary data directory, with small batches."""

from landmark.api.tests.conftest import load_bench


def test_kill_9_mid_ingestion_loses_no_acknowledged_point(tmp_path):
    kill9 = load_bench("kill9")
    report = kill9.run(
        tmp_path, batches=12, points=100, kill_after=3, keep_database_url=False
    )
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
