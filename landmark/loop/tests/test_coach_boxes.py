"""The Coach box on an objective's page and on a KPI's page: the same findings as the
coach page, on that item only."""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from landmark.kpis import actions as kpi_actions
from landmark.kpis.models import KPI
from landmark.loop.tests.makers import six_key_results, unhealthy_kpi
from landmark.okrs import actions as okr_actions

D = Decimal


def test_an_objective_with_six_key_results_says_so(org, period, bob, sales, bob_client):
    objective = okr_actions.create_objective(
        org=org, period=period, owner=bob, title="Delight our customers", team=sales
    )
    for i in range(6):
        okr_actions.create_key_result(
            objective=objective, title=f"Sign customers {i}", start=D(0), target=D(9)
        )
    website = okr_actions.create_key_result(
        objective=objective, title="Launch the new website", start=D(0), target=D(1)
    )
    page = bob_client.get(f"/objectives/{objective.pk}/").content.decode()
    assert 'class="coach-box"' in page
    assert "It has 7 key results; aim for 2 to 5." in page
    assert "It reads like a task with no measure." in page
    assert f'href="/key-results/{website.pk}/edit/">Make it a milestone' in page
    assert f'href="/coach/?period={period.pk}"' in page


def test_a_good_objective_has_no_box(objective, key_results, bob_client, org, sales):
    kpi = kpi_actions.create_kpi(org=org, name="Mid-market revenue", team=sales)
    okr_actions.update_objective(objective=objective, kpis=[kpi])
    page = bob_client.get(f"/objectives/{objective.pk}/").content.decode()
    assert 'class="coach-box"' not in page, page[page.find("coach-box") - 200 :][:900]


def test_an_unhealthy_kpi_without_an_okr_offers_the_fix(
    org, period, bob, sales, bob_client
):
    kpi = kpi_actions.create_kpi(
        org=org,
        name="Average reply time",
        team=sales,
        unit="min",
        target_kind=KPI.TargetKind.AT_MOST,
        target_high=D("30"),
    )
    kpi_actions.record_data_point(
        kpi=kpi, value=D("52"), time=timezone.now() - timedelta(hours=1), author=bob
    )
    page = bob_client.get(f"/kpis/{kpi.pk}/").content.decode()
    assert 'class="coach-box"' in page
    assert "Unhealthy, and no OKR works on it." in page
    assert "kpi-unhealthy-no-okr" in page
    okr_actions.create_objective(
        org=org, period=period, owner=bob, title="Answer customers fast", kpis=[kpi]
    )
    page = bob_client.get(f"/kpis/{kpi.pk}/").content.decode()
    assert 'class="coach-box"' not in page


# A team's page: its OKRs, the OKR tree filtered to it (the Teams page links there)


def box(page: str) -> str:
    start = page.find('class="coach-box"')
    return page[start : page.find("</aside>", start)] if start >= 0 else ""


def test_a_teams_page_has_the_box_with_its_own_findings_only(
    org, period, alice, bob, sales, bob_client, viewer_client
):
    from landmark.orgs import actions as org_actions

    support = org_actions.create_team(org=org, name="Support")
    six_key_results(org, period, bob, sales, "Delight our customers")
    six_key_results(org, period, bob, support, "Answer every customer")
    six_key_results(
        org,
        period,
        alice,
        sales,
        "Quietly reorganize sales",
        visibility="private",
    )
    kpi = unhealthy_kpi(org, "Average reply time", team=sales)
    unhealthy_kpi(org, "Tickets reopened", team=support)
    url = f"/okrs/?period={period.pk}&team={sales.pk}"
    found = box(bob_client.get(url).content.decode())
    assert "Delight our customers" in found and "Average reply time" in found
    assert "Answer every customer" not in found  # another team's
    assert "Tickets reopened" not in found
    assert "Quietly reorganize sales" not in found  # alice's private objective
    assert f'action="/kpis/{kpi.pk}/fix-with-okr/"' in found
    assert f'href="/coach/?period={period.pk}&amp;by=team"' in found
    # Six key results, aligned to nothing; the KPI.
    assert '<span class="count">3</span>' in found
    assert "No parent objective, no KPI." in found
    read_only = box(viewer_client.get(url).content.decode())
    assert "Delight our customers" in read_only
    assert "fix-with-okr" not in read_only and "Open the objective" not in read_only
    # All teams: no team's box.
    assert box(bob_client.get(f"/okrs/?period={period.pk}").content.decode()) == ""


def test_a_teams_box_shows_its_first_findings_and_counts_the_rest(
    org, period, bob, sales, bob_client
):
    from landmark.loop import coach

    for i in range(coach.TEAM_SHOWN + 3):
        unhealthy_kpi(org, f"KPI {i:02}", team=sales)
    found = box(
        bob_client.get(f"/okrs/?period={period.pk}&team={sales.pk}").content.decode()
    )
    assert f'<span class="count">{coach.TEAM_SHOWN + 3}</span>' in found
    assert found.count('class="coach-finding ') == coach.TEAM_SHOWN
    assert "KPI 00" in found and f"KPI {coach.TEAM_SHOWN:02}" not in found
    assert "And 3 more on the coach page." in found
