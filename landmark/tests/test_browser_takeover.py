"""The takeover chain of issue 10 and its pre-hijack variant, in a real headless
Chromium against the live server, with the attacker's OpenID Connect provider and a
DNS server running on loopback (landmark/tests/fakes.py). Every step an attacker
would take through the pages is shown to fail; test_takeover.py tells the same
stories over plain HTTP."""

import pytest
from django.core import mail
from playwright.sync_api import Browser, Page, expect

from landmark.conftest import PASSWORD
from landmark.orgs.models import Invitation, Membership, Organization, SSODomain, User
from landmark.tests.fakes import FakeDNS, FakeIdP
from landmark.tests.test_browser import (
    ACCOUNT_PASSWORD,
    log_in,
    mail_link,
    wait_for_mail,
)

pytestmark = pytest.mark.browser

MALLORY = "mallory@evil.test"


def sign_up_as_mallory(page: Page, base: str) -> Organization:
    page.goto(f"{base}/accounts/signup/")
    page.get_by_label("Your name").fill("Mallory")
    page.get_by_label("Organization name").fill("Evil Corp")
    page.get_by_label("Email").fill(MALLORY)
    page.get_by_label("Password", exact=True).fill(ACCOUNT_PASSWORD)
    page.get_by_label("Password (again)").fill(ACCOUNT_PASSWORD)
    sent = len(mail.outbox)
    page.get_by_role("button", name="Create my account").click()
    wait_for_mail(sent + 1)
    page.goto(base + mail_link(mail.outbox[-1], "/accounts/confirm-email/"))
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("heading", name="My focus")).to_be_visible()
    return Organization.objects.get(name="Evil Corp")


def claim_on_settings_page(page: Page, base: str, idp: FakeIdP, domains: str) -> None:
    page.goto(f"{base}/settings/sso/")
    page.get_by_label("Issuer URL").fill(idp.url)
    page.get_by_label("Client ID").fill("evil")
    page.get_by_label("Client secret").fill("evil-secret")
    page.get_by_label("Email domains").fill(domains)
    page.get_by_label("Single sign-on is on").check()
    page.get_by_role("button", name="Save").click()


def sso_as(page: Page, base: str, idp: FakeIdP, email: str, sub: str) -> None:
    """“Sign in with SSO” with an address; the provider asserts what Mallory wants."""
    idp.claims = {"sub": sub, "email": email, "email_verified": True}
    page.goto(f"{base}/sso/")
    page.get_by_label("Work email").fill(email)
    page.get_by_role("button", name="Continue").click()


def provider_url_as(
    page: Page, base: str, idp: FakeIdP, org: Organization, email: str, sub: str
) -> None:
    """Straight to her provider's own login address, bypassing “Sign in with SSO”."""
    idp.claims = {"sub": sub, "email": email, "email_verified": True}
    page.goto(f"{base}/accounts/oidc/org-{org.pk}/login/")
    page.get_by_role("button", name="Continue").click()


def expect_logged_out(page: Page, base: str) -> None:
    page.goto(f"{base}/")
    expect(page.get_by_role("button", name="Log in")).to_be_visible()


def check_now(page: Page, base: str) -> None:
    page.goto(f"{base}/settings/sso/")
    page.get_by_role("button", name="Check now").click()


@pytest.mark.django_db(transaction=True)
def test_the_takeover_chain_fails_at_every_step_in_a_browser(
    live_server,
    page: Page,
    browser: Browser,
    alice,
    org,
    objective,
    idp: FakeIdP,
    dns_server: FakeDNS,
) -> None:
    base = live_server.url
    alice_before = User.objects.filter(pk=alice.pk).values().get()
    evil = sign_up_as_mallory(page, base)

    # Members → Add member with Alice's address and no password: an invitation.
    page.get_by_text("Settings", exact=True).click()  # the menu in the top bar
    page.get_by_role("link", name="Members", exact=True).click()
    page.get_by_role("link", name="Add a member").click()
    expect(page.get_by_label("Password")).to_have_count(0)
    page.get_by_label("Email").fill(alice.email)
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text(
        f"Invitation sent to {alice.email}. They become a member when they accept it."
    )
    members = page.locator("table").first
    expect(members).not_to_contain_text(alice.email)
    expect(page.locator("table").nth(1)).to_contain_text(alice.email)
    assert not Membership.objects.filter(organization=evil, user=alice).exists()

    # /settings/sso/: gmail.com is refused outright; acme.test stays pending.
    claim_on_settings_page(page, base, idp, "gmail.com")
    expect(page.locator("#field-domains")).to_contain_text("free email provider")
    claim_on_settings_page(page, base, idp, "acme.test")
    domains = page.locator("#domains")
    expect(domains).to_contain_text("Pending")
    expect(domains).to_contain_text("_landmark-verification.acme.test")
    check_now(page, base)
    expect(page.locator(".messages")).to_contain_text("No TXT record")
    expect(page.locator("#domains")).to_contain_text("Pending")

    # /sso/ with Alice's address, in a fresh browser: nobody serves acme.test.
    attacker = browser.new_context().new_page()
    attacker.set_default_timeout(15_000)
    sso_as(attacker, base, idp, alice.email, "alice-at-evil")
    expect(attacker.locator("#field-email")).to_contain_text("No organization signs in")
    provider_url_as(attacker, base, idp, evil, alice.email, "alice-at-evil")
    expect(attacker.locator(".messages")).to_contain_text(
        "verified single sign-on domains"
    )
    expect_logged_out(attacker, base)

    # Defence in depth: had she controlled Acme's DNS, the address still opens
    # nothing: an existing account is reached only through a link its owner made.
    dns_server.publish("acme.test", SSODomain.objects.get(organization=evil).token)
    check_now(page, base)
    expect(page.locator("#domains")).to_contain_text("Verified")
    sso_as(attacker, base, idp, alice.email, "alice-at-evil")
    expect(attacker.locator(".messages")).to_contain_text(
        "is not linked to a Landmark account"
    )
    expect_logged_out(attacker, base)
    attacker.goto(f"{base}/objectives/{objective.pk}/")
    expect(attacker.get_by_role("button", name="Log in")).to_be_visible()
    attacker.context.close()

    assert User.objects.filter(pk=alice.pk).values().get() == alice_before
    assert [m.organization_id for m in Membership.objects.filter(user=alice)] == [
        org.pk
    ]


