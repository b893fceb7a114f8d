"""Every main page on a 390 px phone and a 1400 px laptop, in a real headless Chromium:
the page never scrolls sideways (a wide table scrolls inside its own box) and axe-core
finds no serious or critical accessibility problem. Then dark mode, the theme toggle
and the keyboard shortcuts.

To check a new page, add a line to PAGES. LANDMARK_SCREENSHOTS=DIR keeps a picture of
each page at each width (and in dark mode)."""

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.db.models import Count
from playwright.sync_api import Browser, Page, expect

from landmark.demo.acme import DEMO_OWNER, DEMO_PASSWORD, build_demo
from landmark.kpis.models import KPI
from landmark.okrs.models import KeyResult, Objective, Period
from landmark.orgs.models import Organization, Team

pytestmark = pytest.mark.browser


@dataclass(frozen=True)
class Screen:
    """A page to visit: its name in failures, its path (with {placeholders} filled from
    the demo's rows, see demo_rows), and optionally a link to follow from there."""

    name: str
    path: str
    follow: str | None = None
    signed_in: bool = True


PAGES = [
    Screen("login", "/login/", signed_in=False),
    Screen("sign-up", "/accounts/signup/", signed_in=False),
    Screen("my focus", "/"),
    Screen("OKR tree", "/okrs/"),
    Screen("an objective", "/objectives/{objective}/"),
    Screen("a new objective", "/objectives/new/"),
    Screen("KPI dashboard", "/kpis/"),
    Screen("a KPI", "/kpis/{kpi}/"),
    Screen("a KPI's older values", "/kpis/{kpi}/", follow="Older values →"),
    Screen("a KPI's targets", "/kpis/{kpi}/targets/"),
    Screen("strategy map", "/strategy/"),
    Screen("coach", "/coach/"),
    Screen("coach by team", "/coach/?by=team"),
    Screen("periods", "/periods/"),
    Screen("period close", "/periods/{open_period}/close/"),
    Screen("period review", "/periods/{closed_period}/close/"),
    Screen("teams", "/teams/"),
    Screen("team reminders", "/teams/{team}/reminders/"),
    Screen("members", "/members/"),
    Screen("activity", "/activity/"),
    Screen("notifications", "/notifications/"),
    Screen("notification settings", "/settings/notifications/"),
    Screen("reminder settings", "/settings/reminders/"),
    Screen("webhooks", "/settings/webhooks/"),
    Screen("chat rooms", "/settings/chat/"),
    Screen("single sign-on", "/settings/sso/"),
    Screen("API tokens", "/settings/tokens/"),
    Screen("security (two-factor)", "/accounts/2fa/"),
    Screen("search results", "/search/?q=sales"),
    Screen("organization settings", "/settings/organization/"),
    Screen("getting started", "/getting-started/"),
    Screen("an objective's activity", "/objectives/{objective}/activity/"),
    Screen("an objective's edit form", "/objectives/{open_objective}/edit/"),
    Screen("a new key result", "/objectives/{open_objective}/key-results/new/"),
    Screen("a KPI connector", "/kpis/{kpi}/connector/"),
    Screen("a key result's comments", "/key-results/{key_result}/comments/"),
]

# The element whose right edge is furthest right, outside any box that scrolls or
# clips: what makes the page wider than the screen.
WIDEST = """() => {
  const width = window.innerWidth;
  const page = document.documentElement.scrollWidth;
  if (page <= width) return null;
  const clipped = (el) => {
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      if (getComputedStyle(p).overflowX !== "visible") return true;
    }
    return false;
  };
  let widest = null, right = 0;
  for (const el of document.body.querySelectorAll("*")) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.right < right || clipped(el)) continue;
    right = r.right; widest = el;
  }
  const name = widest ? widest.tagName.toLowerCase() + (widest.id ? "#" + widest.id : "")
    + (widest.classList.length ? "." + [...widest.classList].join(".") : "")
    + " “" + (widest.textContent || "").trim().replace(/\\s+/g, " ").slice(0, 60) + "”" : "?";
  return `${page} px wide at ${width} px; widest: ${name} (right edge ${Math.round(right)} px)`;
}"""

AXE = Axe()


