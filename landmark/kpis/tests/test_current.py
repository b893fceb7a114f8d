"""The latest window and health stored on each KPI (kpis.current) follow every write
that can change them, and agree with what the KPI page works out from its windows."""

from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.utils import timezone

from landmark.kpis import actions, health
from landmark.kpis.current import refresh_current
from landmark.kpis.ingest import RawPoint, ingest_points
from landmark.kpis.models import KPI
from landmark.kpis.read import load_kpi_views
from landmark.orgs.models import Membership

H = health.Health


@pytest.fixture
def kpi(org, alice) -> KPI:
    """Seed article 002: average support response time, at most 30 minutes."""
    return actions.create_kpi(
        org=org,
        name="Average response time",
        key="support-response-time",
        owner=alice,
        unit="min",
        frequency=KPI.Frequency.MONTHLY,
        aggregation=KPI.Aggregation.LAST,
        target_kind=KPI.TargetKind.AT_MOST,
        target_high=D("30"),
    )


def stored(kpi: KPI) -> str:
    return KPI.objects.with_health().values_list("health", flat=True).get(pk=kpi.pk)  # type: ignore[misc]  # annotation


def shown(kpi: KPI) -> H:
    kpi.refresh_from_db()
    return load_kpi_views([kpi])[kpi.pk].health


def test_a_new_kpi_has_no_data(kpi):
    assert stored(kpi) == H.NO_DATA == shown(kpi)


def test_recording_and_correcting_a_point_update_the_stored_health(kpi, bob):
    point = actions.record_data_point(kpi=kpi, value=D("52"), author=bob)
    assert stored(kpi) == H.UNHEALTHY == shown(kpi)
    kpi.refresh_from_db()
    assert kpi.current_value == D("52")

    actions.correct_data_point(point=point, value=D("32"), author=bob)
    assert stored(kpi) == H.WARNING == shown(kpi)

    actions.record_data_point(kpi=kpi, value=D("18"), author=bob)
    assert stored(kpi) == H.HEALTHY == shown(kpi)


def test_editing_the_target_updates_the_stored_health(kpi, bob):
    actions.record_data_point(kpi=kpi, value=D("52"), author=bob)
    actions.update_kpi(kpi=kpi, target_high=D("60"))
    assert stored(kpi) == H.HEALTHY == shown(kpi)
    actions.update_kpi(kpi=kpi, target_kind="", target_high=None)
    assert stored(kpi) == H.NO_TARGET == shown(kpi)


def test_a_target_for_the_current_window_updates_the_stored_health(kpi, bob):
    actions.record_data_point(kpi=kpi, value=D("52"), author=bob)
    kpi.refresh_from_db()
    assert kpi.current_start is not None
    actions.set_kpi_targets(kpi=kpi, schedule=[(kpi.current_start, None, D("55"))])
    assert stored(kpi) == H.HEALTHY == shown(kpi)
    actions.set_kpi_targets(kpi=kpi, schedule=[])
    assert stored(kpi) == H.UNHEALTHY == shown(kpi)


def test_a_kpi_goes_stale_when_its_last_value_ages_without_a_write(kpi, bob):
    old = timezone.now() - timedelta(days=31 + 6)
    actions.record_data_point(kpi=kpi, value=D("18"), time=old, author=bob)
    assert stored(kpi) == H.HEALTHY == shown(kpi)
    # Nothing is written; the clock moves on past the window plus a week's grace.
    later = timezone.now() + timedelta(days=2)
    assert (
        KPI.objects.with_health(later).values_list("health", flat=True).get(pk=kpi.pk)  # type: ignore[misc]  # annotation
        == H.STALE
    )


def test_an_ingested_batch_updates_the_stored_health(kpi, org, bob):
    membership = Membership.objects.get(organization=org, user=bob)
    result = ingest_points(
        membership,
        [
            RawPoint(
                row=1, kpi_key=kpi.key, time=timezone.now().isoformat(), value="52"
            ),
        ],
    )
    assert result.status == 201
    assert stored(kpi) == H.UNHEALTHY == shown(kpi)


def test_refreshing_again_changes_nothing(kpi, bob):
    actions.record_data_point(kpi=kpi, value=D("32"), author=bob)
    before = KPI.objects.values(
        "current_start", "current_value", "current_health", "stale_after"
    ).get(pk=kpi.pk)
    refresh_current([kpi.pk])
    after = KPI.objects.values(
        "current_start", "current_value", "current_health", "stale_after"
    ).get(pk=kpi.pk)
    assert before == after
    assert after["current_health"] == H.WARNING
