"""Strict ("above", "below") and exact ("equal to") targets, and the warning band of a
target with no width (docs/kpis.md, "A KPI" and "The warning band"): the rule at its
boundaries, the health stored with each KPI, the KPI form, the targets per window and
the KPI page's wording."""

import importlib
from decimal import Decimal

import pytest
from django.apps import apps as django_apps
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

from landmark.kpis import actions, health
from landmark.kpis.health import Health, Target, TargetKind
from landmark.kpis.models import KPI, KPITarget
from landmark.kpis.read import load_kpi_views
from landmark.kpis.tests.test_views_dashboard import (
    db_state,
    field_error,
    form_data,
    html,
)
from landmark.loop import actions as loop

D = Decimal
H, W, U = Health.HEALTHY, Health.WARNING, Health.UNHEALTHY
TEN_PERCENT = D("0.10")
FAST = settings(max_examples=200, deadline=None)


def target(kind: TargetKind, value: str) -> Target:
    """A one-value target as the KPI stores it ("equal to" keeps it as both bounds)."""
    low = D(value) if kind in health.LOW_KINDS else None
    high = D(value) if kind in health.HIGH_KINDS else None
    return Target(kind, low=low, high=high)


# The rule at its boundaries


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("90", H),
        ("90.07", W),  # the issue: unhealthy window after window before
        ("89.93", W),
        ("99", W),  # a miss equal to the band (10 % of 90 = 9) is still a warning
        ("81", W),
        ("99.0001", U),  # just outside, above
        ("80.9999", U),  # just outside, below
    ],
)
def test_equal_to_90_warns_within_ten_percent_of_90_on_either_side(value, expected):
    assert health.health(D(value), target(TargetKind.EQUAL, "90")) is expected
    # "Between 90 and 90" is the same target, judged the same way.
    between = Target(TargetKind.BETWEEN, low=D("90"), high=D("90"))
    assert health.health(D(value), between) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [("90.07", W), ("90.09", W), ("90.0901", U), ("89.9099", U)],
)
def test_a_smaller_tolerance_narrows_an_exact_targets_warning_band(value, expected):
    assert health.tolerance_band(target(TargetKind.EQUAL, "90"), D("0.001")) == D(
        "0.09"
    )
    assert (
        health.health(D(value), target(TargetKind.EQUAL, "90"), D("0.001")) is expected
    )


def test_a_band_with_width_keeps_its_share_of_the_width():
    band = Target(TargetKind.BETWEEN, low=D("90"), high=D("110"))
    assert health.tolerance_band(band, TEN_PERCENT) == D("2")
    assert health.health(D("112"), band) is W
    assert health.health(D("112.0001"), band) is U


@pytest.mark.parametrize(
    ("kind", "bound", "value", "expected"),
    [
        # Exactly at the target: inclusive holds, strict misses by nothing (a warning).
        (TargetKind.AT_LEAST, "95", "95", H),
        (TargetKind.ABOVE, "95", "95", W),
        (TargetKind.ABOVE, "95", "95.0001", H),
        (TargetKind.AT_MOST, "2", "2", H),
        (TargetKind.BELOW, "2", "2", W),
        (TargetKind.BELOW, "2", "1.9999", H),
        # The warning band is the same for both: 10 % of the bound.
        (TargetKind.ABOVE, "95", "85.5", W),
        (TargetKind.ABOVE, "95", "85.4999", U),
        (TargetKind.AT_LEAST, "95", "85.4999", U),
        (TargetKind.BELOW, "2", "2.2", W),
        (TargetKind.BELOW, "2", "2.2001", U),
        (TargetKind.ABOVE, "99.9", "89.91", W),
        (TargetKind.ABOVE, "99.9", "89.9099", U),
    ],
)
def test_strict_and_inclusive_targets_at_their_bounds(kind, bound, value, expected):
    assert health.health(D(value), target(kind, bound)) is expected


def test_without_a_warning_band_any_miss_is_unhealthy():
    # A tolerance of 0: a strict target's own bound is unhealthy, not a warning.
    assert health.health(D("95"), target(TargetKind.ABOVE, "95"), D("0")) is U
    assert health.health(D("95"), target(TargetKind.AT_LEAST, "95"), D("0")) is H
    # "Equal to 0" has no size to take a share of.
    assert health.health(D("0.0001"), target(TargetKind.EQUAL, "0")) is U
    assert health.health(D("0"), target(TargetKind.EQUAL, "0")) is H


