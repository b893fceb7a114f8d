"""The demo workspace and the `landmark` command, as a new user meets them."""

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from django.test import Client
from django.utils import timezone

from landmark.cli import DEMO_EMAIL, DEMO_PASSWORD
from landmark.demo.acme import build_demo
from landmark.okrs.models import CheckIn, KeyResult, Objective, Period
from landmark.orgs.models import Membership, Team
from landmark.tests.console import Machine, serving

SEED_OBJECTIVES = [
    "Increase Brand Awareness in the Midwest",
    "Provide the best possible experience when people trial our software",
    "Empower our users to be more self-sufficient",
    "Become a leader in US and UK",
    "Generate Qualified Leads for sales",
    "Empower customers to help themselves by building the best help resources",
]


def counts() -> dict[str, int]:
    return {
        model.__name__: model._default_manager.count()
        for model in (Team, Membership, Period, Objective, KeyResult, CheckIn)
    }


# The workspace's tests share one build of it (the `demo` fixture), as they only read
# it, or build it again to see that nothing changes.


def test_it_builds_the_acme_workspace_with_the_seed_okrs_and_a_working_login(demo_org):
    org = demo_org

    titles = set(
        Objective.objects.filter(organization=org).values_list("title", flat=True)
    )
    assert set(SEED_OBJECTIVES) <= titles
    departments = set(
        Team.objects.filter(organization=org, kind=Team.Kind.DEPARTMENT).values_list(
            "name", flat=True
        )
    )
    assert {"Sales", "Marketing", "Support", "HR", "Engineering"} <= departments
    midwest = Objective.objects.get(
        organization=org, title=SEED_OBJECTIVES[0], period__state="active"
    )
    assert midwest.key_results.count() == 3
    assert (
        midwest.parent is not None and midwest.parent.level == Objective.Level.COMPANY
    )
    roles = set(
        Membership.objects.filter(organization=org).values_list("role", flat=True)
    )
    assert roles == {"owner", "admin", "member", "viewer"}
    client = Client()
    login = client.post("/login/", {"login": DEMO_EMAIL, "password": DEMO_PASSWORD})
    assert login.status_code == 302
    page = client.get("/okrs/").content.decode()
    assert SEED_OBJECTIVES[0] in page


def test_it_is_idempotent(demo_org):
    before = counts()

    build_demo()

    assert counts() == before


def test_it_has_a_graded_last_quarter_and_weeks_of_history_in_the_current_one(
    demo_org,
):
    org = demo_org
    closed = Period.objects.get(
        organization=org, kind=Period.Kind.QUARTER, state=Period.State.CLOSED
    )
    active = Period.objects.get(
        organization=org, kind=Period.Kind.QUARTER, state=Period.State.ACTIVE
    )

    graded = Objective.objects.filter(period=closed)
    assert graded.exists()
    assert not graded.filter(outcome="").exists()
    assert (
        graded.filter(score_override__isnull=False).exclude(override_reason="").exists()
    )
    assert Objective.objects.filter(period=active, carried_from__period=closed).exists()

    checkins = CheckIn.objects.filter(key_result__objective__period=active)
    first = checkins.order_by("created_at").first()
    last = checkins.order_by("-created_at").first()
    assert first is not None and last is not None
    assert last.created_at - first.created_at >= timedelta(weeks=3)
    assert last.created_at <= timezone.now()
    # Every kind of status shows somewhere, including honest negative progress.
    krs = list(
        KeyResult.objects.filter(objective__period=active).select_related(
            "objective__period"
        )
    )
    paces = {kr.pace(active, org) for kr in krs}
    assert {"on_track", "off_track", "stale"} <= {str(p) for p in paces}
    assert any((kr.progress_raw() or 0) < 0 for kr in krs)


def run_landmark(
    args: list[str], data_dir: Path, **kwargs
) -> subprocess.CompletedProcess[str]:
    # The demo is the embedded SQLite setup: a machine without a database URL.
    return subprocess.run(  # noqa: S603  # our own console script, fixed arguments
        [sys.executable, "-m", "landmark.cli", *args],
        env=Machine(data_dir).env(),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        **kwargs,
    )


def test_the_demo_command_prints_the_login_keeps_its_data_and_serve_warns_of_it(
    tmp_path,
):
    first = run_landmark(["demo", "--no-serve"], tmp_path)
    assert first.returncode == 0, first.stderr
    assert DEMO_EMAIL in first.stdout and DEMO_PASSWORD in first.stdout
    assert "http://127.0.0.1:8000" in first.stdout
    assert (tmp_path / "landmark.sqlite3").exists()
    assert (tmp_path / "secret_key").exists()

    second = run_landmark(["demo", "--no-serve"], tmp_path)
    assert second.returncode == 0, second.stderr
    journal = run_landmark(
        [
            "manage",
            "shell",
            "--no-imports",
            "-c",
            "from django.db import connection; c = connection.cursor(); "
            "print(c.execute('PRAGMA journal_mode').fetchone()[0]); "
            "from landmark.okrs.models import Objective; print(Objective.objects.count())",
        ],
        tmp_path,
    )
    mode, objectives = journal.stdout.split()
    assert mode == "wal"
    assert int(objectives) > 10

    # The demo invites visitors to sign up; `landmark serve` on the same database
    # keeps sign-up closed and says loudly that the demo's accounts are still there.
    machine = Machine(tmp_path)
    with serving(machine, "demo", "--workers", "1") as demo:
        assert 'name="password1"' in demo.get("/accounts/signup/")
    assert "demo password" not in demo.output
    with serving(machine, "serve", "--workers", "1") as served:
        assert "Sign-up is closed" in served.get("/accounts/signup/")
    warning = served.output
    assert (
        f"13 active account(s) still use the published demo password “{DEMO_PASSWORD}”"
        in warning
    )
    assert DEMO_EMAIL in warning


def test_serve_answers_http_with_static_files(tmp_path):
    with serving(Machine(tmp_path), "serve", "--workers", "1") as server:
        assert "Log in to Landmark" in server.get("/login/")
        script = server.get("/static/vendor/htmx-2.0.11/htmx.min.js")
        assert "htmx" in script[:2000]
