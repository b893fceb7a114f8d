# ruff: noqa: F811  # the imported fixtures are requested as test parameters
"""Accounts end to end in headless Chromium: sign up with a new organization, verify the
address from the email, invite a colleague who makes their account from the link and
sees the organization's objectives; turn on two-factor and log in with a code."""

import re
import time

import pytest
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from django.core import mail
from playwright.sync_api import Browser, Page, expect

from landmark.conftest import PASSWORD
from landmark.orgs.models import Membership, User

# The shared Chromium and page fixtures of the other browser tests, used by name.
from landmark.tests.test_browser import browser, log_in, page  # noqa: F401

pytestmark = pytest.mark.browser

NEW_PASSWORD = "a-long-unusual-passphrase"  # a test persona's


def link_in(message: mail.EmailMessage, path: str) -> str:
    match = re.search(rf"https?://[^/\s]+({path}[^\s]+)", str(message.body))
    assert match, message.body
    return match.group(1)


def wait_for_mail(count: int) -> None:
    """The live server sends mail from its own thread: wait until it has."""
    deadline = time.monotonic() + 10
    while len(mail.outbox) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(mail.outbox) >= count, [m.subject for m in mail.outbox]


@pytest.mark.django_db(transaction=True)
def test_a_new_user_signs_up_verifies_invites_a_colleague_who_sees_the_objectives(
    live_server, page: Page, browser: Browser
) -> None:
    base = live_server.url
    page.goto(f"{base}/login/")
    page.get_by_role("link", name="Create an account and an organization").click()
    page.get_by_label("Your name").fill("Nora North")
    page.get_by_label("Organization name").fill("Northwind")
    page.get_by_label("Email").fill("nora@northwind.test")
    page.get_by_label("Password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Password (again)").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Create my account").click()
    expect(
        page.get_by_role("heading", name="Verify Your Email Address")
    ).to_be_visible()

    wait_for_mail(1)
    page.goto(base + link_in(mail.outbox[0], "/accounts/confirm-email/"))
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("heading", name="My focus")).to_be_visible()
    expect(page.locator(".who .org")).to_have_text("Northwind")

    # An objective in the first quarter that sign-up made.
    page.goto(f"{base}/objectives/new/")
    page.get_by_label("Title").fill("Open the Nordic market")
    page.get_by_label("Level").select_option(label="Company")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("heading", name="Open the Nordic market")).to_be_visible()

    # Invite a colleague.
    page.get_by_role("link", name="Members", exact=True).click()
    page.get_by_role("link", name="Invite").first.click()
    page.get_by_label("Email").fill("colin@northwind.test")
    page.get_by_label("Role").select_option(label="Member")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("colin@northwind.test")

    wait_for_mail(2)
    invitation = link_in(mail.outbox[-1], "/invitations/")
    colleague = browser.new_context().new_page()
    colleague.set_default_timeout(15_000)
    colleague.goto(base + invitation)
    expect(colleague.get_by_role("heading", name="Join Northwind")).to_be_visible()
    colleague.get_by_label("Your name").fill("Colin Cole")
    colleague.get_by_label("Password", exact=True).fill(NEW_PASSWORD)
    colleague.get_by_label("Password again").fill(NEW_PASSWORD)
    colleague.get_by_role("button", name="Create my account and join").click()
    expect(colleague.get_by_role("heading", name="My focus")).to_be_visible()
    colleague.get_by_role("link", name="OKRs", exact=True).click()
    expect(colleague.get_by_text("Open the Nordic market")).to_be_visible()
    colleague.context.close()

    colin = User.objects.get(email="colin@northwind.test")
    membership = Membership.objects.get(user=colin)
    assert membership.organization.name == "Northwind"
    assert membership.role == Membership.Role.MEMBER


@pytest.mark.django_db(transaction=True)
def test_a_user_turns_on_two_factor_and_logs_in_with_a_code(
    live_server, page: Page, alice, org
) -> None:
    base = live_server.url
    log_in(page, base, alice.email)
    page.get_by_role("link", name="Security").click()
    page.get_by_role("link", name="Turn on two-factor").click()
    # Changing two-factor asks for the password again.
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("img")).to_have_attribute(
        "src", re.compile("^data:image/svg")
    )
    secret = page.locator("#authenticator_secret").input_value()
    code = format_hotp_value(hotp_value(secret, int(time.time()) // 30))
    page.get_by_label("Authenticator code").fill(code)
    page.get_by_role("button", name="Activate").click()
    expect(page.get_by_label("Unused codes")).to_be_visible()

    page.get_by_role("button", name="Log out").click()
    page.get_by_label("Email").fill(alice.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(
        page.get_by_role("heading", name="Two-Factor Authentication")
    ).to_be_visible()
    # The code just used to activate is fresh; the next step's is accepted too.
    code = format_hotp_value(hotp_value(secret, int(time.time()) // 30 + 1))
    page.get_by_label("Code").fill(code)
    page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_role("heading", name="My focus")).to_be_visible()
