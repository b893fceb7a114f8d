"""The first week's flows in a real headless Chromium: a check-in updates the whole
page at once, and Fix with an OKR drafts into the period picked beside its button."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from landmark.kpis import actions as kpi_actions
from landmark.kpis.models import KPI
from landmark.okrs import actions
from landmark.okrs.models import KeyResult, Objective, Period
from landmark.tests.test_browser import log_in

pytestmark = pytest.mark.browser
D = Decimal


@pytest.mark.django_db(transaction=True)
def test_a_check_in_updates_the_headline_status_chart_history_and_focus_count(
    live_server, page: Page, org, period, bob, sales
) -> None:
    midwest = actions.create_objective(
        org=org,
        period=period,
        owner=bob,
        title="Increase Brand Awareness in the Midwest",
        team=sales,
    )
    krs = [
        actions.create_key_result(
            objective=midwest,
            title=title,
            start=D(0),
            target=D(target),
            start_date=period.start,
        )
        for title, target in [
            ("Sign 5 tier one accounts out of the top 20", 5),
            ("Be featured in three midwest media outlets", 3),
        ]
    ]
    log_in(page, live_server.url, bob.email)
    page.goto(f"{live_server.url}/objectives/{midwest.pk}/")
    count = page.locator("#focus-count")
    expect(count).to_have_text("2")
    expect(page.locator("#objective-progress")).to_have_text("0%")
    expect(page.locator("#objective-chart circle.dot")).to_have_count(1)
    expect(page.locator("#checkins")).to_contain_text("No check-ins yet.")

    row = page.locator(f"#kr-{krs[0].pk}")
    row.get_by_text("Check in", exact=True).click()
    row.get_by_label("New value").fill("5")
    row.get_by_placeholder("What moved?").fill("Signed two more tier one accounts")
    row.get_by_role("button", name="Save check-in").click()
    expect(page.locator(f"#kr-{krs[0].pk}").get_by_role("status")).to_have_text(
        "Check-in saved."
    )

    # No reload: the rest of the page followed. (1 + 0) / 2 = 50 %.
    expect(page.locator("#objective-progress")).to_have_text("50%")
    expect(page.locator("#objective-summary [role=progressbar]")).to_have_attribute(
        "aria-valuenow", "50"
    )
    expect(page.locator("#objective-chart circle.dot")).to_have_count(2)
    expect(page.locator("#checkin-history")).to_contain_text(
        "Signed two more tier one accounts"
    )
    expect(count).to_have_text("1")
    expect(page.locator("#activity")).to_contain_text(
        f"Bob Brown moved {krs[0].title} from 0 to 5"
    )

    row = page.locator(f"#kr-{krs[1].pk}")
    row.get_by_text("Check in", exact=True).click()
    row.get_by_label("New value").fill("3")
    row.get_by_role("button", name="Save check-in").click()
    # Both reached: 100 % and on track, whatever the day.
    expect(page.locator("#objective-progress")).to_have_text("100%")
    expect(page.locator("#objective-status")).to_have_text("On track")
    expect(count).to_be_hidden()
    assert KeyResult.objects.get(pk=krs[1].pk).current == D(3)


@pytest.mark.django_db(transaction=True)
def test_fix_with_an_okr_drafts_into_the_period_picked_with_the_kpis_value(
    live_server, page: Page, org, period, bob, sales
) -> None:
    later = actions.create_period(
        org=org,
        name="Next quarter",
        start=period.end + timedelta(days=1),
        end=period.end + timedelta(days=91),
    )
    kpi = kpi_actions.create_kpi(
        org=org,
        name="Median response time",
        owner=bob,
        team=sales,
        unit="min",
        target_kind=KPI.TargetKind.AT_MOST,
        target_high=D("20"),
    )
    kpi_actions.record_data_point(
        kpi=kpi, value=D("45"), time=timezone.now() - timedelta(hours=1), author=bob
    )
    log_in(page, live_server.url, bob.email)
    page.goto(f"{live_server.url}/kpis/{kpi.pk}/")

    form = page.locator("#kpi-live form.fix-okr")
    form.get_by_label("Period to draft the objective in").select_option(
        label="Next quarter"
    )
    form.get_by_role("button", name="Fix with an OKR").click()

    expect(
        page.get_by_role("heading", name="Bring Median response time back to healthy")
    ).to_be_visible()
    expect(page.locator(".crumbs")).to_contain_text("Next quarter")
    row = page.locator(".kr-row")
    expect(row.locator(".current")).to_have_text("45 min")
    expect(row).to_contain_text("Bring Median response time from 45 min to 20 min")
    objective = Objective.objects.get()
    assert objective.period == later
    assert later.state == Period.State.PLANNING
