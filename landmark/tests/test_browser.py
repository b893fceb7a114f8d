"""End to end in a real headless Chromium (Debian's package), driven by Playwright."""

import os
import shutil
from collections.abc import Iterator
from decimal import Decimal

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from landmark.conftest import PASSWORD
from landmark.okrs import actions
from landmark.okrs.models import KeyResult, Objective

pytestmark = pytest.mark.browser

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
        pytest.fail(f"Chromium is missing at {CHROMIUM}: the test command installs Debian's chromium.")
    # Playwright's sync API runs an event loop in this thread; the live server's
    # database work happens in its own thread, and fixtures run before pages load.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def log_in(page: Page, base_url: str, email: str) -> None:
    page.goto(f"{base_url}/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="My focus")).to_be_visible()


@pytest.mark.django_db(transaction=True)
def test_it_logs_in_opens_the_tree_and_checks_in_moving_the_progress_bar(
    live_server, page: Page, bob, objective: Objective, key_results: list[KeyResult]
) -> None:
    metric = next(kr for kr in key_results if kr.kind == KeyResult.Kind.METRIC)
    actions.record_checkin(key_result=metric, author=bob, value=Decimal("1"), status="on_track")

    log_in(page, live_server.url, bob.email)
    page.get_by_role("link", name="OKRs", exact=True).click()
    node = page.locator(f'[data-objective="{objective.pk}"]')
    expect(node).to_contain_text(objective.title)

    node.get_by_role("link", name=objective.title).click()
    row = page.locator(f"#kr-{metric.pk}")
    expect(row.locator(".kr-progress")).to_have_text("20%")
    bar = row.get_by_role("progressbar")
    expect(bar).to_have_attribute("aria-valuenow", "20")

    row.get_by_text("Check in", exact=True).click()
    row.get_by_label("New value").fill("4")
    row.get_by_label("Confidence (1–10)").fill("8")
    row.get_by_placeholder("What moved?").fill("Signed two more tier one accounts")
    row.get_by_role("button", name="Save check-in").click()

    # htmx swapped the row in place: new value, new progress, new bar width.
    row = page.locator(f"#kr-{metric.pk}")
    expect(row.get_by_role("status")).to_have_text("Check-in saved.")
    expect(row.locator(".kr-progress")).to_have_text("80%")
    expect(row.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "80")
    width = row.locator(".progress .fill").evaluate("el => el.style.width")
    assert width == "80%"
    metric.refresh_from_db()
    assert metric.current == Decimal("4")
    assert metric.checkins.count() == 2


@pytest.mark.django_db(transaction=True)
def test_it_shows_a_field_error_in_place_when_a_check_in_has_no_value(
    live_server, page: Page, bob, objective: Objective, key_results: list[KeyResult]
) -> None:
    metric = next(kr for kr in key_results if kr.kind == KeyResult.Kind.METRIC)
    log_in(page, live_server.url, bob.email)
    page.goto(f"{live_server.url}/objectives/{objective.pk}/")
    row = page.locator(f"#kr-{metric.pk}")
    row.get_by_text("Check in", exact=True).click()
    row.get_by_role("button", name="Save check-in").click()
    expect(page.locator(f"#kr-{metric.pk} .field-error")).to_contain_text("This field is required")
    assert metric.checkins.count() == 0