@pytest.mark.parametrize(
    ("kind", "bound", "label", "words", "warning"),
    [
        (TargetKind.AT_LEAST, "95", "≥ 95%", "at least 95%", "warning down to 85.5%"),
        (TargetKind.ABOVE, "95", "> 95%", "above 95%", "warning down to 85.5%"),
        (TargetKind.AT_MOST, "2", "≤ 2%", "at most 2%", "warning up to 2.2%"),
        (TargetKind.BELOW, "2", "< 2%", "below 2%", "warning up to 2.2%"),
        (TargetKind.EQUAL, "90", "= 90%", "equal to 90%", "warning from 81% to 99%"),
    ],
)
def test_targets_read_apart_in_symbols_and_in_words(kind, bound, label, words, warning):
    shown = target(kind, bound)
    assert shown.label("%", "en_US") == label
    assert shown.words("%", "en_US") == words
    assert health.warning_words(shown, TEN_PERCENT, "%", "en_US") == warning


def test_an_equal_target_to_zero_says_it_has_no_warning_zone():
    assert health.warning_words(
        target(TargetKind.EQUAL, "0"), TEN_PERCENT, "%", "en_US"
    ) == ("no warning zone: any miss is unhealthy")


values = st.decimals(
    min_value=D("-100000"), max_value=D("100000"), places=4, allow_nan=False
)
distances = st.decimals(min_value=D("0"), max_value=D("10000"), places=4)
tolerances = st.decimals(min_value=D("0"), max_value=D("0.5"), places=2)
RANK = health.HEALTH_RANK


@FAST
@given(
    kind=st.sampled_from([k for k in TargetKind if k is not TargetKind.NONE]),
    low=values,
    width=distances,
    value=values,
    tolerance=tolerances,
)
def test_health_is_healthy_exactly_when_any_target_holds(
    kind, low, width, value, tolerance
):
    if kind is TargetKind.EQUAL:
        width = D(0)
    shown = Target(kind, low=low, high=low + width)
    result = health.health(value, shown, tolerance)
    assert (result is H) == shown.holds(value)
    assert result in {H, W, U}
    # A larger tolerance never makes it worse.
    assert RANK[health.health(value, shown, tolerance + D("0.1"))] <= RANK[result]


@FAST
@given(
    bound=values,
    outside=distances,
    away=distances,
    above=st.booleans(),
    tolerance=tolerances,
)
def test_an_exact_targets_health_never_improves_further_away_on_either_side(
    bound, outside, away, above, tolerance
):
    shown = target(TargetKind.EQUAL, str(bound))
    sign = 1 if above else -1
    near = bound + sign * outside
    far = bound + sign * (outside + away)
    assert (
        RANK[health.health(far, shown, tolerance)]
        >= RANK[health.health(near, shown, tolerance)]
    )
    # The same on both sides.
    assert health.health(bound + outside, shown, tolerance) is health.health(
        bound - outside, shown, tolerance
    )


@FAST
@given(bound=values, value=values, tolerance=tolerances)
def test_a_strict_target_is_never_healthier_than_its_inclusive_twin(
    bound, value, tolerance
):
    for strict, inclusive in (
        (TargetKind.ABOVE, TargetKind.AT_LEAST),
        (TargetKind.BELOW, TargetKind.AT_MOST),
    ):
        s = health.health(value, target(strict, str(bound)), tolerance)
        i = health.health(value, target(inclusive, str(bound)), tolerance)
        assert RANK[s] >= RANK[i]
        # They differ only right at the bound.
        if value != bound:
            assert s is i


# The health stored with each KPI follows its target


def stored(kpi: KPI) -> str:
    return KPI.objects.with_health().values_list("health", flat=True).get(pk=kpi.pk)  # type: ignore[misc]  # annotation


def shown(kpi: KPI) -> Health:
    kpi.refresh_from_db()
    return load_kpi_views([kpi])[kpi.pk].health


