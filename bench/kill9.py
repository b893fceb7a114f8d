"""Does an acknowledged KPI point survive `kill -9` of the server?

Starts the real server (`landmark serve`) on a temporary data directory, sends
numbered batches of points with idempotency keys from a client thread, kills the
server's whole process group with SIGKILL while batches are in flight, starts it
again and checks that:

  - every batch that got a 2xx answer is in the database in full,
  - no batch is there in part (all or nothing),
  - replaying every batch with the same keys answers them all and leaves each batch
    exactly once (acknowledged ones are replayed, not added again),
  - a second replay adds no row, and every KPI's per-window counts match its points.

    python bench/kill9.py [--batches 40] [--points 200] [--data-dir DIR]

SQLite by default; PostgreSQL when DATABASE_URL is set (use a scratch database).
landmark/api/tests/test_ingest_durability.py runs the same check in the test suite.
"""

import argparse
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
URL = "/api/v1/kpis/points/batch"
# How long a started server may take to answer (see Harness.start).
STARTUP_SECONDS = 300

SETUP = """
import json
from landmark.api.actions import create_token
from landmark.kpis.actions import create_kpi
from landmark.orgs.actions import create_organization
from landmark.orgs.models import Membership, User
user = User.objects.create_user("kill9@bench.example", "kill9-password-1")
org = create_organization(name="Kill 9", owner=user)
membership = Membership.objects.select_related("organization", "user").get(user=user)
token = create_token(membership=membership, name="kill9", scope="read_write")[1]
kpis = [
    create_kpi(org=org, name=f"Kill 9 {a}", frequency="daily", aggregation=a).pk
    for a in ["sum", "last", "mean", "min", "max"]
]
print(json.dumps({"token": token, "kpis": kpis}))
"""

COUNTS = """
import json
from django.db.models import Count, Sum
from landmark.kpis.models import DataPoint, IngestionRequest, KPIWindow
points = dict(
    DataPoint.objects.filter(kpi__name__startswith="Kill 9", is_current=True)
    .order_by().values_list("note").annotate(n=Count("pk")).values_list("note", "n")
)
per_kpi = dict(
    DataPoint.objects.filter(kpi__name__startswith="Kill 9", is_current=True)
    .order_by().values_list("kpi").annotate(n=Count("pk")).values_list("kpi", "n")
)
windows = dict(
    KPIWindow.objects.filter(kpi__name__startswith="Kill 9")
    .order_by().values_list("kpi").annotate(n=Sum("count")).values_list("kpi", "n")
)
keys = sorted(IngestionRequest.objects.filter(key__startswith="kill9-").values_list("key", flat=True))
print(json.dumps({
    "points": points,
    "total": DataPoint.objects.filter(kpi__name__startswith="Kill 9").count(),
    "per_kpi": {str(k): v for k, v in per_kpi.items()},
    "windows": {str(k): v for k, v in windows.items()},
    "keys": keys,
}))
"""


@dataclass
class Report:
    batches: int
    points: int
    acknowledged: list[int] = field(default_factory=list)
    present_after_kill: list[int] = field(default_factory=list)
    partial: list[str] = field(default_factory=list)
    lost: list[int] = field(default_factory=list)
    replayed: int = 0
    total_after_replay: int = 0
    total_after_second_replay: int = 0
    window_mismatch: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        expected = self.batches * self.points
        return (
            not self.partial
            and not self.lost
            and not self.window_mismatch
            and not self.problems
            and self.total_after_replay == expected
            and self.total_after_second_replay == expected
        )


