"""`landmark backup` and `landmark restore`, through the real console script.

On SQLite by default; on PostgreSQL when the suite's DATABASE_URL names it (each machine
then gets a freshly created database of its own). The comparison enumerates every table
with Django's introspection of the database itself, allauth's, the history tables and
the many-to-many tables included.
"""

import io
import json
import sqlite3
import tarfile
import threading
from contextlib import closing
from typing import Any

import pytest
from django.db.utils import ConnectionHandler

from landmark.tests.console import ON_POSTGRES, PG_PASSWORD, Machine, machines

# Rows beyond the demo's own in tables the demo leaves empty: single sign-on, a TOTP
# authenticator, a permission group (many-to-many), an API token and a live session.
EXTRAS = """
from allauth.mfa.models import Authenticator
from allauth.socialaccount.models import SocialAccount, SocialApp, SocialToken
from django.contrib.auth.models import Group, Permission
from django.contrib.sessions.backends.db import SessionStore
from landmark.api.actions import create_token
from landmark.orgs.models import Membership, User

admin = User.objects.get(email="admin@acme.example")
group = Group.objects.create(name="Auditors")
group.permissions.add(*Permission.objects.all()[:3])
admin.groups.add(group)
app = SocialApp.objects.create(
    provider="openid_connect", provider_id="acme-idp", name="Acme IdP",
    client_id="landmark", secret="client-secret",
    settings={"server_url": "https://idp.acme.example"},
)
account = SocialAccount.objects.create(
    user=admin, provider="acme-idp", uid="ada", extra_data={"email": admin.email}
)
SocialToken.objects.create(app=app, account=account, token="access-token")
Authenticator.objects.create(
    user=admin, type=Authenticator.Type.TOTP, data={"secret": "JBSWY3DPEHPK3PXP"}
)
create_token(membership=Membership.objects.filter(user=admin).first(), name="cron")
session = SessionStore()
session["_auth_user_id"] = str(admin.pk)
session["marker"] = "kept across machines"
session.create()
print(session.session_key)
"""

READ_SESSION = """
from django.contrib.sessions.backends.db import SessionStore
session = SessionStore(session_key={key!r})
print(session.get("marker"), session.get("_auth_user_id"))
"""


@pytest.fixture(autouse=True)
def outside_databases(django_db_blocker):
    """The tests read the machines' own databases, never the suite's test database."""
    with django_db_blocker.unblock():
        yield


def contents(machine: Machine) -> dict[str, list[tuple[Any, ...]]]:
    """Every table of the machine's database, as its introspection lists them, with
    every row (sorted, so that the order rows were stored in does not matter)."""
    handler = ConnectionHandler({"default": machine.database})
    connection = handler["default"]
    try:
        tables: dict[str, list[tuple[Any, ...]]] = {}
        with connection.cursor() as cursor:
            for table in connection.introspection.table_names(cursor):
                cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608  # a name from the catalogue
                tables[table] = sorted(cursor.fetchall(), key=repr)
        return tables
    finally:
        connection.close()


def django_tables(machine: Machine) -> set[str]:
    """The tables Django's models (and their many-to-many fields) need."""
    connection = ConnectionHandler({"default": machine.database})["default"]
    try:
        return set(connection.introspection.django_table_names(include_views=False))
    finally:
        connection.close()


def output(result) -> str:
    return result.stdout + result.stderr


