# ruff: noqa: F811  # the reminder fixtures, imported below, are parameters by name
"""Notifications end to end in a real headless Chromium: a person chooses what reaches
them, gets the reminder, follows its link to the check-in, and a week later the
escalation reaches their team lead. The reminders job runs in this process at the
moved clock (the worker tests run it in real worker processes)."""

import os
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from playwright.sync_api import Browser, Page, expect

from landmark.notify import actions
from landmark.notify.reminders import run_due_reminders
from landmark.notify.tests.conftest import (  # noqa: F401  # the reminder fixtures
    bobs_krs,
    first_due_monday,
    long_period,
    tina,
)
from landmark.tests.console import free_port
from landmark.tests.test_browser import log_in

pytestmark = pytest.mark.browser


def bell(page: Page) -> str:
    return page.get_by_test_id("bell").inner_text()


@pytest.mark.django_db(transaction=True)
def test_a_person_chooses_the_bell_follows_the_reminder_to_check_in_and_the_lead_hears_a_week_later(
    live_server,
    page: Page,
    browser: Browser,
    settings,
    org,
    bob,
    tina,
    bobs_krs,
    first_due_monday,
    fixed_clock,
):
    settings.SITE_URL = live_server.url
    reminder_settings = actions.reminder_settings_of(org)
    actions.save_reminder_settings(  # the lead hears after one reminder let pass
        org=org,
        enabled=True,
        weekday=reminder_settings.weekday,
        at_time=reminder_settings.at_time,
        every_weeks=reminder_settings.every_weeks,
        escalate_after=1,
    )
    base = live_server.url

    # Sunday evening: Bob would rather see reminders in Landmark than by email.
    fixed_clock.move_to(first_due_monday - timedelta(hours=15))
    log_in(page, base, bob.email)
    expect(page.get_by_test_id("bell")).to_have_text("Notifications")
    page.get_by_test_id("bell").click()
    expect(page.get_by_text("No notifications yet.")).to_be_visible()
    page.get_by_role("link", name="Notification settings", exact=True).click()
    page.get_by_label("Check-in reminders by email").uncheck()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_have_text(
        "Your notification settings are saved."
    )
    expect(page.get_by_label("Check-in reminders by email")).not_to_be_checked()
    expect(page.get_by_label("Missed check-ins by email")).to_be_checked()

    # Monday 09:00: the reminders job runs.
    fixed_clock.move_to(first_due_monday + timedelta(seconds=30))
    [round_] = run_due_reminders()
    assert round_.reminded == 1
    assert mail.outbox == []  # not by email, as Bob chose

    page.goto(f"{base}/")
    expect(page.get_by_test_id("unread-count")).to_have_text("1")
    page.get_by_test_id("bell").click()
    reminder = page.get_by_test_id("notifications").locator("li.notification").first
    expect(reminder).to_contain_text("3 key results wait for your check-in")
    reminder.get_by_role("link", name="Sign ten customers").click()

    # The link opens the key result on its objective's page: check in there.
    first = bobs_krs[0]
    expect(page).to_have_url(
        re.compile(rf"/objectives/{first.objective_id}/#kr-{first.pk}$")
    )
    row = page.locator(f"#kr-{first.pk}")
    row.get_by_text("Check in", exact=True).click()
    row.get_by_label("New value").fill("2")
    row.get_by_role("button", name="Save check-in").click()
    expect(row.get_by_role("status")).to_have_text("Check-in saved.")

    # Bob marks the reminder read.
    page.get_by_test_id("bell").click()
    page.get_by_role("button", name="Mark read").click()
    expect(page.get_by_role("button", name="Mark read")).to_have_count(0)
    page.reload()
    expect(page.get_by_test_id("bell")).to_have_text("Notifications")

    # A week later the two others are still not checked in: Bob is reminded again,
    # and Tina, who leads Sales, hears of it by email.
    fixed_clock.move_to(first_due_monday + timedelta(weeks=1, seconds=30))
    [round_] = run_due_reminders()
    assert (round_.reminded, round_.escalated) == (1, 1)
    [to_tina] = mail.outbox
    assert to_tina.to == ["Tina Lead <tina@acme.test>"]
    assert to_tina.subject == "[Acme Test] Bob Brown let 1 check-in reminder pass"
    assert isinstance(to_tina, EmailMultiAlternatives)
    [(content, mimetype)] = to_tina.alternatives
    assert mimetype == "text/html"
    html = str(content)
    assert "Book twenty demos" in html and "Hire two reps" in html
    assert "Sign ten customers" not in html  # Bob checked that one in
    link = re.search(r'href="([^"]+#kr-\d+)"', html)
    assert link is not None and link.group(1).startswith(base)

    tinas = browser.new_context()
    try:
        lead = tinas.new_page()
        log_in(lead, base, tina.email)
        expect(lead.get_by_test_id("unread-count")).to_have_text("1")
        lead.goto(link.group(1))
        expect(lead.locator(f"#kr-{bobs_krs[1].pk}")).to_contain_text(
            "Book twenty demos"
        )
    finally:
        tinas.close()


SCREENS = ["/notifications/", "/settings/notifications/", "/settings/reminders/"]


@pytest.mark.django_db(transaction=True)
def test_the_notification_pages_fit_a_phone_and_a_desktop(
    live_server,
    browser: Browser,
    settings,
    alice,
    org,
    sales,
    bobs_krs,
    first_due_monday,
    fixed_clock,
):
    """No new page is wider than a 390 px screen, a long delivery error included.
    LANDMARK_SCREENSHOTS=DIR keeps a picture of each at 1400 and 390 px."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = free_port()  # the mail server is down
    for week in range(3):  # Bob lets two pass: Alice hears (Sales has no lead)
        fixed_clock.move_to(first_due_monday + timedelta(weeks=week, seconds=30))
        run_due_reminders()
    shots = os.environ.get("LANDMARK_SCREENSHOTS")
    paths = [*SCREENS, f"/teams/{sales.pk}/reminders/"]
    for width in (1400, 390):
        context = browser.new_context(viewport={"width": width, "height": 900})
        page = context.new_page()
        try:
            log_in(page, live_server.url, alice.email)
            for path in paths:
                page.goto(f"{live_server.url}{path}")
                expect(page.get_by_test_id("bell")).to_be_visible()
                if path == "/settings/reminders/":
                    expect(page.get_by_test_id("delivery-problems")).to_contain_text(
                        "Connection refused"
                    )
                if path == "/notifications/":
                    expect(page.get_by_test_id("notifications")).to_contain_text(
                        "Bob Brown let 2 check-in reminders pass"
                    )
                scroll = page.evaluate("document.documentElement.scrollWidth")
                assert scroll <= width, f"{path} is {scroll} px wide at {width} px"
                if shots:
                    name = path.strip("/").replace("/", "-") or "home"
                    page.screenshot(
                        path=str(Path(shots) / f"{name}-{width}.png"), full_page=True
                    )
        finally:
            context.close()
