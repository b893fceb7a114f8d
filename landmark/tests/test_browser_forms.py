"""Forms that fit the task in a real headless Chromium: the key result form follows
its kind as one switches it, and saves only what that kind uses; the KPI picker finds
a KPI as one types."""

from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from landmark.kpis import actions as kpi_actions
from landmark.okrs.models import ObjectiveKPI
from landmark.tests.test_browser import log_in

pytestmark = pytest.mark.browser


@pytest.mark.django_db(transaction=True)
def test_switching_the_kind_shows_its_fields_and_saves_them(
    live_server, page: Page, bob, objective
) -> None:
    base = live_server.url
    log_in(page, base, bob.email)
    page.goto(f"{base}/objectives/{objective.pk}/key-results/new/")
    start = page.get_by_label("Start value (baseline)")
    expect(start).to_be_visible()
    expect(page.get_by_label("The value must stay")).to_be_hidden()

    page.get_by_label("Title").fill("Keep churn low")
    start.fill("12")  # typed for a metric, then the kind changes
    page.get_by_label("Threshold (stay at or above / below / between)").check()

    expect(page.get_by_label("The value must stay")).to_be_visible()
    expect(start).to_be_hidden()
    page.get_by_label("The value must stay").select_option("at_most")
    expect(page.get_by_label("Highest acceptable value")).to_be_visible()
    expect(page.get_by_label("Lowest acceptable value")).to_be_hidden()
    page.get_by_label("Highest acceptable value").fill("3")
    page.get_by_label("Unit").fill("%")
    page.get_by_role("button", name="Save", exact=True).click()

    expect(page.locator(".msg")).to_contain_text("Key result added.")
    kr = objective.key_results.get()
    assert (kr.kind, kr.threshold_op, kr.threshold_high, kr.unit) == (
        "threshold",
        "at_most",
        Decimal("3"),
        "%",
    )
    assert (kr.start, kr.target, kr.threshold_low) == (None, None, None)


@pytest.mark.django_db(transaction=True)
def test_the_kpi_picker_finds_a_kpi_as_one_types(
    live_server, page: Page, bob, org, objective
) -> None:
    for n in range(30):
        kpi_actions.create_kpi(org=org, name=f"Signups region {n:02}")
    wanted = kpi_actions.create_kpi(org=org, name="Net revenue retention")
    base = live_server.url
    log_in(page, base, bob.email)
    page.goto(f"{base}/objectives/{objective.pk}/edit/")
    page.locator("#objective-more > summary").click()
    options = page.locator("#picker-kpis-options")
    expect(options.locator("input[name=kpis]")).to_have_count(20)

    page.get_by_label("Search KPIs").fill("retention")

    expect(options.locator("input[name=kpis]")).to_have_count(1)
    options.get_by_label("Net revenue retention").check()
    page.get_by_label("Search KPIs").fill("region 07")
    expect(options.get_by_label("Signups region 07")).to_be_visible()
    expect(options.get_by_label("Net revenue retention")).to_be_checked()
    # Enter in a field saves, as in any form (the picker's Find is for no JavaScript).
    page.get_by_label("Title").press("Enter")

    expect(page.locator(".msg")).to_contain_text("Objective saved.")
    linked = ObjectiveKPI.objects.filter(objective=objective)
    assert list(linked.values_list("kpi_id", flat=True)) == [wanted.pk]