def test_a_backup_restores_on_a_new_machine_table_for_table(tmp_path, migrated):
    # The source comes migrated; the target is new: `restore` migrates it.
    with (
        machines(tmp_path, "source", copy_of=migrated) as [source],
        machines(tmp_path, "target") as [target],
    ):
        # A real company's database into which the demo was forced: two organizations.
        made = source.landmark(
            "createuser", "olga@example.com", "--organization", "Real Co",
            "--password", "olga-long-password",
        )  # fmt: skip
        assert made.returncode == 0, output(made)
        demo = source.landmark("demo", "--no-serve", "--force")
        assert demo.returncode == 0, output(demo)
        session_key = source.shell(EXTRAS).splitlines()[-1]

        backup = source.landmark("backup", str(tmp_path / "landmark.tar.gz"))

        assert backup.returncode == 0, output(backup)
        assert "2 organizations, 14 accounts" in backup.stdout
        with tarfile.open(tmp_path / "landmark.tar.gz") as archive:
            manifest = json.load(archive.extractfile("manifest.json"))  # type: ignore[arg-type]
            assert manifest["engine"] == ("postgresql" if ON_POSTGRES else "sqlite")
            assert manifest["state"] == ["secret_key"]
        assert (tmp_path / "landmark.tar.gz").stat().st_mode & 0o777 == 0o600

        restore = target.landmark("restore", str(tmp_path / "landmark.tar.gz"))

        assert restore.returncode == 0, output(restore)
        assert "2 organizations, 14 accounts" in restore.stdout
        assert "Restored secret_key" in restore.stdout
        before, after = contents(source), contents(target)
        assert set(after) == set(before)
        assert django_tables(source) <= set(before)
        for table in before:
            assert after[table] == before[table], f"{table} differs after the restore"
        # The comparison covered allauth, history, many-to-many and session rows.
        for table in (
            "account_emailaddress", "socialaccount_socialapp",
            "socialaccount_socialaccount", "socialaccount_socialtoken",
            "mfa_authenticator", "okrs_historicalobjective", "orgs_user_groups",
            "auth_group_permissions", "orgs_teammember", "api_apitoken",
            "django_session",
        ):  # fmt: skip
            assert before[table], f"{table} was empty: the test proves nothing for it"
        # The secret key came along: the session made on the old machine still reads.
        assert (target.data_dir / "secret_key").read_text() == (
            source.data_dir / "secret_key"
        ).read_text()
        assert target.shell(READ_SESSION.format(key=session_key)) == (
            f"kept across machines {before_admin_pk(before)}"
        )
        # The restored database takes new rows (PostgreSQL's sequences came along).
        added = target.landmark(
            "createuser", "new@example.com", "--organization", "New Co",
            "--password", "new-long-password",
        )  # fmt: skip
        assert added.returncode == 0, output(added)
        for result in (made, demo, backup, restore, added):
            assert PG_PASSWORD not in output(result)


def before_admin_pk(tables: dict[str, list[tuple[Any, ...]]]) -> str:
    return next(
        str(row[0]) for row in tables["orgs_user"] if "admin@acme.example" in row
    )


def test_restore_refuses_a_database_with_data_unless_forced(tmp_path, migrated):
    with (
        machines(tmp_path, "old", copy_of=migrated) as [old],
        machines(tmp_path, "live") as [live],
    ):
        made = old.landmark(
            "createuser", "old@example.com", "--organization", "Old Co",
            "--password", "a-long-password",
        )  # fmt: skip
        assert made.returncode == 0, output(made)
        backup = old.landmark("backup", str(tmp_path / "old.tar.gz"))
        assert backup.returncode == 0, output(backup)
        # The live server started from that backup and has gained a member since,
        # and a table (as a newer Landmark's migration would add).
        first = live.landmark("restore", str(tmp_path / "old.tar.gz"))
        assert first.returncode == 0, output(first)
        live.shell(
            "from landmark.orgs.actions import create_member; "
            "from landmark.orgs.models import Organization; "
            "create_member(org=Organization.objects.get(), email='new@example.com', "
            "role='member', password='another-long-password'); "
            "from django.db import connection; "
            "connection.cursor().execute('CREATE TABLE newer_feature (id integer)')"
        )
        live_before = contents(live)
        assert live_before != contents(old)

        refused = live.landmark("restore", str(tmp_path / "old.tar.gz"))

        assert refused.returncode != 0
        assert "already holds data: 1 organization, 2 accounts" in refused.stderr
        assert "Nothing was changed" in refused.stderr
        assert "landmark restore --force" in refused.stderr
        assert contents(live) == live_before

        forced = live.landmark("restore", "--force", str(tmp_path / "old.tar.gz"))

        assert forced.returncode == 0, output(forced)
        assert "1 organization, 1 account" in forced.stdout
        assert contents(live) == contents(old)
        for result in (backup, first, refused, forced):
            assert PG_PASSWORD not in output(result)


