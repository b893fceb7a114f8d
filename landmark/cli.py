"""The `landmark` command: serve, demo, worker, jobs, createuser, backup, restore,
lint and Django's manage commands."""

import argparse
import multiprocessing
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from landmark.lib.coach import THRESHOLD_LIMITS, Thresholds

DEMO_EMAIL = "admin@acme.example"
DEMO_PASSWORD = "landmark-demo"  # noqa: S105  # the published login of the demo workspace only
# gunicorn's limits on a request's head (run_gunicorn).
MAX_REQUEST_LINE = 8190
MAX_REQUEST_FIELDS = 100
MAX_REQUEST_FIELD_SIZE = 8190


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "landmark.settings")
    import django

    django.setup()


def prepare() -> None:
    """Apply migrations and collect static files (both idempotent and quick)."""
    from django.core.management import call_command

    from landmark.lib.db import refresh_statistics

    call_command("migrate", interactive=False, verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    refresh_statistics()


def run_gunicorn(host: str, port: int, workers: int) -> None:
    from gunicorn.app.base import BaseApplication

    from landmark.wsgi import application

    class Server(BaseApplication):  # type: ignore[misc]  # gunicorn ships no type hints
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            # gunicorn's gthread worker, answering a request head over the limits
            # below with a problem+json 414 / 431 as the API answers every error.
            self.cfg.set("worker_class", "landmark.api.worker.ProblemWorker")
            self.cfg.set("threads", 4)
            self.cfg.set("accesslog", "-" if os.environ.get("ACCESS_LOG") else None)
            self.cfg.set("timeout", 60)
            # A request line (method, URL with its query, protocol) of up to 8,190
            # bytes (gunicorn's largest; its default, 4,094, answered a long list
            # URL with an HTML 414 before Landmark saw it): the app then refuses an
            # over-long cursor or filter with a 422 problem. Longer request lines, more
            # than 100 headers or a header over 8,190 bytes are still refused before
            # the app sees them (414 / 431, problem+json): docs/operators.md.
            self.cfg.set("limit_request_line", MAX_REQUEST_LINE)
            self.cfg.set("limit_request_fields", MAX_REQUEST_FIELDS)
            self.cfg.set("limit_request_field_size", MAX_REQUEST_FIELD_SIZE)

        def load(self) -> Any:
            return application

    Server().run()


def refuse_unsafe_settings() -> None:
    """Stop before serving when a deployment check finds an error (for example reset
    links going to the log in production); warnings are left to `check --deploy`."""
    from django.core.checks import run_checks

    errors = [
        message
        for message in run_checks(include_deployment_checks=True)
        if message.is_serious() and not message.is_silenced()
    ]
    if errors:
        details = "\n\n".join(str(message) for message in errors)
        raise SystemExit(
            f"landmark serve: refusing to start.\n\n{details}\n\n"
            "Fix the settings above (`landmark manage check --deploy` lists them)."
        )


def warn_about_demo_passwords() -> None:
    """Say loudly, on stderr, when accounts still log in with the published demo
    password (a demo database served as a real one)."""
    from landmark.demo.acme import DEMO_PASSWORD, accounts_with_demo_password

    found = accounts_with_demo_password()
    if not found.emails and not found.unchecked:
        return
    lines = ["", "!" * 78]
    if found.emails:
        shown = ", ".join(found.emails[:5])
        more = f" and {len(found.emails) - 5} more" if len(found.emails) > 5 else ""
        lines += [
            f"WARNING: {len(found.emails)} active account(s) still use the published "
            f"demo password “{DEMO_PASSWORD}”: {shown}{more}.",
            "Anyone who read Landmark's README can log in as them. Deactivate these "
            "accounts or change their passwords,",
            "or serve a database without the demo workspace.",
        ]
    if found.unchecked:
        lines.append(
            f"WARNING: {len(found.unchecked)} more active demo account(s) were not "
            f"checked (each check takes a while): {', '.join(found.unchecked[:3])}..."
        )
    lines += ["!" * 78, ""]
    print("\n".join(lines), file=sys.stderr, flush=True)


def load_jobs() -> dict[str, Any]:
    """Every app's scheduled jobs (their `tasks` modules), as the worker loads them."""
    from django.utils.module_loading import autodiscover_modules

    from landmark.jobs.registry import JOBS

    autodiscover_modules("tasks")
    return JOBS


def run_worker(workers: int | None = None, parent: int | None = None) -> None:
    """Run the job queue's consumer (huey's `run_huey`) until stopped. Jobs marked to
    run when a worker starts (sending what waits) are enqueued first. With `parent`,
    the worker stops when that process is gone (a worker started beside the server)."""
    from django.core.management import call_command

    from landmark.jobs.registry import queue_description

    if parent is not None:

        def watch_parent() -> None:
            while os.getppid() == parent:
                time.sleep(1)
            os.kill(os.getpid(), signal.SIGTERM)

        threading.Thread(target=watch_parent, daemon=True).start()
    for job in load_jobs().values():
        if job.at_worker_start:
            job.enqueue()
    print(f"Landmark worker: {queue_description()}", flush=True)
    options: dict[str, Any] = {"disable_autoload": True}
    if workers:
        options["workers"] = workers
    call_command("run_huey", **options)


def start_worker_beside_server(args: argparse.Namespace) -> Any:
    """Fork a worker process next to the web server (unless --no-worker), so one
    command runs everything. Forked before gunicorn starts any thread."""
    if args.no_worker:
        return None
    from django.db import connections

    connections.close_all()  # the child opens its own
    process = multiprocessing.get_context("fork").Process(
        target=run_worker,
        kwargs={"parent": os.getpid()},
        name="landmark-worker",
    )
    process.start()
    return process


def stop_worker(process: Any) -> None:
    if process is None or not process.is_alive():
        return
    process.terminate()
    process.join(20)
    if process.is_alive():
        process.kill()
        process.join()


def serve_with_worker(args: argparse.Namespace) -> None:
    worker = start_worker_beside_server(args)
    try:
        run_gunicorn(args.host, args.port, args.workers)
    finally:
        stop_worker(worker)


def default_site_url(args: argparse.Namespace) -> None:
    """Links in emails point at the address being served unless SITE_URL says."""
    host = "127.0.0.1" if args.host in {"0.0.0.0", "::"} else args.host  # noqa: S104  # read, not bound
    if ":" in host:
        host = f"[{host}]"
    os.environ.setdefault("SITE_URL", f"http://{host}:{args.port}")


def cmd_serve(args: argparse.Namespace) -> None:
    default_site_url(args)
    setup_django()
    refuse_unsafe_settings()
    prepare()
    warn_about_demo_passwords()
    print(f"Landmark is running on http://{args.host}:{args.port}", flush=True)
    serve_with_worker(args)


def cmd_worker(args: argparse.Namespace) -> None:
    setup_django()
    run_worker(args.workers)


def cmd_jobs(args: argparse.Namespace) -> None:
    setup_django()
    from django.utils import timezone

    from landmark.jobs.models import JobRun
    from landmark.jobs.registry import pending_jobs, queue_description

    jobs = load_jobs()
    if args.action == "run":
        if not args.name or args.name not in jobs:
            raise SystemExit(
                f"landmark jobs run: no job named {args.name!r}. "
                f"Jobs: {', '.join(sorted(jobs))}."
            )
        jobs[args.name].enqueue()
        print(f"Enqueued {args.name}; a worker runs it ({queue_description()}).")
        return
    runs = {run.name: run for run in JobRun.objects.all()}
    now = timezone.now()

    def moment(at: Any) -> str:
        return at.strftime("%Y-%m-%d %H:%M UTC") if at else "never"

    print(f"Queue: {queue_description()}, {pending_jobs()} waiting")
    rows = [("JOB", "SCHEDULE (UTC)", "LAST RUN", "NEXT RUN")]
    for name, job in sorted(jobs.items()):
        run = runs.get(name)
        last = moment(run.last_finished_at or run.last_started_at) if run else "never"
        if run and run.last_error:
            last += f" (failed: {run.last_error[:60]})"
        elif run and run.last_started_at and not run.last_finished_at:
            last += " (running)"
        rows.append((name, job.schedule, last, moment(job.next_run(now))))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        cells = [cell.ljust(widths[i]) for i, cell in enumerate(row[:3])]
        print(*cells, row[3], sep="  ")


def cmd_demo(args: argparse.Namespace) -> None:
    # The demo invites visitors to create their own organization: sign-up is open
    # unless the environment says otherwise (it is closed by default, see settings).
    os.environ.setdefault("SIGNUP_OPEN", "1")
    default_site_url(args)
    setup_django()
    from django.conf import settings

    from landmark.demo.acme import why_not_build_demo

    if refusal := why_not_build_demo(force=args.force):
        raise SystemExit(refusal)
    prepare()
    from landmark.demo.acme import build_demo

    org = build_demo()
    if args.size == "large":
        from landmark.demo.large import build_large

        print("Building the large synthetic workspace (a few minutes)...", flush=True)
        build_large()
    from landmark.lib.db import refresh_statistics

    refresh_statistics(full=True)
    print(
        f"\nLandmark demo workspace “{org.name}” is ready (data in {settings.DATA_DIR}).\n"
        f"  Open   http://{args.host}:{args.port}\n"
        f"  Login  {DEMO_EMAIL}\n"
        f"  Pass   {DEMO_PASSWORD}   (demo workspace only)\n",
        flush=True,
    )
    if not args.no_serve:
        serve_with_worker(args)


def cmd_createuser(args: argparse.Namespace) -> None:
    setup_django()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    from landmark.orgs.actions import create_organization, mark_email_verified
    from landmark.orgs.models import User

    password = args.password or os.environ.get("LANDMARK_PASSWORD")
    if not password:
        import getpass

        password = getpass.getpass("Password: ")
    user = User.objects.create_user(
        args.email, password, full_name=args.name, is_staff=args.staff
    )
    # The operator vouches for the address: no verification email at first login.
    mark_email_verified(user=user)
    if args.organization:
        create_organization(name=args.organization, owner=user)
    print(f"Created {user.email}.")


def cmd_backup(args: argparse.Namespace) -> None:
    setup_django()
    from django.db import DatabaseError

    from landmark.backup import ENGINE_NAME, BackupError, backup, summary, unreachable

    try:
        done = backup(Path(args.file))
    except BackupError as error:
        raise SystemExit(f"landmark backup: {error}") from None
    except DatabaseError as error:
        raise SystemExit(f"landmark backup: {unreachable(error)}") from None
    state = f" and {', '.join(done.state)}" if done.state else ""
    size = done.path.stat().st_size
    print(
        f"Backed up the {ENGINE_NAME[done.engine]} database ({summary(done.rows)})"
        f"{state} to {done.path} ({size:,} bytes)."
    )


def cmd_restore(args: argparse.Namespace) -> None:
    setup_django()
    from django.conf import settings
    from django.db import DatabaseError

    from landmark.backup import (
        ENGINE_NAME,
        BackupError,
        describe_database,
        restore,
        summary,
        unreachable,
    )

    try:
        done = restore(Path(args.file), force=args.force)
    except BackupError as error:
        raise SystemExit(f"landmark restore: {error}") from None
    except DatabaseError as error:
        raise SystemExit(f"landmark restore: {unreachable(error)}") from None
    made = done.manifest
    print(
        f"Restored {Path(args.file).resolve()} (made {made.get('created_at')} by "
        f"Landmark {made.get('landmark')} from {ENGINE_NAME[made['engine']]}) into "
        f"{describe_database()}: {summary(done.rows)}."
    )
    for name in done.state:
        print(f"Restored {name} into {settings.DATA_DIR}.")
    for note in done.notes:
        print(f"Note: {note}")
    print("Start Landmark with `landmark serve` (it applies any newer migrations).")


def cmd_lint(args: argparse.Namespace) -> None:
    """The coach's rules on OKRs in YAML files, offline (no database, no settings):
    one line per finding, exit code 1 when one is a warning, 2 for a bad file."""
    from landmark.lib import coach, coach_lint

    unknown = sorted(set(args.off) - set(coach.RULE_IDS))
    if unknown:
        raise SystemExit(
            f"landmark lint: not coach rules: {', '.join(unknown)} "
            f"(the rules: {', '.join(r.id for r in coach.RULES if r.offline)})."
        )
    thresholds = coach.Thresholds(
        min_key_results=args.min_key_results,
        max_key_results=args.max_key_results,
        max_team_objectives=args.max_team_objectives,
    )
    if thresholds.min_key_results > thresholds.max_key_results:
        raise SystemExit(
            "landmark lint: --min-key-results must not be above --max-key-results."
        )
    settings = coach.Settings(off=frozenset(args.off), thresholds=thresholds)
    worst = 0
    for path in args.files:
        try:
            text = Path(path).read_text(encoding="utf-8")
            findings = coach_lint.lint(coach_lint.parse(text), settings)
        except (OSError, UnicodeDecodeError) as error:
            print(f"{path}: cannot read it: {error}", file=sys.stderr)
            worst = 2
            continue
        except coach_lint.LintFileError as error:
            print(f"{path}: {error}", file=sys.stderr)
            worst = 2
            continue
        for finding in findings:
            print(finding.line(path))
        worst = max(worst, coach_lint.exit_code(findings))
    raise SystemExit(worst)


def cmd_manage(args: argparse.Namespace) -> None:
    setup_django()
    from django.core.management import execute_from_command_line

    execute_from_command_line(["landmark manage", *args.rest])


def bounded(low: int, high: int) -> Any:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"use a number from {low} to {high}")
        return value

    return parse


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="landmark", description="Self-hosted OKRs and KPIs."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def server_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        p.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        p.add_argument(
            "--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", "2"))
        )
        p.add_argument(
            "--no-worker",
            action="store_true",
            help="Do not start a job worker beside the web server (run `landmark "
            "worker` elsewhere).",
        )

    serve = sub.add_parser(
        "serve", help="Apply migrations and serve the web app with gunicorn."
    )
    server_args(serve)
    serve.set_defaults(func=cmd_serve)

    demo = sub.add_parser(
        "demo", help="Create the demo workspace (idempotent) and serve it."
    )
    server_args(demo)
    demo.add_argument(
        "--size",
        choices=["normal", "large"],
        default="normal",
        help="'large' also builds a synthetic workspace of ~10,000 objectives.",
    )
    demo.add_argument(
        "--no-serve", action="store_true", help="Only build the data, do not serve."
    )
    demo.add_argument(
        "--force",
        action="store_true",
        help="Add the demo even to a database that holds other organizations.",
    )
    demo.set_defaults(func=cmd_demo)

    worker = sub.add_parser(
        "worker",
        help="Run a job worker (reminders, notifications, housekeeping) alone.",
    )
    worker.add_argument(
        "--workers",
        type=int,
        default=None,
        help="Worker threads (default JOB_WORKERS, 2).",
    )
    worker.set_defaults(func=cmd_worker)

    jobs = sub.add_parser(
        "jobs",
        help="List the scheduled jobs with their last and next run; "
        "`landmark jobs run NAME` enqueues one now.",
    )
    jobs.add_argument("action", nargs="?", choices=["run"])
    jobs.add_argument("name", nargs="?")
    jobs.set_defaults(func=cmd_jobs)

    createuser = sub.add_parser(
        "createuser", help="Create a user, optionally with a new organization."
    )
    createuser.add_argument("email")
    createuser.add_argument("--name", default="")
    createuser.add_argument(
        "--password", help="Or set LANDMARK_PASSWORD; asked when missing."
    )
    createuser.add_argument(
        "--organization", help="Create this organization with the user as owner."
    )
    createuser.add_argument(
        "--staff", action="store_true", help="Allow the Django admin."
    )
    createuser.set_defaults(func=cmd_createuser)

    backup = sub.add_parser(
        "backup",
        help="Back up the database and the data directory's secret key to FILE "
        "(a .tar.gz), while Landmark runs.",
    )
    backup.add_argument("file")
    backup.set_defaults(func=cmd_backup)

    restore = sub.add_parser(
        "restore",
        help="Restore a backup made by `landmark backup` into an empty database.",
    )
    restore.add_argument("file")
    restore.add_argument(
        "--force",
        action="store_true",
        help="Replace everything in a database that already holds data.",
    )
    restore.set_defaults(func=cmd_restore)

    lint = sub.add_parser(
        "lint",
        help="Check OKRs kept in YAML files against the coach's rules (docs/coach.md); "
        "exit code 1 when a finding is a warning.",
    )
    lint.add_argument("files", nargs="+", metavar="FILE")
    lint.add_argument(
        "--off",
        action="append",
        default=[],
        metavar="RULE",
        help="Turn a rule off (repeat for more), e.g. --off objective-numbers.",
    )
    defaults = Thresholds()
    for name, help_text in (
        ("min_key_results", "Fewest key results per objective"),
        ("max_key_results", "Most key results per objective"),
        ("max_team_objectives", "Most objectives per team"),
    ):
        low, high = THRESHOLD_LIMITS[name]
        lint.add_argument(
            f"--{name.replace('_', '-')}",
            type=bounded(low, high),
            default=getattr(defaults, name),
            help=f"{help_text} (default {getattr(defaults, name)}).",
        )
    lint.set_defaults(func=cmd_lint)

    manage = sub.add_parser("manage", help="Run a Django management command.")
    manage.add_argument("rest", nargs=argparse.REMAINDER)
    manage.set_defaults(func=cmd_manage)

    args = parser.parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main(sys.argv[1:])