@pytest.fixture
def exact(org) -> KPI:
    """The issue's KPI: equal to 90, read monthly (its last value)."""
    kpi = actions.create_kpi(
        org=org,
        name="Utilisation",
        unit="%",
        target_kind=KPI.TargetKind.EQUAL,
        target_low=D("90"),
    )
    actions.record_data_point(kpi=kpi, value=D("90.07"))
    return kpi


def test_an_equal_target_is_stored_with_its_value_as_both_bounds(exact):
    exact.refresh_from_db()
    assert (exact.target_low, exact.target_high) == (D("90"), D("90"))


def test_the_stored_health_follows_every_change_of_target(exact):
    assert stored(exact) == W == shown(exact)

    actions.update_kpi(kpi=exact, target_kind=KPI.TargetKind.ABOVE, target_high=None)
    assert stored(exact) == H == shown(exact)  # 90.07 > 90

    actions.update_kpi(kpi=exact, target_low=D("90.07"))
    assert stored(exact) == W == shown(exact)  # right at a strict bound

    actions.update_kpi(kpi=exact, target_kind=KPI.TargetKind.AT_LEAST)
    assert stored(exact) == H == shown(exact)  # the same bound, inclusive

    actions.update_kpi(kpi=exact, target_kind=KPI.TargetKind.EQUAL, target_low=D("100"))
    exact.refresh_from_db()
    assert exact.target_high == D("100")  # the one value is both bounds
    assert stored(exact) == W == shown(exact)  # 9.93 away, within 10

    actions.update_kpi(kpi=exact, tolerance=D("0.05"))
    assert stored(exact) == U == shown(exact)  # beyond 5


def test_a_zero_width_band_stored_before_now_warns_after_a_refresh(org):
    kpi = actions.create_kpi(
        org=org,
        name="Headcount",
        target_kind=KPI.TargetKind.BETWEEN,
        target_low=D("50"),
        target_high=D("50"),
    )
    actions.record_data_point(kpi=kpi, value=D("52"))
    assert stored(kpi) == W == shown(kpi)


def test_an_exact_target_per_window_is_one_value(exact):
    month = health.window_start(exact.frequency, timezone.localdate())
    actions.set_kpi_targets(kpi=exact, schedule=[(month, D("90.07"), None)])
    row = KPITarget.objects.get(kpi=exact)
    assert (row.low, row.high) == (D("90.07"), D("90.07"))
    assert stored(exact) == H == shown(exact)


def test_an_exact_target_with_two_values_is_refused(org):
    with pytest.raises(ValidationError) as refused:
        actions.create_kpi(
            org=org,
            name="NPS",
            target_kind=KPI.TargetKind.EQUAL,
            target_low=D("50"),
            target_high=D("60"),
        )
    assert "has one value" in " ".join(refused.value.message_dict["target_high"])
    assert not KPI.objects.filter(organization=org).exists()


def test_the_database_keeps_an_exact_target_to_one_value(exact):
    with pytest.raises(IntegrityError), transaction.atomic():
        KPI.objects.filter(pk=exact.pk).update(target_high=D("91"))


# The KPI form and page


def test_the_form_asks_for_an_exact_targets_value_and_saves_nothing(bob_client, org):
    before = db_state()
    response = bob_client.post(
        reverse("kpi_create"),
        form_data(target_kind="equal", target_low="", target_high="20"),
    )
    assert response.status_code == 200
    assert "Enter the target value." in field_error(html(response), "target_low")
    assert db_state() == before


def test_the_form_asks_for_a_strict_targets_bound(bob_client, org):
    before = db_state()
    response = bob_client.post(
        reverse("kpi_create"),
        form_data(target_kind="below", target_low="3", target_high=""),
    )
    assert "Enter the highest healthy value." in field_error(
        html(response), "target_high"
    )
    response = bob_client.post(
        reverse("kpi_create"),
        form_data(target_kind="above", target_low="", target_high="3"),
    )
    assert "Enter the lowest healthy value." in field_error(
        html(response), "target_low"
    )
    assert db_state() == before


def test_the_form_offers_every_kind_of_target(bob_client):
    page = html(bob_client.get(reverse("kpi_create")))
    for value, label in [
        ("at_least", "At least"),
        ("above", "Above"),
        ("at_most", "At most"),
        ("below", "Below"),
        ("between", "Between"),
        ("equal", "Equal to"),
    ]:
        assert f'<option value="{value}">{label}</option>' in page