def axe_problems(page: Page) -> list[str]:
    """axe-core's serious and critical violations on the page, one line each."""
    results = AXE.run(page)
    problems = []
    for v in results.response["violations"]:
        if v["impact"] in ("serious", "critical"):
            targets = ", ".join(str(n["target"][0]) for n in v["nodes"][:3])
            problems.append(f"{v['id']} ({v['impact']}): {v['help']} — {targets}")
    return problems


def sign_in(page: Page, base_url: str) -> None:
    page.goto(f"{base_url}/login/")
    page.get_by_label("Email").fill(DEMO_OWNER)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="My focus")).to_be_visible()


def demo_rows() -> dict[str, Any]:
    """The demo's rows the page paths name."""
    org = Organization.objects.get(pk=build_demo().pk)
    return {
        "objective": Objective.objects.filter(organization=org, parent=None)
        .annotate(n=Count("key_results"))
        .order_by("-n", "pk")
        .first()
        .pk,  # type: ignore[union-attr]
        "kpi": KPI.objects.filter(organization=org)
        .annotate(n=Count("points"))
        .order_by("-n", "pk")
        .first()
        .pk,  # type: ignore[union-attr]
        "open_period": Period.objects.filter(organization=org)
        .exclude(state=Period.State.CLOSED)
        .order_by("-start")
        .first()
        .pk,  # type: ignore[union-attr]
        "closed_period": Period.objects.filter(
            organization=org, state=Period.State.CLOSED
        )
        .order_by("-start")
        .first()
        .pk,  # type: ignore[union-attr]
        "team": Team.objects.filter(organization=org).order_by("pk").first().pk,  # type: ignore[union-attr]
        "key_result": KeyResult.objects.filter(organization=org)
        .order_by("pk")
        .first()
        .pk,  # type: ignore[union-attr]
        # One its owner may still edit: in a period that is not closed.
        "open_objective": Objective.objects.filter(organization=org, parent=None)
        .exclude(period__state=Period.State.CLOSED)
        .annotate(n=Count("key_results"))
        .order_by("-n", "pk")
        .first()
        .pk,  # type: ignore[union-attr]
    }


def screenshot(page: Page, name: str) -> None:
    shots = os.environ.get("LANDMARK_SCREENSHOTS")
    if shots:
        Path(shots).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(shots) / f"{name}.png"), full_page=True)


# Dark mode's contrast is checked on these (the same colours serve every page).
DARK_PAGES = ["login", "my focus", "OKR tree", "an objective", "KPI dashboard", "a KPI"]
WIDTHS = (390, 1400)


def visit(page: Page, base_url: str, screen: Screen, rows: dict[str, Any]) -> None:
    response = page.goto(base_url + screen.path.format(**rows))
    assert response is not None and response.ok, (screen.name, response)
    if screen.follow:
        page.get_by_role("link", name=screen.follow).click()
        page.wait_for_load_state()
    expect(page.locator("main h1").first).to_be_visible()


@pytest.mark.django_db(transaction=True)
def test_every_main_page_fits_a_phone_and_a_laptop_and_passes_axe(
    live_server, browser: Browser
) -> None:
    """One signed-out and one signed-in browser (the demo's owner, logged in once)
    visit every page of PAGES at each width, then a few in dark mode."""
    rows = demo_rows()
    contexts = {signed_in: browser.new_context() for signed_in in (False, True)}
    try:
        pages = {signed_in: c.new_page() for signed_in, c in contexts.items()}
        for page in pages.values():
            page.set_default_timeout(15_000)
        sign_in(pages[True], live_server.url)
        problems: list[str] = []
        for width in WIDTHS:
            for page in pages.values():
                page.set_viewport_size({"width": width, "height": 900})
            for screen in PAGES:
                page = pages[screen.signed_in]
                visit(page, live_server.url, screen, rows)
                where = f"{screen.name} ({screen.path}) at {width} px"
                if too_wide := page.evaluate(WIDEST):
                    problems.append(f"{where}: {too_wide}")
                problems += [f"{where}: axe {p}" for p in axe_problems(page)]
                screenshot(page, f"{screen.name.replace(' ', '-')}-{width}")
        for page in pages.values():
            page.emulate_media(color_scheme="dark")
        for screen in PAGES:
            if screen.name in DARK_PAGES:
                page = pages[screen.signed_in]
                visit(page, live_server.url, screen, rows)
                assert background(page) == DARK_BG, screen.name
                where = f"{screen.name} ({screen.path}) in dark mode"
                problems += [f"{where}: axe {p}" for p in axe_problems(page)]
                screenshot(page, f"{screen.name.replace(' ', '-')}-1400-dark")
        assert not problems, "\n".join(problems)
    finally:
        for context in contexts.values():
            context.close()


