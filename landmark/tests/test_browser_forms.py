"""Forms that fit the task in a real headless Chromium: the key result form follows
its kind as one switches it, and saves only what that kind uses; the KPI picker finds
a KPI as one types, and is a combobox one drives with the keyboard alone."""

import re
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
    options = page.get_by_role("listbox", name="KPIs")
    expect(options.get_by_role("option")).to_have_count(20)

    page.get_by_label("Search KPIs").fill("retention")

    expect(options.get_by_role("option")).to_have_count(1)
    options.get_by_role("option", name="Net revenue retention").click()
    page.get_by_label("Search KPIs").fill("region 07")
    expect(options.get_by_role("option", name="Signups region 07")).to_be_visible()
    chosen = options.get_by_role("option", name="Net revenue retention")
    expect(chosen).to_have_attribute("aria-selected", "true")
    expect(page.locator("#picker-kpis-chosen")).to_have_text(
        "Chosen: Net revenue retention"
    )
    # Enter in a field saves, as in any form (the picker's Find is for no JavaScript).
    page.get_by_label("Title").press("Enter")

    expect(page.locator(".msg")).to_contain_text("Objective saved.")
    linked = ObjectiveKPI.objects.filter(objective=objective)
    assert list(linked.values_list("kpi_id", flat=True)) == [wanted.pk]


@pytest.mark.django_db(transaction=True)
def test_the_kpi_picker_is_a_combobox_one_drives_with_the_keyboard_alone(
    live_server, page: Page, bob, org, objective
) -> None:
    for name in ("Churn", "Net revenue retention", "Revenue", "Signups"):
        kpi_actions.create_kpi(org=org, name=name)
    base = live_server.url
    log_in(page, base, bob.email)
    page.goto(f"{base}/objectives/{objective.pk}/edit/")
    tab_to(page, "#objective-more > summary")
    page.keyboard.press("Enter")  # opens "More"
    box = page.get_by_role("combobox", name="Search KPIs")
    listbox = page.get_by_role("listbox", name="KPIs")
    expect(box).to_have_attribute("aria-expanded", "true")
    expect(box).to_have_attribute("aria-controls", "picker-kpis-options")
    expect(listbox).to_have_attribute("aria-multiselectable", "true")
    tab_to(page, "#picker-kpis-q")

    page.keyboard.type("rev")  # "Net revenue retention" and "Revenue"
    expect(listbox.get_by_role("option")).to_have_count(2)
    page.keyboard.press("ArrowDown")
    expect(box).to_have_attribute("aria-activedescendant", re_id("Net revenue"))
    page.keyboard.press("ArrowDown")
    revenue = listbox.get_by_role("option", name="Revenue", exact=True)
    expect(revenue).to_have_class(re.compile(r"\bactive\b"))
    active = box.get_attribute("aria-activedescendant")
    assert active == revenue.get_attribute("id")
    page.keyboard.press("ArrowDown")  # wraps round to the first
    page.keyboard.press("ArrowUp")
    expect(box).to_have_attribute("aria-activedescendant", str(active))
    page.keyboard.press("Enter")  # picks it, does not save the form

    expect(revenue).to_have_attribute("aria-selected", "true")
    expect(page.locator("#picker-kpis-chosen")).to_have_text("Chosen: Revenue")
    assert page.url.endswith(f"/objectives/{objective.pk}/edit/")
    page.keyboard.press("Escape")  # closes the list, stays in the box
    expect(box).to_have_attribute("aria-expanded", "false")
    expect(listbox).to_be_hidden()
    expect(box).not_to_have_attribute("aria-activedescendant", re.compile(".+"))
    assert page.evaluate("document.activeElement.id") == "picker-kpis-q"
    page.keyboard.press("ArrowDown")  # opens it again
    expect(box).to_have_attribute("aria-expanded", "true")
    page.keyboard.press("Escape")
    page.keyboard.press("Enter")  # with no option active, Enter saves, as in any form

    expect(page.locator(".msg")).to_contain_text("Objective saved.")
    linked = ObjectiveKPI.objects.filter(objective=objective)
    assert [link.kpi.name for link in linked.select_related("kpi")] == ["Revenue"]


def tab_to(page: Page, selector: str, *, limit: int = 80) -> None:
    """Press Tab until `selector` has the focus, as someone without a mouse does."""
    for _ in range(limit):
        if page.evaluate("(s) => document.activeElement.matches(s)", selector):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {selector}")


def re_id(name: str) -> "re.Pattern[str]":
    """An option's id (picker-kpis-<pk>) for the KPI of that name."""
    from landmark.kpis.models import KPI

    return re.compile(rf"^picker-kpis-{KPI.objects.get(name__startswith=name).pk}$")