def test_an_exact_target_from_the_form_keeps_one_value(bob_client, org):
    response = bob_client.post(
        reverse("kpi_create"),
        form_data(name="NPS", unit="", target_kind="equal", target_low="50"),
    )
    kpi = KPI.objects.get(organization=org)
    assert response.status_code == 302
    assert (kpi.target_kind, kpi.target_low, kpi.target_high) == ("equal", 50, 50)

    bob_client.post(
        reverse("kpi_edit", args=[kpi.pk]),
        form_data(kpi, target_low="55", tolerance="10"),
    )
    kpi.refresh_from_db()
    assert (kpi.target_low, kpi.target_high) == (55, 55)


def test_the_kpi_page_says_above_rather_than_at_least(bob_client, org):
    kpi = actions.create_kpi(
        org=org,
        name="Uptime",
        unit="%",
        target_kind=KPI.TargetKind.ABOVE,
        target_low=D("99.9"),
    )
    actions.record_data_point(kpi=kpi, value=D("99.9"))
    page = html(bob_client.get(reverse("kpi", args=[kpi.pk])))
    assert 'id="kpi-target">&gt; 99.9%<' in page
    assert "above 99.9%; warning down to 89.91%" in page
    assert "at least 99.9%" not in page
    assert "Warning" in page.split('id="kpi-health"')[1][:200]


def test_targets_per_window_of_an_exact_target_take_one_value(bob_client, exact):
    month = health.window_start(exact.frequency, timezone.localdate())
    url = reverse("kpi_targets", args=[exact.pk])
    page = html(bob_client.get(url))
    assert "the first day of the window and the target value" in page

    two = html(bob_client.post(url, {"schedule": f"{month} 90 91"}))
    assert "Line 1: write the date and a value." in two
    assert not KPITarget.objects.exists()

    bob_client.post(url, {"schedule": f"{month} 90.07"})
    row = KPITarget.objects.get(kpi=exact)
    assert (row.low, row.high) == (D("90.07"), D("90.07"))


def test_fix_with_an_okr_explains_a_strict_target_missed_at_its_bound(org, period, bob):
    kpi = actions.create_kpi(
        org=org, name="CSAT", unit="%", target_kind="above", target_low=D("95")
    )
    actions.record_data_point(kpi=kpi, value=D("95"))
    with pytest.raises(ValidationError) as refused:
        loop.fix_with_okr(kpi=kpi, period=period, owner=bob)
    assert "right at its target's bound (above 95%)" in " ".join(refused.value.messages)


def test_fix_with_an_okr_aims_an_exact_target_from_the_side_it_misses(org, period, bob):
    kpi = actions.create_kpi(
        org=org, name="NPS", target_kind="equal", target_low=D("50")
    )
    actions.record_data_point(kpi=kpi, value=D("56"))
    objective = loop.fix_with_okr(kpi=kpi, period=period, owner=bob)
    kr = objective.key_results.get()
    assert (kr.start, kr.target) == (D("56"), D("50"))
    assert "against a target of = 50" in objective.description


def test_the_migration_works_out_every_stored_health_again(org):
    kpi = actions.create_kpi(
        org=org,
        name="Headcount",
        target_kind=KPI.TargetKind.BETWEEN,
        target_low=D("50"),
        target_high=D("50"),
    )
    actions.record_data_point(kpi=kpi, value=D("52"))
    # As stored by the rule before: no warning band for a band of zero width.
    KPI.objects.filter(pk=kpi.pk).update(current_health=U)
    migration = importlib.import_module(
        "landmark.kpis.migrations.0006_target_strict_exact"
    )
    migration.refresh_all(django_apps, None)
    assert stored(kpi) == W == shown(kpi)


@pytest.mark.parametrize(
    ("kind", "before", "after", "raised"),
    [
        (TargetKind.ABOVE, "95", "96", True),
        (TargetKind.ABOVE, "95", "94", False),
        (TargetKind.BELOW, "2", "1.5", True),
        (TargetKind.BELOW, "2", "2.5", False),
        (TargetKind.EQUAL, "50", "60", False),  # another value, not a higher bar
    ],
)
def test_raising_the_bar_of_a_strict_or_exact_target(kind, before, after, raised):
    assert (
        actions.is_more_ambitious(target(kind, before), target(kind, after)) is raised
    )