def test_restore_refuses_a_file_that_is_not_a_landmark_backup(tmp_path):
    not_a_backup = tmp_path / "notes.tar.gz"
    with tarfile.open(not_a_backup, "w:gz") as archive:
        archive.add(__file__, arcname="notes.py")
    with machines(tmp_path, "fresh") as (fresh,):
        result = fresh.landmark("restore", str(not_a_backup))

        assert result.returncode != 0
        assert "is not a backup made by `landmark backup`" in result.stderr
        assert not contents(fresh).get("orgs_user")


def test_backup_says_where_it_failed_without_a_traceback(tmp_path):
    with machines(tmp_path, "fresh") as (fresh,):
        result = fresh.landmark("backup", str(tmp_path / "no" / "such" / "dir.tar.gz"))

        assert result.returncode != 0
        assert "No directory" in result.stderr
        assert "Traceback" not in result.stderr


def test_a_backup_of_one_engine_is_not_restored_into_the_other(tmp_path):
    """A backup from the other engine (its manifest says so) is refused by name."""
    other = "sqlite" if ON_POSTGRES else "postgresql"
    backup = tmp_path / "other.tar.gz"
    manifest = json.dumps({"format": 1, "engine": other, "state": []}).encode()
    with tarfile.open(backup, "w:gz") as archive:
        info = tarfile.TarInfo("manifest.json")
        info.size = len(manifest)
        archive.addfile(info, io.BytesIO(manifest))
    with machines(tmp_path, "fresh") as (fresh,):
        result = fresh.landmark("restore", str(backup))

        assert result.returncode != 0
        expected = "SQLite" if other == "sqlite" else "PostgreSQL"
        assert f"is a backup of a {expected} database" in result.stderr


class PairWriter(threading.Thread):
    """Commits rows two at a time into the machine's database until stopped: a
    consistent copy never holds an odd number of them."""

    def __init__(self, machine: Machine) -> None:
        super().__init__(daemon=True)
        self.machine = machine
        self.warmed_up = threading.Event()  # enough rows that copying takes a while
        self.stop = threading.Event()
        self.commits = 0
        self.failure: BaseException | None = None

    def connect(self) -> tuple[Any, str]:
        """A connection in autocommit mode (BEGIN and COMMIT are ours) and the
        driver's parameter mark."""
        if self.machine.database_url is None:
            db = sqlite3.connect(self.machine.database["NAME"], isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")  # as Landmark runs it
            return db, "?"
        import psycopg

        return psycopg.connect(self.machine.database_url, autocommit=True), "%s"

    def run(self) -> None:
        try:
            db, mark = self.connect()
            with closing(db):
                db.execute("CREATE TABLE pairs (n integer, padding text)")
                insert = f"INSERT INTO pairs VALUES ({mark}, {mark})"  # noqa: S608  # the driver's mark
                while not self.stop.is_set():
                    db.execute("BEGIN")
                    db.execute(insert, (self.commits, "x" * 2000))
                    db.execute(insert, (self.commits, "y" * 2000))
                    db.execute("COMMIT")
                    self.commits += 1
                    if self.commits == 200:
                        self.warmed_up.set()
        except BaseException as error:  # reported by the test
            self.failure = error
            self.warmed_up.set()


def test_a_backup_taken_while_the_database_is_written_is_consistent(tmp_path):
    with machines(tmp_path, "busy", "copy") as (busy, copy):
        writer = PairWriter(busy)
        writer.start()
        try:
            assert writer.warmed_up.wait(timeout=120)
            before = writer.commits
            backup = busy.landmark("backup", str(tmp_path / "busy.tar.gz"))
            after = writer.commits
        finally:
            writer.stop.set()
            writer.join(timeout=30)
        assert writer.failure is None, writer.failure
        assert backup.returncode == 0, output(backup)
        assert after > before  # it kept writing while the backup ran

        restore = copy.landmark("restore", str(tmp_path / "busy.tar.gz"))

        assert restore.returncode == 0, output(restore)
        rows = contents(copy)["pairs"]
        assert 2 * before <= len(rows) <= 2 * after
        assert len(rows) % 2 == 0
