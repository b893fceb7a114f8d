"""The Coach box on an objective's page and on a KPI's page: the same findings as the
coach page, on that item only."""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from landmark.kpis import actions as kpi_actions
from landmark.kpis.models import KPI
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
