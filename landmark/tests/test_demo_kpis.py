"""The demo's KPIs (a year of history per department). Its tests share one build of
the demo workspace (the `demo` fixture), as they only read it, or build it again to
see that nothing changes."""

from collections import Counter
from decimal import Decimal

from django.utils import timezone

from landmark.demo.acme import build_demo
from landmark.demo.acme_kpis import HELP_RESOURCES
from landmark.kpis import health
from landmark.kpis.models import KPI, DataPoint, KPITarget, KPIWindow
from landmark.kpis.read import load_kpi_views
from landmark.loop.actions import okrs_working_on
from landmark.okrs.models import CheckIn, KeyResult, Objective, ObjectiveKPI, Period

EXPECTED = {
    "Sales": {
        "Sales revenue",
        "Deals closed per quarter",
        "Average deal size",
        "Trial-to-customer conversion",
        "Calls made",
        "Customer lifetime value",
        "Lead to customer conversion",
        "Average time to close",
    },
    "Marketing": {
        "Website traffic",
        "Visitor-to-lead conversion",
        "Cost per lead",
        "Customer acquisition cost",
    },
    "Support": {
        "Average response time",
        "Median response time",
        "Average resolution time",
        "Customer satisfaction (CSAT)",
        "Tickets per month",
    },
    "HR": {"Employee engagement", "Average recruitment time"},
    "Acme": {
        "Churn rate",
        "Annual recurring revenue (ARR)",
        "Net Promoter Score (NPS)",
        "Total contract value (TCV)",
    },
}


def counts() -> dict[str, int]:
    models = (KPI, DataPoint, KPIWindow, KPITarget, ObjectiveKPI, Objective, CheckIn)
    return {model.__name__: model._default_manager.count() for model in models}


def test_it_gives_each_department_the_seed_kpis_with_targets_and_a_year_of_data(
    demo_org,
):
    org = demo_org
    kpis = list(KPI.objects.filter(organization=org).select_related("team", "owner"))

    by_team: dict[str, set[str]] = {}
    for kpi in kpis:
        assert kpi.team is not None
        by_team.setdefault(kpi.team.name, set()).add(kpi.name)
        lead = kpi.team.team_members.get(is_lead=True).user
        assert kpi.owner == lead
    assert by_team == EXPECTED
    untargeted = {k.name for k in kpis if not k.target.is_set}
    assert untargeted == {"Tickets per month"}
    revenue = next(k for k in kpis if k.key == "sales-revenue")
    ramp = [t.low for t in revenue.targets.all() if t.low is not None]
    assert len(ramp) >= 12 and ramp == sorted(ramp) and ramp[0] < ramp[-1]
    assert {k.name for k in kpis if k.visibility == KPI.Visibility.PRIVATE} == {
        "Employee engagement"
    }
    assert {k.frequency for k in kpis} == set(KPI.Frequency.values)
    assert {k.aggregation for k in kpis} >= {"sum", "mean", "last"}
    assert {k.indicator for k in kpis} == set(KPI.Indicator.values)
    # A few key KPIs, not every metric: two for the company (its team "Acme") and
    # two per department, none in HR.
    key_kpis = Counter(k.team.name if k.team else "" for k in kpis if k.is_key)
    assert key_kpis == {"Acme": 2, "Sales": 2, "Marketing": 2, "Support": 2}
    points = DataPoint.objects.filter(organization=org)
    assert not points.exclude(source=DataPoint.Source.IMPORT).exists()
    first = points.order_by("time").first()
    assert first is not None
    assert (timezone.now() - first.time).days >= 360
    assert not points.filter(time__gt=timezone.now()).exists()

    views = load_kpi_views(kpis)
    states = {k.name: views[k.pk].health for k in kpis}
    assert states["Customer lifetime value"] == health.Health.STALE
    assert states["Tickets per month"] == health.Health.NO_TARGET
    assert states["Average resolution time"] == health.Health.WARNING
    assert states["Customer acquisition cost"] == health.Health.WARNING
    assert states["Customer satisfaction (CSAT)"] == health.Health.HEALTHY


def test_support_response_time_is_unhealthy_at_about_52_minutes_with_an_okr_on_it(
    demo_org,
):
    org = demo_org
    kpi = KPI.objects.get(organization=org, key="support-response-time")

    view = load_kpi_views([kpi])[kpi.pk]

    assert view.health == health.Health.UNHEALTHY
    assert view.current is not None and 50 <= view.current <= 54
    assert view.target_label == "≤ 30 min"
    assert view.streak >= 2
    # Rising over the recent weeks.
    recent = [v for v in view.values if v is not None][-4:]
    assert recent == sorted(recent) or recent[-1] > recent[0] + 5
    working = list(okrs_working_on(kpi))
    assert [o.title for o in working] == [HELP_RESOURCES]
    objective = working[0]
    assert objective.period.state == Period.State.ACTIVE
    assert objective.period.kind == Period.Kind.QUARTER
    assert objective.team is not None and objective.team.name == "Support"
    assert objective.key_results.count() >= 2


def test_a_key_result_this_quarter_tracks_csat_and_follows_its_value(demo_org):
    org = demo_org
    csat = KPI.objects.get(organization=org, key="csat")

    kr = KeyResult.objects.get(kpi=csat)

    assert kr.title == "Maintain CSAT at 95%"
    assert kr.objective.period.state == Period.State.ACTIVE
    # The KR holds the KPI's value at its own precision (4 decimal places); a mean
    # over a window may have more.
    current = load_kpi_views([csat])[csat.pk].current
    assert current is not None
    assert kr.current == current.quantize(Decimal("0.0001"))
    assert kr.progress() == 1


def test_building_the_demo_again_changes_nothing_and_adds_missing_kpis(demo_org):
    before = counts()

    build_demo()
    assert counts() == before

    # A workspace built before the demo had KPIs gets them on the next run.
    KPI.objects.all().delete()
    build_demo()
    assert counts() == before