def background(page: Page) -> str:
    return page.evaluate("getComputedStyle(document.body).backgroundColor")


LIGHT_BG, DARK_BG = "rgb(246, 247, 249)", "rgb(15, 20, 27)"


@pytest.mark.django_db(transaction=True)
def test_dark_mode_follows_the_system_and_the_chosen_theme_outlasts_a_reload(
    live_server, browser: Browser, alice, org
) -> None:
    from landmark.tests.test_browser import log_in

    context = browser.new_context(color_scheme="dark")
    page = context.new_page()
    try:
        log_in(page, live_server.url, alice.email)
        assert background(page) == DARK_BG  # the system's dark scheme, nothing chosen

        page.get_by_text("Settings", exact=True).click()
        theme = page.get_by_role("group", name="Theme")
        expect(theme.get_by_label("System")).to_be_checked()
        theme.get_by_label("Light").check()
        assert background(page) == LIGHT_BG  # at once, without a reload

        # The server draws the chosen theme into the page itself: no dark flash first.
        response = page.reload()
        assert response is not None
        assert '<html lang="en" data-theme="light">' in response.text()
        assert background(page) == LIGHT_BG
        page.get_by_text("Settings", exact=True).click()
        expect(theme.get_by_label("Light")).to_be_checked()

        theme.get_by_label("Dark").check()
        page.emulate_media(color_scheme="light")
        assert background(page) == DARK_BG  # chosen dark wins over a light system
        theme.get_by_label("System").check()
        assert background(page) == LIGHT_BG
        response = page.reload()
        assert response is not None
        assert "data-theme" not in response.text().split("<head>")[0]
        assert background(page) == LIGHT_BG
        page.emulate_media(color_scheme="dark")
        assert background(page) == DARK_BG
    finally:
        context.close()


@pytest.mark.django_db(transaction=True)
def test_question_mark_opens_the_shortcuts_and_g_o_goes_to_the_okrs_but_not_while_typing(
    live_server, page: Page, alice, org
) -> None:
    from landmark.tests.test_browser import log_in

    log_in(page, live_server.url, alice.email)
    sheet = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(sheet).to_have_count(0)
    page.keyboard.press("?")
    expect(sheet).to_be_visible()
    expect(sheet).to_contain_text("Go to OKRs")
    page.keyboard.press("Escape")
    expect(sheet).to_be_hidden()

    page.goto(f"{live_server.url}/periods/new/")
    name = page.get_by_label("Name")
    name.click()
    page.keyboard.type("g o ?")
    expect(name).to_have_value("g o ?")
    expect(sheet).to_be_hidden()
    assert page.url == f"{live_server.url}/periods/new/"

    page.locator("main h1").click()  # out of the field
    page.keyboard.press("g")
    page.keyboard.press("o")
    expect(page).to_have_url(f"{live_server.url}/okrs/")
    page.wait_for_load_state()
    page.keyboard.press("g")
    page.keyboard.press("k")
    expect(page).to_have_url(f"{live_server.url}/kpis/")

    # "/" jumps to the top bar's search box (id="search").
    page.wait_for_load_state()  # ui.js (deferred) listens
    page.keyboard.press("/")
    expect(page.locator("#search")).to_be_focused()
    expect(page.locator("#search")).to_have_value("")  # the "/" itself is not typed


