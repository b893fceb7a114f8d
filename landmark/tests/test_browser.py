"""End to end in a real headless Chromium (Debian's package), driven by Playwright."""

import re
import time
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import pytest
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from django.core import mail
from playwright.sync_api import Browser, Page, expect

from landmark.conftest import PASSWORD
from landmark.okrs import actions
from landmark.okrs.models import KeyResult, Objective
from landmark.orgs.models import Membership, User

pytestmark = pytest.mark.browser


def log_in(page: Page, base_url: str, email: str) -> None:
    page.goto(f"{base_url}/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="My focus")).to_be_visible()


def swapped(page: Page, act: Callable[[], object]) -> None:
    """Do what changes the key result's kind (or direction), and wait until htmx has
    swapped in that kind's fields: typing before the swap would be typed into fields
    about to be replaced."""
    with page.expect_response(lambda r: r.request.headers.get("hx-request") == "true"):
        act()
    expect(page.locator(".htmx-request, .htmx-swapping, .htmx-settling")).to_have_count(
        0
    )


def open_more(page: Page) -> None:
    """Open the objective form's "More" (it opens by itself when it holds a value)."""
    more = page.locator("#objective-more")
    if more.get_attribute("open") is None:
        more.locator("summary").click()


@pytest.mark.django_db(transaction=True)
def test_it_logs_in_opens_the_tree_and_checks_in_moving_the_progress_bar(
    live_server, page: Page, bob, objective: Objective, key_results: list[KeyResult]
) -> None:
    metric = next(kr for kr in key_results if kr.kind == KeyResult.Kind.METRIC)
    actions.record_checkin(
        key_result=metric, author=bob, value=Decimal("1"), status="on_track"
    )

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
    expect(page.locator(f"#kr-{metric.pk} .field-error")).to_contain_text(
        "This field is required"
    )
    assert metric.checkins.count() == 0


@pytest.mark.django_db(transaction=True)
def test_a_new_admin_sets_aligns_checks_in_and_grades_okrs_with_the_predicted_numbers(
    live_server, page: Page, alice, org
) -> None:
    from django.utils import timezone

    from landmark.conftest import current_quarter
    from landmark.orgs.actions import create_team

    create_team(
        org=org, name="Sales", kind="department", parent=org.teams.get(kind="company")
    )
    _, start, end = current_quarter(timezone.localdate())
    base = live_server.url
    log_in(page, base, alice.email)

    # A period.
    page.goto(f"{base}/periods/new/")
    page.get_by_label("Name").fill("This quarter")
    page.get_by_label("Start").fill(start.isoformat())
    page.get_by_label("End").fill(end.isoformat())
    page.get_by_label("State").select_option(label="Active")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("Period created.")

    # A company objective, then a team objective aligned under it.
    page.goto(f"{base}/objectives/new/")
    page.get_by_label("Title").fill("Win the Midwest")
    open_more(page)  # past the essentials
    page.get_by_label("Level").select_option(label="Company")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("heading", name="Win the Midwest")).to_be_visible()
    page.get_by_role("link", name="Align an objective under this").click()
    page.get_by_label("Title").fill("Increase Brand Awareness in the Midwest")
    open_more(page)
    page.get_by_label("Level").select_option(label="Team")
    page.get_by_label("Team").select_option(label="Sales")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(
        page.get_by_role("heading", name="Increase Brand Awareness in the Midwest")
    ).to_be_visible()
    expect(page.locator(".crumbs")).to_contain_text("Win the Midwest")

    # Three key results of different kinds; first a mistake the form explains.
    page.get_by_role("link", name="Add key result").click()
    page.get_by_label("Title").fill("Sign 5 tier one accounts out of the top 20")
    page.get_by_label("Start value (baseline)").fill("5")
    page.get_by_label("Target value").fill("5")
    page.get_by_role("button", name="Save and add another").click()
    expect(page.locator("#field-target .field-error")).to_contain_text(
        "use a threshold key result"
    )
    page.get_by_label("Start value (baseline)").fill("0")
    page.get_by_label("Unit").fill("accounts")
    page.get_by_role("button", name="Save and add another").click()
    page.get_by_label("Title").fill("Keep CSAT at 95 % or more")
    swapped(
        page, page.get_by_label("Threshold (stay at or above / below / between)").check
    )
    direction = page.get_by_label("The value must stay")
    if direction.input_value() != "at_least":
        swapped(page, lambda: direction.select_option("at_least"))
    page.get_by_label("Lowest acceptable value").fill("95")
    page.get_by_label("Unit").fill("%")
    page.get_by_role("button", name="Save and add another").click()
    page.get_by_label("Title").fill(
        "Launch the virtual midwest road show in three cities"
    )
    swapped(page, page.get_by_label("Milestone (done or not)").check)
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".kr-row")).to_have_count(3)
    expect(page.locator("#objective-progress")).to_have_text("0%")

    # Check in on each, in place.
    rows = page.locator(".kr-row")
    for title, fields in [
        ("Sign 5 tier one", {"New value": "4"}),
        ("Keep CSAT", {"New value": "96"}),
    ]:
        row = rows.filter(has_text=title)
        row.get_by_text("Check in", exact=True).click()
        for label, value in fields.items():
            row.get_by_label(label).fill(value)
        row.get_by_role("button", name="Save check-in").click()
        expect(rows.filter(has_text=title).get_by_role("status")).to_have_text(
            "Check-in saved."
        )
    row = rows.filter(has_text="Launch the virtual")
    row.get_by_text("Check in", exact=True).click()
    row.get_by_label("Milestone").select_option(label="Not done yet")
    row.get_by_role("button", name="Save check-in").click()
    expect(
        rows.filter(has_text="Launch the virtual").get_by_role("status")
    ).to_have_text("Check-in saved.")
    expect(
        rows.filter(has_text="Sign 5 tier one").locator(".kr-progress")
    ).to_have_text("80%")
    expect(rows.filter(has_text="Keep CSAT").locator(".kr-progress")).to_have_text(
        "100%"
    )
    page.reload()
    # (0.8 + 1 + 0) / 3 = 60 %
    expect(page.locator("#objective-progress")).to_have_text("60%")

    # Close and grade the period.
    page.goto(f"{base}/periods/")
    page.get_by_role("link", name="Close and grade").click()
    midwest = page.locator(".grade-row").filter(has_text="Increase Brand Awareness")
    expect(midwest).to_contain_text("Computed score: 0.60")
    midwest.get_by_text("Override, outcome, retrospective, carry over").click()
    midwest.get_by_label("Retrospective").fill("Strong quarter in the Midwest.")
    # Before the quarter's last day, closing early must be confirmed.
    if page.locator("#early-close").count():
        page.locator("#id_confirm_early").check()
    page.get_by_role("button", name="Close This quarter").click()
    expect(page.get_by_role("status")).to_have_text(
        "This quarter is closed and graded."
    )
    grades = page.locator("#grades")
    midwest_row = grades.get_by_role("row").filter(has_text="Increase Brand Awareness")
    expect(midwest_row).to_contain_text("0.60")
    expect(midwest_row).to_contain_text("Partially achieved")
    expect(midwest_row).to_contain_text("0.80")
    expect(midwest_row).to_contain_text("1.00")
    expect(midwest_row).to_contain_text("0.00")
    objective = Objective.objects.get(title="Increase Brand Awareness in the Midwest")
    assert objective.score == Decimal("0.60")
    assert objective.outcome == Objective.Outcome.PARTIAL


