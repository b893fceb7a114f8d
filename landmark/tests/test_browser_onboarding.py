"""A new organization from sign-up to its first check-in, in a real headless Chromium:
the check-your-email page, the link from the email, the getting-started checklist on
My focus, example OKRs and KPIs, a check-in, an invitation: each step ticks itself."""

import re

import pytest
from django.core import mail
from playwright.sync_api import Page, expect

from landmark.okrs.models import CheckIn

pytestmark = pytest.mark.browser
PASSPHRASE = "a-long-unusual-passphrase"  # a test persona's


def step(page: Page, key: str):
    return page.locator(f'[data-testid="getting-started"] [data-step="{key}"]')


@pytest.mark.django_db(transaction=True)
def test_a_new_organization_is_guided_from_sign_up_to_its_first_check_in(
    live_server, page: Page
) -> None:
    page.goto(f"{live_server.url}/accounts/signup/")
    page.get_by_label("Your name").fill("Nora North")
    page.get_by_label("Organization name").fill("Northwind")
    page.locator("#id_email").fill("nora@northwind.test")
    page.locator("#id_password1").fill(PASSPHRASE)
    page.locator("#id_password2").fill(PASSPHRASE)
    page.get_by_role("button", name="Create my account").click()

    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    expect(page.locator('[data-testid="verification-sent"]')).to_contain_text(
        "nora@northwind.test"
    )
    # Within allauth's cooldown, sending again says so and sends nothing more.
    page.get_by_role("button", name="Send the email again").click()
    expect(page.get_by_role("status")).to_contain_text("less than three minutes ago")
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.subject == "[Landmark] Welcome: confirm your email address"
    assert "Northwind" in str(message.body)
    link = re.search(r"http://\S+/accounts/confirm-email/\S+", str(message.body))
    assert link, message.body

    page.goto(link.group(0))
    expect(
        page.get_by_text("Confirm that nora@northwind.test is your address")
    ).to_be_visible()
    page.get_by_role("button", name="Confirm and continue").click()

    checklist = page.locator('[data-testid="getting-started"]')
    expect(checklist).to_contain_text("Get Northwind started")
    expect(checklist).to_contain_text("0 of 4 done")
    for key in ("invite", "kpis", "objectives", "checkin"):
        expect(step(page, key)).to_have_attribute("data-done", "no")

    page.get_by_role("button", name="Load example OKRs and KPIs").click()
    expect(page.get_by_role("status").first).to_contain_text("Added 4 example KPIs")
    expect(checklist).to_contain_text("2 of 4 done")
    expect(step(page, "kpis")).to_have_attribute("data-done", "yes")
    expect(step(page, "objectives")).to_have_attribute("data-done", "yes")
    expect(step(page, "checkin")).to_have_attribute("data-done", "no")
    # Examples are offered to an empty organization only.
    expect(page.get_by_role("button", name="Load example OKRs and KPIs")).to_have_count(
        0
    )

    # The first check-in, from My focus's list of key results awaiting one.
    page.get_by_role("link", name="Check in", exact=True).first.click()
    row = (
        page.locator("[id^=kr-]")
        .filter(has=page.get_by_text("Check in", exact=True))
        .first
    )
    row.get_by_text("Check in", exact=True).click()
    row.get_by_label("New value").fill("15")
    row.get_by_role("button", name="Save check-in").click()
    expect(row.get_by_role("status")).to_have_text("Check-in saved.")
    assert CheckIn.objects.filter(source=CheckIn.Source.PERSON).count() == 1

    page.goto(f"{live_server.url}/")
    expect(checklist).to_contain_text("3 of 4 done")
    expect(step(page, "checkin")).to_have_attribute("data-done", "yes")

    step(page, "invite").get_by_role("link", name="Invite people").click()
    page.get_by_label("Email").fill("sam@northwind.test")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("heading", name="Members")).to_be_visible()
    page.goto(f"{live_server.url}/")
    # All four done: the checklist leaves My focus.
    expect(page.get_by_role("heading", name="My focus")).to_be_visible()
    expect(checklist).to_have_count(0)
