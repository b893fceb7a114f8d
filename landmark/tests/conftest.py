"""Shared fixtures of the project-level tests: a real headless Chromium (Debian's
package) driven by Playwright, for test_browser*.py; the demo workspace, built once
per module for the tests that read it."""

import os
import shutil
from collections.abc import Iterator

import pytest
from django.db import connections
from playwright.sync_api import Browser, Page, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from landmark.conftest import shared_rows
from landmark.demo.acme import build_demo
from landmark.orgs.models import Organization

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        pytest.fail(
            f"Chromium is missing at {CHROMIUM}: the test command installs Debian's chromium."
        )
    # Playwright's sync API runs an event loop in this thread; the live server's
    # database work happens in its own thread, and fixtures run before pages load.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
            )
            yield browser
            browser.close()
            # From the first browser test on, the tests see other database
            # connections than those the suite began with (Playwright's sync API runs
            # them in a context of its own: `connections["default"]` is a new
            # wrapper), and pytest-django closes only the first ones before it drops
            # the test database: close these here, or on PostgreSQL the drop finds
            # them open ("being accessed by other users").
            connections.close_all()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    # A test may end as its last page loads, with that page's own requests (htmx's
    # on-load fragments, the menu's counts) still in the live server: the database's
    # flush after the test then finds their tables locked (SQLite) and fails the test,
    # and the next test finds the rows left behind. Let them finish first.
    try:
        page.wait_for_load_state("networkidle", timeout=10_000)
    except PlaywrightTimeoutError:
        pass  # a page that never goes quiet: close it as before
    finally:
        context.close()


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker) -> Iterator[int]:
    """The demo workspace (its organization's pk), built once per module and xdist
    worker and shared by the module's tests (landmark.conftest.shared_rows): every
    database test of a module that uses it must use it, so each sees the same rows."""
    yield from shared_rows(django_db_blocker, lambda: build_demo().pk)


@pytest.fixture
def demo_org(demo: int, db: None) -> Organization:
    """The demo's organization, read for this test."""
    return Organization.objects.get(pk=demo)