@pytest.mark.django_db(transaction=True)
def test_a_value_turns_a_kpi_tile_red_and_fix_with_an_okr_drafts_the_objective(
    live_server, page: Page, bob, sales, period
) -> None:
    from django.utils import timezone

    from landmark.kpis import actions as kpi_actions
    from landmark.kpis.models import KPI

    kpi = kpi_actions.create_kpi(
        org=sales.organization,
        name="Average response time",
        owner=bob,
        team=sales,
        unit="min",
        frequency=KPI.Frequency.WEEKLY,
        aggregation=KPI.Aggregation.LAST,
        target_kind=KPI.TargetKind.AT_MOST,
        target_high=Decimal("30"),
    )
    kpi_actions.record_data_point(
        kpi=kpi,
        value=Decimal("25"),
        time=timezone.now() - timedelta(minutes=5),
        author=bob,
    )
    base = live_server.url
    log_in(page, base, bob.email)

    page.get_by_role("link", name="KPIs", exact=True).click()
    tile = page.locator(f'.kpi-tile[data-kpi="{kpi.pk}"]')
    expect(tile).to_have_attribute("data-health", "healthy")
    expect(tile.locator(".kpi-value")).to_have_text("25 min")

    tile.get_by_role("link", name="Average response time").click()
    page.get_by_label("Value", exact=True).fill("52")
    page.get_by_role("button", name="Add value").click()
    expect(page.locator("#kpi-current")).to_have_text("52 min")
    expect(page.locator("#kpi-health")).to_contain_text("Unhealthy")

    page.goto(f"{base}/kpis/")
    tile = page.locator(f'.kpi-tile[data-kpi="{kpi.pk}"]')
    expect(tile).to_have_attribute("data-health", "unhealthy")
    border = tile.evaluate("el => getComputedStyle(el).borderLeftColor")
    assert border == "rgb(220, 38, 38)"  # --red

    tile.get_by_role("button", name="Fix with an OKR").click()
    expect(
        page.get_by_role("heading", name="Bring Average response time back to healthy")
    ).to_be_visible()
    expect(page.locator(".kr-row")).to_contain_text(
        "Bring Average response time from 52 min to 30 min"
    )
    expect(page.locator("#objective-kpis")).to_contain_text("Average response time")
    objective = Objective.objects.get(
        title="Bring Average response time back to healthy"
    )
    assert objective.state == Objective.State.DRAFT
    assert objective.period == period
    kr = objective.key_results.get()
    assert (kr.start, kr.target, kr.kpi_id) == (Decimal("52"), Decimal("30"), kpi.pk)