@pytest.mark.django_db(transaction=True)
def test_the_pre_hijack_variant_never_reaches_the_victims_organization_in_a_browser(
    live_server,
    page: Page,
    browser: Browser,
    alice,
    org,
    objective,
    idp: FakeIdP,
    dns_server: FakeDNS,
) -> None:
    base = live_server.url
    newcomer = "nadia@acme.test"
    evil = sign_up_as_mallory(page, base)
    claim_on_settings_page(page, base, idp, "acme.test")

    # Unproven domain: her provider makes no account for Nadia's address.
    attacker = browser.new_context().new_page()
    attacker.set_default_timeout(15_000)
    provider_url_as(attacker, base, idp, evil, newcomer, "nadia-at-evil")
    expect(attacker.locator(".messages")).to_contain_text(
        "verified single sign-on domains"
    )
    assert not User.objects.filter(email=newcomer).exists()

    # Suppose she proved the domain anyway: her provider makes Nadia's account.
    dns_server.publish("acme.test", SSODomain.objects.get(organization=evil).token)
    check_now(page, base)
    sso_as(attacker, base, idp, newcomer, "nadia-at-evil")
    expect(attacker.get_by_role("heading", name="My focus")).to_be_visible()
    expect(attacker.locator(".who .org")).to_have_text("Evil Corp")

    # Acme (Alice, in her own browser) later invites Nadia as an admin.
    victim = browser.new_context().new_page()
    victim.set_default_timeout(15_000)
    log_in(victim, base, alice.email)
    victim.goto(f"{base}/members/invite/")
    victim.get_by_label("Email").fill(newcomer)
    victim.get_by_label("Role").select_option(label="Admin")
    victim.get_by_role("button", name="Save", exact=True).click()
    expect(victim.get_by_role("status")).to_contain_text(newcomer)
    wait_for_mail(2)
    invitation = mail_link(mail.outbox[-1], "/invitations/")

    # Mallory's SSO session cannot accept it.
    attacker.goto(base + invitation)
    attacker.get_by_role("button", name="Join Acme Test").click()
    expect(attacker.get_by_role("alert")).to_contain_text("opens Evil Corp only")
    assert Invitation.objects.get(organization=org).accepted_at is None

    # The real Nadia takes her address back by email and accepts, logged in.
    nadia = browser.new_context().new_page()
    nadia.set_default_timeout(15_000)
    nadia.goto(f"{base}/accounts/password/reset/")
    nadia.get_by_label("Email").fill(newcomer)
    nadia.get_by_role("button", name="Send the reset link").click()
    wait_for_mail(3)
    nadia.goto(base + mail_link(mail.outbox[-1], "/accounts/password/reset/key/"))
    nadia.locator('input[name="password1"]').fill(PASSWORD)
    nadia.locator('input[name="password2"]').fill(PASSWORD)
    nadia.get_by_role("button", name="Save the new password").click()
    log_in(nadia, base, newcomer)
    nadia.goto(base + invitation)
    nadia.get_by_role("button", name="Join Acme Test").click()
    expect(nadia.get_by_role("heading", name="My focus")).to_be_visible()
    expect(nadia.locator(".who .org")).to_have_text("Acme Test")
    assert Membership.objects.get(organization=org, user__email=newcomer).role == (
        "admin"
    )

    # Her provider still logs in as Nadia, but that session opens Evil Corp only.
    sso_as(attacker, base, idp, newcomer, "nadia-at-evil")
    expect(attacker.locator(".who .org")).to_have_text("Evil Corp")
    attacker.evaluate(
        """([url, org]) => {
            const form = document.createElement("form");
            form.method = "post";
            form.action = url;
            const headers = JSON.parse(document.body.getAttribute("hx-headers"));
            for (const [name, value] of [
                ["csrfmiddlewaretoken", headers["X-CSRFToken"]],
                ["organization", org],
            ]) {
                const input = document.createElement("input");
                input.name = name;
                input.value = value;
                form.appendChild(input);
            }
            document.body.appendChild(form);
            form.submit();
        }""",
        [f"{base}/switch-organization/", str(org.pk)],
    )
    expect(attacker.locator(".messages")).to_contain_text("opens Evil Corp only")
    expect(attacker.locator(".who .org")).to_have_text("Evil Corp")
    response = attacker.goto(f"{base}/objectives/{objective.pk}/")
    assert response is not None and response.status == 404
    attacker.goto(f"{base}/api/v1/organization")
    expect(attacker.locator("body")).to_contain_text('"name":"Evil Corp"')
    for context_page in (attacker, victim, nadia):
        context_page.context.close()
