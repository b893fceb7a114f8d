"""The large KPI builder (landmark/demo/large.py): the windows it stores in bulk are
the ones recompute_windows would, and it never builds into an organization twice."""

from datetime import date

import pytest
from django.utils import timezone

from landmark.demo.large import BIG_KPI, SMALL_KPI, build_large_kpis
from landmark.kpis import health
from landmark.kpis.actions import recompute_windows
from landmark.kpis.models import KPI, DataPoint, KPIWindow
from landmark.orgs.actions import create_team, set_team_members
from landmark.orgs.models import Team


@pytest.fixture
def departments(org, alice) -> list[Team]:
    root = Team.objects.get(organization=org, kind=Team.Kind.COMPANY)
    teams = []
    for name in ("Sales North", "Engineering North"):
        team = create_team(org=org, name=name, kind=Team.Kind.DEPARTMENT, parent=root)
        set_team_members(team=team, members=[], leads=[alice])
        teams.append(team)
    return teams


def test_the_bulk_kpi_builder_stores_the_windows_recompute_windows_would(
    org, departments
):
    kpis = build_large_kpis(
        org,
        timezone.now(),
        kpi_count=20,
        total_points=4_000,
        big_points=300,
        small_points=100,
    )

    assert len(kpis) == 20
    assert DataPoint.objects.filter(organization=org).count() == 4_000
    assert KPI.objects.get(organization=org, key=BIG_KPI).points.count() == 300
    assert KPI.objects.get(organization=org, key=SMALL_KPI).points.count() == 100
    assert {k.aggregation for k in kpis} == set(KPI.Aggregation.values)
    assert {k.frequency for k in kpis} == set(KPI.Frequency.values)
    stored = windows(org)
    assert stored
    for kpi in kpis:
        recompute_windows(kpi, every_window_start(kpi))
    assert windows(org) == stored


def test_the_bulk_kpi_builder_skips_an_organization_that_has_kpis(org, departments):
    small = {"kpi_count": 3, "total_points": 30, "big_points": 10, "small_points": 10}
    build_large_kpis(org, timezone.now(), **small)
    before = DataPoint.objects.count()

    assert build_large_kpis(org, timezone.now(), **small) == []
    assert DataPoint.objects.count() == before


def windows(org) -> list[tuple[int, date, object, int, object]]:
    return sorted(
        KPIWindow.objects.filter(organization=org).values_list(
            "kpi_id", "start", "value", "count", "last_time"
        )
    )


def every_window_start(kpi: KPI) -> set[date]:
    """Every window from the first point's to the last's, with data or not."""
    times = kpi.points.order_by("time").values_list("time", flat=True)
    first = timezone.localtime(times.first()).date()
    last = timezone.localtime(times.last()).date()
    starts = set()
    start = health.window_start(kpi.frequency, first)
    while start <= last:
        starts.add(start)
        start = health.next_window(kpi.frequency, start)
    return starts | set(kpi.windows.values_list("start", flat=True))
