"""The real `landmark` console script, run in subprocesses the way an operator runs it.

A Machine is a data directory and, on PostgreSQL, a database of its own: what one
server holds. Tests use PostgreSQL when the suite's DATABASE_URL names it (CI's second
leg), SQLite in the data directory otherwise.
"""

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dj_database_url

SUITE_DATABASE_URL = os.environ.get("DATABASE_URL", "")
# How long `landmark serve` or `landmark demo` may take to answer (see serving()).
STARTUP_SECONDS = 300
ON_POSTGRES = SUITE_DATABASE_URL.startswith(("postgres://", "postgresql://"))
# Trust authentication accepts any password: the tests give one to every PostgreSQL
# machine, to prove that no command ever prints it.
PG_PASSWORD = f"never-printed-{secrets.token_hex(6)}"


@dataclass
class Machine:
    data_dir: Path
    database_url: str | None = None  # None: SQLite in the data directory

    @property
    def database(self) -> dict[str, Any]:
        url = self.database_url or f"sqlite:///{self.data_dir / 'landmark.sqlite3'}"
        return dict(dj_database_url.parse(url))

    def env(self, **extra: str) -> dict[str, str]:
        env = {**os.environ, "LANDMARK_DATA_DIR": str(self.data_dir), **extra}
        for name in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE", "SECRET_KEY"):
            env.pop(name, None)
        env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # set by the browser tests only
        if self.database_url:
            env["DATABASE_URL"] = self.database_url
        return {**env, **extra}

    def landmark(
        self, *args: str, **extra_env: str
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # noqa: S603  # our own console script, fixed arguments
            [sys.executable, "-m", "landmark.cli", *args],
            env=self.env(**extra_env),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    def shell(self, code: str) -> str:
        """Run Python in `landmark manage shell` on this machine; its stdout."""
        result = self.landmark("manage", "shell", "--no-imports", "-c", code)
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout.strip()


def pg_admin() -> Any:
    import psycopg

    params = dj_database_url.parse(SUITE_DATABASE_URL)
    return psycopg.connect(
        dbname="postgres",
        user=params["USER"],
        host=params["HOST"] or "localhost",
        port=params["PORT"] or 5432,
        autocommit=True,
    )


@contextmanager
def machines(
    root: Path, *names: str, copy_of: Machine | None = None
) -> Iterator[list[Machine]]:
    """Fresh machines: empty data directories and, on PostgreSQL, newly created
    databases named after the suite's own (so engineers' runs never collide), dropped
    afterwards. With `copy_of` (a machine no process is using), each new machine's
    database starts as a copy of that machine's: its SQLite file copied, or on
    PostgreSQL a database made with it as the template."""
    made: list[Machine] = []
    databases: list[str] = []
    try:
        for name in names:
            data_dir = root / name
            data_dir.mkdir()
            url = None
            if ON_POSTGRES:
                params = dj_database_url.parse(SUITE_DATABASE_URL)
                database = f"{params['NAME']}_{name}_{secrets.token_hex(3)}"[:63]
                template = ""
                if copy_of is not None:
                    template = f' TEMPLATE "{copy_of.database["NAME"]}"'
                with pg_admin() as admin:
                    admin.execute(f'CREATE DATABASE "{database}"{template}')
                databases.append(database)
                host = params["HOST"] or "localhost"
                port = params["PORT"] or 5432
                url = f"postgres://{params['USER']}:{PG_PASSWORD}@{host}:{port}/{database}"
            elif copy_of is not None:
                shutil.copyfile(copy_of.database["NAME"], data_dir / "landmark.sqlite3")
            made.append(Machine(data_dir, url))
        yield made
    finally:
        if databases:
            with pg_admin() as admin:
                for database in databases:
                    admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


@contextmanager
def migrated_machine(root: Path) -> Iterator[Machine]:
    """A machine whose database `landmark manage migrate` made, for other machines to
    start as copies of (`machines(..., copy_of=...)`): a test about what a started
    server or worker does, not about a first start, then skips migrating a new
    database (8 s of CPU on a quick 2-core machine, 20-30 s on a slow one). A first
    start's migrating stays tested on new machines (test_demo.py, test_backup.py's
    restores)."""
    with machines(root, "migrated") as [machine]:
        result = machine.landmark("manage", "migrate", "--verbosity", "0")
        if result.returncode:
            raise AssertionError(f"migrating failed:\n{result.stdout}{result.stderr}")
        yield machine


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    port: int
    process: subprocess.Popen[str]
    output: str = ""  # everything it printed before it answered

    def get(self, path: str) -> str:
        with urllib.request.urlopen(  # our local server
            f"http://127.0.0.1:{self.port}{path}", timeout=10
        ) as response:
            return str(response.read().decode())


@contextmanager
def serving(machine: Machine, *args: str, **extra_env: str) -> Iterator[Server]:
    """`landmark serve` (or `landmark demo`, as args say) on a free port, until it
    answers; stopped afterwards."""
    port = free_port()
    process = subprocess.Popen(  # noqa: S603  # our own console script
        [sys.executable, "-m", "landmark.cli", *args, "--port", str(port)],
        env=machine.env(**extra_env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    server = Server(port, process)
    try:
        # It migrates first: 20-30 s of CPU on a slow 2-core machine, and longer
        # beside a busy suite. A process that exits fails at once.
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise AssertionError(f"landmark stopped: {process.stdout.read()}")  # type: ignore[union-attr]
            try:
                server.get("/login/")
                break
            except (urllib.error.URLError, OSError):
                time.sleep(0.3)
        else:
            raise AssertionError(f"landmark did not answer within {STARTUP_SECONDS} s")
        yield server
    finally:
        process.terminate()
        rest, _ = process.communicate(timeout=30)
        server.output = rest