# Accounts: sign-up with a new organization, email verification, invitation, two-factor

ACCOUNT_PASSWORD = "a-long-unusual-passphrase"  # a test persona's


def mail_link(message: mail.EmailMessage, path: str) -> str:
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
    page.get_by_label("Password", exact=True).fill(ACCOUNT_PASSWORD)
    page.get_by_label("Password (again)").fill(ACCOUNT_PASSWORD)
    page.get_by_role("button", name="Create my account").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()

    wait_for_mail(1)
    page.goto(base + mail_link(mail.outbox[0], "/accounts/confirm-email/"))
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("heading", name="My focus")).to_be_visible()
    expect(page.locator(".who .org")).to_have_text("Northwind")

    # An objective in the first quarter that sign-up made.
    page.goto(f"{base}/objectives/new/")
    page.get_by_label("Title").fill("Open the Nordic market")
    open_more(page)
    page.get_by_label("Level").select_option(label="Company")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("heading", name="Open the Nordic market")).to_be_visible()

    # Invite a colleague.
    page.get_by_text("Settings", exact=True).click()  # the menu in the top bar
    page.get_by_role("link", name="Members", exact=True).click()
    page.get_by_role("link", name="Add a member").click()
    page.get_by_label("Email").fill("colin@northwind.test")
    page.get_by_label("Role").select_option(label="Member")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("colin@northwind.test")

    wait_for_mail(2)
    invitation = mail_link(mail.outbox[-1], "/invitations/")
    colleague = browser.new_context().new_page()
    colleague.set_default_timeout(15_000)
    colleague.goto(base + invitation)
    expect(colleague.get_by_role("heading", name="Join Northwind")).to_be_visible()
    colleague.get_by_label("Your name").fill("Colin Cole")
    colleague.get_by_label("Password", exact=True).fill(ACCOUNT_PASSWORD)
    colleague.get_by_label("Password again").fill(ACCOUNT_PASSWORD)
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
    page.get_by_text("Settings", exact=True).click()
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
    page.get_by_role("button", name="Turn on two-factor").click()
    expect(page.get_by_role("list", name="Unused recovery codes")).to_be_visible()

    page.get_by_text("Settings", exact=True).click()
    page.get_by_role("button", name="Log out").click()
    page.get_by_label("Email").fill(alice.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(
        page.get_by_role("heading", name="Enter your two-factor code")
    ).to_be_visible()
    # The code just used to activate is fresh; the next step's is accepted too.
    code = format_hotp_value(hotp_value(secret, int(time.time()) // 30 + 1))
    page.get_by_label("Two-factor code").fill(code)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="My focus")).to_be_visible()


@pytest.mark.django_db(transaction=True)
def test_on_a_phone_no_page_is_wider_than_the_screen(
    live_server, browser: Browser, alice, org, objective: Objective, key_results
) -> None:
    """At 390 px the top bar wraps and wide tables scroll inside their box: the page
    itself never scrolls sideways (a long callback URL included)."""
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    try:
        log_in(page, live_server.url, alice.email)
        for path in (
            "/members/",
            "/settings/sso/",
            "/okrs/",
            f"/objectives/{objective.pk}/",
        ):
            page.goto(f"{live_server.url}{path}")
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, f"{path} is {width} px wide on a 390 px screen"
        # The settings menu opens inside the screen, not off its left edge.
        page.get_by_text("Settings", exact=True).click()
        panel = page.locator(".menu-panel").bounding_box()
        assert panel is not None
        assert panel["x"] >= 0 and panel["x"] + panel["width"] <= 390, panel
        expect(page.get_by_role("link", name="Webhooks")).to_be_visible()
    finally:
        context.close()
