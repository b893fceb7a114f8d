"""A strict KPI target end to end in a real headless Chromium: set up through the KPI
form, a value right at its bound is a warning, and the page and chart say "above"."""

from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from landmark.kpis.models import KPI
from landmark.tests.test_browser import log_in

pytestmark = pytest.mark.browser


@pytest.mark.django_db(transaction=True)
def test_an_above_target_set_in_the_form_warns_at_its_bound_and_reads_above(
    live_server, page: Page, bob, org
) -> None:
    base = live_server.url
    log_in(page, base, bob.email)
    page.goto(f"{base}/kpis/new/")
    page.get_by_label("Name").fill("Uptime")
    page.get_by_label("Unit").fill("%")
    page.get_by_label("Value of a window").select_option("last")
    page.get_by_label("Target", exact=True).select_option("above")
    page.get_by_label("Lowest healthy value").fill("99.9")
    page.get_by_role("button", name="Save").click()

    expect(page.locator("#kpi-target")).to_have_text("> 99.9%")
    kpi = KPI.objects.get(organization=org, name="Uptime")
    assert (kpi.target_kind, kpi.target_low, kpi.target_high) == (
        "above",
        Decimal("99.9"),
        None,
    )

    page.get_by_label("Value", exact=True).fill("99.9")
    page.get_by_role("button", name="Add value").click()
    expect(page.locator("#kpi-health")).to_contain_text("Warning")
    expect(page.locator("#kpi-target-words")).to_contain_text(
        "above 99.9%; warning down to 89.91%"
    )
    # The chart's legend names the strict bound.
    expect(page.locator(".kpi-history-chart")).to_contain_text("Target (above)")

    page.goto(f"{base}/kpis/")
    tile = page.locator(f'.kpi-tile[data-kpi="{kpi.pk}"]')
    expect(tile).to_have_attribute("data-health", "warning")
    expect(tile.locator(".kpi-target")).to_have_text("Target > 99.9%")