class Harness:
    def __init__(self, data_dir: Path, *, keep_database_url: bool) -> None:
        self.env = dict(os.environ)
        if not keep_database_url:
            self.env.pop("DATABASE_URL", None)
        self.env["LANDMARK_DATA_DIR"] = str(data_dir)
        self.env["DJANGO_SETTINGS_MODULE"] = "settings_bench"
        self.env["PYTHONPATH"] = os.pathsep.join(
            [str(BENCH), str(ROOT), self.env.get("PYTHONPATH", "")]
        ).rstrip(os.pathsep)
        self.env.pop("ACCESS_LOG", None)
        # The browser tests set it in the test process while they run; `landmark
        # serve` refuses to start with it (a deployment check).
        self.env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        self.port = free_port()
        self.server: subprocess.Popen[bytes] | None = None
        # The server's output, kept to say why it stopped if it does.
        self.log = data_dir / "server.log"

    def command(self) -> list[str]:
        script = Path(sys.executable).with_name("landmark")
        if script.exists():
            return [str(script)]
        return [sys.executable, "-c", "from landmark.cli import main; main()"]

    def shell(self, code: str) -> dict[str, object]:
        result = subprocess.run(  # noqa: S603  # our own command line, no shell
            [*self.command(), "manage", "shell", "-c", code],
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        )
        data: dict[str, object] = json.loads(result.stdout.strip().splitlines()[-1])
        return data

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.server = subprocess.Popen(  # noqa: S603  # our own command line, no shell
                [*self.command(), "serve", "--port", str(self.port), "--workers", "2"],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: kill -9 takes all
            )
        # A fresh start migrates first: 20-30 s of CPU on a slow 2-core machine, and
        # longer beside a busy test suite. A server that exits fails at once.
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.server.poll() is not None:
                said = self.log.read_text(errors="replace")[-3000:]
                raise RuntimeError(
                    f"the server exited with {self.server.returncode}:\n{said}"
                )
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", "/bench/hello")
                if conn.getresponse().status == 200:
                    conn.close()
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"the server did not answer within {STARTUP_SECONDS} s")

    def kill9(self) -> None:
        assert self.server is not None
        os.killpg(self.server.pid, signal.SIGKILL)
        self.server.wait()
        self.server = None

    def stop(self) -> None:
        if self.server is None:
            return
        try:
            os.killpg(self.server.pid, signal.SIGTERM)
            self.server.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(self.server.pid, signal.SIGKILL)
            self.server.wait()
        self.server = None

    def post(
        self, token: str, body: bytes, key: str, timeout: float = 30
    ) -> tuple[int, dict[str, str]]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(
                "POST",
                URL,
                body=body,
                headers={
                    "Authorization": f"Bearer {token}",
                    "Content-Type": "application/json",
                    "Idempotency-Key": key,
                },
            )
            response = conn.getresponse()
            response.read()
            return response.status, dict(response.getheaders())
        finally:
            conn.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def batch_body(kpis: list[int], batch: int, points: int) -> bytes:
    """`points` points, a minute apart, each noted with its batch's name."""
    start = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(minutes=batch * points)
    return json.dumps(
        {
            "points": [
                {
                    "kpi": kpis[i % len(kpis)],
                    "time": (start + timedelta(minutes=i)).isoformat(),
                    "value": f"{(batch * 31 + i * 7) % 500}.{i % 10}",
                    "note": f"kill9-{batch}",
                }
                for i in range(points)
            ]
        }
    ).encode()