@pytest.mark.django_db(transaction=True)
def test_the_two_factor_pages_fit_a_phone_and_a_laptop_and_pass_axe(
    live_server, browser: Browser, alice, org
) -> None:
    """The two-factor pages are reached through a flow, not a plain link: confirm the
    password, turn the authenticator on, read the recovery codes, then log in again
    and meet the code step. Each is checked like PAGES, at both widths."""
    from landmark.conftest import PASSWORD
    from landmark.tests.test_accounts_mfa import code_for
    from landmark.tests.test_browser import log_in

    problems: list[str] = []

    def check(page: Page, name: str) -> None:
        expect(page.locator("main h1").first).to_be_visible()
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 900})
            where = f"{name} ({page.url}) at {width} px"
            if too_wide := page.evaluate(WIDEST):
                problems.append(f"{where}: {too_wide}")
            problems.extend(f"{where}: axe {p}" for p in axe_problems(page))
            screenshot(page, f"{name.replace(' ', '-')}-{width}")

    contexts = [browser.new_context(), browser.new_context()]
    try:
        page = contexts[0].new_page()
        log_in(page, live_server.url, alice.email)
        page.goto(f"{live_server.url}/accounts/2fa/")
        page.get_by_role("link", name="Turn on two-factor").click()
        expect(page.get_by_role("heading", name="Confirm it's you")).to_be_visible()
        check(page, "two-factor confirm password")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Confirm").click()
        expect(page.get_by_role("heading", name="Turn on two-factor")).to_be_visible()
        check(page, "two-factor turn on")
        secret = page.locator("#authenticator_secret").input_value()
        page.get_by_label("Authenticator code").fill(code_for(secret))
        page.get_by_role("button", name="Turn on two-factor").click()
        expect(page.get_by_role("heading", name="Recovery codes")).to_be_visible()
        expect(page.get_by_text("Two-factor is on:")).to_be_visible()
        check(page, "two-factor recovery codes")
        page.get_by_role("link", name="Make new codes").click()
        check(page, "two-factor new codes")

        fresh = contexts[1].new_page()
        fresh.goto(f"{live_server.url}/login/")
        fresh.get_by_label("Email").fill(alice.email)
        fresh.get_by_label("Password").fill(PASSWORD)
        fresh.get_by_role("button", name="Log in").click()
        heading = fresh.get_by_role("heading", name="Enter your two-factor code")
        expect(heading).to_be_visible()
        check(fresh, "two-factor code at login")
        fresh.get_by_label("Two-factor code").fill(code_for(secret))
        fresh.get_by_role("button", name="Log in").click()
        expect(fresh.get_by_role("heading", name="My focus")).to_be_visible()
        assert not problems, "\n".join(problems)
    finally:
        for context in contexts:
            context.close()


@pytest.mark.django_db(transaction=True)
def test_a_teams_coach_box_fits_a_phone_and_a_laptop_and_passes_axe(
    live_server, browser: Browser
) -> None:
    """A team's OKRs (the OKR tree filtered to it, where the Teams page links) show
    the team's Coach box: the demo team with the most findings in the current
    quarter, at both widths."""
    from landmark.loop import coach
    from landmark.orgs.models import Membership

    org = Organization.objects.get(pk=build_demo().pk)
    owner = Membership.objects.select_related("organization", "user").get(
        organization=org, role=Membership.Role.OWNER
    )
    quarter = Period.objects.get(
        organization=org, kind=Period.Kind.QUARTER, state=Period.State.ACTIVE
    )
    report = coach.period_report(owner, quarter, by="team")
    busiest = max(
        (g for g in report.groups if g.name != coach.NO_TEAM), key=lambda g: g.total
    )
    team = Team.objects.get(organization=org, name=busiest.name)
    context = browser.new_context()
    problems: list[str] = []
    try:
        page = context.new_page()
        page.set_default_timeout(15_000)
        sign_in(page, live_server.url)
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 900})
            page.goto(f"{live_server.url}/okrs/?period={quarter.pk}&team={team.pk}")
            box = page.locator(".coach-box")
            expect(box).to_be_visible()
            expect(box.locator(".coach-finding")).to_have_count(
                min(busiest.total, coach.TEAM_SHOWN)
            )
            where = f"{team.name}'s OKRs at {width} px"
            if too_wide := page.evaluate(WIDEST):
                problems.append(f"{where}: {too_wide}")
            problems += [f"{where}: axe {p}" for p in axe_problems(page)]
            screenshot(page, f"team-coach-box-{width}")
        assert not problems, "\n".join(problems)
    finally:
        context.close()