def run(
    data_dir: Path,
    *,
    batches: int = 40,
    points: int = 200,
    kill_after: int = 5,
    keep_database_url: bool = True,
    database_url: str | None = None,
) -> Report:
    """The check, on `database_url` if given, else on the environment's DATABASE_URL
    (keep_database_url) or SQLite in `data_dir`."""
    report = Report(batches=batches, points=points)
    harness = Harness(data_dir, keep_database_url=keep_database_url)
    if database_url:
        harness.env["DATABASE_URL"] = database_url
    harness.start()  # `landmark serve` applies the migrations
    try:
        setup = harness.shell(SETUP)
        token = str(setup["token"])
        kpis = [int(k) for k in setup["kpis"]]  # type: ignore[attr-defined]  # a JSON list
        bodies = [batch_body(kpis, b, points) for b in range(batches)]
        acked: list[int] = []
        stop = threading.Event()

        def client() -> None:
            for b in range(batches):
                if stop.is_set():
                    return
                try:
                    status, _ = harness.post(token, bodies[b], f"kill9-{b}")
                except OSError:
                    return  # the server is gone
                if 200 <= status < 300:
                    acked.append(b)
                else:
                    report.problems.append(f"batch {b} answered {status}")
                    return

        thread = threading.Thread(target=client)
        thread.start()
        while len(acked) < kill_after and thread.is_alive():
            time.sleep(0.005)
        harness.kill9()  # while the client is sending the next batch
        stop.set()
        thread.join()
        report.acknowledged = sorted(acked)

        harness.start()
        counts = harness.shell(COUNTS)
        present: dict[str, int] = counts["points"]  # type: ignore[assignment]  # JSON
        for b in range(batches):
            n = present.get(f"kill9-{b}", 0)
            if n:
                report.present_after_kill.append(b)
            if n not in (0, points):
                report.partial.append(f"batch {b}: {n} of {points} points")
        report.lost = [
            b for b in report.acknowledged if b not in report.present_after_kill
        ]
        keys = set(counts["keys"])  # type: ignore[call-overload]  # a JSON list
        for b in report.present_after_kill:
            if f"kill9-{b}" not in keys:
                report.problems.append(f"batch {b} is saved but its key is not")

        for round_ in (1, 2):
            for b in range(batches):
                status, headers = harness.post(token, bodies[b], f"kill9-{b}")
                if not 200 <= status < 300:
                    report.problems.append(f"replay {round_} of batch {b}: {status}")
                elif round_ == 1 and headers.get("Idempotent-Replayed") == "true":
                    report.replayed += 1
            counts = harness.shell(COUNTS)
            total = int(counts["total"])  # type: ignore[call-overload]  # JSON number
            if round_ == 1:
                report.total_after_replay = total
            else:
                report.total_after_second_replay = total
        per_kpi: dict[str, int] = counts["per_kpi"]  # type: ignore[assignment]
        windows: dict[str, int] = counts["windows"]  # type: ignore[assignment]
        for kpi, n in per_kpi.items():
            if windows.get(kpi) != n:
                report.window_mismatch.append(
                    f"KPI {kpi}: {n} points, windows count {windows.get(kpi)}"
                )
        if report.replayed != len(report.present_after_kill):
            report.problems.append(
                f"{report.replayed} replays answered from their key, "
                f"{len(report.present_after_kill)} batches were saved"
            )
    finally:
        harness.stop()
    return report


def describe(report: Report) -> str:
    return "\n".join(
        [
            f"batches sent before the kill: {len(report.acknowledged)} acknowledged "
            f"of {report.batches} ({report.points} points each)",
            f"in the database after restart: {len(report.present_after_kill)} batches, "
            f"{len(set(report.present_after_kill) - set(report.acknowledged))} of "
            "them committed but not acknowledged before the kill "
            f"(acknowledged ones lost: {report.lost or 'none'}; "
            f"partial: {report.partial or 'none'})",
            f"replay of all {report.batches} keys: {report.replayed} answered from "
            f"their key, rows {report.total_after_replay:,}; second replay: rows "
            f"{report.total_after_second_replay:,} "
            f"(expected {report.batches * report.points:,} both times)",
            f"windows agree with points: {'yes' if not report.window_mismatch else report.window_mismatch}",
            f"other problems: {report.problems or 'none'}",
            "RESULT: " + ("PASS" if report.ok else "FAIL"),
        ]
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--batches", type=int, default=40)
    parser.add_argument("--points", type=int, default=1000)
    parser.add_argument("--kill-after", type=int, default=5)
    parser.add_argument("--data-dir", help="default: a temporary directory")
    args = parser.parse_args()
    directory = Path(args.data_dir or tempfile.mkdtemp(prefix="landmark-kill9-"))
    directory.mkdir(parents=True, exist_ok=True)
    try:
        report = run(
            directory,
            batches=args.batches,
            points=args.points,
            kill_after=args.kill_after,
        )
    finally:
        if args.data_dir is None:
            shutil.rmtree(directory, ignore_errors=True)
    print(describe(report))
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
